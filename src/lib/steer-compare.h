/* steer-compare.h: a baseline and a steered generation from the same prompt
 * and seed, with the measurable proxies of METHOD.md section 4:
 *
 *  - coherence: the unsteered model's perplexity of each run's generated
 *    tokens given the prompt, exp(-mean log p(token_t | prefix));
 *  - divergence: per step t, KL(steered || unsteered) of the next-token
 *    distributions (temperature 1, no top-p) on the run's own prefix. Along
 *    the steered run it says how far steering pulled each step from the
 *    unsteered model; along the baseline run, how much it would have
 *    changed there. Computed by two more runs, one steered and one not,
 *    that follow the run's tokens in lockstep.
 *
 * Theme scores (theme.h) are computed from the tokens by the caller.
 */
#pragma once

#include "generate.h"
#include "steer.h"

G_BEGIN_DECLS

typedef struct {
  GArray      *tokens;       /* int32_t: the generated ids */
  FsStopReason stop;
  double       perplexity;   /* NaN when nothing was generated */
  GArray      *kl;           /* double per generated token */
  double       kl_mean;      /* NaN when nothing was generated */
} FsSteerRun;

typedef struct {
  FsSteerRun baseline;
  FsSteerRun steered;
} FsSteerComparison;

/* Called with each token as it is chosen, for streaming; return FALSE to
 * stop that run. */
typedef gboolean (*FsSteerTokenFunc) (gboolean steered, int32_t token, gpointer user_data);

/* Generates twice from `prompt` with fresh runs of `model` (`run_options`
 * may be NULL) and samplers made from the same `params`: without steering,
 * then with `steering` attached (its token positions as set with
 * fs_steering_set_tokens, usually n_prompt = the prompt's length). Then
 * scores both runs. */
FsSteerComparison *fs_steer_compare (FsModel *model, const FsModelRunOptions *run_options,
                                     FsSteering *steering, const FsSamplerParams *params,
                                     const int32_t *prompt, int64_t n_prompt,
                                     const FsGenerateOptions *options,
                                     FsSteerTokenFunc callback, gpointer user_data,
                                     GCancellable *cancellable, GError **error);
void               fs_steer_comparison_free (FsSteerComparison *comparison);

/* One side of a comparison alone, so that the two can run on two threads:
 * generates from `prompt` with a fresh run (with `steering` attached when
 * `steer`) and a sampler made from `params`, streaming each token to
 * `callback` (may be NULL), then scores the run against `steering` as
 * fs_steer_compare does. Fills `out`; clear it with fs_steer_run_clear. */
gboolean           fs_steer_run_generate (FsModel *model, const FsModelRunOptions *run_options,
                                          FsSteering *steering, gboolean steer,
                                          const FsSamplerParams *params,
                                          const int32_t *prompt, int64_t n_prompt,
                                          const FsGenerateOptions *options,
                                          FsTokenFunc callback, gpointer user_data,
                                          FsSteerRun *out, GCancellable *cancellable,
                                          GError **error);
void               fs_steer_run_clear (FsSteerRun *run);

/* Where two runs' tokens part: the index of the first token that differs,
 * the shorter one's length when one is a prefix of the other, -1 when they
 * are the same. */
int64_t            fs_steer_first_difference (const int32_t *a, int64_t n_a,
                                              const int32_t *b, int64_t n_b);

/* The scoring alone, for tokens generated elsewhere: perplexity and
 * per-step KL of `tokens` after `prompt`, as described above. */
gboolean           fs_steer_score (FsModel *model, const FsModelRunOptions *run_options,
                                   FsSteering *steering, const int32_t *prompt,
                                   int64_t n_prompt, const int32_t *tokens, int64_t n_tokens,
                                   double *perplexity, GArray *kl,
                                   GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSteerComparison, fs_steer_comparison_free)

G_END_DECLS
