/* prompt-activations.h: SAE features on a prompt. The model runs once over
 * the prompt's tokens and each SAE encodes what its hook sees there
 * (sae-hook.h), as `encode` does for activations read from a file.
 *
 * Prompts longer than the model's context are refused (the run's error).
 */
#pragma once

#include "model.h"
#include "sae-set.h"

G_BEGIN_DECLS

/* z [n_tokens]: feature `index` of `sae` at every token. */
gboolean fs_prompt_feature_activations (FsModel *model, const FsModelRunOptions *run_options,
                                        FsSae *sae, int64_t index, const int32_t *tokens,
                                        int64_t n_tokens, float *z, GCancellable *cancellable,
                                        GError **error);

typedef struct {
  int     layer;
  FsSite  site;
  int64_t index;
  float   activation;   /* the largest over the prompt's tokens */
  int64_t position;     /* the first token where it is reached */
} FsActiveFeature;

/* The `top_n` features of every selected SAE of `set` with the largest
 * activation over the prompt, active ones only (> 0), as FsActiveFeature:
 * SAEs in set order, then by activation, largest first (ties: lower index).
 * A first token that is the model's BOS is left out: it is an attention
 * sink, not the prompt's content, and SAEs are usually trained without it;
 * so are positions before the SAE's seqpos_slice start, which it never
 * saw (the demo's SAEs skip position 0, where activations run large).
 * SAEs whose site has no hook (MLP or attention on the embedding) are
 * skipped; one that does not fit the model fails the call. */
GArray  *fs_prompt_active_features (FsSaeSet *set, FsModel *model,
                                    const FsModelRunOptions *run_options,
                                    const int32_t *tokens, int64_t n_tokens, guint top_n,
                                    GCancellable *cancellable, GError **error);

G_END_DECLS
