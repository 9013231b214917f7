/* flow-graph.h: flow graphs (METHOD.md section 3): from a seed residual
 * feature, where it comes from (backward, down to the first layer) and where
 * it goes (forward, up to the last), one layer at a time, by cosine
 * similarity of unit decoder rows.
 *
 * A flow graph is plain immutable data once built: nodes and edges in arrays,
 * safe to read from any thread.
 */
#pragma once

#include <gio/gio.h>

#include "flow-map.h"
#include "labels.h"
#include "sae-set.h"

G_BEGIN_DECLS

/* Data-free reading of a residual node from its predecessor scores
 * (METHOD.md section 2). */
typedef enum {
  FS_READING_NONE,          /* not a residual node, or scores not computed */
  FS_READING_TRANSLATED,    /* s(R) high, modules low */
  FS_READING_PROCESSED,     /* s(R) high, a module high */
  FS_READING_NEWBORN,       /* s(R) low, a module high */
  FS_READING_UNEXPLAINED,   /* all low */
} FsReading;

typedef struct {
  int        top_k;       /* matches followed per node and position, 1..5 */
  float      t_res;       /* residual threshold: s(R) below it is "low" and cuts the span */
  float      t_mlp;       /* module thresholds: MLP / attention nodes need at least this */
  float      t_att;
  gboolean   span_cut;    /* stop following residual edges whose score is below t_res */
  int        max_nodes;   /* cap for branching graphs */
} FsFlowParams;

/* Paper defaults: top-1, t(R) = 0.5, t(M) = t(A) = 0.15, span cut on, 500 nodes. */
void fs_flow_params_init (FsFlowParams *params);

typedef struct {
  int       layer;        /* FS_LAYER_EMBED for the embedding */
  FsSite    site;
  int64_t   index;
  char     *label;        /* the feature's label, or NULL */
  gboolean  is_seed;
  /* Residual nodes only: best score against each predecessor position
   * (0 when the position has no SAE or no positive match) and the reading
   * they give under the graph's thresholds. */
  float     s_res, s_mlp, s_att;
  FsReading reading;
} FsFlowNode;

typedef struct {
  guint     source, target;  /* node indices; source is the earlier position */
  FsSite    kind;            /* site of the source: res, mlp or att */
  float     score;           /* cosine of the unit decoder rows */
  gboolean  projected;       /* from attention heads, compared in attn_out */
} FsFlowEdge;

typedef struct _FsFlowGraph FsFlowGraph;

/* Nodes sorted by (layer, site att < mlp < res, index); edges by (target, source). */
guint              fs_flow_graph_get_n_nodes (FsFlowGraph *graph);
const FsFlowNode  *fs_flow_graph_get_node (FsFlowGraph *graph, guint index);
guint              fs_flow_graph_get_n_edges (FsFlowGraph *graph);
const FsFlowEdge  *fs_flow_graph_get_edge (FsFlowGraph *graph, guint index);
/* Node index of a feature, or -1. */
int                fs_flow_graph_find_node (FsFlowGraph *graph, int layer, FsSite site,
                                            int64_t index);
guint              fs_flow_graph_get_seed (FsFlowGraph *graph);
const FsFlowParams *fs_flow_graph_get_params (FsFlowGraph *graph);
/* TRUE when max_nodes stopped the graph from growing. */
gboolean           fs_flow_graph_is_truncated (FsFlowGraph *graph);
/* Positions skipped while building (an attn.hook_z SAE without a model...). */
const char * const *fs_flow_graph_get_warnings (FsFlowGraph *graph);
/* Gives each node its label from `labels`, found through the SAE of `set`
 * at its position (NULL where there is none). In place, truncated or not:
 * call it before the graph is shared, which makes it immutable. */
void               fs_flow_graph_set_labels (FsFlowGraph *graph, FsSaeSet *set,
                                             FsLabels *labels);

FsFlowGraph       *fs_flow_graph_ref (FsFlowGraph *graph);
void               fs_flow_graph_unref (FsFlowGraph *graph);

/* "12/res/345" (and "embed/res/3") */
char              *fs_feature_id (int layer, FsSite site, int64_t index);
/* Parses "L/site/i"; errors say what is wrong with `text`. */
gboolean           fs_feature_id_parse (const char *text, int *layer, FsSite *site,
                                        int64_t *index, GError **error);
const char        *fs_reading_name (FsReading reading);  /* "translated", ... */

/* Building a graph, and writing it as JSON (ARCHITECTURE.md), DOT and GraphML,
 * are in flow-graph-build.c and flow-graph-export.c. With a map of the set
 * (may be NULL), matches are looked up instead of computed wherever it has
 * them for at least top_k. */
FsFlowGraph       *fs_flow_graph_build (FsSaeSet *set, FsFlowMap *map, int layer,
                                        int64_t index, const FsFlowParams *params,
                                        GCancellable *cancellable, GError **error);
/* A new graph: @graph plus the top-@k matches of its residual node @node at
 * its predecessor positions ((L-1)/res, L/mlp, L/att) or, @forward, at
 * (L+1)/res, whatever their scores (1 <= k <= 5). New residual nodes are
 * scored, and given module nodes, under the graph's params; labels are the
 * caller's to set (fs_flow_graph_set_labels). */
#define FS_FLOW_EXPAND_DEFAULT_K 3
FsFlowGraph       *fs_flow_graph_expand (FsFlowGraph *graph, FsSaeSet *set, FsFlowMap *map,
                                         guint node, gboolean forward, int k, GError **error);
char              *fs_flow_graph_to_json (FsFlowGraph *graph);
char              *fs_flow_graph_to_dot (FsFlowGraph *graph);
char              *fs_flow_graph_to_graphml (FsFlowGraph *graph);

/* For building and for tests: an empty graph with these parameters, then
 * nodes and edges added one by one, then sorted into its final order. */
FsFlowGraph       *fs_flow_graph_new (const FsFlowParams *params);
guint              fs_flow_graph_add_node (FsFlowGraph *graph, const FsFlowNode *node);
void               fs_flow_graph_add_edge (FsFlowGraph *graph, const FsFlowEdge *edge);
void               fs_flow_graph_finish (FsFlowGraph *graph);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsFlowGraph, fs_flow_graph_unref)

G_END_DECLS
