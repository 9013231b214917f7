/* test-render.c: the layered layout, the drawing (checked pixel by pixel
 * against the palette) and hit-testing, on hand-built flow graphs. */
#include <cairo.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "draw.h"
#include "hit-test.h"
#include "layout.h"
#include "render-fixtures.h"
#include "view.h"

#define WIDTH  900
#define HEIGHT 700
#define MARGIN 20

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cairo_surface_t, cairo_surface_destroy)

typedef FsFlowGraph *(*FixtureFunc) (void);

static const struct {
  const char *name;
  FixtureFunc make;
} fixtures[] = {
  { "chain", render_fixture_chain },
  { "branching", render_fixture_branching },
  { "single", render_fixture_single },
  { "empty", render_fixture_empty },
};

/* Helpers */

static FsGraphView
fitted_view (FsGraphLayout *layout)
{
  FsGraphView view;
  fs_graph_view_init (&view);
  fs_graph_view_fit (&view, layout, WIDTH, HEIGHT, MARGIN);
  return view;
}

static cairo_surface_t *
render (FsGraphLayout *layout, const FsGraphStyle *style, const FsGraphView *view)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT);
  cairo_t *cr = cairo_create (surface);
  fs_graph_draw (cr, layout, fs_graph_layout_get_graph (layout), style, view);
  g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  return surface;
}

/* The pixel holding point (x, y), as 0-255 channels. Everything drawn is on
 * an opaque background, so premultiplication does not matter. */
static void
pixel_at (cairo_surface_t *surface, double x, double y, double rgb[3])
{
  int px = (int) floor (x), py = (int) floor (y);
  g_assert_cmpint (px, >=, 0);
  g_assert_cmpint (py, >=, 0);
  g_assert_cmpint (px, <, cairo_image_surface_get_width (surface));
  g_assert_cmpint (py, <, cairo_image_surface_get_height (surface));
  const guint8 *row = cairo_image_surface_get_data (surface)
                      + py * cairo_image_surface_get_stride (surface);
  guint32 argb = ((const guint32 *) row)[px];
  g_assert_cmpuint (argb >> 24, ==, 0xff);
  rgb[0] = (argb >> 16) & 0xff;
  rgb[1] = (argb >> 8) & 0xff;
  rgb[2] = argb & 0xff;
}

static double
color_distance (const double rgb[3], FsGraphColor color)
{
  return MAX (MAX (fabs (rgb[0] - 255 * color.red), fabs (rgb[1] - 255 * color.green)),
              fabs (rgb[2] - 255 * color.blue));
}

static FsGraphColor
mix (FsGraphColor a, FsGraphColor b, double t)
{
  return (FsGraphColor) { a.red + (b.red - a.red) * t, a.green + (b.green - a.green) * t,
                          a.blue + (b.blue - a.blue) * t };
}

static void
assert_color (cairo_surface_t *surface, double x, double y, FsGraphColor color, double tolerance)
{
  double rgb[3];
  pixel_at (surface, x, y, rgb);
  if (color_distance (rgb, color) > tolerance)
    g_error ("pixel (%.1f, %.1f) is (%.0f, %.0f, %.0f), expected (%.0f, %.0f, %.0f)", x, y,
             rgb[0], rgb[1], rgb[2], 255 * color.red, 255 * color.green, 255 * color.blue);
}

static FsGraphPoint
node_pixels (FsGraphLayout *layout, const FsGraphView *view, guint node)
{
  return fs_graph_view_to_pixels (view, fs_graph_layout_get_node_position (layout, node));
}

static double
segment_distance (FsGraphPoint p, FsGraphPoint a, FsGraphPoint b)
{
  double dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? CLAMP (((p.x - a.x) * dx + (p.y - a.y) * dy) / length2, 0, 1) : 0;
  return hypot (a.x + t * dx - p.x, a.y + t * dy - p.y);
}

/* Pixel distance from p to edge e's polyline. */
static double
edge_distance (FsGraphLayout *layout, const FsGraphView *view, guint e, FsGraphPoint p)
{
  guint n;
  const FsGraphPoint *points = fs_graph_layout_get_edge_points (layout, e, &n);
  double best = INFINITY;
  for (guint k = 0; k + 1 < n; k++)
    best = MIN (best, segment_distance (p, fs_graph_view_to_pixels (view, points[k]),
                                        fs_graph_view_to_pixels (view, points[k + 1])));
  return best;
}

/* Whether nothing but background should be drawn at pixel p: away from
 * nodes, their labels, edges, band separators, the legend and the layer
 * column. */
static gboolean
is_clear (FsGraphLayout *layout, const FsGraphView *view, FsGraphPoint p)
{
  double r = fs_graph_view_node_radius (view, layout) + 8;

  if (p.x < FS_GRAPH_LAYER_COLUMN + 4 || p.y < FS_GRAPH_LEGEND_HEIGHT + 4)
    return FALSE;
  for (guint i = 0; i < fs_graph_layout_get_n_nodes (layout); i++)
    {
      FsGraphPoint c = node_pixels (layout, view, i);
      if (hypot (c.x - p.x, c.y - p.y) < r)
        return FALSE;
      if (p.x >= c.x && p.x <= c.x + FS_GRAPH_LABEL_WIDTH + 4 && fabs (p.y - c.y) < 18)
        return FALSE;
    }
  for (guint e = 0; e < fs_graph_layout_get_n_edges (layout); e++)
    if (edge_distance (layout, view, e, p) < 8)
      return FALSE;
  for (guint b = 0; b + 1 < fs_graph_layout_get_n_bands (layout); b++)
    {
      double y = (fs_graph_layout_get_band (layout, b)->y
                  + fs_graph_layout_get_band (layout, b + 1)->top) / 2;
      if (fabs (y * view->scale + view->offset_y - p.y) < 3)
        return FALSE;
    }
  return TRUE;
}

static guint
find (FsFlowGraph *graph, int layer, FsSite site, gint64 index)
{
  int node = fs_flow_graph_find_node (graph, layer, site, index);
  g_assert_cmpint (node, >=, 0);
  return node;
}

/* Layout */

static void
test_layout_deterministic (void)
{
  for (guint f = 0; f <= G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (FsFlowGraph) graph = f < G_N_ELEMENTS (fixtures) ? fixtures[f].make ()
                                      : render_fixture_large (26, 19);
      g_autoptr (FsGraphLayout) a = fs_graph_layout_new (graph);
      g_autoptr (FsGraphLayout) b = fs_graph_layout_new (graph);

      for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
        {
          FsGraphPoint p = fs_graph_layout_get_node_position (a, i);
          FsGraphPoint q = fs_graph_layout_get_node_position (b, i);
          g_assert_cmpfloat (p.x, ==, q.x);
          g_assert_cmpfloat (p.y, ==, q.y);
          g_assert_true (isfinite (p.x) && isfinite (p.y));
        }
      for (guint e = 0; e < fs_flow_graph_get_n_edges (graph); e++)
        {
          guint n, m;
          const FsGraphPoint *p = fs_graph_layout_get_edge_points (a, e, &n);
          const FsGraphPoint *q = fs_graph_layout_get_edge_points (b, e, &m);
          g_assert_cmpuint (n, ==, m);
          g_assert_cmpmem (p, n * sizeof *p, q, m * sizeof *q);
        }
    }
}

/* Residual nodes sit on their band's main row, attention above MLP above
 * it, and bands go down as layers go up. */
static void
check_bands (FsGraphLayout *layout, FsFlowGraph *graph)
{
  guint n_bands = fs_graph_layout_get_n_bands (layout);

  for (guint b = 0; b + 1 < n_bands; b++)
    {
      const FsGraphBand *band = fs_graph_layout_get_band (layout, b);
      const FsGraphBand *next = fs_graph_layout_get_band (layout, b + 1);
      g_assert_cmpint (band->layer, <, next->layer);
      g_assert_cmpfloat (band->y, <, next->top);
    }
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      FsGraphPoint p = fs_graph_layout_get_node_position (layout, i);
      const FsGraphBand *band = NULL;
      for (guint b = 0; b < n_bands; b++)
        if (fs_graph_layout_get_band (layout, b)->layer == node->layer)
          band = fs_graph_layout_get_band (layout, b);
      g_assert_nonnull (band);
      if (node->site == FS_SITE_RES)
        g_assert_cmpfloat (p.y, ==, band->y);
      else
        {
          g_assert_cmpfloat (p.y, <, band->y);
          g_assert_cmpfloat (p.y, >=, band->top);
        }
      for (guint j = 0; j < fs_flow_graph_get_n_nodes (graph); j++)
        {
          const FsFlowNode *other = fs_flow_graph_get_node (graph, j);
          FsGraphPoint q = fs_graph_layout_get_node_position (layout, j);
          if (other->layer == node->layer && other->site == node->site)
            g_assert_cmpfloat (p.y, ==, q.y);
          if (other->layer == node->layer && node->site == FS_SITE_ATT
              && other->site == FS_SITE_MLP)
            g_assert_cmpfloat (p.y, <, q.y);
          if (other->layer > node->layer)
            g_assert_cmpfloat (p.y, <, q.y);
          /* Nodes on a row never overlap. */
          if (i != j && p.y == q.y)
            g_assert_cmpfloat (fabs (p.x - q.x), >=, 2 * fs_graph_layout_get_node_radius (layout));
        }
    }
}

static void
test_layout_bands (void)
{
  for (guint f = 0; f <= G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (FsFlowGraph) graph = f < G_N_ELEMENTS (fixtures) ? fixtures[f].make ()
                                      : render_fixture_large (26, 19);
      g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
      check_bands (layout, graph);
    }

  g_autoptr (FsFlowGraph) chain = render_fixture_chain ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (chain);
  g_assert_cmpuint (fs_graph_layout_get_n_bands (layout), ==, 6);
  for (guint b = 0; b < 6; b++)
    g_assert_cmpint (fs_graph_layout_get_band (layout, b)->layer, ==, b);

  /* The embedding is the top band. */
  g_autoptr (FsFlowGraph) branching = render_fixture_branching ();
  g_autoptr (FsGraphLayout) branching_layout = fs_graph_layout_new (branching);
  g_assert_cmpuint (fs_graph_layout_get_n_bands (branching_layout), ==, 8);
  g_assert_cmpint (fs_graph_layout_get_band (branching_layout, 0)->layer, ==, FS_LAYER_EMBED);
}

/* Layouts are built in worker threads; igraph (as Debian builds it) has
 * global state, which the layout serialises. Several threads at once give
 * the same layout as one. */
static gpointer
layout_in_thread (gpointer data)
{
  FsFlowGraph *graph = data;
  GPtrArray *layouts = g_ptr_array_new_with_free_func ((GDestroyNotify) fs_graph_layout_unref);
  for (guint k = 0; k < 4; k++)
    g_ptr_array_add (layouts, fs_graph_layout_new (graph));
  return layouts;
}

static void
test_layout_threads (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_large (12, 19);
  g_autoptr (FsGraphLayout) reference = fs_graph_layout_new (graph);
  GThread *threads[4];

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("layout", layout_in_thread, graph);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      g_autoptr (GPtrArray) layouts = g_thread_join (threads[t]);
      for (guint k = 0; k < layouts->len; k++)
        for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
          {
            FsGraphPoint p = fs_graph_layout_get_node_position (layouts->pdata[k], i);
            FsGraphPoint q = fs_graph_layout_get_node_position (reference, i);
            g_assert_cmpfloat (p.x, ==, q.x);
            g_assert_cmpfloat (p.y, ==, q.y);
          }
    }
}

/* Every polyline runs from its source to its target, downwards, with one
 * bend point on each row it crosses. */
static void
test_layout_polylines (void)
{
  gboolean saw_long_edge = FALSE;

  for (guint f = 0; f <= G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (FsFlowGraph) graph = f < G_N_ELEMENTS (fixtures) ? fixtures[f].make ()
                                      : render_fixture_large (26, 19);
      g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
      g_autoptr (GHashTable) rows = g_hash_table_new (g_double_hash, g_double_equal);
      g_autofree double *ys = g_new (double, fs_flow_graph_get_n_nodes (graph) + 1);

      for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
        {
          ys[i] = fs_graph_layout_get_node_position (layout, i).y;
          g_hash_table_add (rows, &ys[i]);
        }

      for (guint e = 0; e < fs_flow_graph_get_n_edges (graph); e++)
        {
          const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, e);
          FsGraphPoint source = fs_graph_layout_get_node_position (layout, edge->source);
          FsGraphPoint target = fs_graph_layout_get_node_position (layout, edge->target);
          guint n;
          const FsGraphPoint *points = fs_graph_layout_get_edge_points (layout, e, &n);

          g_assert_cmpuint (n, >=, 2);
          g_assert_cmpfloat (points[0].x, ==, source.x);
          g_assert_cmpfloat (points[0].y, ==, source.y);
          g_assert_cmpfloat (points[n - 1].x, ==, target.x);
          g_assert_cmpfloat (points[n - 1].y, ==, target.y);
          for (guint k = 0; k + 1 < n; k++)
            g_assert_cmpfloat (points[k].y, <, points[k + 1].y);

          guint crossed = 0;
          GHashTableIter iter;
          double *y;
          g_hash_table_iter_init (&iter, rows);
          while (g_hash_table_iter_next (&iter, (gpointer *) &y, NULL))
            crossed += *y > source.y && *y < target.y;
          g_assert_cmpuint (n, ==, crossed + 2);
          saw_long_edge |= n > 3;
        }
    }
  g_assert_true (saw_long_edge);
}

static void
test_layout_lineage (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_chain ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  guint seed = find (graph, 3, FS_SITE_RES, 103);
  g_autofree guint8 *lineage = fs_graph_layout_get_lineage (layout, seed);

  g_assert_cmpuint (lineage[seed], ==, FS_GRAPH_LINEAGE_ANCESTOR | FS_GRAPH_LINEAGE_DESCENDANT);
  g_assert_cmpuint (lineage[find (graph, 0, FS_SITE_RES, 100)], ==, FS_GRAPH_LINEAGE_ANCESTOR);
  g_assert_cmpuint (lineage[find (graph, 1, FS_SITE_MLP, 11)], ==, FS_GRAPH_LINEAGE_ANCESTOR);
  g_assert_cmpuint (lineage[find (graph, 3, FS_SITE_ATT, 303)], ==, FS_GRAPH_LINEAGE_ANCESTOR);
  g_assert_cmpuint (lineage[find (graph, 5, FS_SITE_RES, 105)], ==, FS_GRAPH_LINEAGE_DESCENDANT);
  /* 4/att/404 feeds 4/res, a descendant, but does not flow through the seed. */
  g_assert_cmpuint (lineage[find (graph, 4, FS_SITE_ATT, 404)], ==, 0);
  for (guint e = 0; e < fs_flow_graph_get_n_edges (graph); e++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, e);
      gboolean expected = fs_flow_graph_get_node (graph, edge->source)->layer != 4
                          || fs_flow_graph_get_node (graph, edge->source)->site == FS_SITE_RES;
      g_assert_cmpint (fs_graph_layout_edge_in_lineage (layout, lineage, e), ==, expected);
    }
}

/* Drawing */

/* Each node's centre is its site's colour, clear space is background, and
 * the seed has its ring. */
static void
test_draw_golden (void)
{
  FsGraphStyle style;
  fs_graph_style_init_light (&style);

  for (guint f = 0; f < G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (FsFlowGraph) graph = fixtures[f].make ();
      g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
      FsGraphView view = fitted_view (layout);
      g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);
      double radius = fs_graph_view_node_radius (&view, layout);
      guint n_nodes = fs_flow_graph_get_n_nodes (graph);

      g_test_message ("%s: %u nodes, scale %.1f, radius %.1f px", fixtures[f].name, n_nodes,
                      view.scale, radius);
      if (n_nodes > 0)
        g_assert_cmpfloat (radius, >=, 4);
      for (guint i = 0; i < n_nodes; i++)
        {
          FsGraphPoint c = node_pixels (layout, &view, i);
          assert_color (surface, c.x, c.y, style.site[fs_flow_graph_get_node (graph, i)->site], 1);
          /* Half way to the rim too: a filled disc, not a dot. */
          assert_color (surface, c.x - radius / 2, c.y, style.site[fs_flow_graph_get_node (graph, i)->site], 1);
        }

      /* Clear space is background: on a grid, wherever nothing is drawn. */
      guint n_clear = 0;
      for (double y = 2; y < HEIGHT; y += 9)
        for (double x = 2; x < WIDTH; x += 9)
          {
            FsGraphPoint p = { x + 0.5, y + 0.5 };
            if (n_nodes == 0 && fabs (y - HEIGHT / 2.0) < 40)
              continue;  /* the "empty" notice */
            if (!is_clear (layout, &view, p))
              continue;
            assert_color (surface, p.x, p.y, style.background, 0);
            n_clear++;
          }
      g_assert_cmpuint (n_clear, >, 1000);

      /* The seed's ring, on its left where no label or edge goes. */
      if (n_nodes > 0 && fs_flow_graph_get_node (graph, fs_flow_graph_get_seed (graph))->is_seed)
        {
          FsGraphPoint c = node_pixels (layout, &view, fs_flow_graph_get_seed (graph));
          assert_color (surface, c.x - radius - style.ring_width, c.y, style.foreground, 40);
          /* and no ring around the others */
          for (guint i = 0; i < n_nodes; i++)
            {
              double rgb[3];
              FsGraphPoint o = node_pixels (layout, &view, i);
              if (i == fs_flow_graph_get_seed (graph))
                continue;
              pixel_at (surface, o.x - radius - style.ring_width, o.y, rgb);
              g_assert_cmpfloat (color_distance (rgb, style.foreground), >, 100);
            }
        }
    }
}

/* The empty graph says so in the middle of the picture. */
static void
test_draw_empty (void)
{
  FsGraphStyle style;
  fs_graph_style_init_light (&style);
  g_autoptr (FsFlowGraph) graph = render_fixture_empty ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);
  guint inked = 0;

  for (int x = 0; x < WIDTH; x++)
    for (int y = HEIGHT / 2 - 15; y < HEIGHT / 2 + 5; y++)
      {
        double rgb[3];
        pixel_at (surface, x, y, rgb);
        inked += color_distance (rgb, style.background) > 100;
      }
  g_assert_cmpuint (inked, >, 50);
}

/* Hovering dims what is outside the node's lineage and nothing inside it;
 * the overlay on a cached base gives exactly the full drawing. */
static void
test_draw_highlight (void)
{
  FsGraphStyle style;
  fs_graph_style_init_light (&style);
  g_autoptr (FsFlowGraph) graph = render_fixture_branching ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  guint hovered = find (graph, 6, FS_SITE_MLP, 666);
  guint inside = find (graph, 6, FS_SITE_RES, 61);
  guint outside = find (graph, 2, FS_SITE_RES, 22);

  view.highlight = hovered;
  g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);
  FsGraphPoint c = node_pixels (layout, &view, hovered);
  assert_color (surface, c.x, c.y, style.site[FS_SITE_MLP], 1);
  c = node_pixels (layout, &view, inside);
  assert_color (surface, c.x, c.y, style.site[FS_SITE_RES], 1);
  c = node_pixels (layout, &view, outside);
  assert_color (surface, c.x, c.y, mix (style.site[FS_SITE_RES], style.background, style.dim_alpha), 2);

  /* A middle node: its ancestors and descendants stay, a sibling fades. */
  view.highlight = find (graph, 3, FS_SITE_RES, 32);
  g_clear_pointer (&surface, cairo_surface_destroy);
  surface = render (layout, &style, &view);
  c = node_pixels (layout, &view, find (graph, 2, FS_SITE_MLP, 222));
  assert_color (surface, c.x, c.y, style.site[FS_SITE_MLP], 1);
  c = node_pixels (layout, &view, find (graph, 5, FS_SITE_RES, 51));
  assert_color (surface, c.x, c.y, style.site[FS_SITE_RES], 1);
  c = node_pixels (layout, &view, find (graph, 3, FS_SITE_RES, 31));
  assert_color (surface, c.x, c.y, mix (style.site[FS_SITE_RES], style.background, style.dim_alpha), 2);

  /* Base, then overlay, is the same picture as fs_graph_draw. */
  g_autoptr (cairo_surface_t) layered = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT);
  cairo_t *cr = cairo_create (layered);
  fs_graph_draw_base (cr, layout, graph, &style, &view);
  fs_graph_draw_overlay (cr, layout, graph, &style, &view);
  cairo_destroy (cr);
  cairo_surface_flush (layered);
  g_assert_cmpmem (cairo_image_surface_get_data (surface),
                   cairo_image_surface_get_stride (surface) * HEIGHT,
                   cairo_image_surface_get_data (layered),
                   cairo_image_surface_get_stride (layered) * HEIGHT);
}

static void
test_draw_selection (void)
{
  FsGraphStyle style;
  fs_graph_style_init_light (&style);
  g_autoptr (FsFlowGraph) graph = render_fixture_chain ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  guint selected = find (graph, 1, FS_SITE_RES, 101);

  view.selected = selected;
  g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);
  FsGraphPoint c = node_pixels (layout, &view, selected);
  double ring = fs_graph_view_node_radius (&view, layout) + 2 * style.ring_width;
  assert_color (surface, c.x - ring, c.y, style.selection, 40);
  assert_color (surface, c.x, c.y, style.site[FS_SITE_RES], 1);
}

static void
test_draw_dark (void)
{
  FsGraphStyle style;
  fs_graph_style_init_dark (&style);
  g_autoptr (FsFlowGraph) graph = render_fixture_chain ();
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);

  g_assert_cmpfloat (style.background.red, <, 0.2);
  assert_color (surface, WIDTH - 2, HEIGHT - 2, style.background, 0);
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      FsGraphPoint c = node_pixels (layout, &view, i);
      assert_color (surface, c.x, c.y, style.site[fs_flow_graph_get_node (graph, i)->site], 1);
    }
}

/* Labels come from files: invalid UTF-8 and control characters must not
 * put the cairo_t in an error state. */
static void
test_draw_bad_label (void)
{
  FsGraphStyle style;
  FsFlowParams params;
  fs_graph_style_init_light (&style);
  fs_flow_params_init (&params);
  g_autoptr (FsFlowGraph) graph = fs_flow_graph_new (&params);
  FsFlowNode node = { .layer = 2, .site = FS_SITE_RES, .index = 5,
                      .label = (char *) "bad \xff\xfe bytes\nand a newline", .is_seed = TRUE };
  fs_flow_graph_add_node (graph, &node);
  fs_flow_graph_finish (graph);
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  g_autoptr (cairo_surface_t) surface = render (layout, &style, &view);  /* checks the status */
  FsGraphPoint c = node_pixels (layout, &view, 0);
  assert_color (surface, c.x, c.y, style.site[FS_SITE_RES], 1);
}

/* Fitting keeps every node inside the area and its margin. */
static void
test_view_fit (void)
{
  g_autoptr (FsFlowGraph) graph = render_fixture_large (26, 19);
  g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
  FsGraphView view = fitted_view (layout);
  double r = fs_graph_view_node_radius (&view, layout);

  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      FsGraphPoint c = node_pixels (layout, &view, i);
      g_assert_cmpfloat (c.x - r, >=, MARGIN + FS_GRAPH_LAYER_COLUMN - 1);
      g_assert_cmpfloat (c.x + r, <=, WIDTH - MARGIN - FS_GRAPH_LABEL_WIDTH + 1);
      g_assert_cmpfloat (c.y - r, >=, MARGIN + FS_GRAPH_LEGEND_HEIGHT - 1);
      g_assert_cmpfloat (c.y + r, <=, HEIGHT - MARGIN + 1);
      FsGraphPoint back = fs_graph_view_from_pixels (&view, c.x, c.y);
      FsGraphPoint p = fs_graph_layout_get_node_position (layout, i);
      g_assert_cmpfloat_with_epsilon (back.x, p.x, 1e-9);
      g_assert_cmpfloat_with_epsilon (back.y, p.y, 1e-9);
    }
}

/* Hit-testing */

static void
test_hit_test (void)
{
  for (guint f = 0; f < G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (FsFlowGraph) graph = fixtures[f].make ();
      g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
      FsGraphView view = fitted_view (layout);
      double radius = fs_graph_view_node_radius (&view, layout);
      FsGraphHitKind kind;
      guint index, n_edges_checked = 0;

      for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
        {
          FsGraphPoint c = node_pixels (layout, &view, i);
          g_assert_true (fs_graph_hit_test (layout, &view, c.x, c.y, &kind, &index));
          g_assert_cmpint (kind, ==, FS_GRAPH_HIT_NODE);
          g_assert_cmpuint (index, ==, i);
          /* Near the rim still counts; beyond it, not this node. */
          g_assert_true (fs_graph_hit_test (layout, &view, c.x + radius - 1, c.y, &kind, &index));
          g_assert_cmpint (kind, ==, FS_GRAPH_HIT_NODE);
          g_assert_cmpuint (index, ==, i);
        }

      /* Midpoints of segments that are clear of nodes and other edges. */
      for (guint e = 0; e < fs_flow_graph_get_n_edges (graph); e++)
        {
          guint n;
          const FsGraphPoint *points = fs_graph_layout_get_edge_points (layout, e, &n);
          for (guint k = 0; k + 1 < n; k++)
            {
              FsGraphPoint a = fs_graph_view_to_pixels (&view, points[k]);
              FsGraphPoint b = fs_graph_view_to_pixels (&view, points[k + 1]);
              FsGraphPoint mid = { (a.x + b.x) / 2, (a.y + b.y) / 2 };
              gboolean clear = TRUE;
              for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph) && clear; i++)
                {
                  FsGraphPoint c = node_pixels (layout, &view, i);
                  clear = hypot (c.x - mid.x, c.y - mid.y) > radius + 6;
                }
              for (guint o = 0; o < fs_flow_graph_get_n_edges (graph) && clear; o++)
                clear = o == e || edge_distance (layout, &view, o, mid) > 6;
              if (!clear)
                continue;
              g_assert_true (fs_graph_hit_test (layout, &view, mid.x, mid.y, &kind, &index));
              g_assert_cmpint (kind, ==, FS_GRAPH_HIT_EDGE);
              g_assert_cmpuint (index, ==, e);
              /* Two pixels off the line still hits it. */
              g_assert_true (fs_graph_hit_test (layout, &view, mid.x + 2, mid.y, &kind, &index));
              g_assert_cmpuint (index, ==, e);
              n_edges_checked++;
            }
        }
      if (fs_flow_graph_get_n_edges (graph) > 0)
        g_assert_cmpuint (n_edges_checked, >=, fs_flow_graph_get_n_edges (graph) / 2);

      /* Empty space. */
      g_assert_false (fs_graph_hit_test (layout, &view, WIDTH - 2, HEIGHT - 2, &kind, &index));
      g_assert_cmpint (kind, ==, FS_GRAPH_HIT_NONE);
      g_assert_false (fs_graph_hit_test (layout, &view, 2, 2, NULL, NULL));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/layout/deterministic", test_layout_deterministic);
  g_test_add_func ("/render/layout/bands", test_layout_bands);
  g_test_add_func ("/render/layout/polylines", test_layout_polylines);
  g_test_add_func ("/render/layout/threads", test_layout_threads);
  g_test_add_func ("/render/layout/lineage", test_layout_lineage);
  g_test_add_func ("/render/draw/golden", test_draw_golden);
  g_test_add_func ("/render/draw/empty", test_draw_empty);
  g_test_add_func ("/render/draw/highlight", test_draw_highlight);
  g_test_add_func ("/render/draw/selection", test_draw_selection);
  g_test_add_func ("/render/draw/dark", test_draw_dark);
  g_test_add_func ("/render/draw/bad-label", test_draw_bad_label);
  g_test_add_func ("/render/view/fit", test_view_fit);
  g_test_add_func ("/render/hit-test", test_hit_test);
  return g_test_run ();
}
