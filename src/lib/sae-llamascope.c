/* sae-llamascope.c: Llama Scope folders, hyperparams.json +
 * checkpoints/final.safetensors, weights in nn.Linear layout (transposed
 * views here). Dataset-wise normalisation is folded into small per-feature
 * vectors, following one of two threshold conventions (FORMATS.md):
 *
 * reference (lm-saes, the default, since it is the authors' own code):
 *   f_in = sqrt(d)/norm_in, f_out = sqrt(d)/norm_out, n_i = |D[:, i]| f_in/f_out,
 *   pre_i = n_i (E x)_i + n_i b_enc_i / f_in,  z = pre [pre > thr],
 *   y = sum_i z_i D[:, i] / |D[:, i]| + b_dec / f_out;
 * saelens: raw weights and biases, threshold thr * f_in. */
#include "sae-private.h"

#include <math.h>

#include "fs-error.h"
#include "json-util.h"
#include "safetensors.h"

#define MAX_DIM ((int64_t) 1 << 32)

/* Needs the stored decoder column norms, so it runs in sae_prepare. */
static void
finish_reference_scales (FsSae *sae)
{
  float ratio = sae->llamascope_f_in / sae->llamascope_f_out;

  sae->encoder_scale = g_new (float, (size_t) sae->d_sae);
  sae->decoder_scale = g_new (float, (size_t) sae->d_sae);
  for (int64_t i = 0; i < sae->d_sae; i++)
    {
      float stored = sae->stored_row_norms[i];
      float n = stored * ratio;
      sae->encoder_scale[i] = n;
      sae->b_enc[i] *= n;
      sae->decoder_scale[i] = stored > 0 ? 1.0f / stored : 0.0f;
    }
}

static gboolean
read_hyperparams (FsSae *sae, const char *path, double *threshold, double *norm_in,
                  double *norm_out, GError **error)
{
  g_autoptr(cJSON) hp = fs_json_load (path, error);
  const char *hook_out = NULL, *hook_in = NULL, *act_fn = "jumprelu", *norm = NULL;
  int64_t d_model = 0, d_sae = 0, top_k = 0;

  if (hp == NULL)
    return FALSE;
  if (!fs_json_get_string (path, hp, "hook_point_out", &hook_out, error)
      || !fs_json_get_string (path, hp, "hook_point_in", &hook_in, error)
      || !fs_json_get_string (path, hp, "act_fn", &act_fn, error)
      || !fs_json_get_string (path, hp, "norm_activation", &norm, error)
      || !fs_json_get_int (path, hp, "d_model", 1, MAX_DIM, &d_model, error)
      || !fs_json_get_int (path, hp, "d_sae", 1, MAX_DIM, &d_sae, error)
      || !fs_json_get_int (path, hp, "top_k", 1, MAX_DIM, &top_k, error)
      || !fs_json_get_double (path, hp, "jump_relu_threshold", threshold, error))
    return FALSE;

  const char *hook = hook_out ? hook_out : hook_in;
  if (hook == NULL || !fs_hook_name_to_position (hook, &sae->layer, &sae->site, &sae->hook_z))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: hook “%s” is not a residual, MLP or attention output site", path,
                   hook ? hook : "(none)");
      return FALSE;
    }
  if (d_model == 0 || d_sae == 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: d_model and d_sae are required",
                   path);
      return FALSE;
    }
  if (g_strcmp0 (act_fn, "jumprelu") == 0)
    sae->architecture = FS_ARCH_JUMPRELU;
  else if (g_strcmp0 (act_fn, "topk") == 0)
    sae->architecture = FS_ARCH_TOPK;
  else if (g_strcmp0 (act_fn, "relu") == 0)
    sae->architecture = FS_ARCH_STANDARD;
  else
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED, "%s: unsupported act_fn “%s”", path,
                   act_fn);
      return FALSE;
    }

  if (g_strcmp0 (norm, "dataset-wise") == 0)
    {
      const cJSON *avg = cJSON_GetObjectItemCaseSensitive (hp, "dataset_average_activation_norm");
      if (!fs_json_get_double (path, avg, "in", norm_in, error)
          || !fs_json_get_double (path, avg, "out", norm_out, error))
        return FALSE;
      if (!(*norm_in > 0 && *norm_out > 0))
        {
          g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                       "%s: dataset_average_activation_norm needs positive “in” and “out”",
                       path);
          return FALSE;
        }
    }

  sae->d_in = d_model;
  sae->d_sae = d_sae;
  sae->k = (int) top_k;
  sae->hook_name = g_strdup (hook);
  return TRUE;
}

FsSae *
fs_sae_load_llamascope (const char *folder, const FsSaeLoadOptions *options, GError **error)
{
  g_autofree char *hp_path = g_build_filename (folder, "hyperparams.json", NULL);
  g_autofree char *weights_path = g_build_filename (folder, "checkpoints",
                                                    "final.safetensors", NULL);
  g_autoptr(FsSae) sae = fs_sae_new_empty (folder, FS_SAE_FORMAT_LLAMASCOPE);
  double threshold = 0, norm_in = 0, norm_out = 0;
  const FsTensor *enc, *dec, *b_enc, *b_dec;
  gboolean saelens_mode = options != NULL
                          && options->llamascope_threshold == FS_LLAMASCOPE_THRESHOLD_SAELENS;

  sae->apply_b_dec_to_input = FALSE;
  if (!read_hyperparams (sae, hp_path, &threshold, &norm_in, &norm_out, error))
    return NULL;

  g_autoptr(FsTensorFile) weights = fs_safetensors_open (weights_path, error);
  int64_t d = sae->d_in, f = sae->d_sae;
  if (weights == NULL
      || !(enc = fs_sae_require_tensor (sae, weights, "encoder.weight", 2, f, d, error))
      || !(dec = fs_sae_require_tensor (sae, weights, "decoder.weight", 2, d, f, error))
      || !(b_enc = fs_sae_require_tensor (sae, weights, "encoder.bias", 1, f, -1, error))
      || !(b_dec = fs_sae_require_tensor (sae, weights, "decoder.bias", 1, d, -1, error)))
    return NULL;

  sae->encoder = fs_matrix_view_of (enc, TRUE);
  sae->decoder = fs_matrix_view_of (dec, TRUE);
  sae->b_enc = fs_tensor_to_f32_vector (b_enc);
  sae->b_dec = fs_tensor_to_f32_vector (b_dec);

  float f_in = norm_in > 0 ? (float) (sqrt ((double) d) / norm_in) : 1.0f;
  float f_out = norm_out > 0 ? (float) (sqrt ((double) d) / norm_out) : 1.0f;
  sae->threshold = g_new (float, (size_t) f);
  for (int64_t i = 0; i < f; i++)
    sae->threshold[i] = (float) threshold * (saelens_mode ? f_in : 1.0f);
  if (!saelens_mode)
    {
      for (int64_t i = 0; i < f; i++)
        sae->b_enc[i] /= f_in;
      for (int64_t j = 0; j < d; j++)
        sae->b_dec[j] /= f_out;
      sae->llamascope_f_in = f_in;
      sae->llamascope_f_out = f_out;
      sae->finish_prepare = finish_reference_scales;
    }

  if (!fs_sae_validate (sae, error))
    return NULL;
  sae->weights = g_steal_pointer (&weights);
  return g_steal_pointer (&sae);
}
