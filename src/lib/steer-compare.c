/* steer-compare.c: baseline against steered generation (steer-compare.h). */
#include "steer-compare.h"

#include <math.h>

/* Positions scored per forward: bounds the logits kept to SCORE_CHUNK rows. */
#define SCORE_CHUNK 16

typedef struct {
  FsSteerTokenFunc callback;
  gpointer         user_data;
  gboolean         steered;
} Stream;

static gboolean
stream_token (int32_t token, gpointer user_data)
{
  Stream *stream = user_data;
  return stream->callback (stream->steered, token, stream->user_data);
}

/* log sum exp of logits[n], in double. */
static double
log_partition (const float *logits, int64_t n)
{
  double top = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++)
    top = fmax (top, logits[i]);
  for (int64_t i = 0; i < n; i++)
    sum += exp (logits[i] - top);
  return top + log (sum);
}

/* KL(p || q) of the softmaxes of two logit rows. */
static double
kl_divergence (const float *p_logits, const float *q_logits, int64_t n)
{
  double zp = log_partition (p_logits, n), zq = log_partition (q_logits, n), kl = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double log_p = p_logits[i] - zp, log_q = q_logits[i] - zq;
      if (isfinite (log_p))
        kl += exp (log_p) * (log_p - log_q);
    }
  return MAX (kl, 0.0);
}

gboolean
fs_steer_score (FsModel *model, const FsModelRunOptions *run_options, FsSteering *steering,
                const int32_t *prompt, int64_t n_prompt, const int32_t *tokens,
                int64_t n_tokens, double *perplexity, GArray *kl, GCancellable *cancellable,
                GError **error)
{
  int64_t vocab = fs_model_get_config (model)->vocab_size;
  g_autoptr(FsModelRun) plain = fs_model_run_new (model, run_options);
  g_autoptr(FsModelRun) steered = fs_model_run_new (model, run_options);
  g_autofree float *plain_logits = g_new (float, (size_t) (SCORE_CHUNK * vocab));
  g_autofree float *steered_logits = g_new (float, (size_t) (SCORE_CHUNK * vocab));
  double nll = 0;

  g_return_val_if_fail (n_prompt >= 1 && n_tokens >= 0, FALSE);
  g_array_set_size (kl, 0);
  *perplexity = NAN;
  if (n_tokens == 0)
    return TRUE;
  if (steering != NULL && !fs_steering_attach (steering, steered, error))
    return FALSE;

  /* Row r of a chunk predicts tokens[next + r]. */
  int64_t next = 0;
  const int32_t *input = prompt;
  int64_t n_input = n_prompt;
  FsLogitsMode mode = FS_LOGITS_LAST;
  while (next < n_tokens)
    {
      if (!fs_model_run_forward (plain, input, n_input, mode, plain_logits, cancellable, error)
          || !fs_model_run_forward (steered, input, n_input, mode, steered_logits,
                                    cancellable, error))
        return FALSE;
      int64_t rows = mode == FS_LOGITS_LAST ? 1 : n_input;
      for (int64_t r = 0; r < rows; r++)
        {
          const float *p = steered_logits + r * vocab, *q = plain_logits + r * vocab;
          double step = kl_divergence (p, q, vocab);
          g_array_append_val (kl, step);
          nll -= q[tokens[next + r]] - log_partition (q, vocab);
        }
      next += rows;
      /* The generated tokens but the last, fed SCORE_CHUNK at a time. */
      input = tokens + next - 1;
      n_input = MIN (SCORE_CHUNK, n_tokens - next);
      mode = FS_LOGITS_ALL;
    }
  *perplexity = exp (nll / n_tokens);
  return TRUE;
}

/* Generated with `steering` attached when `steer`, scored against
 * `steering` either way. */
gboolean
fs_steer_run_generate (FsModel *model, const FsModelRunOptions *run_options,
                       FsSteering *steering, gboolean steer, const FsSamplerParams *params,
                       const int32_t *prompt, int64_t n_prompt,
                       const FsGenerateOptions *options, FsTokenFunc callback,
                       gpointer user_data, FsSteerRun *out, GCancellable *cancellable,
                       GError **error)
{
  g_autoptr(FsModelRun) run = NULL;
  g_autoptr(FsSampler) sampler = NULL;

  g_return_val_if_fail (model != NULL && steering != NULL && params != NULL, FALSE);
  g_return_val_if_fail (prompt != NULL && n_prompt >= 1 && options != NULL, FALSE);

  run = fs_model_run_new (model, run_options);
  sampler = fs_sampler_new (params);
  out->kl = g_array_new (FALSE, FALSE, sizeof (double));
  out->perplexity = out->kl_mean = NAN;
  if (steer && !fs_steering_attach (steering, run, error))
    return FALSE;
  if (options->max_tokens == 0)
    {
      out->tokens = g_array_new (FALSE, FALSE, sizeof (int32_t));
      out->stop = FS_STOP_LENGTH;
    }
  else
    out->tokens = fs_generate (run, sampler, prompt, n_prompt, options, callback, user_data,
                               &out->stop, cancellable, error);
  if (out->tokens == NULL)
    return FALSE;

  if (!fs_steer_score (model, run_options, steering, prompt, n_prompt,
                       (const int32_t *) out->tokens->data, out->tokens->len, &out->perplexity,
                       out->kl, cancellable, error))
    return FALSE;
  if (out->kl->len > 0)
    {
      double sum = 0;
      for (guint i = 0; i < out->kl->len; i++)
        sum += g_array_index (out->kl, double, i);
      out->kl_mean = sum / out->kl->len;
    }
  return TRUE;
}

FsSteerComparison *
fs_steer_compare (FsModel *model, const FsModelRunOptions *run_options, FsSteering *steering,
                  const FsSamplerParams *params, const int32_t *prompt, int64_t n_prompt,
                  const FsGenerateOptions *options, FsSteerTokenFunc callback,
                  gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr(FsSteerComparison) comparison = g_new0 (FsSteerComparison, 1);
  Stream baseline = { callback, user_data, FALSE }, steered = { callback, user_data, TRUE };

  g_return_val_if_fail (model != NULL && steering != NULL && params != NULL, NULL);
  g_return_val_if_fail (prompt != NULL && n_prompt >= 1 && options != NULL, NULL);

  if (!fs_steer_run_generate (model, run_options, steering, FALSE, params, prompt, n_prompt,
                              options, callback != NULL ? stream_token : NULL, &baseline,
                              &comparison->baseline, cancellable, error)
      || !fs_steer_run_generate (model, run_options, steering, TRUE, params, prompt, n_prompt,
                                 options, callback != NULL ? stream_token : NULL, &steered,
                                 &comparison->steered, cancellable, error))
    return NULL;
  return g_steal_pointer (&comparison);
}

void
fs_steer_run_clear (FsSteerRun *run)
{
  g_clear_pointer (&run->tokens, g_array_unref);
  g_clear_pointer (&run->kl, g_array_unref);
}

void
fs_steer_comparison_free (FsSteerComparison *comparison)
{
  if (comparison == NULL)
    return;
  fs_steer_run_clear (&comparison->baseline);
  fs_steer_run_clear (&comparison->steered);
  g_free (comparison);
}

int64_t
fs_steer_first_difference (const int32_t *a, int64_t n_a, const int32_t *b, int64_t n_b)
{
  int64_t n = MIN (n_a, n_b);

  for (int64_t i = 0; i < n; i++)
    if (a[i] != b[i])
      return i;
  return n_a == n_b ? -1 : n;
}
