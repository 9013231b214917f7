#include "attn-projection.h"

#include <math.h>

#include "fs-error.h"
#include "sae-private.h"

/* Rows projected per block while computing the norms: bounds the scratch. */
#define ROW_BLOCK 256

gboolean
fs_sae_attach_attn_projection (FsSae *sae, FsModel *model, GError **error)
{
  const FsModelConfig *config = fs_model_get_config (model);
  int64_t heads = config->n_heads * config->d_head;

  g_return_val_if_fail (sae->hook_z && sae->projection_model == NULL, FALSE);
  if (sae->layer < 0 || sae->layer >= config->n_layers)
    return fs_fail (error, FS_ERROR_INVALID, sae->path,
                    "attention SAE of layer %d, but the model %s has %" G_GINT64_FORMAT " layers",
                    sae->layer, fs_model_get_path (model), config->n_layers);
  if (sae->d_in != heads)
    return fs_fail (error, FS_ERROR_INVALID, sae->path,
                    "d_in is %" G_GINT64_FORMAT " but the model %s has n_heads * d_head = %"
                    G_GINT64_FORMAT, sae->d_in, fs_model_get_path (model), heads);
  sae->projection_model = fs_model_ref (model);
  return TRUE;
}

gboolean
fs_sae_has_attn_projection (FsSae *sae)
{
  return sae->projection_model != NULL;
}

FsModel *
fs_sae_get_attn_projection_model (FsSae *sae)
{
  return sae->projection_model;
}

void
fs_sae_project_query (FsSae *sae, const float *query, float *g)
{
  g_return_if_fail (sae->projection_model != NULL);
  fs_model_project_attn_z_transposed (sae->projection_model, sae->layer, query, g);
}

const float *
fs_sae_get_projected_norms (FsSae *sae)
{
  g_return_val_if_fail (sae->projection_model != NULL, NULL);
  if (g_once_init_enter (&sae->projected_ready))
    {
      int64_t d_model = fs_model_get_config (sae->projection_model)->d_model;
      const float *scale = fs_sae_get_decoder_scale (sae);
      g_autofree float *rows = g_new (float, (size_t) (ROW_BLOCK * sae->d_in));
      g_autofree float *projected = g_new (float, (size_t) (ROW_BLOCK * d_model));
      sae->projected_norms = g_new (float, (size_t) sae->d_sae);

      for (int64_t first = 0; first < sae->d_sae; first += ROW_BLOCK)
        {
          int64_t n = MIN (ROW_BLOCK, sae->d_sae - first);
          fs_matrix_view_read_block (&sae->decoder, first, n, 0, sae->d_in, rows);
          fs_model_project_attn_z (sae->projection_model, sae->layer, rows, n, projected);
          for (int64_t r = 0; r < n; r++)
            {
              double sum = 0;
              for (int64_t j = 0; j < d_model; j++)
                sum += (double) projected[r * d_model + j] * projected[r * d_model + j];
              sae->projected_norms[first + r] = (float) (fabsf (scale[first + r]) * sqrt (sum));
            }
        }
      g_once_init_leave (&sae->projected_ready, 1);
    }
  return sae->projected_norms;
}
