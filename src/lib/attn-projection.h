/* attn-projection.h: matching attention SAEs trained on attn.hook_z.
 *
 * Their decoder rows u live in the heads' space (n_heads * d_head). Seen from
 * the residual stream a feature is the direction P u that it writes into
 * attn_out (METHOD.md section 1; P is model.h's fs_model_project_attn_z).
 * Cosines with a residual direction f are then (P^T f) . u / |P u|: one pass
 * over the stored decoder per query, as for any SAE, plus the norms |P u|
 * computed once per SAE.
 */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

/* Gives a hook_z SAE the model whose output projection maps it. Call before
 * the SAE is shared between threads. Fails when the model has no such layer
 * or its heads do not match d_in. */
gboolean      fs_sae_attach_attn_projection (FsSae *sae, FsModel *model, GError **error);
gboolean      fs_sae_has_attn_projection (FsSae *sae);
FsModel      *fs_sae_get_attn_projection_model (FsSae *sae);
/* g [d_in] = P^T query, for a query [d_model]. */
void          fs_sae_project_query (FsSae *sae, const float *query, float *g);
/* |P (dec_scale[i] W_dec[i])| for every feature, computed on first use. */
const float  *fs_sae_get_projected_norms (FsSae *sae);

G_END_DECLS
