/* logit-lens.c: a feature's direction through the final norm and the
 * unembedding (logit-lens.h). */
#include "logit-lens.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "kernels.h"

/* Unit decoder row `index` in the residual basis, [d_model]. */
static void
residual_direction (FsModel *model, FsSae *sae, int64_t index, float *out)
{
  int64_t d = fs_model_get_config (model)->d_model;
  g_autofree float *row = g_new (float, (size_t) fs_sae_get_d_in (sae));
  double sum = 0;

  fs_sae_get_unit_decoder_row (sae, index, row);
  if (!fs_sae_is_hook_z (sae))
    {
      memcpy (out, row, (size_t) d * sizeof (float));
      return;
    }
  fs_model_project_attn_z (model, fs_sae_get_layer (sae), row, 1, out);
  for (int64_t j = 0; j < d; j++)
    sum += (double) out[j] * out[j];
  for (int64_t j = 0; sum > 0 && j < d; j++)
    out[j] = (float) (out[j] / sqrt (sum));
}

gboolean
fs_logit_lens_scores (FsModel *model, FsSae *sae, int64_t index, float *scores,
                      GError **error)
{
  const FsModelConfig *c = fs_model_get_config (model);
  int64_t d = c->d_model;
  FsHookPoint point = fs_sae_is_hook_z (sae) ? FS_HOOK_ATTN_Z : FS_HOOK_RESID_POST;
  FsMatrixView unembed = fs_model_get_unembedding (model);
  g_autofree float *direction = g_new (float, (size_t) d);
  g_autofree float *scale = g_new (float, (size_t) d);
  gboolean centres;
  double mean = 0;

  g_return_val_if_fail (index >= 0 && index < fs_sae_get_d_sae (sae), FALSE);
  if (fs_sae_get_layer (sae) >= c->n_layers
      || fs_sae_get_d_in (sae) != fs_model_get_hook_width (model, point))
    return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (sae),
                    "the SAE (layer %d, d_in %" G_GINT64_FORMAT ") does not fit the model %s",
                    fs_sae_get_layer (sae), fs_sae_get_d_in (sae), fs_model_get_path (model));

  residual_direction (model, sae, index, direction);
  fs_model_get_final_norm (model, scale, &centres);
  for (int64_t j = 0; centres && j < d; j++)
    mean += direction[j];
  mean /= d;
  for (int64_t j = 0; j < d; j++)
    direction[j] = (float) ((direction[j] - mean) * scale[j]);
  fs_kernel_matmul (direction, 1, d, &unembed, scores, c->vocab_size);
  return TRUE;
}

/* Puts (token, score) into `list` [n of at most k], kept in order of
 * sign * score, largest first. Tokens come in increasing order, so a tie
 * never displaces an earlier one. Returns the new n. */
static int
rank_insert (FsLensToken *list, int n, int k, int32_t token, float score, float sign)
{
  float key = sign * score;
  int pos;

  if (isnan (score) || (n == k && !(key > sign * list[k - 1].score)))
    return n;
  pos = n < k ? n++ : k - 1;
  for (; pos > 0 && key > sign * list[pos - 1].score; pos--)
    list[pos] = list[pos - 1];
  list[pos] = (FsLensToken) { token, score };
  return n;
}

int
fs_logit_lens (FsModel *model, FsSae *sae, int64_t index, int k, FsLensToken *top,
               FsLensToken *bottom, GError **error)
{
  int64_t vocab = fs_model_get_config (model)->vocab_size;
  g_autofree float *scores = g_new (float, (size_t) vocab);
  int n_top = 0, n_bottom = 0;

  g_return_val_if_fail (k > 0, -1);
  if (!fs_logit_lens_scores (model, sae, index, scores, error))
    return -1;
  for (int64_t t = 0; t < vocab; t++)
    {
      if (top != NULL)
        n_top = rank_insert (top, n_top, k, (int32_t) t, scores[t], 1.0f);
      if (bottom != NULL)
        n_bottom = rank_insert (bottom, n_bottom, k, (int32_t) t, scores[t], -1.0f);
    }
  return top != NULL ? n_top : n_bottom;
}
