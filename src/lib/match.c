#include "match.h"

#include "attn-projection.h"
#include "fs-error.h"
#include "kernels.h"

int
fs_top_k_insert (FsMatch *list, int n, int k, int64_t index, float score)
{
  if (!(score > 0))
    return n;
  /* Equal scores keep the earlier (lower) index ahead. */
  if (n == k && !(score > list[k - 1].score
                  || (score == list[k - 1].score && index < list[k - 1].index)))
    return n;
  int pos = n < k ? n++ : k - 1;
  while (pos > 0 && (score > list[pos - 1].score
                     || (score == list[pos - 1].score && index < list[pos - 1].index)))
    {
      list[pos] = list[pos - 1];
      pos--;
    }
  list[pos] = (FsMatch) { index, score };
  return n;
}

int
fs_match_query (FsSae *target, const float *query, int k, FsMatch *out)
{
  int64_t n_features = fs_sae_get_d_sae (target);
  FsMatrixView decoder = fs_sae_get_decoder (target);
  const float *scale = fs_sae_get_decoder_scale (target);
  gboolean projected = fs_sae_is_hook_z (target);
  const float *norms = projected ? fs_sae_get_projected_norms (target)
                                 : fs_sae_get_decoder_norms (target);
  g_autofree float *dots = g_new (float, (size_t) n_features);
  g_autofree float *heads = NULL;
  int n = 0;

  g_return_val_if_fail (k >= 1 && k <= FS_MATCH_MAX_K, 0);
  /* Attention heads' features are compared where they write, in attn_out:
   * f . (P u) = (P^T f) . u, so the query moves instead of the decoder. */
  if (projected)
    {
      heads = g_new (float, (size_t) fs_sae_get_d_in (target));
      fs_sae_project_query (target, query, heads);
      query = heads;
    }
  /* The stored rows, not unit ones: one pass over the decoder, then each
   * dot product is turned into a cosine with the kept norms. */
  fs_kernel_matvec (&decoder, query, dots);
  for (int64_t i = 0; i < n_features; i++)
    if (norms[i] > 0)
      n = fs_top_k_insert (out, n, k, i, dots[i] * scale[i] / norms[i]);
  return n;
}

/* The width a feature of `sae` has where it is compared: attn_out for
 * attention heads' SAEs (d_model of their model), else its own d_in. */
static int64_t
matching_width (FsSae *sae)
{
  if (fs_sae_is_hook_z (sae) && fs_sae_has_attn_projection (sae))
    return fs_model_get_config (fs_sae_get_attn_projection_model (sae))->d_model;
  return fs_sae_get_d_in (sae);
}

gboolean
fs_match_check_compatible (FsSae *source, FsSae *target, GError **error)
{
  FsSae *heads = fs_sae_is_hook_z (source) ? source : fs_sae_is_hook_z (target) ? target : NULL;
  if (heads != NULL && (heads == source || !fs_sae_has_attn_projection (heads)))
    {
      g_autofree char *id = fs_position_id (fs_sae_get_layer (heads), fs_sae_get_site (heads));
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   heads == source
                     ? "%s: the SAE at %s reads attention heads (attn.hook_z): its features are "
                       "matched as predecessors of residual features, not from"
                     : "%s: the SAE at %s reads attention heads (attn.hook_z); matching it needs "
                       "the model's output projection: give the model folder (--model)",
                   fs_sae_get_path (heads), id);
      return FALSE;
    }
  if (fs_sae_get_d_in (source) != matching_width (target))
    {
      g_autofree char *a = fs_position_id (fs_sae_get_layer (source), fs_sae_get_site (source));
      g_autofree char *b = fs_position_id (fs_sae_get_layer (target), fs_sae_get_site (target));
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: d_in is %" G_GINT64_FORMAT " at %s but %" G_GINT64_FORMAT " at %s (%s): "
                   "they cannot be matched", fs_sae_get_path (source), fs_sae_get_d_in (source),
                   a, matching_width (target), b, fs_sae_get_path (target));
      return FALSE;
    }
  return TRUE;
}

int
fs_match_feature (FsSae *source, int64_t index, FsSae *target, int k, FsMatch *out,
                  GError **error)
{
  if (!fs_match_check_compatible (source, target, error))
    return -1;
  g_autofree float *query = g_new (float, (size_t) fs_sae_get_d_in (source));
  fs_sae_get_unit_decoder_row (source, index, query);
  return fs_match_query (target, query, k, out);
}
