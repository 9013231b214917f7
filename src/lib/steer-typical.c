/* steer-typical.c: typical activations, measured, cached or read
 * (steer-typical.h). */
#include "steer-typical.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "steer.h"

#define CACHE_FORMAT "flowscope typical activations 1"

/* The sums for one SAE's features, fed by a hook at its site. */
typedef struct {
  FsSae   *sae;
  GArray  *indices;   /* int64_t */
  GArray  *items;     /* guint: the item each index fills */
  double  *sums;
  int64_t *counts;
} Accumulator;

static void
accumulator_free (Accumulator *acc)
{
  g_array_unref (acc->indices);
  g_array_unref (acc->items);
  g_free (acc->sums);
  g_free (acc->counts);
  g_free (acc);
}

static void
accumulate (const FsHookBlock *block, gpointer user_data)
{
  Accumulator *acc = user_data;
  int64_t skip = block->pos0 == 0 ? 1 : 0, n = block->n_tokens - skip, m = acc->indices->len;

  if (n <= 0)
    return;
  g_autofree float *z = g_new (float, (size_t) (n * m));
  fs_sae_encode_features (acc->sae, block->data + skip * block->width, n,
                          (const int64_t *) acc->indices->data, m, NULL, z);
  for (int64_t t = 0; t < n; t++)
    for (int64_t k = 0; k < m; k++)
      if (z[t * m + k] > 0)
        {
          acc->sums[k] += z[t * m + k];
          acc->counts[k]++;
        }
}

gboolean
fs_typical_measure (FsModel *model, const FsModelRunOptions *run_options,
                    FsTypicalActivation *items, guint n_items, const int32_t *tokens,
                    int64_t n_tokens, GCancellable *cancellable, GError **error)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
  g_autoptr(GPtrArray) accumulators = g_ptr_array_new ();

  for (guint i = 0; i < n_items; i++)
    {
      Accumulator *acc = NULL;
      int layer;
      FsHookPoint point;

      if (!isnan (items[i].mean))
        continue;
      for (guint a = 0; a < accumulators->len && acc == NULL; a++)
        if (((Accumulator *) accumulators->pdata[a])->sae == items[i].sae)
          acc = accumulators->pdata[a];
      if (acc == NULL)
        {
          if (!fs_steer_site_hook (items[i].sae, &layer, &point, error))
            return FALSE;
          if (layer >= fs_model_get_config (model)->n_layers
              || fs_sae_get_d_in (items[i].sae) != fs_model_get_hook_width (model, point))
            return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (items[i].sae),
                            "the SAE does not fit the model's blocks.%d.%s", layer,
                            fs_hook_point_name (point));
          acc = g_new0 (Accumulator, 1);
          acc->sae = items[i].sae;
          acc->indices = g_array_new (FALSE, FALSE, sizeof (int64_t));
          acc->items = g_array_new (FALSE, FALSE, sizeof (guint));
          g_ptr_array_add (accumulators, acc);
          fs_model_run_add_hook (run, layer, point, accumulate, acc,
                                 (GDestroyNotify) accumulator_free);
        }
      g_array_append_val (acc->indices, items[i].index);
      g_array_append_val (acc->items, i);
    }
  for (guint a = 0; a < accumulators->len; a++)
    {
      Accumulator *acc = accumulators->pdata[a];
      acc->sums = g_new0 (double, acc->indices->len);
      acc->counts = g_new0 (int64_t, acc->indices->len);
    }

  int64_t window = fs_model_run_get_max_context (run);
  for (int64_t t0 = 0; t0 < n_tokens && accumulators->len > 0; t0 += window)
    {
      fs_model_run_truncate (run, 0);
      if (!fs_model_run_forward (run, tokens + t0, MIN (window, n_tokens - t0), FS_LOGITS_NONE,
                                 NULL, cancellable, error))
        return FALSE;
    }

  for (guint a = 0; a < accumulators->len; a++)
    {
      Accumulator *acc = accumulators->pdata[a];
      for (guint k = 0; k < acc->indices->len; k++)
        {
          FsTypicalActivation *item = &items[g_array_index (acc->items, guint, k)];
          item->count = acc->counts[k];
          item->mean = acc->counts[k] > 0 ? acc->sums[k] / acc->counts[k] : NAN;
        }
    }
  return TRUE;
}

/* ---------------------------------------------------------------- cache */

static char *
cache_key (FsSae *sae, FsModel *model, const char *text_sum)
{
  g_autofree char *sae_path = g_canonicalize_filename (fs_sae_get_path (sae), NULL);
  g_autofree char *model_path = g_canonicalize_filename (fs_model_get_path (model), NULL);
  g_autofree char *joined = g_strjoin ("\n", sae_path, model_path, text_sum, NULL);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, joined, -1);
}

static cJSON *
load_cache (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON_AddStringToObject (root, "format", CACHE_FORMAT);
      cJSON_AddObjectToObject (root, "entries");
      return root;
    }
  g_autoptr(cJSON) root = fs_json_load (path, error);
  const char *format = NULL;
  if (root == NULL || !fs_json_get_string (path, root, "format", &format, error))
    return NULL;
  if (g_strcmp0 (format, CACHE_FORMAT) != 0
      || !cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (root, "entries")))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "not a typical-activation cache (“%s”)",
               CACHE_FORMAT);
      return NULL;
    }
  return g_steal_pointer (&root);
}

/* The cached [mean, count] of one feature, or NULL. */
static const cJSON *
cache_lookup (cJSON *entries, const char *key, int64_t index)
{
  char name[32];
  const cJSON *entry = cJSON_GetObjectItemCaseSensitive (entries, key);
  const cJSON *features = cJSON_GetObjectItemCaseSensitive (entry, "features");
  g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT, index);
  const cJSON *value = cJSON_GetObjectItemCaseSensitive (features, name);
  if (!cJSON_IsArray (value) || cJSON_GetArraySize (value) != 2)
    return NULL;
  return value;
}

gboolean
fs_typical_measure_cached (const char *cache_path, FsModel *model,
                           const FsModelRunOptions *run_options, FsTypicalActivation *items,
                           guint n_items, const int32_t *tokens, int64_t n_tokens,
                           GCancellable *cancellable, GError **error)
{
  g_autoptr(cJSON) root = load_cache (cache_path, error);
  g_autofree char *text_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                           (const guchar *) tokens,
                                                           (gsize) n_tokens * sizeof (int32_t));
  g_autofree gboolean *measured = g_new0 (gboolean, MAX (n_items, 1));
  gboolean missing = FALSE;

  if (root == NULL)
    return FALSE;
  cJSON *entries = cJSON_GetObjectItemCaseSensitive (root, "entries");
  for (guint i = 0; i < n_items; i++)
    {
      if (!isnan (items[i].mean))
        continue;
      g_autofree char *key = cache_key (items[i].sae, model, text_sum);
      const cJSON *value = cache_lookup (entries, key, items[i].index);
      const cJSON *mean = cJSON_GetArrayItem (value, 0), *count = cJSON_GetArrayItem (value, 1);
      if (value != NULL && cJSON_IsNumber (count))
        {
          items[i].mean = cJSON_IsNumber (mean) ? mean->valuedouble : NAN;
          items[i].count = (int64_t) count->valuedouble;
        }
      else
        missing = measured[i] = TRUE;
    }
  if (!missing)
    return TRUE;

  /* Measure what is missing; features cached as never active stay NaN and
   * are measured again, which is cheap and harmless. */
  if (!fs_typical_measure (model, run_options, items, n_items, tokens, n_tokens, cancellable,
                           error))
    return FALSE;
  for (guint i = 0; i < n_items; i++)
    {
      if (!measured[i])
        continue;
      g_autofree char *key = cache_key (items[i].sae, model, text_sum);
      char name[32];
      cJSON *entry = cJSON_GetObjectItemCaseSensitive (entries, key);
      if (entry == NULL)
        {
          entry = cJSON_AddObjectToObject (entries, key);
          cJSON_AddStringToObject (entry, "sae", fs_sae_get_path (items[i].sae));
          cJSON_AddStringToObject (entry, "model", fs_model_get_path (model));
          cJSON_AddStringToObject (entry, "tokens_sha256", text_sum);
          cJSON_AddNumberToObject (entry, "n_tokens", (double) n_tokens);
          cJSON_AddObjectToObject (entry, "features");
        }
      cJSON *features = cJSON_GetObjectItemCaseSensitive (entry, "features");
      cJSON *value = cJSON_CreateArray ();
      cJSON_AddItemToArray (value, isnan (items[i].mean) ? cJSON_CreateNull ()
                                                         : cJSON_CreateNumber (items[i].mean));
      cJSON_AddItemToArray (value, cJSON_CreateNumber ((double) items[i].count));
      g_snprintf (name, sizeof name, "%" G_GINT64_FORMAT, items[i].index);
      cJSON_DeleteItemFromObjectCaseSensitive (features, name);
      cJSON_AddItemToObject (features, name, value);
    }

  g_autofree char *dir = g_path_get_dirname (cache_path);
  g_autofree char *text = cJSON_PrintUnformatted (root);
  g_autoptr(GError) io_error = NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents (cache_path, text, -1, &io_error))
    return fs_fail (error, FS_ERROR_IO, cache_path, "cannot write the cache: %s",
                    io_error != NULL ? io_error->message : g_strerror (errno));
  return TRUE;
}

/* ---------------------------------------------------------------- stats files */

gboolean
fs_typical_from_feature_stats (const char *path, FsTypicalActivation *items, guint n_items,
                               GError **error)
{
  g_autoptr(cJSON) root = fs_json_load (path, error);
  const cJSON *saes, *sae;

  if (root == NULL)
    return FALSE;
  saes = cJSON_GetObjectItemCaseSensitive (root, "saes");
  if (!cJSON_IsObject (saes))
    return fs_fail (error, FS_ERROR_INVALID, path, "not a feature-stats file: no “saes” object");

  for (guint i = 0; i < n_items; i++)
    {
      const char *np_id = fs_sae_get_neuronpedia_id (items[i].sae);
      const char *hook = fs_sae_get_hook_name (items[i].sae);
      const cJSON *match = NULL;
      if (!isnan (items[i].mean))
        continue;
      /* A Neuronpedia id names one SAE; a hook name only its position. */
      cJSON_ArrayForEach (sae, saes)
        {
          const cJSON *id = cJSON_GetObjectItemCaseSensitive (sae, "neuronpedia_id");
          if (np_id != NULL && cJSON_IsString (id) && g_str_equal (id->valuestring, np_id))
            match = sae;
        }
      cJSON_ArrayForEach (sae, saes)
        {
          const cJSON *name = cJSON_GetObjectItemCaseSensitive (sae, "hook_name");
          if (match == NULL && hook != NULL && cJSON_IsString (name)
              && g_str_equal (name->valuestring, hook))
            match = sae;
        }
      const cJSON *features = cJSON_GetObjectItemCaseSensitive (match, "features");
      const cJSON *feature = items[i].index <= G_MAXINT
                             ? cJSON_GetArrayItem (features, (int) items[i].index) : NULL;
      const cJSON *mean = cJSON_GetObjectItemCaseSensitive (feature, "mean_act");
      if (!cJSON_IsNumber (mean))
        continue;
      if (cJSON_GetArraySize (features) != fs_sae_get_d_sae (items[i].sae))
        return fs_fail (error, FS_ERROR_INVALID, path,
                        "%s lists %d features, but %s has %" G_GINT64_FORMAT, match->string,
                        cJSON_GetArraySize (features), fs_sae_get_path (items[i].sae),
                        fs_sae_get_d_sae (items[i].sae));
      items[i].mean = mean->valuedouble > 0 ? mean->valuedouble : NAN;
      items[i].count = -1;
    }
  return TRUE;
}
