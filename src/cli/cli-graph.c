/* flowscope-cli graph: the flow graph of one feature, as data or a picture. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

#include "flow-graph.h"
#include "fs-error.h"
#include "export.h"
#include "labels.h"

static const char *text_formats[] = { "json", "dot", "graphml" };
static const char *image_formats[] = { "svg", "png", "pdf" };

static gboolean
in_list (const char *value, const char **list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (g_strcmp0 (value, list[i]) == 0)
      return TRUE;
  return FALSE;
}

static char *
graph_to_text (FsFlowGraph *graph, const char *format)
{
  if (g_str_equal (format, "dot"))
    return fs_flow_graph_to_dot (graph);
  if (g_str_equal (format, "graphml"))
    return fs_flow_graph_to_graphml (graph);
  return fs_flow_graph_to_json (graph);
}

/* Text goes to stdout without -o; files are written whole or not at all. */
static gboolean
write_graph (FsFlowGraph *graph, const char *format, const char *output, GError **error)
{
  if (in_list (format, image_formats, G_N_ELEMENTS (image_formats)))
    return fs_graph_render_to_file (graph, format, output, error);

  g_autofree char *text = graph_to_text (graph, format);
  if (output == NULL)
    {
      fputs (text, stdout);
      if (!g_str_has_suffix (text, "\n"))
        fputc ('\n', stdout);
      return TRUE;
    }
  g_autoptr(GError) write_error = NULL;
  if (!g_file_set_contents (output, text, -1, &write_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", output, write_error->message);
      return FALSE;
    }
  return TRUE;
}

/* An explicit --map must belong to the set; the default one, flowscope.map
 * in the first --saes folder, is used when it does and skipped with a
 * warning when it does not. NULL without error: no map. */
static FsFlowMap *
open_map (const char *explicit_path, const char *first_folder, FsSaeSet *set, GError **error)
{
  if (explicit_path != NULL)
    return fs_flow_map_open (explicit_path, set, error);

  g_autofree char *path = g_build_filename (first_folder, CLI_DEFAULT_MAP_NAME, NULL);
  g_autoptr(GError) local_error = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  FsFlowMap *map = fs_flow_map_open (path, set, &local_error);
  if (map == NULL)
    g_printerr ("flowscope-cli: warning: not using the map: %s\n", local_error->message);
  return map;
}

/* Likewise: explicit --labels must load and be for the set; the default
 * one, labels.json where the app finds it, is skipped with a warning when
 * not. NULL without error: no labels. */
static FsLabels *
open_labels (const char *explicit_path, char **sae_paths, FsSaeSet *set, GError **error)
{
  g_autofree char *found = NULL;
  const char *path = explicit_path;

  if (path == NULL && (path = found = fs_labels_find ((const char * const *) sae_paths)) == NULL)
    return NULL;

  g_autoptr(GError) local_error = NULL;
  g_autoptr(FsLabels) labels = fs_labels_load (path, NULL, &local_error);
  if (labels != NULL && fs_labels_check_set (labels, set, &local_error))
    return g_steal_pointer (&labels);
  if (explicit_path != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_printerr ("flowscope-cli: warning: not using the labels: %s\n", local_error->message);
  return NULL;
}

/* Applies one --expand L/res/i:predecessors|successors[:K] to *graph. */
static gboolean
expand_graph (FsFlowGraph **graph, FsSaeSet *set, FsFlowMap *map, const char *spec,
              GError **error)
{
  g_auto(GStrv) parts = g_strsplit (spec, ":", 3);
  int layer, k = FS_FLOW_EXPAND_DEFAULT_K;
  FsSite site;
  int64_t index;
  gboolean forward;
  char *end;

  if (parts[0] == NULL || parts[1] == NULL
      || !(g_str_equal (parts[1], "predecessors") || g_str_equal (parts[1], "successors"))
      || (parts[2] != NULL && ((k = (int) strtol (parts[2], &end, 10)), *end != '\0')))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "--expand %s: expected L/res/i:predecessors or L/res/i:successors, "
                   "optionally :K", spec);
      return FALSE;
    }
  forward = g_str_equal (parts[1], "successors");
  if (!fs_feature_id_parse (parts[0], &layer, &site, &index, error))
    return FALSE;
  int node = fs_flow_graph_find_node (*graph, layer, site, index);
  if (node < 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "--expand %s: %s is not in the graph",
                   spec, parts[0]);
      return FALSE;
    }
  FsFlowGraph *expanded = fs_flow_graph_expand (*graph, set, map, (guint) node, forward, k,
                                                error);
  if (expanded == NULL)
    {
      g_prefix_error (error, "--expand %s: ", spec);
      return FALSE;
    }
  fs_flow_graph_unref (*graph);
  *graph = expanded;
  return TRUE;
}

int
cli_graph (int argc, char **argv)
{
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  g_autofree char *model = NULL, *feature = NULL, *format = NULL, *output = NULL;
  g_autofree char *map_path = NULL, *labels_path = NULL;
  g_auto(GStrv) expansions = NULL;
  FsFlowParams params;
  gboolean no_span_cut = FALSE;
  double t_res, t_mlp, t_att;

  fs_flow_params_init (&params);
  t_res = params.t_res, t_mlp = params.t_mlp, t_att = params.t_att;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model,
      "Model folder: attention SAEs on attn.hook_z are matched through its output projection", "DIR" },
    { "map", 0, 0, G_OPTION_ARG_FILENAME, &map_path,
      "All-pairs map of the set (from “flowscope-cli map”; default: flowscope.map in the "
      "first --saes folder, when there)", "FILE" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path,
      "Neuronpedia explanations export that labels the nodes (default: labels.json in or "
      "above a --saes folder, when there)", "FILE" },
    { "feature", 0, 0, G_OPTION_ARG_STRING, &feature, "Seed feature", "L/res/i" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &params.top_k, "Matches followed per position (1-5)", "K" },
    { "t-res", 0, 0, G_OPTION_ARG_DOUBLE, &t_res, "Residual threshold and span cut (0.5)", "X" },
    { "t-mlp", 0, 0, G_OPTION_ARG_DOUBLE, &t_mlp, "MLP node threshold (0.15)", "X" },
    { "t-att", 0, 0, G_OPTION_ARG_DOUBLE, &t_att, "Attention node threshold (0.15)", "X" },
    { "no-span-cut", 0, 0, G_OPTION_ARG_NONE, &no_span_cut,
      "Follow residual matches below t-res too", NULL },
    { "max-nodes", 0, 0, G_OPTION_ARG_INT, &params.max_nodes, "Node cap (500)", "N" },
    { "expand", 0, 0, G_OPTION_ARG_STRING_ARRAY, &expansions,
      "Add a residual node's top-K (3) predecessors or successors whatever their scores; "
      "repeatable, applied in order", "L/res/i:predecessors|successors[:K]" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "json, dot, graphml, svg, png or pdf", "FMT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output file (default: stdout)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the flow graph of a feature");
  g_autoptr(GError) error = NULL;
  int layer;
  FsSite site;
  int64_t index;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  cli_default_to_demo (&sae_args, NULL);
  if (format == NULL)
    format = g_strdup ("json");
  if (!in_list (format, text_formats, G_N_ELEMENTS (text_formats))
      && !in_list (format, image_formats, G_N_ELEMENTS (image_formats)))
    {
      g_printerr ("flowscope-cli: unknown format “%s” (json, dot, graphml, svg, png, pdf)\n",
                  format);
      return CLI_USAGE;
    }
  if (output == NULL && in_list (format, image_formats, G_N_ELEMENTS (image_formats)))
    {
      g_printerr ("flowscope-cli: --format %s needs -o FILE\n", format);
      return CLI_USAGE;
    }
  if (feature == NULL)
    {
      g_printerr ("flowscope-cli: graph needs --feature L/res/i\n");
      return CLI_USAGE;
    }
  if (!fs_feature_id_parse (feature, &layer, &site, &index, &error))
    return cli_fail (error);
  if (site != FS_SITE_RES)
    {
      g_printerr ("flowscope-cli: error: %s: flow graphs grow from residual features "
                  "(L/res/i)\n", feature);
      return CLI_FAILED;
    }
  params.t_res = (float) t_res, params.t_mlp = (float) t_mlp, params.t_att = (float) t_att;
  params.span_cut = !no_span_cut;

  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, model, &error);
  if (set == NULL)
    return cli_fail (error);
  g_autoptr(FsFlowMap) map = open_map (map_path, sae_args.paths[0], set, &error);
  if (map == NULL && error != NULL)
    return cli_fail (error);
  g_autoptr(FsLabels) labels = open_labels (labels_path, sae_args.paths, set, &error);
  if (labels == NULL && error != NULL)
    return cli_fail (error);
  g_autoptr(FsFlowGraph) graph = fs_flow_graph_build (set, map, layer, index, &params, NULL,
                                                      &error);
  for (char **spec = expansions; graph != NULL && spec != NULL && *spec != NULL; spec++)
    if (!expand_graph (&graph, set, map, *spec, &error))
      return cli_fail (error);
  if (graph != NULL && labels != NULL)
    fs_flow_graph_set_labels (graph, set, labels);
  if (graph == NULL || !write_graph (graph, format, output, &error))
    return cli_fail (error);
  for (const char * const *w = fs_flow_graph_get_warnings (graph); *w != NULL; w++)
    g_printerr ("flowscope-cli: warning: %s\n", *w);
  return CLI_OK;
}
