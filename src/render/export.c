/* export.c: rendering a flow graph to a PNG, SVG or PDF file.
 *
 * The image is rendered into memory and written with
 * g_file_set_contents_full, which writes a temporary file next to the target
 * and renames it into place: never a half-written file under the user's
 * name, even if we fail or crash half-way.
 */
#include "export.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>

#include "draw.h"
#include "fs-error.h"
#include "view.h"

#define PAGE_SCALE  48.0    /* pixels per graph unit: room for the labels */
#define PAGE_MARGIN 24.0
#define PAGE_MIN_W  480
#define PAGE_MIN_H  240
#define PAGE_MAX    4096

typedef enum {
  FORMAT_PNG,
  FORMAT_SVG,
  FORMAT_PDF,
} Format;

void
fs_graph_export_page_size (FsGraphLayout *layout, int *width, int *height)
{
  double x, y, w, h;

  fs_graph_layout_get_bounds (layout, &x, &y, &w, &h);
  double fixed_w = 2 * PAGE_MARGIN + FS_GRAPH_LAYER_COLUMN + FS_GRAPH_LABEL_WIDTH;
  double fixed_h = 2 * PAGE_MARGIN + FS_GRAPH_LEGEND_HEIGHT;
  double scale = PAGE_SCALE;
  if (w > 0)
    scale = MIN (scale, (PAGE_MAX - fixed_w) / w);
  if (h > 0)
    scale = MIN (scale, (PAGE_MAX - fixed_h) / h);

  *width = CLAMP ((int) ceil (w * scale + fixed_w), PAGE_MIN_W, PAGE_MAX);
  *height = CLAMP ((int) ceil (h * scale + fixed_h), PAGE_MIN_H, PAGE_MAX);
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static void
draw_page (cairo_surface_t *surface, FsGraphLayout *layout, FsFlowGraph *graph,
           int width, int height)
{
  cairo_t *cr = cairo_create (surface);
  FsGraphStyle style;
  FsGraphView view;

  fs_graph_style_init_light (&style);
  fs_graph_view_init (&view);
  fs_graph_view_fit (&view, layout, width, height, PAGE_MARGIN);
  fs_graph_draw (cr, layout, graph, &style, &view);
  cairo_destroy (cr);
}

static GByteArray *
render (FsFlowGraph *graph, Format format, cairo_status_t *status)
{
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  GByteArray *bytes = g_byte_array_new ();
  cairo_surface_t *surface;
  int width, height;

  fs_graph_export_page_size (layout, &width, &height);
  switch (format)
    {
    case FORMAT_PNG:
      /* Opaque: the light background is part of the picture. */
      surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
      break;
    case FORMAT_SVG:
      surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
      break;
    case FORMAT_PDF:
    default:
      surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes, width, height);
      break;
    }

  draw_page (surface, layout, graph, width, height);
  if (format == FORMAT_PNG)
    *status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
  cairo_surface_finish (surface);
  if (format != FORMAT_PNG || *status == CAIRO_STATUS_SUCCESS)
    *status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  return bytes;
}

static gboolean
parse_format (const char *name, Format *format)
{
  static const char *const names[] = { "png", "svg", "pdf" };

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    if (g_ascii_strcasecmp (name, names[k]) == 0)
      {
        *format = (Format) k;
        return TRUE;
      }
  return FALSE;
}

gboolean
fs_graph_render_to_file (FsFlowGraph *graph, const char *format, const char *path,
                         GError **error)
{
  g_autoptr (GError) local_error = NULL;
  cairo_status_t status = CAIRO_STATUS_SUCCESS;
  Format which;

  g_return_val_if_fail (graph != NULL && format != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!parse_format (format, &which))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: unknown image format “%s” (expected png, svg or pdf)", path, format);
      return FALSE;
    }

  /* Say plainly when the folder is missing, rather than naming the
   * temporary file that could not be created in it. */
  g_autofree char *folder = g_path_get_dirname (path);
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND,
                   "%s: cannot write: folder %s does not exist", path, folder);
      return FALSE;
    }

  g_autoptr (GByteArray) bytes = render (graph, which, &status);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: cannot render the %s image: %s",
                   path, format, cairo_status_to_string (status));
      return FALSE;
    }

  if (!g_file_set_contents_full (path, (const char *) bytes->data, bytes->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0666, &local_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: cannot write: %s", path,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}
