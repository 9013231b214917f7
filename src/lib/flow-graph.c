/* flow-graph.c: the flow graph container, feature ids and readings. */
#include "flow-graph-private.h"

#include <stdlib.h>
#include <string.h>

#include "fs-error.h"

void
fs_flow_params_init (FsFlowParams *params)
{
  *params = (FsFlowParams) {
    .top_k = 1,
    .t_res = 0.5f,
    .t_mlp = 0.15f,
    .t_att = 0.15f,
    .span_cut = TRUE,
    .max_nodes = 500,
  };
}

FsFlowGraph *
fs_flow_graph_new (const FsFlowParams *params)
{
  FsFlowGraph *graph = g_new0 (FsFlowGraph, 1);
  g_atomic_ref_count_init (&graph->ref_count);
  graph->params = *params;
  graph->nodes = g_array_new (FALSE, TRUE, sizeof (FsFlowNode));
  graph->edges = g_array_new (FALSE, TRUE, sizeof (FsFlowEdge));
  graph->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (graph->warnings, NULL);
  return graph;
}

FsFlowGraph *
fs_flow_graph_ref (FsFlowGraph *graph)
{
  g_atomic_ref_count_inc (&graph->ref_count);
  return graph;
}

void
fs_flow_graph_unref (FsFlowGraph *graph)
{
  if (graph == NULL || !g_atomic_ref_count_dec (&graph->ref_count))
    return;
  for (guint i = 0; i < graph->nodes->len; i++)
    g_free (g_array_index (graph->nodes, FsFlowNode, i).label);
  g_array_unref (graph->nodes);
  g_array_unref (graph->edges);
  g_ptr_array_unref (graph->warnings);
  g_free (graph);
}

guint
fs_flow_graph_add_node (FsFlowGraph *graph, const FsFlowNode *node)
{
  FsFlowNode copy = *node;
  copy.label = g_strdup (node->label);
  g_array_append_val (graph->nodes, copy);
  return graph->nodes->len - 1;
}

void
fs_flow_graph_add_edge (FsFlowGraph *graph, const FsFlowEdge *edge)
{
  g_array_append_val (graph->edges, *edge);
}

void
fs_flow_graph_add_warning (FsFlowGraph *graph, char *warning)
{
  g_ptr_array_index (graph->warnings, graph->warnings->len - 1) = warning;
  g_ptr_array_add (graph->warnings, NULL);
}

/* Drawing order: layer by layer, and within a layer the order in which the
 * block computes (attention, then MLP, then the residual they write to). */
static int
site_rank (FsSite site)
{
  return site == FS_SITE_ATT ? 0 : site == FS_SITE_MLP ? 1 : 2;
}

static int
compare_nodes (const FsFlowNode *a, const FsFlowNode *b)
{
  if (a->layer != b->layer)
    return a->layer < b->layer ? -1 : 1;
  if (a->site != b->site)
    return site_rank (a->site) < site_rank (b->site) ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

static int
compare_node_order (gconstpointer a, gconstpointer b, gpointer nodes)
{
  const FsFlowNode *all = nodes;
  return compare_nodes (&all[*(const guint *) a], &all[*(const guint *) b]);
}

static int
compare_edges (const void *a, const void *b)
{
  const FsFlowEdge *x = a, *y = b;
  if (x->target != y->target)
    return x->target < y->target ? -1 : 1;
  return x->source < y->source ? -1 : x->source > y->source;
}

void
fs_flow_graph_finish (FsFlowGraph *graph)
{
  guint n = graph->nodes->len;
  g_autofree guint *order = g_new (guint, MAX (n, 1));
  g_autofree guint *new_index = g_new (guint, MAX (n, 1));
  GArray *sorted = g_array_sized_new (FALSE, TRUE, sizeof (FsFlowNode), n);

  for (guint i = 0; i < n; i++)
    order[i] = i;
  g_qsort_with_data (order, (gint) n, sizeof (guint), compare_node_order, graph->nodes->data);
  for (guint i = 0; i < n; i++)
    {
      new_index[order[i]] = i;
      g_array_append_val (sorted, g_array_index (graph->nodes, FsFlowNode, order[i]));
      if (g_array_index (sorted, FsFlowNode, i).is_seed)
        graph->seed = i;
    }
  g_array_unref (graph->nodes);
  graph->nodes = sorted;

  for (guint i = 0; i < graph->edges->len; i++)
    {
      FsFlowEdge *edge = &g_array_index (graph->edges, FsFlowEdge, i);
      edge->source = new_index[edge->source];
      edge->target = new_index[edge->target];
    }
  if (graph->edges->len > 1)
    qsort (graph->edges->data, graph->edges->len, sizeof (FsFlowEdge), compare_edges);
}

guint fs_flow_graph_get_n_nodes (FsFlowGraph *graph) { return graph->nodes->len; }
guint fs_flow_graph_get_n_edges (FsFlowGraph *graph) { return graph->edges->len; }
guint fs_flow_graph_get_seed (FsFlowGraph *graph) { return graph->seed; }
const FsFlowParams *fs_flow_graph_get_params (FsFlowGraph *graph) { return &graph->params; }
gboolean fs_flow_graph_is_truncated (FsFlowGraph *graph) { return graph->truncated; }

const FsFlowNode *
fs_flow_graph_get_node (FsFlowGraph *graph, guint index)
{
  g_return_val_if_fail (index < graph->nodes->len, NULL);
  return &g_array_index (graph->nodes, FsFlowNode, index);
}

const FsFlowEdge *
fs_flow_graph_get_edge (FsFlowGraph *graph, guint index)
{
  g_return_val_if_fail (index < graph->edges->len, NULL);
  return &g_array_index (graph->edges, FsFlowEdge, index);
}

int
fs_flow_graph_find_node (FsFlowGraph *graph, int layer, FsSite site, int64_t index)
{
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      const FsFlowNode *node = &g_array_index (graph->nodes, FsFlowNode, i);
      if (node->layer == layer && node->site == site && node->index == index)
        return (int) i;
    }
  return -1;
}

const char * const *
fs_flow_graph_get_warnings (FsFlowGraph *graph)
{
  return (const char * const *) graph->warnings->pdata;
}

void
fs_flow_graph_set_labels (FsFlowGraph *graph, FsSaeSet *set, FsLabels *labels)
{
  g_return_if_fail (graph != NULL);
  g_return_if_fail (set != NULL);
  g_return_if_fail (labels != NULL);

  for (guint i = 0; i < graph->nodes->len; i++)
    {
      FsFlowNode *node = &g_array_index (graph->nodes, FsFlowNode, i);
      FsSae *sae = fs_sae_set_lookup (set, node->layer, node->site);

      g_free (node->label);
      node->label = sae != NULL ? g_strdup (fs_labels_lookup_sae (labels, sae, node->index)) : NULL;
    }
}

char *
fs_feature_id (int layer, FsSite site, int64_t index)
{
  g_autofree char *position = fs_position_id (layer, site);
  return g_strdup_printf ("%s/%" G_GINT64_FORMAT, position, index);
}

gboolean
fs_feature_id_parse (const char *text, int *layer, FsSite *site, int64_t *index,
                     GError **error)
{
  g_auto(GStrv) parts = g_strsplit (text, "/", -1);
  guint64 value;

  if (g_strv_length (parts) != 3)
    goto invalid;
  if (g_str_equal (parts[0], "embed"))
    *layer = FS_LAYER_EMBED;
  else if (g_ascii_string_to_unsigned (parts[0], 10, 0, 100000, &value, NULL))
    *layer = (int) value;
  else
    goto invalid;
  if (!fs_site_from_name (parts[1], site)
      || !g_ascii_string_to_unsigned (parts[2], 10, 0, G_MAXINT64, &value, NULL))
    goto invalid;
  *index = (int64_t) value;
  return TRUE;

invalid:
  g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
               "“%s” is not a feature id (LAYER/SITE/INDEX, e.g. 12/res/345; sites res, mlp, att)",
               text);
  return FALSE;
}

const char *
fs_reading_name (FsReading reading)
{
  static const char *names[] = { "none", "translated", "processed", "newborn", "unexplained" };
  g_return_val_if_fail ((size_t) reading < G_N_ELEMENTS (names), "?");
  return names[reading];
}
