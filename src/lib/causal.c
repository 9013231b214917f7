/* causal.c: the deactivation test (causal.h). */
#include "causal.h"

#include <math.h>

#include "sae-hook.h"
#include "steer.h"

/* Positions whose logits are held at once: bounds memory for big vocabularies. */
#define LOSS_CHUNK 32

/* One feature's activation at every position of the text. */
typedef struct {
  FsSae   *sae;
  int64_t  index;
  int64_t  offset;   /* the current window's first position in the text */
  float   *z;        /* [n_tokens] */
} Capture;

static void
capture_hook (const FsHookBlock *block, gpointer user_data)
{
  Capture *capture = user_data;
  fs_sae_encode_features (capture->sae, block->data, block->n_tokens, &capture->index, 1, NULL,
                          capture->z + capture->offset + block->pos0);
}

static gboolean
add_capture (FsModelRun *run, Capture *capture, GError **error)
{
  return fs_sae_hook_add (run, capture->sae, capture_hook, capture, NULL, error) != 0;
}

static double
log_sum_exp (const float *x, int64_t n)
{
  double top = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++)
    top = fmax (top, x[i]);
  for (int64_t i = 0; i < n; i++)
    sum += exp (x[i] - top);
  return top + log (sum);
}

/* One pass over the text in windows; the captures follow the windows. */
static gboolean
run_text (FsModelRun *run, const int32_t *tokens, int64_t n_tokens, Capture **captures,
          guint n_captures, double *loss, GCancellable *cancellable, GError **error)
{
  int64_t vocab = fs_model_get_config (fs_model_run_get_model (run))->vocab_size;
  int64_t window = fs_model_run_get_max_context (run), counted = 0;
  g_autofree float *logits = g_new (float, (size_t) (LOSS_CHUNK * vocab));
  double nll = 0;

  for (int64_t w0 = 0; w0 < n_tokens; w0 += window)
    {
      int64_t length = MIN (window, n_tokens - w0);
      fs_model_run_truncate (run, 0);
      for (guint c = 0; c < n_captures; c++)
        captures[c]->offset = w0;
      for (int64_t c0 = 0; c0 < length; c0 += LOSS_CHUNK)
        {
          int64_t rows = MIN (LOSS_CHUNK, length - c0);
          if (!fs_model_run_forward (run, tokens + w0 + c0, rows, FS_LOGITS_ALL, logits,
                                     cancellable, error))
            return FALSE;
          for (int64_t r = 0; r < rows && c0 + r + 1 < length; r++)
            {
              const float *row = logits + r * vocab;
              nll += log_sum_exp (row, vocab) - row[tokens[w0 + c0 + r + 1]];
              counted++;
            }
        }
    }
  *loss = counted > 0 ? nll / counted : NAN;
  return TRUE;
}

gboolean
fs_causal_test (FsModel *model, const FsModelRunOptions *run_options, FsSae *target,
                int64_t index, FsCausalTrial *trials, guint n_trials, const int32_t *tokens,
                int64_t n_tokens, FsCausalBaseline *baseline, GCancellable *cancellable,
                GError **error)
{
  g_autofree float *z_target = g_new0 (float, (size_t) MAX (n_tokens, 1));
  g_autofree float *z_new = g_new0 (float, (size_t) MAX (n_tokens, 1));
  g_autofree float *z_preds = g_new0 (float, (size_t) MAX (n_tokens * n_trials, 1));
  g_autofree Capture *captures = g_new0 (Capture, n_trials + 1);
  g_autofree Capture **pointers = g_new0 (Capture *, n_trials + 1);

  g_return_val_if_fail (index >= 0 && index < fs_sae_get_d_sae (target), FALSE);
  for (guint i = 0; i <= n_trials; i++)
    pointers[i] = &captures[i];

  /* Without intervention: the target and every predecessor. */
  {
    g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
    captures[0] = (Capture) { target, index, 0, z_target };
    if (!add_capture (run, &captures[0], error))
      return FALSE;
    for (guint i = 0; i < n_trials; i++)
      {
        captures[i + 1] = (Capture) { trials[i].sae, trials[i].index, 0,
                                      z_preds + i * n_tokens };
        if (!add_capture (run, &captures[i + 1], error))
          return FALSE;
      }
    if (!run_text (run, tokens, n_tokens, pointers, n_trials + 1, &baseline->loss,
                   cancellable, error))
      return FALSE;
  }
  baseline->n_tokens = n_tokens;
  baseline->target_active = 0;
  for (int64_t t = 0; t < n_tokens; t++)
    baseline->target_active += z_target[t] > 0;

  for (guint i = 0; i < n_trials; i++)
    {
      FsCausalTrial *trial = &trials[i];
      g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
      g_autoptr(FsSteering) steering = fs_steering_new ();
      const float *z_pred = z_preds + i * n_tokens;
      double change = 0;
      int64_t gone = 0;

      captures[0] = (Capture) { target, index, 0, z_new };
      if (!fs_steering_add (steering, trial->sae, trial->index, FS_STEER_SCALE, trial->r, error)
          || !fs_steering_attach (steering, run, error)
          || !add_capture (run, &captures[0], error)
          || !run_text (run, tokens, n_tokens, pointers, 1, &trial->loss, cancellable, error))
        return FALSE;

      trial->co_active = 0;
      for (int64_t t = 0; t < n_tokens; t++)
        if (z_target[t] > 0 && z_pred[t] > 0)
          {
            trial->co_active++;
            change += 1.0 - (double) z_new[t] / z_target[t];
            gone += !(z_new[t] > 0);
          }
      trial->activation_change = trial->co_active > 0 ? change / trial->co_active : NAN;
      trial->success = trial->co_active > 0 ? (double) gone / trial->co_active : NAN;
      trial->loss_change = (trial->loss - baseline->loss) / baseline->loss;
    }
  return TRUE;
}
