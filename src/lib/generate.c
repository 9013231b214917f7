#include "generate.h"

const char *
fs_stop_reason_name (FsStopReason reason)
{
  switch (reason)
    {
    case FS_STOP_LENGTH: return "length";
    case FS_STOP_EOS: return "eos";
    case FS_STOP_CONTEXT: return "context";
    case FS_STOP_CALLBACK: return "callback";
    }
  return "unknown";
}

GArray *
fs_generate (FsModelRun *run, FsSampler *sampler, const int32_t *prompt, int64_t n_prompt,
             const FsGenerateOptions *options, FsTokenFunc callback, gpointer user_data,
             FsStopReason *reason, GCancellable *cancellable, GError **error)
{
  FsModel *model;
  FsStopReason stop = FS_STOP_LENGTH;

  g_return_val_if_fail (run != NULL && sampler != NULL && options != NULL, NULL);
  g_return_val_if_fail (prompt != NULL && n_prompt >= 1, NULL);

  model = fs_model_run_get_model (run);
  int64_t vocab = fs_model_get_config (model)->vocab_size;
  g_autofree float *logits = g_new (float, (size_t) vocab);
  g_autoptr(GArray) tokens = g_array_new (FALSE, FALSE, sizeof (int32_t));

  if (!fs_model_run_forward (run, prompt, n_prompt, FS_LOGITS_LAST, logits, cancellable,
                             error))
    return NULL;
  for (int64_t i = 0; i < options->max_tokens; i++)
    {
      int32_t token = fs_sampler_sample (sampler, logits, vocab);
      g_array_append_val (tokens, token);
      if (callback != NULL && !callback (token, user_data))
        {
          stop = FS_STOP_CALLBACK;
          break;
        }
      if (!options->ignore_eos && fs_model_is_eos (model, token))
        {
          stop = FS_STOP_EOS;
          break;
        }
      if (i + 1 == options->max_tokens)
        break;
      if (fs_model_run_get_n_past (run) >= fs_model_run_get_max_context (run))
        {
          stop = FS_STOP_CONTEXT;
          break;
        }
      if (!fs_model_run_forward (run, &token, 1, FS_LOGITS_LAST, logits, cancellable, error))
        return NULL;
    }
  if (reason != NULL)
    *reason = stop;
  return g_steal_pointer (&tokens);
}
