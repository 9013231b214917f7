/* sae-saelens.c: SAELens folders, cfg.json (version 6 and the older flat
 * form) + sae_weights.safetensors. */
#include "sae-private.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "safetensors.h"

#define MAX_DIM ((int64_t) 1 << 32)

static gboolean
parse_architecture (const char *path, const char *name, FsArchitecture *out, GError **error)
{
  static const struct { const char *name; FsArchitecture arch; } names[] = {
    { "standard", FS_ARCH_STANDARD },
    { "jumprelu", FS_ARCH_JUMPRELU },
    { "topk", FS_ARCH_TOPK },
    { "gated", FS_ARCH_GATED },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i].name) == 0)
      {
        *out = names[i].arch;
        return TRUE;
      }
  g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
               "%s: unsupported architecture “%s” (standard, jumprelu, topk and gated are read)",
               path, name);
  return FALSE;
}

static gboolean
parse_normalization (const char *path, const cJSON *cfg, FsNormalization *out,
                     GError **error)
{
  static const struct { const char *name; FsNormalization norm; } names[] = {
    { "none", FS_NORM_NONE },
    { "expected_average_only_in", FS_NORM_EXPECTED_AVERAGE_ONLY_IN },
    { "constant_norm_rescale", FS_NORM_CONSTANT_NORM_RESCALE },
    { "layer_norm", FS_NORM_LAYER_NORM },
  };
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (cfg, "normalize_activations");

  *out = FS_NORM_NONE;
  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (cJSON_IsBool (item))  /* before 6.0: true meant expected_average_only_in */
    {
      *out = cJSON_IsTrue (item) ? FS_NORM_EXPECTED_AVERAGE_ONLY_IN : FS_NORM_NONE;
      return TRUE;
    }
  for (size_t i = 0; cJSON_IsString (item) && i < G_N_ELEMENTS (names); i++)
    if (strcmp (item->valuestring, names[i].name) == 0)
      {
        *out = names[i].norm;
        return TRUE;
      }
  g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
               "%s: unsupported normalize_activations value", path);
  return FALSE;
}

/* seqpos_slice: null, or [start, end(, step)] of integers or nulls, a
 * Python slice. Only a non-negative start can be applied to a prompt. */
static gboolean
parse_seqpos_start (FsSae *sae, const char *path, const cJSON *meta, GError **error)
{
  const cJSON *slice = cJSON_GetObjectItemCaseSensitive (meta, "seqpos_slice");
  const cJSON *start = cJSON_GetArrayItem (slice, 0);

  if (slice == NULL || cJSON_IsNull (slice) || start == NULL || cJSON_IsNull (start))
    return TRUE;
  /* Checked as a double first: casting one beyond int64_t is undefined. */
  if (!cJSON_IsArray (slice) || !cJSON_IsNumber (start) || !(fabs (start->valuedouble) < 0x1p53)
      || start->valuedouble != floor (start->valuedouble))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: seqpos_slice is not a slice [start, end] of integers or nulls", path);
      return FALSE;
    }
  if (start->valuedouble < 0)
    fs_sae_add_warning (sae, "%s: seqpos_slice starts from the end (%g): every position is "
                        "used", path, start->valuedouble);
  else
    sae->seqpos_start = (int64_t) start->valuedouble;
  return TRUE;
}

/* Version 6 nests the hook under "metadata"; earlier versions are flat. */
static gboolean
is_version_6 (const cJSON *cfg)
{
  const cJSON *metadata = cJSON_GetObjectItemCaseSensitive (cfg, "metadata");
  const cJSON *version = cJSON_GetObjectItemCaseSensitive (metadata, "sae_lens_version");
  return cJSON_IsString (version) && g_ascii_strtoull (version->valuestring, NULL, 10) >= 6;
}

/* Reads the architecture of a pre-6.0 config from its activation function. */
static gboolean
parse_flat_architecture (FsSae *sae, const cJSON *cfg, GError **error)
{
  const char *arch = "standard", *activation = NULL;
  int64_t k = 0;

  if (!fs_json_get_string (sae->path, cfg, "architecture", &arch, error)
      || !fs_json_get_string (sae->path, cfg, "activation_fn_str", &activation, error))
    return FALSE;
  if (activation == NULL
      && !fs_json_get_string (sae->path, cfg, "activation_fn", &activation, error))
    return FALSE;
  if (g_strcmp0 (activation, "topk") == 0)
    {
      const cJSON *kwargs = cJSON_GetObjectItemCaseSensitive (cfg, "activation_fn_kwargs");
      if (!fs_json_get_int (sae->path, kwargs, "k", 1, MAX_DIM, &k, error))
        return FALSE;
      arch = "topk";
    }
  sae->k = (int) k;
  return parse_architecture (sae->path, arch, &sae->architecture, error);
}

FsSae *
fs_sae_new_from_saelens_config (const char *path, const char *json, gsize length,
                                GError **error)
{
  g_autoptr(FsSae) sae = fs_sae_new_empty (path, FS_SAE_FORMAT_SAELENS);
  g_autoptr(cJSON) cfg = fs_json_parse (path, json, length, error);
  const cJSON *meta;
  const char *hook_name = NULL, *np_id = NULL, *reshape = NULL;
  int64_t d_in = 0, d_sae = 0;

  if (cfg == NULL)
    return NULL;
  if (!cJSON_IsObject (cfg))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: not a JSON object", path);
      return NULL;
    }

  if (is_version_6 (cfg))
    {
      const char *arch = "standard";
      int64_t k = 0;
      meta = cJSON_GetObjectItemCaseSensitive (cfg, "metadata");
      if (!fs_json_get_string (path, cfg, "architecture", &arch, error)
          || !parse_architecture (path, arch, &sae->architecture, error)
          || !fs_json_get_int (path, cfg, "k", 1, MAX_DIM, &k, error)
          || !fs_json_get_bool (path, cfg, "rescale_acts_by_decoder_norm",
                                &sae->rescale_acts_by_decoder_norm, error))
        return NULL;
      sae->k = (int) k;
    }
  else
    {
      meta = cfg;
      if (!parse_flat_architecture (sae, cfg, error))
        return NULL;
    }

  if (!fs_json_get_string (path, meta, "hook_name", &hook_name, error)
      || (hook_name == NULL
          && !fs_json_get_string (path, cfg, "hook_point", &hook_name, error))
      || !fs_json_get_string (path, meta, "neuronpedia_id", &np_id, error)
      || !fs_json_get_string (path, cfg, "reshape_activations", &reshape, error)
      || !fs_json_get_int (path, cfg, "d_in", 1, MAX_DIM, &d_in, error)
      || !fs_json_get_int (path, cfg, "d_sae", 1, MAX_DIM, &d_sae, error)
      || !fs_json_get_bool (path, cfg, "apply_b_dec_to_input", &sae->apply_b_dec_to_input,
                            error)
      || !parse_normalization (path, cfg, &sae->normalization, error)
      || !parse_seqpos_start (sae, path, meta, error))
    return NULL;

  if (d_in == 0 || d_sae == 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: d_in and d_sae are required",
                   path);
      return NULL;
    }
  if (hook_name == NULL
      || !fs_hook_name_to_position (hook_name, &sae->layer, &sae->site, &sae->hook_z))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: hook “%s” is not a residual, MLP or attention output site", path,
                   hook_name ? hook_name : "(none)");
      return NULL;
    }
  if (g_strcmp0 (reshape, "hook_z") == 0 && !sae->hook_z)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: reshape_activations is hook_z but the hook is %s", path, hook_name);
      return NULL;
    }
  if (sae->normalization == FS_NORM_EXPECTED_AVERAGE_ONLY_IN)
    fs_sae_add_warning (sae, "%s: normalize_activations is expected_average_only_in: inputs "
                        "are used as they are, right only if the factor was folded into "
                        "the weights", path);

  sae->d_in = d_in;
  sae->d_sae = d_sae;
  sae->hook_name = g_strdup (hook_name);
  sae->neuronpedia_id = g_strdup (np_id);
  return g_steal_pointer (&sae);
}

/* Older SAELens files may carry a per-feature scaling_factor applied to z
 * before decoding; all ones means none. */
static gboolean
attach_scaling_factor (FsSae *sae, FsTensorFile *weights, GError **error)
{
  GError *local_error = NULL;
  const FsTensor *t = fs_sae_optional_tensor (sae, weights, "scaling_factor", 1, sae->d_sae,
                                              -1, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (t == NULL)
    return TRUE;
  g_autofree float *factor = fs_tensor_to_f32_vector (t);
  for (int64_t i = 0; i < sae->d_sae; i++)
    if (factor[i] != 1.0f)
      {
        sae->decoder_scale = g_steal_pointer (&factor);
        return TRUE;
      }
  return TRUE;
}

static gboolean
attach_weights (FsSae *sae, FsTensorFile *weights, GError **error)
{
  const int64_t d_in = sae->d_in, d_sae = sae->d_sae;
  const FsTensor *w_enc, *w_dec, *b_dec;
  const struct { const char *name; float **slot; } vectors[] = {
    { "b_enc", &sae->b_enc },
    { "threshold", &sae->threshold },
    { "b_gate", &sae->b_gate },
    { "r_mag", &sae->r_mag },
    { "b_mag", &sae->b_mag },
  };

  if (!(w_enc = fs_sae_require_tensor (sae, weights, "W_enc", 2, d_in, d_sae, error))
      || !(w_dec = fs_sae_require_tensor (sae, weights, "W_dec", 2, d_sae, d_in, error))
      || !(b_dec = fs_sae_require_tensor (sae, weights, "b_dec", 1, d_in, -1, error)))
    return FALSE;
  sae->encoder = fs_matrix_view_of (w_enc, FALSE);
  sae->decoder = fs_matrix_view_of (w_dec, FALSE);
  sae->b_dec = fs_tensor_to_f32_vector (b_dec);

  for (size_t i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      GError *local_error = NULL;
      const FsTensor *t = fs_sae_optional_tensor (sae, weights, vectors[i].name, 1, d_sae, -1,
                                                  &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (t != NULL)
        *vectors[i].slot = fs_tensor_to_f32_vector (t);
    }
  return attach_scaling_factor (sae, weights, error);
}

FsSae *
fs_sae_load_saelens (const char *folder, GError **error)
{
  g_autofree char *cfg_path = g_build_filename (folder, "cfg.json", NULL);
  g_autofree char *weights_path = g_build_filename (folder, "sae_weights.safetensors", NULL);
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr(GError) read_error = NULL;

  if (!g_file_get_contents (cfg_path, &text, &length, &read_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", cfg_path, read_error->message);
      return NULL;
    }
  g_autoptr(FsSae) sae = fs_sae_new_from_saelens_config (cfg_path, text, length, error);
  if (sae == NULL)
    return NULL;
  g_free (sae->path);
  sae->path = g_strdup (folder);

  g_autoptr(FsTensorFile) weights = fs_safetensors_open (weights_path, error);
  if (weights == NULL || !attach_weights (sae, weights, error) || !fs_sae_validate (sae, error))
    return NULL;
  sae->weights = g_steal_pointer (&weights);
  return g_steal_pointer (&sae);
}
