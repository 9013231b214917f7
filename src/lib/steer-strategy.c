/* steer-strategy.c: graph feature sets, layer strategies and units
 * (steer-strategy.h). */
#include "steer-strategy.h"

#include <math.h>

#include "fs-error.h"
#include "json-util.h"

static const char *strategy_names[] = { "single", "constant", "linear", "exponential" };
static const char *units_names[] = { "raw", "typical" };
static const char *unit_kind_names[] = { "raw", "ratio", "threshold", "measured", "unit-norm" };

const char *
fs_strategy_name (FsStrategy strategy)
{
  g_return_val_if_fail ((size_t) strategy < G_N_ELEMENTS (strategy_names), "?");
  return strategy_names[strategy];
}

gboolean
fs_strategy_from_name (const char *name, FsStrategy *strategy)
{
  for (size_t i = 0; i < G_N_ELEMENTS (strategy_names); i++)
    if (g_strcmp0 (name, strategy_names[i]) == 0)
      {
        *strategy = (FsStrategy) i;
        return TRUE;
      }
  return FALSE;
}

void
fs_strategy_params_init (FsStrategyParams *params)
{
  *params = (FsStrategyParams) { FS_STRATEGY_CONSTANT, FS_STRATEGY_LAYER_DEFAULT, 1.0, -0.05 };
}

double
fs_strategy_coefficient (const FsStrategyParams *params, double s, int layer, int l_start,
                         int l_end)
{
  switch (params->strategy)
    {
    case FS_STRATEGY_SINGLE:
    case FS_STRATEGY_CONSTANT:
      return s;
    case FS_STRATEGY_LINEAR:
      {
        if (l_end == l_start)
          return s;
        double k = (params->s_end - s) / (l_end - l_start);
        double b = s - k * l_start;
        return k * layer + b;
      }
    case FS_STRATEGY_EXPONENTIAL:
      return s * exp (params->alpha * layer);
    }
  g_return_val_if_reached (s);
}

static int
compare_targets (gconstpointer a, gconstpointer b)
{
  const FsSteerTarget *x = a, *y = b;
  /* The graph's node order: layer, then att < mlp < res, then index. */
  static const int site_rank[] = { [FS_SITE_ATT] = 0, [FS_SITE_MLP] = 1, [FS_SITE_RES] = 2 };
  if (x->layer != y->layer)
    return x->layer < y->layer ? -1 : 1;
  if (x->site != y->site)
    return site_rank[x->site] - site_rank[y->site];
  return (x->index > y->index) - (x->index < y->index);
}

GArray *
fs_strategy_graph_features (FsFlowGraph *graph, int *seed_layer)
{
  GArray *features = g_array_new (FALSE, FALSE, sizeof (FsSteerTarget));

  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      FsSteerTarget target = { node->layer, node->site, node->index, 0 };
      g_array_append_val (features, target);
    }
  if (seed_layer != NULL)
    *seed_layer = fs_flow_graph_get_node (graph, fs_flow_graph_get_seed (graph))->layer;
  g_array_sort (features, compare_targets);
  return features;
}

/* One node: its "id", else "layer", "site" and "index". */
static gboolean
parse_node (const char *path, const cJSON *node, guint n, FsSteerTarget *target,
            GError **error)
{
  const char *id = NULL, *site = NULL;
  int64_t layer = G_MININT64, index = -1;
  g_autofree char *where = g_strdup_printf ("%s: node %u", path, n);

  if (!cJSON_IsObject (node))
    return fs_fail (error, FS_ERROR_INVALID, where, "not an object");
  if (!fs_json_get_string (where, node, "id", &id, error))
    return FALSE;
  if (id != NULL)
    {
      g_autoptr(GError) id_error = NULL;
      if (!fs_feature_id_parse (id, &target->layer, &target->site, &target->index, &id_error))
        return fs_fail (error, FS_ERROR_INVALID, where, "%s", id_error->message);
      return TRUE;
    }
  if (!fs_json_get_int (where, node, "layer", FS_LAYER_EMBED, 100000, &layer, error)
      || !fs_json_get_string (where, node, "site", &site, error)
      || !fs_json_get_int (where, node, "index", 0, G_MAXINT64, &index, error))
    return FALSE;
  if (layer == G_MININT64 || site == NULL || index < 0
      || !fs_site_from_name (site, &target->site))
    return fs_fail (error, FS_ERROR_INVALID, where,
                    "needs an “id” or a “layer”, a “site” (res, mlp, att) and an “index”");
  target->layer = (int) layer;
  target->index = index;
  return TRUE;
}

GArray *
fs_strategy_graph_features_load (const char *path, int *seed_layer, GError **error)
{
  g_autoptr(cJSON) root = fs_json_load (path, error);
  g_autoptr(GArray) features = g_array_new (FALSE, FALSE, sizeof (FsSteerTarget));
  const cJSON *nodes, *node;
  const char *seed = NULL;
  guint n = 0;

  if (root == NULL)
    return NULL;
  nodes = cJSON_GetObjectItemCaseSensitive (root, "nodes");
  if (!cJSON_IsArray (nodes) || cJSON_GetArraySize (nodes) == 0)
    {
      fs_fail (error, FS_ERROR_INVALID, path, "not a flow graph: no “nodes” array");
      return NULL;
    }
  cJSON_ArrayForEach (node, nodes)
    {
      FsSteerTarget target = { 0 };
      if (!parse_node (path, node, n++, &target, error))
        return NULL;
      g_array_append_val (features, target);
    }
  g_array_sort (features, compare_targets);

  if (!fs_json_get_string (path, root, "seed", &seed, error))
    return NULL;
  if (seed_layer != NULL)
    {
      FsSite site;
      int64_t index;
      g_autoptr(GError) seed_error = NULL;
      /* Without a seed, the highest layer stands for it. */
      *seed_layer = g_array_index (features, FsSteerTarget, features->len - 1).layer;
      if (seed != NULL && !fs_feature_id_parse (seed, seed_layer, &site, &index, &seed_error))
        {
          fs_fail (error, FS_ERROR_INVALID, path, "seed: %s", seed_error->message);
          return NULL;
        }
    }
  return g_steal_pointer (&features);
}

GArray *
fs_strategy_select (const FsStrategyParams *params, const FsSteerTarget *features, guint n,
                    int seed_layer, double s, GError **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (FsSteerTarget));
  int l_start = G_MAXINT, l_end = G_MININT;

  for (guint i = 0; i < n; i++)
    {
      l_start = MIN (l_start, features[i].layer);
      l_end = MAX (l_end, features[i].layer);
    }
  int layer = params->layer;
  if (layer == FS_STRATEGY_LAYER_DEFAULT)
    layer = params->strategy == FS_STRATEGY_SINGLE ? seed_layer : l_end;

  for (guint i = 0; i < n; i++)
    {
      FsSteerTarget target = features[i];
      gboolean take = params->strategy == FS_STRATEGY_SINGLE
                      ? target.layer == layer : target.layer <= layer;
      if (!take)
        continue;
      target.coefficient = fs_strategy_coefficient (params, s, target.layer, l_start, l_end);
      g_array_append_val (out, target);
    }
  if (out->len == 0)
    {
      g_autofree char *layer_text = layer == FS_LAYER_EMBED ? g_strdup ("embed")
                                                             : g_strdup_printf ("%d", layer);
      fs_fail (error, FS_ERROR_INVALID, fs_strategy_name (params->strategy),
               "the graph has no feature %s layer %s (its span is %d to %d)",
               params->strategy == FS_STRATEGY_SINGLE ? "at" : "up to", layer_text,
               l_start, l_end);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---------------------------------------------------------------- units */

const char *
fs_steer_units_name (FsSteerUnits units)
{
  g_return_val_if_fail ((size_t) units < G_N_ELEMENTS (units_names), "?");
  return units_names[units];
}

gboolean
fs_steer_units_from_name (const char *name, FsSteerUnits *units)
{
  for (size_t i = 0; i < G_N_ELEMENTS (units_names); i++)
    if (g_strcmp0 (name, units_names[i]) == 0)
      {
        *units = (FsSteerUnits) i;
        return TRUE;
      }
  return FALSE;
}

const char *
fs_unit_kind_name (FsUnitKind kind)
{
  g_return_val_if_fail ((size_t) kind < G_N_ELEMENTS (unit_kind_names), "?");
  return unit_kind_names[kind];
}

double
fs_steer_unit (FsSae *sae, int64_t index, FsSteerOp op, FsSteerUnits units, double measured,
               FsUnitKind *kind)
{
  const float *threshold = fs_sae_get_threshold (sae);

  g_return_val_if_fail (index >= 0 && index < fs_sae_get_d_sae (sae), 1.0);
  if (op == FS_STEER_SCALE)
    {
      *kind = FS_UNIT_RATIO;
      return 1.0;
    }
  if (units == FS_STEER_UNITS_RAW)
    {
      *kind = FS_UNIT_RAW;
      return 1.0;
    }
  if (threshold != NULL && threshold[index] > 0)
    {
      *kind = FS_UNIT_THRESHOLD;
      return threshold[index];
    }
  if (measured > 0)
    {
      *kind = FS_UNIT_MEASURED;
      return measured;
    }
  /* |v| is the length one unit of activation adds to h. */
  g_autofree float *direction = g_new (float, (size_t) fs_sae_get_d_in (sae));
  double norm = 0;
  fs_sae_get_decoder_direction (sae, index, direction);
  for (int64_t j = 0; j < fs_sae_get_d_in (sae); j++)
    norm += (double) direction[j] * direction[j];
  *kind = FS_UNIT_UNIT_NORM;
  return norm > 0 ? 1.0 / sqrt (norm) : 1.0;
}

gboolean
fs_steer_unit_needs_measured (FsSae *sae, int64_t index, FsSteerOp op)
{
  const float *threshold = fs_sae_get_threshold (sae);

  g_return_val_if_fail (index >= 0 && index < fs_sae_get_d_sae (sae), FALSE);
  return op != FS_STEER_SCALE && (threshold == NULL || !(threshold[index] > 0));
}

gboolean
fs_steering_add_in_units (FsSteering *steering, FsSae *sae, int64_t index, FsSteerOp op,
                          double value, FsSteerUnits units, double measured, FsUnitKind *kind,
                          double *factor, GError **error)
{
  FsUnitKind unit;
  double f = fs_steer_unit (sae, index, op, units, measured, &unit);

  if (kind != NULL)
    *kind = unit;
  if (factor != NULL)
    *factor = f;
  if (!isfinite (value * f))
    {
      g_autofree char *id = fs_feature_id (fs_sae_get_layer (sae), fs_sae_get_site (sae), index);
      return fs_fail (error, FS_ERROR_INVALID, id, "%g %s units is not a finite activation",
                      value, fs_unit_kind_name (unit));
    }
  return fs_steering_add (steering, sae, index, op, value * f, error);
}
