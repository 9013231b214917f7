/* layout.h: where each node and edge of a flow graph goes on the page.
 *
 * A layered (Sugiyama) layout computed by igraph: one horizontal band per
 * model layer, earlier layers at the top so that the computation reads
 * downwards. Inside a band the residual node sits on the band's main row and
 * the attention and MLP nodes that write into it on sub-rows just above
 * (att above mlp above res, the order the block computes them). Edges that
 * span several rows bend through the dummy vertices igraph places for them,
 * so each edge is a polyline.
 *
 * Coordinates are abstract graph units: nodes on a row are at least two
 * units apart, y grows downwards. An FsGraphView (view.h) maps them to pixels.
 *
 * An FsGraphLayout is immutable once built and may be built in a worker
 * thread (several at once: the igraph calls are serialised) and read from
 * any thread. The graph must be finished (fs_flow_graph_finish).
 */
#pragma once

#include <glib.h>

#include "flow-graph.h"

G_BEGIN_DECLS

typedef struct {
  double x, y;
} FsGraphPoint;

/* One model layer's band. */
typedef struct {
  int    layer;  /* model layer, FS_LAYER_EMBED for the embedding */
  double y;      /* the main (residual) row */
  double top;    /* the topmost sub-row; equals y when there are none */
} FsGraphBand;

typedef struct _FsGraphLayout FsGraphLayout;

FsGraphLayout      *fs_graph_layout_new (FsFlowGraph *graph);
FsGraphLayout      *fs_graph_layout_ref (FsGraphLayout *layout);
void                fs_graph_layout_unref (FsGraphLayout *layout);

FsFlowGraph        *fs_graph_layout_get_graph (FsGraphLayout *layout);
guint               fs_graph_layout_get_n_nodes (FsGraphLayout *layout);
guint               fs_graph_layout_get_n_edges (FsGraphLayout *layout);
FsGraphPoint        fs_graph_layout_get_node_position (FsGraphLayout *layout, guint node);
/* The edge's polyline: first point at the source node, last at the target. */
const FsGraphPoint *fs_graph_layout_get_edge_points (FsGraphLayout *layout, guint edge,
                                                     guint *n_points);
/* Radius of a node, in graph units. */
double              fs_graph_layout_get_node_radius (FsGraphLayout *layout);
/* Free room to the right of a node on its row (up to the next node's
 * circle), in graph units, for its label. */
double              fs_graph_layout_get_label_room (FsGraphLayout *layout, guint node);

/* Smallest vertical distance between two rows, in graph units: how much
 * room there is for text under a node. */
double              fs_graph_layout_get_row_gap (FsGraphLayout *layout);

/* Bands, top to bottom (layers ascending). */
guint               fs_graph_layout_get_n_bands (FsGraphLayout *layout);
const FsGraphBand  *fs_graph_layout_get_band (FsGraphLayout *layout, guint band);

/* The rectangle holding every node circle and edge point; all zero for an
 * empty graph. */
void                fs_graph_layout_get_bounds (FsGraphLayout *layout, double *x, double *y,
                                                double *width, double *height);

/* The hovered node's lineage: a newly allocated array of n_nodes flags,
 * FS_GRAPH_LINEAGE_ANCESTOR for the node and everything that flows into it,
 * FS_GRAPH_LINEAGE_DESCENDANT for the node and everything it flows into. */
enum {
  FS_GRAPH_LINEAGE_ANCESTOR = 1 << 0,
  FS_GRAPH_LINEAGE_DESCENDANT = 1 << 1,
};
guint8             *fs_graph_layout_get_lineage (FsGraphLayout *layout, guint node);
/* Whether an edge lies on a path through the node whose lineage this is. */
gboolean            fs_graph_layout_edge_in_lineage (FsGraphLayout *layout, const guint8 *lineage,
                                                     guint edge);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsGraphLayout, fs_graph_layout_unref)

G_END_DECLS
