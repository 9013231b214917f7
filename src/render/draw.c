/* draw.c: painting a laid-out flow graph with Cairo.
 *
 * Order, bottom to top: background, band separators, edges, nodes, labels,
 * then the fixed parts (layer numbers, legend). Text uses Cairo's toy API,
 * which is enough for one-line labels and keeps src/render free of Pango.
 */
#include "draw.h"

#include <math.h>
#include <string.h>

#define LABEL_GAP       4.0   /* pixels between a node (or its ring) and its label */
#define MIN_LABEL_ROOM  28.0  /* narrower than this, a label is left out, not mangled */
#define HALO_WIDTH      1.5   /* background-coloured rim that separates nodes from edges */
#define MIN_HALO_RADIUS 6.0   /* on smaller nodes the rim would eat the node */
#define LEGEND_MARGIN   8.0
#define LEGEND_SWATCH   5.0   /* radius of the site swatches */
#define ELLIPSIS        "\u2026"
#define SCORE_LEVELS    5     /* edge widths and opacities drawn: 0, 0.25, ... 1 */

static const double legend_scores[] = { 0.25, 0.5, 1.0 };

/* Style */

static FsGraphColor
rgb (guint32 hex)
{
  return (FsGraphColor) { ((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0,
                          (hex & 0xff) / 255.0 };
}

static void
style_init_common (FsGraphStyle *style)
{
  style->font_family = "Sans";
  style->font_size = 11.0;
  style->label_font_size = 10.0;
  style->ring_width = 2.5;
  style->edge_width_min = 0.75;
  style->edge_width_max = 4.0;
  style->dim_alpha = 0.75;
  style->selection = rgb (0xCC79A7);  /* Okabe-Ito reddish purple */
  style->site[FS_SITE_MLP] = rgb (0xD55E00);
  style->site[FS_SITE_ATT] = rgb (0x009E73);
}

void
fs_graph_style_init_light (FsGraphStyle *style)
{
  style_init_common (style);
  style->background = rgb (0xFFFFFF);
  style->foreground = rgb (0x1E1E1E);
  style->muted = rgb (0x8A8A8A);
  style->site[FS_SITE_RES] = rgb (0x0072B2);
}

void
fs_graph_style_init_dark (FsGraphStyle *style)
{
  style_init_common (style);
  style->background = rgb (0x1E1E1E);
  style->foreground = rgb (0xEEEEEE);
  style->muted = rgb (0x8A8A8A);
  style->site[FS_SITE_RES] = rgb (0x56B4E9);
}

/* Painter: what every drawing step needs */

typedef struct {
  cairo_t            *cr;
  FsGraphLayout      *layout;
  FsFlowGraph        *graph;
  const FsGraphStyle *style;
  const FsGraphView  *view;
  double              radius;   /* node radius in pixels */
  const guint8       *lineage;  /* draw only this lineage; NULL for everything */
  double              x0, y0, x1, y1;  /* the area being painted */
} Painter;

static void
painter_init (Painter *p, cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
              const FsGraphStyle *style, const FsGraphView *view)
{
  *p = (Painter) { cr, layout, graph, style, view, fs_graph_view_node_radius (view, layout) };
  cairo_clip_extents (cr, &p->x0, &p->y0, &p->x1, &p->y1);
  cairo_select_font_face (cr, style->font_family, CAIRO_FONT_SLANT_NORMAL,
                          CAIRO_FONT_WEIGHT_NORMAL);
}

static void
set_color (cairo_t *cr, const FsGraphColor *color, double alpha)
{
  cairo_set_source_rgba (cr, color->red, color->green, color->blue, alpha);
}

static FsGraphPoint
node_pixels (Painter *p, guint node)
{
  return fs_graph_view_to_pixels (p->view, fs_graph_layout_get_node_position (p->layout, node));
}

static gboolean
node_drawn (Painter *p, guint node)
{
  return p->lineage == NULL || p->lineage[node] != 0;
}

/* Whether a box around (x, y) reaches into the painted area. */
static gboolean
visible (Painter *p, double x, double y, double left, double right, double vertical)
{
  return x + right >= p->x0 && x - left <= p->x1 && y + vertical >= p->y0 && y - vertical <= p->y1;
}

static double
edge_width (const FsGraphStyle *style, double score)
{
  return style->edge_width_min + (style->edge_width_max - style->edge_width_min) * score;
}

static double
edge_alpha (double score)
{
  return 0.3 + 0.6 * score;
}

/* Text */

/* Shows `text` with its baseline starting at (x, y), cut with an ellipsis
 * to fit `room` pixels; shows nothing if not even one character fits. */
static void
show_fitted (cairo_t *cr, const char *text, double x, double y, double room)
{
  cairo_text_extents_t extents;
  const char *shown = text;
  g_autoptr (GString) cut = NULL;

  cairo_text_extents (cr, text, &extents);
  if (extents.x_advance > room)
    {
      /* The longest prefix that fits with the ellipsis, by bisection. */
      glong lo = 0, hi = g_utf8_strlen (text, -1) - 1;
      cut = g_string_new (NULL);
      while (lo < hi)
        {
          glong mid = (lo + hi + 1) / 2;
          g_string_truncate (cut, 0);
          g_string_append_len (cut, text, g_utf8_offset_to_pointer (text, mid) - text);
          g_string_append (cut, ELLIPSIS);
          cairo_text_extents (cr, cut->str, &extents);
          if (extents.x_advance <= room)
            lo = mid;
          else
            hi = mid - 1;
        }
      if (lo == 0)
        return;
      g_string_truncate (cut, 0);
      g_string_append_len (cut, text, g_utf8_offset_to_pointer (text, lo) - text);
      g_string_append (cut, ELLIPSIS);
      shown = cut->str;
    }
  cairo_move_to (cr, x, y);
  cairo_show_text (cr, shown);
}

/* Cairo refuses invalid UTF-8 by putting the whole context in an error
 * state, and labels come from files: make them valid and one line. */
static char *
clean_label (const char *label)
{
  char *clean = g_utf8_make_valid (label, -1);
  for (char *c = clean; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      *c = ' ';
  return clean;
}

static const char *
layer_text (int layer, char *buffer, gsize size)
{
  if (layer == FS_LAYER_EMBED)
    return "emb";
  g_snprintf (buffer, size, "L%d", layer);
  return buffer;
}

/* Steps */

static void
draw_bands (Painter *p)
{
  guint n = fs_graph_layout_get_n_bands (p->layout);
  cairo_t *cr = p->cr;

  set_color (cr, &p->style->muted, 0.3);
  cairo_set_line_width (cr, 1.0);
  for (guint i = 0; i + 1 < n; i++)
    {
      const FsGraphBand *band = fs_graph_layout_get_band (p->layout, i);
      const FsGraphBand *next = fs_graph_layout_get_band (p->layout, i + 1);
      double y = ((band->y + next->top) / 2) * p->view->scale + p->view->offset_y;
      y = floor (y) + 0.5;  /* crisp one-pixel line */
      cairo_move_to (cr, p->x0, y);
      cairo_line_to (cr, p->x1, y);
    }
  cairo_stroke (cr);
}

/* Edges are stroked in batches of one kind and one score level, weakest
 * first so that strong edges lie on top: fifteen strokes instead of one per
 * edge. Edges of one batch do not darken where they overlap, which reads
 * as well. With fast antialiasing this halves the time of the costliest
 * step of a 500-node drawing (cairo 1.16, tests/render/bench-render.c). */
static guint
score_level (float score)
{
  return (guint) lround (CLAMP (score, 0.0f, 1.0f) * (SCORE_LEVELS - 1));
}

static void
draw_edges (Painter *p)
{
  cairo_t *cr = p->cr;
  guint n_edges = fs_graph_layout_get_n_edges (p->layout);
  guint counts[SCORE_LEVELS][3] = { { 0 } };

  for (guint e = 0; e < n_edges; e++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (p->graph, e);
      counts[score_level (edge->score)][edge->kind]++;
    }

  /* Ends are under the nodes and bends are slight: the cheapest cap and
   * join. Fast antialiasing (4x4 samples) shows no loss on lines this thin. */
  cairo_save (cr);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_BEVEL);
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_FAST);
  for (guint level = 0; level < SCORE_LEVELS; level++)
    for (FsSite kind = FS_SITE_RES; kind <= FS_SITE_ATT; kind++)
      {
        double score = (double) level / (SCORE_LEVELS - 1);
        if (counts[level][kind] == 0)
          continue;
        for (guint e = 0; e < n_edges; e++)
          {
            const FsFlowEdge *edge = fs_flow_graph_get_edge (p->graph, e);
            if (edge->kind != kind || score_level (edge->score) != level
                || (p->lineage != NULL
                    && !fs_graph_layout_edge_in_lineage (p->layout, p->lineage, e)))
              continue;
            guint n;
            const FsGraphPoint *points = fs_graph_layout_get_edge_points (p->layout, e, &n);
            cairo_new_sub_path (cr);
            for (guint k = 0; k < n; k++)
              {
                FsGraphPoint q = fs_graph_view_to_pixels (p->view, points[k]);
                cairo_line_to (cr, q.x, q.y);
              }
          }
        set_color (cr, &p->style->site[kind], edge_alpha (score));
        cairo_set_line_width (cr, edge_width (p->style, score));
        cairo_stroke (cr);
      }
  cairo_restore (cr);
}

static double
ring_radius (Painter *p)
{
  return p->radius + p->style->ring_width;
}

/* Adds a circle around every node of `site` (all sites if site < 0) that
 * is drawn and in view. */
static void
add_node_circles (Painter *p, int site, double radius)
{
  guint n_nodes = fs_graph_layout_get_n_nodes (p->layout);

  for (guint i = 0; i < n_nodes; i++)
    {
      FsGraphPoint c = node_pixels (p, i);
      if ((site >= 0 && fs_flow_graph_get_node (p->graph, i)->site != (FsSite) site)
          || !node_drawn (p, i) || !visible (p, c.x, c.y, radius, radius, radius))
        continue;
      cairo_new_sub_path (p->cr);
      cairo_arc (p->cr, c.x, c.y, radius, 0, 2 * G_PI);
    }
}

/* Fills only, one path each, no strokes: a background-coloured rim that
 * separates nodes from the edges passing by (on nodes big enough for it to
 * show), then one fill per site. */
static void
draw_nodes (Painter *p)
{
  cairo_t *cr = p->cr;
  guint n_nodes = fs_graph_layout_get_n_nodes (p->layout);

  if (p->radius >= MIN_HALO_RADIUS)
    {
      add_node_circles (p, -1, p->radius + HALO_WIDTH);
      set_color (cr, &p->style->background, 1.0);
      cairo_fill (cr);
    }
  for (FsSite site = FS_SITE_RES; site <= FS_SITE_ATT; site++)
    {
      add_node_circles (p, site, p->radius);
      set_color (cr, &p->style->site[site], 1.0);
      cairo_fill (cr);
    }

  /* The seed's ring, in the text colour so that it reads as "this one". */
  guint seed = fs_flow_graph_get_seed (p->graph);
  if (seed < n_nodes && fs_flow_graph_get_node (p->graph, seed)->is_seed && node_drawn (p, seed))
    {
      FsGraphPoint c = node_pixels (p, seed);
      cairo_new_sub_path (cr);
      cairo_arc (cr, c.x, c.y, ring_radius (p), 0, 2 * G_PI);
      set_color (cr, &p->style->foreground, 1.0);
      cairo_set_line_width (cr, p->style->ring_width);
      cairo_stroke (cr);
    }
}

/* Where a node's label goes: its left end, and the room it has up to the
 * next node's ring with a gap on both sides; FALSE when there is too little
 * room or it is out of view. */
static gboolean
label_box (Painter *p, guint node, double *x, double *room)
{
  double left = ring_radius (p) + LABEL_GAP;
  FsGraphPoint c = node_pixels (p, node);

  *x = c.x + left;
  *room = fs_graph_layout_get_label_room (p->layout, node) * p->view->scale
          - 2 * (p->style->ring_width + LABEL_GAP);
  *room = MIN (*room, FS_GRAPH_LABEL_WIDTH - left);
  return *room >= MIN_LABEL_ROOM && node_drawn (p, node)
         && visible (p, c.x, c.y, 0, left + *room, 2 * p->style->font_size);
}

static gboolean
has_label (const FsFlowNode *node)
{
  return node->label != NULL && node->label[0] != '\0';
}

/* "L/site/i" on the node's right, and under it the feature's label when
 * known, cut to the room before the next node on the row. Ids are shown
 * whole or not at all; when rows are too close for two lines only ids are
 * shown, and when too close for one, nothing. Two passes, one per font
 * size, as switching fonts costs more than the text. */
static void
draw_labels (Painter *p)
{
  cairo_t *cr = p->cr;
  const FsGraphStyle *style = p->style;
  guint n_nodes = fs_graph_layout_get_n_nodes (p->layout);
  double row_px = fs_graph_layout_get_row_gap (p->layout) * p->view->scale;
  gboolean two_lines = row_px >= style->font_size + style->label_font_size + 6;
  double x, room;
  cairo_text_extents_t extents;

  if (row_px < style->font_size + 2)
    return;
  g_autofree gboolean *id_shown = g_new0 (gboolean, MAX (n_nodes, 1));

  cairo_set_font_size (cr, style->font_size);
  set_color (cr, &style->foreground, 1.0);
  for (guint i = 0; i < n_nodes; i++)
    {
      if (!label_box (p, i, &x, &room))
        continue;
      const FsFlowNode *node = fs_flow_graph_get_node (p->graph, i);
      g_autofree char *id = fs_feature_id (node->layer, node->site, node->index);
      cairo_text_extents (cr, id, &extents);
      if (extents.x_advance > room)
        continue;
      double y = node_pixels (p, i).y;
      cairo_move_to (cr, x, two_lines && has_label (node) ? y - 1.5 : y + 0.35 * style->font_size);
      cairo_show_text (cr, id);
      id_shown[i] = TRUE;
    }

  if (!two_lines)
    return;
  cairo_set_font_size (cr, style->label_font_size);
  set_color (cr, &style->muted, 1.0);
  for (guint i = 0; i < n_nodes; i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (p->graph, i);
      if (!id_shown[i] || !has_label (node) || !label_box (p, i, &x, &room))
        continue;
      g_autofree char *label = clean_label (node->label);
      show_fitted (cr, label, x, node_pixels (p, i).y + style->label_font_size + 0.5, room);
    }
}

static void
draw_layer_numbers (Painter *p)
{
  cairo_t *cr = p->cr;
  guint n = fs_graph_layout_get_n_bands (p->layout);

  cairo_set_font_size (p->cr, p->style->font_size);
  set_color (cr, &p->style->muted, 1.0);
  for (guint i = 0; i < n; i++)
    {
      const FsGraphBand *band = fs_graph_layout_get_band (p->layout, i);
      double y = band->y * p->view->scale + p->view->offset_y;
      if (y < p->y0 - p->style->font_size || y > p->y1 + p->style->font_size)
        continue;
      char buffer[16];
      const char *text = layer_text (band->layer, buffer, sizeof buffer);
      cairo_text_extents_t extents;
      cairo_text_extents (cr, text, &extents);
      cairo_move_to (cr, FS_GRAPH_LAYER_COLUMN - 8 - extents.x_advance,
                     y + 0.35 * p->style->font_size);
      cairo_show_text (cr, text);
    }
}

/* Lays the legend out from (x, y) and returns its width; paints only when
 * asked, so that the frame can be sized first. */
static double
legend_items (Painter *p, double x, double y, gboolean paint)
{
  static const char *const site_names[] = { "res", "mlp", "att" };
  static const FsSite site_order[] = { FS_SITE_RES, FS_SITE_MLP, FS_SITE_ATT };
  cairo_t *cr = p->cr;
  double baseline = y + 0.35 * p->style->font_size;
  double start = x;
  cairo_text_extents_t extents;

#define LEGEND_TEXT(text, color)                                    \
  G_STMT_START {                                                    \
    cairo_text_extents (cr, (text), &extents);                      \
    if (paint)                                                      \
      {                                                             \
        set_color (cr, (color), 1.0);                               \
        cairo_move_to (cr, x, baseline);                            \
        cairo_show_text (cr, (text));                               \
      }                                                             \
    x += extents.x_advance;                                         \
  } G_STMT_END

  cairo_set_font_size (p->cr, p->style->font_size);
  for (guint k = 0; k < G_N_ELEMENTS (site_order); k++)
    {
      if (paint)
        {
          cairo_new_sub_path (cr);
          cairo_arc (cr, x + LEGEND_SWATCH, y, LEGEND_SWATCH, 0, 2 * G_PI);
          set_color (cr, &p->style->site[site_order[k]], 1.0);
          cairo_fill (cr);
        }
      x += 2 * LEGEND_SWATCH + 4;
      LEGEND_TEXT (site_names[site_order[k]], &p->style->foreground);
      x += 12;
    }

  x += 6;
  LEGEND_TEXT ("score", &p->style->foreground);
  for (guint k = 0; k < G_N_ELEMENTS (legend_scores); k++)
    {
      double score = legend_scores[k];
      char text[8];
      x += 6;
      if (paint)
        {
          cairo_move_to (cr, x, y);
          cairo_line_to (cr, x + 18, y);
          set_color (cr, &p->style->foreground, edge_alpha (score));
          cairo_set_line_width (cr, edge_width (p->style, score));
          cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
          cairo_stroke (cr);
        }
      x += 22;
      g_snprintf (text, sizeof text, "%.2g", score);
      LEGEND_TEXT (text, &p->style->muted);
    }

  if (fs_flow_graph_is_truncated (p->graph))
    {
      x += 12;
      LEGEND_TEXT ("truncated", &p->style->selection);
    }
#undef LEGEND_TEXT
  return x - start;
}

static void
draw_legend (Painter *p)
{
  cairo_t *cr = p->cr;
  double height = FS_GRAPH_LEGEND_HEIGHT - 2 * LEGEND_MARGIN;
  double x = LEGEND_MARGIN, y = LEGEND_MARGIN;
  double width = legend_items (p, x + 8, y + height / 2, FALSE) + 16;

  cairo_rectangle (cr, x + 0.5, y + 0.5, width, height);
  set_color (cr, &p->style->background, 0.9);
  cairo_fill_preserve (cr);
  set_color (cr, &p->style->muted, 0.6);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);
  legend_items (p, x + 8, y + height / 2, TRUE);
}

static void
draw_empty_notice (Painter *p)
{
  const char *text = "This flow graph is empty.";
  cairo_text_extents_t extents;

  cairo_set_font_size (p->cr, p->style->font_size * 1.4);
  set_color (p->cr, &p->style->muted, 1.0);
  cairo_text_extents (p->cr, text, &extents);
  cairo_move_to (p->cr, (p->x0 + p->x1 - extents.x_advance) / 2, (p->y0 + p->y1) / 2);
  cairo_show_text (p->cr, text);
}

/* Public API */

void
fs_graph_draw_base (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                    const FsGraphStyle *style, const FsGraphView *view)
{
  Painter p;

  g_return_if_fail (cr != NULL && layout != NULL && style != NULL && view != NULL);
  g_return_if_fail (graph == fs_graph_layout_get_graph (layout));

  cairo_save (cr);
  painter_init (&p, cr, layout, graph, style, view);
  set_color (cr, &style->background, 1.0);
  cairo_paint (cr);
  if (fs_graph_layout_get_n_nodes (layout) == 0)
    draw_empty_notice (&p);
  draw_bands (&p);
  draw_edges (&p);
  draw_nodes (&p);
  draw_labels (&p);
  draw_layer_numbers (&p);
  draw_legend (&p);
  cairo_restore (cr);
}

void
fs_graph_draw_overlay (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                       const FsGraphStyle *style, const FsGraphView *view)
{
  guint n_nodes = fs_graph_layout_get_n_nodes (layout);
  Painter p;

  g_return_if_fail (cr != NULL && layout != NULL && style != NULL && view != NULL);
  g_return_if_fail (graph == fs_graph_layout_get_graph (layout));

  cairo_save (cr);
  painter_init (&p, cr, layout, graph, style, view);

  if (view->highlight >= 0 && (guint) view->highlight < n_nodes)
    {
      /* Fade everything, then repaint the lineage and the fixed parts. */
      g_autofree guint8 *lineage = fs_graph_layout_get_lineage (layout, view->highlight);
      set_color (cr, &style->background, style->dim_alpha);
      cairo_paint (cr);
      p.lineage = lineage;
      draw_edges (&p);
      draw_nodes (&p);
      draw_labels (&p);
      p.lineage = NULL;
      draw_layer_numbers (&p);
      draw_legend (&p);
    }

  if (view->selected >= 0 && (guint) view->selected < n_nodes)
    {
      FsGraphPoint c = node_pixels (&p, view->selected);
      cairo_new_sub_path (cr);
      cairo_arc (cr, c.x, c.y, ring_radius (&p) + style->ring_width, 0, 2 * G_PI);
      set_color (cr, &style->selection, 1.0);
      cairo_set_line_width (cr, 1.5 * style->ring_width);
      cairo_stroke (cr);
    }
  cairo_restore (cr);
}

void
fs_graph_draw (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
               const FsGraphStyle *style, const FsGraphView *view)
{
  fs_graph_draw_base (cr, layout, graph, style, view);
  fs_graph_draw_overlay (cr, layout, graph, style, view);
}
