#include "match.h"

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
  const float *norms = fs_sae_get_decoder_norms (target);
  g_autofree float *dots = g_new (float, (size_t) n_features);
  int n = 0;

  g_return_val_if_fail (k >= 1 && k <= FS_MATCH_MAX_K, 0);
  /* The stored rows, not unit ones: one pass over the decoder, then each
   * dot product is turned into a cosine with the kept norms. */
  fs_kernel_matvec (&decoder, query, dots);
  for (int64_t i = 0; i < n_features; i++)
    if (norms[i] > 0)
      n = fs_top_k_insert (out, n, k, i, dots[i] * scale[i] / norms[i]);
  return n;
}

gboolean
fs_match_check_compatible (FsSae *source, FsSae *target, GError **error)
{
  FsSae *projected = fs_sae_is_hook_z (source) ? source : fs_sae_is_hook_z (target) ? target : NULL;
  if (projected != NULL)
    {
      g_autofree char *id = fs_position_id (fs_sae_get_layer (projected),
                                            fs_sae_get_site (projected));
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: the SAE at %s reads attention heads (attn.hook_z); matching it needs "
                   "the model's output projection, and models cannot be loaded yet",
                   fs_sae_get_path (projected), id);
      return FALSE;
    }
  if (fs_sae_get_d_in (source) != fs_sae_get_d_in (target))
    {
      g_autofree char *a = fs_position_id (fs_sae_get_layer (source), fs_sae_get_site (source));
      g_autofree char *b = fs_position_id (fs_sae_get_layer (target), fs_sae_get_site (target));
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: d_in is %" G_GINT64_FORMAT " at %s but %" G_GINT64_FORMAT " at %s (%s): "
                   "they cannot be matched", fs_sae_get_path (source), fs_sae_get_d_in (source),
                   a, fs_sae_get_d_in (target), b, fs_sae_get_path (target));
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
