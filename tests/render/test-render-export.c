/* test-render-export.c: fs_graph_render_to_file for PNG, SVG and PDF: the
 * files read back (PNG through cairo, SVG through GMarkup, PDF through
 * pdfinfo when poppler-utils is installed), failures name the path and
 * leave nothing behind. */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "draw.h"
#include "export.h"
#include "fs-error.h"
#include "render-fixtures.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cairo_surface_t, cairo_surface_destroy)

static char *tmp_dir;

/* Helpers */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Names in a folder, sorted, joined by spaces. */
static char *
list_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, (gpointer) name);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* Empties the temporary folder between tests. */
static void
clear_folder (void)
{
  g_autoptr (GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = tmp_path (name);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
}

static void
expected_size (FsFlowGraph *graph, int *width, int *height)
{
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  fs_graph_export_page_size (layout, width, height);
}

/* SVG: well-formed XML, and the circles of each site. Cairo writes each
 * site's nodes as one filled path (one sub-path per node), plus the
 * legend's swatch. */
typedef struct {
  gboolean saw_svg;
  guint    subpaths[3];  /* by FsSite */
  FsGraphStyle style;
} SvgScan;

static gboolean
parse_percent_rgb (const char *style, double rgb[3])
{
  const char *fill = strstr (style, "fill:rgb(");
  return fill != NULL
         && sscanf (fill, "fill:rgb(%lf%%,%lf%%,%lf%%)", &rgb[0], &rgb[1], &rgb[2]) == 3;
}

static void
svg_start_element (GMarkupParseContext *context, const char *element, const char **names,
                   const char **values, gpointer user_data, GError **error)
{
  SvgScan *scan = user_data;
  const char *style = NULL, *d = NULL;

  if (strcmp (element, "svg") == 0)
    scan->saw_svg = TRUE;
  if (strcmp (element, "path") != 0)
    return;
  for (guint k = 0; names[k] != NULL; k++)
    {
      if (strcmp (names[k], "style") == 0)
        style = values[k];
      else if (strcmp (names[k], "d") == 0)
        d = values[k];
    }
  double rgb[3];
  if (style == NULL || d == NULL || !parse_percent_rgb (style, rgb)
      || strstr (style, "fill-opacity:1;") == NULL)
    return;
  for (FsSite site = FS_SITE_RES; site <= FS_SITE_ATT; site++)
    {
      FsGraphColor c = scan->style.site[site];
      if (fabs (rgb[0] - 100 * c.red) < 0.5 && fabs (rgb[1] - 100 * c.green) < 0.5
          && fabs (rgb[2] - 100 * c.blue) < 0.5)
        for (const char *m = d; *m != '\0'; m++)
          scan->subpaths[site] += *m == 'M';
    }
}

static void
check_svg (const char *path, FsFlowGraph *graph)
{
  g_autofree char *text = NULL;
  gsize length;
  g_autoptr (GError) error = NULL;
  GMarkupParser parser = { .start_element = svg_start_element };
  SvgScan scan = { 0 };

  fs_graph_style_init_light (&scan.style);
  g_assert_true (g_file_get_contents (path, &text, &length, &error));
  g_assert_true (g_str_has_prefix (text, "<?xml"));
  g_autoptr (GMarkupParseContext) context = g_markup_parse_context_new (&parser, 0, &scan, NULL);
  g_assert_true (g_markup_parse_context_parse (context, text, length, &error));
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_assert_true (scan.saw_svg);

  guint expected[3] = { 1, 1, 1 };  /* the legend's swatches */
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    expected[fs_flow_graph_get_node (graph, i)->site]++;
  for (guint s = 0; s < 3; s++)
    g_assert_cmpuint (scan.subpaths[s], ==, expected[s]);
}

/* PDF: pdfinfo when available, else the file's frame. */
static void
check_pdf (const char *path)
{
  g_autofree char *text = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &text, &length, NULL));
  /* Binary: search with memmem-like care, not string functions. */
  g_assert_true (length > 16 && memcmp (text, "%PDF-", 5) == 0);
  g_assert_nonnull (g_strstr_len (text + length - 16, 16, "%%EOF"));

  g_autofree char *pdfinfo = g_find_program_in_path ("pdfinfo");
  if (pdfinfo == NULL)
    {
      g_test_message ("pdfinfo (poppler-utils) not installed: PDF checked by its frame only");
      return;
    }
  const char *argv[] = { pdfinfo, path, NULL };
  g_autofree char *out = NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_regex_match_simple ("^Pages:\\s+1$", out, G_REGEX_MULTILINE, 0));
}

/* Tests */

static void
test_export_formats (void)
{
  FsFlowGraph *(*makers[]) (void) = {
    render_fixture_chain, render_fixture_branching, render_fixture_single, render_fixture_empty,
  };

  for (guint f = 0; f < G_N_ELEMENTS (makers); f++)
    {
      g_autoptr (FsFlowGraph) graph = makers[f] ();
      g_autofree char *png = tmp_path ("graph.png");
      g_autofree char *svg = tmp_path ("graph.svg");
      g_autofree char *pdf = tmp_path ("graph.pdf");
      g_autoptr (GError) error = NULL;
      int width, height;

      g_assert_true (fs_graph_render_to_file (graph, "png", png, &error));
      g_assert_true (fs_graph_render_to_file (graph, "svg", svg, &error));
      g_assert_true (fs_graph_render_to_file (graph, "PDF", pdf, &error));
      g_assert_no_error (error);
      g_autofree char *listing = list_folder (tmp_dir);
      g_assert_cmpstr (listing, ==, "graph.pdf graph.png graph.svg");

      expected_size (graph, &width, &height);
      g_autoptr (cairo_surface_t) image = cairo_image_surface_create_from_png (png);
      g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
      g_assert_cmpint (cairo_image_surface_get_width (image), ==, width);
      g_assert_cmpint (cairo_image_surface_get_height (image), ==, height);
      g_assert_cmpint (width, >=, 480);
      g_assert_cmpint (height, >=, 240);
      /* A light background: the bottom-right corner is white. */
      cairo_surface_flush (image);
      const guint8 *last_row = cairo_image_surface_get_data (image)
                               + (height - 1) * cairo_image_surface_get_stride (image);
      g_assert_cmphex (((const guint32 *) last_row)[width - 1] & 0xffffff, ==, 0xffffff);

      check_svg (svg, graph);
      check_pdf (pdf);
      clear_folder ();
    }
}

/* The page grows with the graph, within bounds. */
static void
test_export_page_size (void)
{
  g_autoptr (FsFlowGraph) small = render_fixture_chain ();
  g_autoptr (FsFlowGraph) large = render_fixture_large (26, 19);
  int w0, h0, w1, h1;

  expected_size (small, &w0, &h0);
  expected_size (large, &w1, &h1);
  g_assert_cmpint (w1, >, w0);
  g_assert_cmpint (h1, >, h0);
  g_assert_cmpint (w1, <=, 4096);
  g_assert_cmpint (h1, <=, 4096);
}

/* Writing over an existing file replaces it whole, with no leftovers. */
static void
test_export_replace (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_chain ();
  g_autofree char *path = tmp_path ("out.png");
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "not a png", -1, NULL));
  g_assert_true (fs_graph_render_to_file (graph, "png", path, &error));
  g_assert_no_error (error);
  g_autofree char *listing = list_folder (tmp_dir);
  g_assert_cmpstr (listing, ==, "out.png");
  g_autoptr (cairo_surface_t) image = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (image), ==, CAIRO_STATUS_SUCCESS);
  clear_folder ();
}

static void
test_export_missing_folder (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_chain ();
  g_autofree char *path = g_build_filename (tmp_dir, "missing", "graph.png", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (fs_graph_render_to_file (graph, "png", path, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
  g_autofree char *listing = list_folder (tmp_dir);
  g_assert_cmpstr (listing, ==, "");
}

/* A folder that exists but cannot take the file (a file in the way of
 * the name) fails at write time, also naming the path. */
static void
test_export_unwritable (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_single ();
  g_autofree char *path = tmp_path ("taken");
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  g_assert_false (fs_graph_render_to_file (graph, "svg", path, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_autofree char *listing = list_folder (tmp_dir);
  g_assert_cmpstr (listing, ==, "taken");
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
test_export_unknown_format (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_single ();
  g_autofree char *path = tmp_path ("graph.gif");
  g_autoptr (GError) error = NULL;

  g_assert_false (fs_graph_render_to_file (graph, "gif", path, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "gif"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("flowscope-render-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/render/export/formats", test_export_formats);
  g_test_add_func ("/render/export/page-size", test_export_page_size);
  g_test_add_func ("/render/export/replace", test_export_replace);
  g_test_add_func ("/render/export/missing-folder", test_export_missing_folder);
  g_test_add_func ("/render/export/unwritable", test_export_unwritable);
  g_test_add_func ("/render/export/unknown-format", test_export_unknown_format);
  int status = g_test_run ();

  clear_folder ();
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  return status;
}
