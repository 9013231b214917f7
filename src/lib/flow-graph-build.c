/* flow-graph-build.c: growing a flow graph from its seed (METHOD.md section 3).
 *
 * Backward: every residual node at layer L is matched against (L-1)/res,
 * L/mlp and L/att. Its top-k residual predecessors become nodes (and are
 * followed further down) unless the span cut stops them (s < t(R)); module
 * matches reaching t(M) / t(A) become nodes with an edge into it.
 * Forward: from the seed, the top-k matches at (L+1)/res become nodes and
 * are followed up to the last layer, with the same span cut; each gets its
 * own predecessor scores and module nodes, but no further residual
 * predecessors. Nodes are added breadth first until max_nodes.
 *
 * Expanding (fs_flow_graph_expand) asks one node for its top-k neighbours
 * at its predecessor or successor positions whatever their scores: what the
 * thresholds left out, on request.
 */
#include "flow-graph-private.h"

#include "fs-error.h"
#include "match.h"

typedef struct {
  FsSaeSet           *set;
  FsFlowMap          *map;       /* may be NULL */
  const FsFlowParams *params;    /* the graph's: its readings use these */
  /* What gets in: the params', or while expanding, the top-k whatever
   * their scores. */
  int                 top_k;
  float               t_mlp, t_att;
  gboolean            span_cut;
  int                 max_nodes;
  FsFlowGraph        *graph;
  GHashTable         *node_ids;  /* feature id -> node index + 1 */
  GHashTable         *edge_ids;  /* (source << 32 | target) */
  GQueue              backward, forward;  /* node indices to expand */
  GHashTable         *warned;    /* positions already warned about */
} Builder;

static FsFlowNode *
node_at (Builder *b, guint index)
{
  return &g_array_index (b->graph->nodes, FsFlowNode, index);
}

/* Finds or adds a node; FALSE when the cap keeps it out. */
static gboolean
intern_node (Builder *b, int layer, FsSite site, int64_t index, guint *out, gboolean *is_new)
{
  g_autofree char *id = fs_feature_id (layer, site, index);
  gpointer found = g_hash_table_lookup (b->node_ids, id);

  *is_new = found == NULL;
  if (found != NULL)
    {
      *out = GPOINTER_TO_UINT (found) - 1;
      return TRUE;
    }
  if ((int) b->graph->nodes->len >= b->max_nodes)
    {
      b->graph->truncated = TRUE;
      return FALSE;
    }
  FsFlowNode node = { .layer = layer, .site = site, .index = index };
  *out = fs_flow_graph_add_node (b->graph, &node);
  g_hash_table_insert (b->node_ids, g_steal_pointer (&id), GUINT_TO_POINTER (*out + 1));
  return TRUE;
}

/* Adds an edge unless the graph has it (an expansion can meet one). */
static void
add_edge (Builder *b, guint source, guint target, FsSite kind, float score)
{
  const FsFlowNode *from = node_at (b, source);
  FsSae *sae = fs_sae_set_lookup (b->set, from->layer, from->site);
  FsFlowEdge edge = { source, target, kind, score, sae != NULL && fs_sae_is_hook_z (sae) };
  gint64 *key = g_new (gint64, 1);

  *key = (gint64) source << 32 | target;
  if (g_hash_table_add (b->edge_ids, key))
    fs_flow_graph_add_edge (b->graph, &edge);
}

/* The map's answer for a residual node against one position, or -1 when
 * the map cannot give it (no map, relation absent, fewer than top_k kept). */
static int
lookup_in_map (Builder *b, const FsFlowNode *node, int layer, FsSite site, FsMatch *out)
{
  FsMapRelation relation;

  if (b->map == NULL || fs_flow_map_get_k (b->map) < b->top_k)
    return -1;
  if (site == FS_SITE_RES)
    relation = layer < node->layer ? FS_MAP_PREV_RES : FS_MAP_NEXT_RES;
  else
    relation = site == FS_SITE_MLP ? FS_MAP_MLP : FS_MAP_ATT;
  return fs_flow_map_lookup (b->map, node->layer, relation, node->index, b->top_k, out);
}

/* Matches a residual node against one position. Positions without an SAE
 * give no match; ones that cannot be compared give a warning, once. */
static int
match_at (Builder *b, const FsFlowNode *node, int layer, FsSite site, FsMatch *out,
          GError **error)
{
  FsSae *source = fs_sae_set_lookup (b->set, node->layer, FS_SITE_RES);
  FsSae *target = layer >= FS_LAYER_EMBED ? fs_sae_set_lookup (b->set, layer, site) : NULL;
  g_autoptr(GError) local_error = NULL;

  if (target == NULL)
    return 0;
  int n = lookup_in_map (b, node, layer, site, out);
  if (n >= 0)
    return n;
  if (!fs_match_check_compatible (source, target, &local_error))
    {
      if (!g_error_matches (local_error, FS_ERROR, FS_ERROR_UNSUPPORTED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return -1;
        }
      g_autofree char *position = fs_position_id (layer, site);
      if (g_hash_table_add (b->warned, g_strdup (position)))
        fs_flow_graph_add_warning (b->graph, g_strdup (local_error->message));
      return 0;
    }
  return fs_match_feature (source, node->index, target, b->top_k, out, error);
}

static FsReading
reading_of (const FsFlowParams *p, const FsFlowNode *node)
{
  gboolean residual = node->s_res >= p->t_res;
  gboolean module = node->s_mlp >= p->t_mlp || node->s_att >= p->t_att;
  if (residual)
    return module ? FS_READING_PROCESSED : FS_READING_TRANSLATED;
  return module ? FS_READING_NEWBORN : FS_READING_UNEXPLAINED;
}

static gboolean
add_modules (Builder *b, guint target, FsSite site, const FsMatch *matches, int n,
             float threshold)
{
  int layer = node_at (b, target)->layer;
  for (int i = 0; i < n; i++)
    {
      guint module;
      gboolean is_new;
      if (matches[i].score < threshold)
        continue;
      if (!intern_node (b, layer, site, matches[i].index, &module, &is_new))
        return FALSE;
      add_edge (b, module, target, site, matches[i].score);
    }
  return TRUE;
}

/* Scores a residual node against its three predecessor positions, adds its
 * module nodes, and (going backward) its residual predecessors. */
static gboolean
expand_predecessors (Builder *b, guint index, gboolean follow_residual, GError **error)
{
  const FsFlowParams *p = b->params;
  FsMatch res[FS_MATCH_MAX_K], mlp[FS_MATCH_MAX_K], att[FS_MATCH_MAX_K];
  FsFlowNode node = *node_at (b, index);
  int prev = node.layer - 1;
  int n_res = node.layer > FS_LAYER_EMBED ? match_at (b, &node, prev, FS_SITE_RES, res, error) : 0;
  int n_mlp = n_res >= 0 ? match_at (b, &node, node.layer, FS_SITE_MLP, mlp, error) : -1;
  int n_att = n_mlp >= 0 ? match_at (b, &node, node.layer, FS_SITE_ATT, att, error) : -1;

  if (n_att < 0)
    return FALSE;
  FsFlowNode *stored = node_at (b, index);
  stored->s_res = n_res > 0 ? res[0].score : 0.0f;
  stored->s_mlp = n_mlp > 0 ? mlp[0].score : 0.0f;
  stored->s_att = n_att > 0 ? att[0].score : 0.0f;
  stored->reading = reading_of (p, stored);

  if (!add_modules (b, index, FS_SITE_ATT, att, n_att, b->t_att)
      || !add_modules (b, index, FS_SITE_MLP, mlp, n_mlp, b->t_mlp))
    return TRUE;
  for (int i = 0; follow_residual && i < n_res; i++)
    {
      guint source;
      gboolean is_new;
      if (b->span_cut && res[i].score < p->t_res)
        continue;
      if (!intern_node (b, prev, FS_SITE_RES, res[i].index, &source, &is_new))
        break;
      add_edge (b, source, index, FS_SITE_RES, res[i].score);
      if (is_new)
        g_queue_push_tail (&b->backward, GUINT_TO_POINTER (source));
    }
  return TRUE;
}

/* Adds a node's residual successors; when growing (building), each new
 * one is scored against its predecessors and queued to go on upward. */
static gboolean
expand_successors (Builder *b, guint index, gboolean grow, GError **error)
{
  FsFlowNode node = *node_at (b, index);
  FsMatch next[FS_MATCH_MAX_K];
  int n = match_at (b, &node, node.layer + 1, FS_SITE_RES, next, error);

  if (n < 0)
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      guint target;
      gboolean is_new;
      if (b->span_cut && next[i].score < b->params->t_res)
        continue;
      if (!intern_node (b, node.layer + 1, FS_SITE_RES, next[i].index, &target, &is_new))
        break;
      add_edge (b, index, target, FS_SITE_RES, next[i].score);
      if (is_new && grow)
        {
          if (!expand_predecessors (b, target, FALSE, error))
            return FALSE;
          g_queue_push_tail (&b->forward, GUINT_TO_POINTER (target));
        }
    }
  return TRUE;
}

/* What gets into the graph: the params' thresholds, top-k and cap. */
static void
include_by_params (Builder *b, const FsFlowParams *p)
{
  b->top_k = p->top_k;
  b->t_mlp = p->t_mlp;
  b->t_att = p->t_att;
  b->span_cut = p->span_cut;
  b->max_nodes = p->max_nodes;
}

static void
builder_init (Builder *b, FsSaeSet *set, FsFlowMap *map, const FsFlowParams *params,
              FsFlowGraph *graph)
{
  *b = (Builder) {
    .set = set, .map = map, .params = params, .graph = graph,
    .node_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .edge_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL),
    .warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  include_by_params (b, params);
}

static void
builder_clear (Builder *b)
{
  g_queue_clear (&b->backward);
  g_queue_clear (&b->forward);
  g_hash_table_unref (b->node_ids);
  g_hash_table_unref (b->edge_ids);
  g_hash_table_unref (b->warned);
}

static gboolean
check_params (const FsFlowParams *p, GError **error)
{
  if (p->top_k < 1 || p->top_k > FS_MATCH_MAX_K || p->max_nodes < 1
      || !(p->t_res >= 0 && p->t_res <= 1) || !(p->t_mlp >= 0 && p->t_mlp <= 1)
      || !(p->t_att >= 0 && p->t_att <= 1))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "graph parameters out of range: top-k must be 1 to %d, thresholds 0 to 1, "
                   "max nodes at least 1", FS_MATCH_MAX_K);
      return FALSE;
    }
  return TRUE;
}

FsFlowGraph *
fs_flow_graph_build (FsSaeSet *set, FsFlowMap *map, int layer, int64_t index,
                     const FsFlowParams *params, GCancellable *cancellable, GError **error)
{
  FsSae *seed_sae = fs_sae_set_lookup (set, layer, FS_SITE_RES);
  g_autofree char *position = fs_position_id (layer, FS_SITE_RES);

  if (!check_params (params, error))
    return NULL;
  if (seed_sae == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "no SAE at %s in this set", position);
      return NULL;
    }
  if (index < 0 || index >= fs_sae_get_d_sae (seed_sae))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "feature %s/%" G_GINT64_FORMAT " does not exist: %s has %" G_GINT64_FORMAT
                   " features", position, index, position, fs_sae_get_d_sae (seed_sae));
      return NULL;
    }

  g_autoptr(FsFlowGraph) graph = fs_flow_graph_new (params);
  Builder b;
  guint seed;
  gboolean is_new, ok = TRUE;

  builder_init (&b, set, map, params, graph);
  intern_node (&b, layer, FS_SITE_RES, index, &seed, &is_new);
  node_at (&b, seed)->is_seed = TRUE;
  g_queue_push_tail (&b.backward, GUINT_TO_POINTER (seed));
  g_queue_push_tail (&b.forward, GUINT_TO_POINTER (seed));
  while (ok && !g_queue_is_empty (&b.backward))
    ok = !g_cancellable_set_error_if_cancelled (cancellable, error)
         && expand_predecessors (&b, GPOINTER_TO_UINT (g_queue_pop_head (&b.backward)), TRUE,
                                 error);
  while (ok && !g_queue_is_empty (&b.forward))
    ok = !g_cancellable_set_error_if_cancelled (cancellable, error)
         && expand_successors (&b, GPOINTER_TO_UINT (g_queue_pop_head (&b.forward)), TRUE,
                               error);

  builder_clear (&b);
  if (!ok)
    return NULL;
  fs_flow_graph_finish (graph);
  return g_steal_pointer (&graph);
}

FsFlowGraph *
fs_flow_graph_expand (FsFlowGraph *graph, FsSaeSet *set, FsFlowMap *map, guint node,
                      gboolean forward, int k, GError **error)
{
  const FsFlowParams *params = fs_flow_graph_get_params (graph);
  guint n = fs_flow_graph_get_n_nodes (graph);
  g_autoptr(FsFlowGraph) expanded = NULL;
  Builder b;
  gboolean ok;

  if (node >= n || fs_flow_graph_get_node (graph, node)->site != FS_SITE_RES)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "only residual nodes of the graph can be expanded");
      return NULL;
    }
  if (k < 1 || k > FS_MATCH_MAX_K)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "top-k must be 1 to %d", FS_MATCH_MAX_K);
      return NULL;
    }

  expanded = fs_flow_graph_new (params);
  expanded->truncated = graph->truncated;
  for (const char * const *w = fs_flow_graph_get_warnings (graph); *w != NULL; w++)
    fs_flow_graph_add_warning (expanded, g_strdup (*w));
  builder_init (&b, set, map, params, expanded);
  for (guint i = 0; i < n; i++)
    {
      const FsFlowNode *copy = fs_flow_graph_get_node (graph, i);
      fs_flow_graph_add_node (expanded, copy);
      g_hash_table_insert (b.node_ids, fs_feature_id (copy->layer, copy->site, copy->index),
                           GUINT_TO_POINTER (i + 1));
    }
  for (guint i = 0; i < fs_flow_graph_get_n_edges (graph); i++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, i);
      add_edge (&b, edge->source, edge->target, edge->kind, edge->score);
    }

  /* The node's top-k whatever their scores; then each new residual node
   * scored and given its modules as any other, under the graph's params. */
  b.top_k = k;
  b.t_mlp = b.t_att = 0.0f;
  b.span_cut = FALSE;
  b.max_nodes = G_MAXINT;
  ok = forward ? expand_successors (&b, node, FALSE, error)
               : expand_predecessors (&b, node, TRUE, error);
  include_by_params (&b, params);
  b.max_nodes = G_MAXINT;
  for (guint i = n; ok && i < expanded->nodes->len; i++)
    if (node_at (&b, i)->site == FS_SITE_RES)
      ok = expand_predecessors (&b, i, FALSE, error);

  builder_clear (&b);
  if (!ok)
    return NULL;
  fs_flow_graph_finish (expanded);
  return g_steal_pointer (&expanded);
}
