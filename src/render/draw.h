/* draw.h: drawing a laid-out flow graph into any cairo_t.
 *
 * The drawing comes in two parts so that a widget can cache the expensive
 * one: the base (bands, edges, nodes, labels, legend) depends only on the
 * layout, the style and the view's scale and offset; the overlay (the hovered
 * node's lineage, the selection ring) is cheap and drawn on top of a cached
 * base. Hover and selection never need the base redrawn.
 */
#pragma once

#include <cairo.h>

#include "layout.h"
#include "view.h"

G_BEGIN_DECLS

typedef struct {
  double red, green, blue;
} FsGraphColor;

typedef struct {
  FsGraphColor background;
  FsGraphColor foreground;      /* text, seed ring */
  FsGraphColor muted;           /* layer numbers, band lines, feature labels */
  FsGraphColor site[3];         /* indexed by FsSite: res, mlp, att */
  FsGraphColor selection;       /* ring around the selected node */
  const char  *font_family;     /* for cairo's toy text API */
  double       font_size;       /* node ids, layer numbers, legend; pixels */
  double       label_font_size; /* feature labels */
  double       ring_width;      /* seed and selection rings, pixels */
  double       edge_width_min;  /* edge width at score 0 and at score 1, pixels */
  double       edge_width_max;
  double       dim_alpha;       /* how much background covers what a highlight dims */
} FsGraphStyle;

/* Okabe-Ito colours (res blue, mlp vermillion, att bluish green), which stay
 * distinct under the common colour-vision deficiencies. The dark variant
 * uses sky blue for res, which keeps its contrast on a dark background. */
void fs_graph_style_init_light (FsGraphStyle *style);
void fs_graph_style_init_dark (FsGraphStyle *style);

/* The cairo_t's current transformation maps view pixels to the target;
 * the clip (or the whole target) is the area painted. fs_graph_draw draws
 * the base, then the overlay. */
void fs_graph_draw_base (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                         const FsGraphStyle *style, const FsGraphView *view);
void fs_graph_draw_overlay (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                            const FsGraphStyle *style, const FsGraphView *view);
void fs_graph_draw (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                    const FsGraphStyle *style, const FsGraphView *view);

G_END_DECLS
