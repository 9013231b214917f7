/* prompt-activations.c: SAE features on a prompt (prompt-activations.h). */
#include "prompt-activations.h"

#include "fs-error.h"
#include "sae-hook.h"

/* One feature's activation at every token. */
typedef struct {
  FsSae   *sae;
  int64_t  index;
  float   *z;
} Capture;

static void
capture_hook (const FsHookBlock *block, gpointer user_data)
{
  Capture *capture = user_data;
  fs_sae_encode_features (capture->sae, block->data, block->n_tokens, &capture->index, 1, NULL,
                          capture->z + block->pos0);
}

gboolean
fs_prompt_feature_activations (FsModel *model, const FsModelRunOptions *run_options,
                               FsSae *sae, int64_t index, const int32_t *tokens,
                               int64_t n_tokens, float *z, GCancellable *cancellable,
                               GError **error)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
  Capture capture = { sae, index, z };

  g_return_val_if_fail (index >= 0 && index < fs_sae_get_d_sae (sae), FALSE);
  return fs_sae_hook_add (run, sae, capture_hook, &capture, NULL, error) != 0
         && fs_model_run_forward (run, tokens, n_tokens, FS_LOGITS_NONE, NULL, cancellable,
                                  error);
}

/* Every feature's largest activation over the prompt, and where. */
typedef struct {
  FsSae   *sae;
  int64_t  first;      /* positions before it are left out (seqpos_slice) */
  int32_t  bos;        /* left out at position 0; -1 when none */
  float   *max;        /* [d_sae], 0 until active */
  int64_t *position;   /* [d_sae] */
} Peak;

static void
peak_free (Peak *peak)
{
  g_free (peak->max);
  g_free (peak->position);
  g_free (peak);
}

static void
peak_hook (const FsHookBlock *block, gpointer user_data)
{
  Peak *peak = user_data;
  int64_t d_sae = fs_sae_get_d_sae (peak->sae), n = block->n_tokens;
  g_autofree float *z = g_new (float, (size_t) (n * d_sae));

  fs_sae_encode (peak->sae, block->data, n, z);
  for (int64_t t = 0; t < n; t++)
    {
      if (block->pos0 + t < peak->first || (block->pos0 + t == 0 && block->tokens[t] == peak->bos))
        continue;
      for (int64_t i = 0; i < d_sae; i++)
        if (z[t * d_sae + i] > peak->max[i])
          {
            peak->max[i] = z[t * d_sae + i];
            peak->position[i] = block->pos0 + t;
          }
    }
}

static int
compare_active (gconstpointer a, gconstpointer b)
{
  const FsActiveFeature *x = a, *y = b;

  if (x->activation != y->activation)
    return x->activation > y->activation ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Appends the top_n active features of `peak` to `out`. */
static void
append_top (const Peak *peak, guint top_n, GArray *out)
{
  g_autoptr(GArray) active = g_array_new (FALSE, FALSE, sizeof (FsActiveFeature));

  for (int64_t i = 0; i < fs_sae_get_d_sae (peak->sae); i++)
    if (peak->max[i] > 0)
      {
        FsActiveFeature feature = { fs_sae_get_layer (peak->sae), fs_sae_get_site (peak->sae),
                                    i, peak->max[i], peak->position[i] };
        g_array_append_val (active, feature);
      }
  g_array_sort (active, compare_active);
  g_array_append_vals (out, active->data, MIN (top_n, active->len));
}

GArray *
fs_prompt_active_features (FsSaeSet *set, FsModel *model, const FsModelRunOptions *run_options,
                           const int32_t *tokens, int64_t n_tokens, guint top_n,
                           GCancellable *cancellable, GError **error)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
  g_autoptr(GPtrArray) peaks = g_ptr_array_new ();
  int64_t bos = fs_model_get_config (model)->bos_token_id;
  GArray *out;

  for (guint s = 0; s < fs_sae_set_get_n_saes (set); s++)
    {
      FsSae *sae = fs_sae_set_get_nth (set, s);
      g_autoptr(GError) local = NULL;
      Peak *peak;

      if (!fs_sae_set_is_selected (set, s))
        continue;
      peak = g_new0 (Peak, 1);
      peak->sae = sae;
      peak->first = fs_sae_get_seqpos_start (sae);
      peak->bos = (int32_t) bos;
      peak->max = g_new0 (float, (size_t) fs_sae_get_d_sae (sae));
      peak->position = g_new0 (int64_t, (size_t) fs_sae_get_d_sae (sae));
      if (fs_sae_hook_add (run, sae, peak_hook, peak, (GDestroyNotify) peak_free, &local) != 0)
        g_ptr_array_add (peaks, peak);
      else
        {
          peak_free (peak);
          if (!g_error_matches (local, FS_ERROR, FS_ERROR_UNSUPPORTED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
        }
    }

  /* The run owns the peaks; they are read before it goes. */
  if (!fs_model_run_forward (run, tokens, n_tokens, FS_LOGITS_NONE, NULL, cancellable, error))
    return NULL;
  out = g_array_new (FALSE, FALSE, sizeof (FsActiveFeature));
  for (guint p = 0; p < peaks->len; p++)
    append_top (peaks->pdata[p], top_n, out);
  return out;
}
