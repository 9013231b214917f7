/* flow-graph-export.c: a flow graph as JSON (the contract of ARCHITECTURE.md,
 * extended with scores and readings), Graphviz DOT and GraphML. */
#include "flow-graph-private.h"

#include <cjson/cJSON.h>

static char *
node_id (const FsFlowNode *node)
{
  return fs_feature_id (node->layer, node->site, node->index);
}

/* Scores are cosines of float32 vectors: six decimals say all they know,
 * and keep the files stable across platforms. */
typedef struct {
  char text[G_ASCII_DTOSTR_BUF_SIZE];
} Decimal;

/* "%.6f" with a decimal point whatever the locale (the app runs in the
 * user's; DOT and GraphML readers want a point). */
static Decimal
decimal (float score)
{
  Decimal d;
  g_ascii_formatd (d.text, sizeof d.text, "%.6f", score);
  return d;
}

static double
rounded (float score)
{
  return g_ascii_strtod (decimal (score).text, NULL);
}

char *
fs_flow_graph_to_json (FsFlowGraph *graph)
{
  const FsFlowParams *p = &graph->params;
  cJSON *root = cJSON_CreateObject ();
  cJSON *params = cJSON_AddObjectToObject (root, "params");
  cJSON *nodes = cJSON_CreateArray (), *edges = cJSON_CreateArray ();
  cJSON *warnings = cJSON_CreateArray ();

  if (graph->nodes->len > 0)
    {
      g_autofree char *seed = node_id (fs_flow_graph_get_node (graph, graph->seed));
      cJSON_AddStringToObject (root, "seed", seed);
    }
  cJSON_AddNumberToObject (params, "top_k", p->top_k);
  cJSON_AddNumberToObject (params, "t_res", rounded (p->t_res));
  cJSON_AddNumberToObject (params, "t_mlp", rounded (p->t_mlp));
  cJSON_AddNumberToObject (params, "t_att", rounded (p->t_att));
  cJSON_AddBoolToObject (params, "span_cut", p->span_cut);
  cJSON_AddNumberToObject (params, "max_nodes", p->max_nodes);

  for (guint i = 0; i < graph->nodes->len; i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      g_autofree char *id = node_id (node);
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddStringToObject (item, "id", id);
      cJSON_AddNumberToObject (item, "layer", node->layer);
      cJSON_AddStringToObject (item, "site", fs_site_name (node->site));
      cJSON_AddNumberToObject (item, "index", (double) node->index);
      if (node->label != NULL)
        cJSON_AddStringToObject (item, "label", node->label);
      else
        cJSON_AddNullToObject (item, "label");
      if (node->reading != FS_READING_NONE)
        {
          cJSON *scores = cJSON_AddObjectToObject (item, "scores");
          cJSON_AddNumberToObject (scores, "res", rounded (node->s_res));
          cJSON_AddNumberToObject (scores, "mlp", rounded (node->s_mlp));
          cJSON_AddNumberToObject (scores, "att", rounded (node->s_att));
          cJSON_AddStringToObject (item, "reading", fs_reading_name (node->reading));
        }
      cJSON_AddItemToArray (nodes, item);
    }
  for (guint i = 0; i < graph->edges->len; i++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, i);
      g_autofree char *source = node_id (fs_flow_graph_get_node (graph, edge->source));
      g_autofree char *target = node_id (fs_flow_graph_get_node (graph, edge->target));
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddStringToObject (item, "source", source);
      cJSON_AddStringToObject (item, "target", target);
      cJSON_AddStringToObject (item, "kind", fs_site_name (edge->kind));
      cJSON_AddNumberToObject (item, "score", rounded (edge->score));
      if (edge->projected)
        cJSON_AddBoolToObject (item, "projected", TRUE);
      cJSON_AddItemToArray (edges, item);
    }
  for (const char * const *w = fs_flow_graph_get_warnings (graph); *w != NULL; w++)
    cJSON_AddItemToArray (warnings, cJSON_CreateString (*w));

  cJSON_AddItemToObject (root, "nodes", nodes);
  cJSON_AddItemToObject (root, "edges", edges);
  cJSON_AddBoolToObject (root, "truncated", graph->truncated);
  cJSON_AddItemToObject (root, "warnings", warnings);
  char *printed = cJSON_Print (root);
  cJSON_Delete (root);
  char *text = g_strdup (printed);
  cJSON_free (printed);
  return text;
}

char *
fs_flow_graph_to_dot (FsFlowGraph *graph)
{
  GString *out = g_string_new ("digraph flow {\n  rankdir=TB;\n  node [shape=circle];\n");
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      g_autofree char *id = node_id (node);
      g_autofree char *label = g_strescape (node->label ? node->label : "", NULL);
      g_string_append_printf (out, "  \"%s\" [layer=%d, site=\"%s\", index=%" G_GINT64_FORMAT
                              ", label=\"%s\\n%s\"%s];\n", id, node->layer,
                              fs_site_name (node->site), node->index, id, label,
                              node->is_seed ? ", peripheries=2" : "");
    }
  for (guint i = 0; i < graph->edges->len; i++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, i);
      g_autofree char *source = node_id (fs_flow_graph_get_node (graph, edge->source));
      g_autofree char *target = node_id (fs_flow_graph_get_node (graph, edge->target));
      g_string_append_printf (out, "  \"%s\" -> \"%s\" [kind=\"%s\", score=%s];\n", source,
                              target, fs_site_name (edge->kind), decimal (edge->score).text);
    }
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}

char *
fs_flow_graph_to_graphml (FsFlowGraph *graph)
{
  GString *out = g_string_new (
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
    "  <key id=\"layer\" for=\"node\" attr.name=\"layer\" attr.type=\"int\"/>\n"
    "  <key id=\"site\" for=\"node\" attr.name=\"site\" attr.type=\"string\"/>\n"
    "  <key id=\"index\" for=\"node\" attr.name=\"index\" attr.type=\"long\"/>\n"
    "  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n"
    "  <key id=\"kind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n"
    "  <key id=\"score\" for=\"edge\" attr.name=\"score\" attr.type=\"double\"/>\n"
    "  <graph id=\"flow\" edgedefault=\"directed\">\n");
  for (guint i = 0; i < graph->nodes->len; i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      g_autofree char *id = node_id (node);
      g_autofree char *label = g_markup_escape_text (node->label ? node->label : "", -1);
      g_string_append_printf (out, "    <node id=\"%s\"><data key=\"layer\">%d</data>"
                              "<data key=\"site\">%s</data><data key=\"index\">%" G_GINT64_FORMAT
                              "</data><data key=\"label\">%s</data></node>\n", id, node->layer,
                              fs_site_name (node->site), node->index, label);
    }
  for (guint i = 0; i < graph->edges->len; i++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, i);
      g_autofree char *source = node_id (fs_flow_graph_get_node (graph, edge->source));
      g_autofree char *target = node_id (fs_flow_graph_get_node (graph, edge->target));
      g_string_append_printf (out, "    <edge source=\"%s\" target=\"%s\"><data key=\"kind\">%s"
                              "</data><data key=\"score\">%s</data></edge>\n", source, target,
                              fs_site_name (edge->kind), decimal (edge->score).text);
    }
  g_string_append (out, "  </graph>\n</graphml>\n");
  return g_string_free (out, FALSE);
}
