/* logit-lens.h: the tokens a feature promotes and suppresses, read through
 * the model's unembedding (the "logit lens" of its decoder direction).
 *
 * A feature's direction d is its unit decoder row, in the residual basis:
 * residual, MLP-output and attention-output SAEs write there; a row of an
 * attention SAE on attn.hook_z is first projected through the layer's
 * output projection (fs_model_project_attn_z) and made unit length again.
 * The score of token t is
 *
 *   score[t] = (g * c(d)) . W_U[:, t]
 *
 * with g the final norm's per-channel scale and c the centring of LayerNorm
 * (the identity for RMSNorm): fs_model_get_final_norm.
 *
 * Why through the final norm's scale: every residual vector reaches W_U
 * through that norm, and its per-channel weights are learned, often far
 * from 1 (Gemma's 1 + w spans orders of magnitude), so W_U^T d alone would
 * rank tokens by channels the model itself damps. This is W_U folded with
 * the norm weights and writing weights centred, as TransformerLens
 * (fold_ln, center_writing_weights) and so Neuronpedia compute a feature's
 * top logits. What is left out cannot change the ranking: the norm's
 * division by one number per token (held fixed here: this is the direct
 * effect of adding d), the biases (they do not depend on d), Gemma's final
 * softcap (monotone). Scores are therefore logits per unit of normalised
 * residual, comparable between features of one model.
 */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

typedef struct {
  int32_t token;
  float   score;
} FsLensToken;

/* score [vocab] of feature `index` of `sae` as above. FALSE (with `error`)
 * when the SAE does not fit the model: d_in is not d_model (or, for
 * attn.hook_z, n_heads * d_head), or its layer is beyond the model's. */
gboolean fs_logit_lens_scores (FsModel *model, FsSae *sae, int64_t index, float *scores,
                               GError **error);

/* The `k` tokens with the highest scores, highest first, into `top`, and
 * the `k` with the lowest, lowest first, into `bottom` (either may be
 * NULL); ties go to the lower token id. Returns how many each got
 * (MIN (k, vocab) but for NaN scores), or -1 with `error` set. */
int      fs_logit_lens (FsModel *model, FsSae *sae, int64_t index, int k, FsLensToken *top,
                        FsLensToken *bottom, GError **error);

G_END_DECLS
