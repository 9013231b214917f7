/* causal.h: the deactivation test of a matching (METHOD.md section 5).
 *
 * For a target feature T and a predecessor p (its match at an earlier
 * position), on a text: rescale p at its own site by r on every token
 * (steer.h), run the model again, and at the tokens where T and p were
 * both active before, measure
 *
 *   activation change = mean of 1 - z_new(T) / z_old(T),
 *   success           = share of them where T is no longer active,
 *   loss change       = (L_new - L_old) / L_old, L the mean next-token
 *                       cross-entropy over the whole text.
 *
 * Texts longer than the model's context are run in windows; the loss counts
 * every position but the last of each window.
 */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

typedef struct {
  FsSae   *sae;       /* the predecessor's SAE (not owned) */
  int64_t  index;
  double   r;
  /* Filled in: */
  int64_t  co_active;          /* tokens where T and p were both active */
  double   activation_change;  /* NaN when co_active is 0 */
  double   success;            /* NaN when co_active is 0 */
  double   loss;               /* L_new */
  double   loss_change;
} FsCausalTrial;

typedef struct {
  int64_t n_tokens;
  int64_t target_active;   /* tokens where T is active without intervention */
  double  loss;            /* L_old */
} FsCausalBaseline;

/* Runs the unsteered text once, then once per trial. */
gboolean fs_causal_test (FsModel *model, const FsModelRunOptions *run_options, FsSae *target,
                         int64_t index, FsCausalTrial *trials, guint n_trials,
                         const int32_t *tokens, int64_t n_tokens, FsCausalBaseline *baseline,
                         GCancellable *cancellable, GError **error);

G_END_DECLS
