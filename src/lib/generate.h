/* generate.h: autoregressive generation, a model run plus a sampler.
 *
 * The prompt is prefilled in one forward (matrix-matrix work), then each new
 * token is one decoding step over the KV cache. Hooks registered on the run
 * apply to every step (that is how steering will act). Each token is handed
 * to a callback as soon as it is chosen, for streaming.
 */
#pragma once

#include "model.h"
#include "sampler.h"

G_BEGIN_DECLS

typedef enum {
  FS_STOP_LENGTH,     /* max_tokens reached */
  FS_STOP_EOS,        /* the model ended the sequence (the EOS token is kept) */
  FS_STOP_CONTEXT,    /* the context is full */
  FS_STOP_CALLBACK,   /* the callback asked to stop */
} FsStopReason;

/* "length", "eos", "context", "callback". */
const char *fs_stop_reason_name (FsStopReason reason);

/* Called with each generated token; return FALSE to stop after it. */
typedef gboolean (*FsTokenFunc) (int32_t token, gpointer user_data);

typedef struct {
  int64_t  max_tokens;
  gboolean ignore_eos;   /* keep going past end-of-sequence tokens */
} FsGenerateOptions;

/* Runs `prompt` (n_prompt >= 1, appended to what `run` already holds) and
 * generates up to options->max_tokens tokens. Returns them (an int32_t
 * GArray), or NULL with `error` set on failure or cancellation. The last
 * generated token is not run: the KV cache ends one token short of it. */
GArray     *fs_generate (FsModelRun *run, FsSampler *sampler, const int32_t *prompt,
                         int64_t n_prompt, const FsGenerateOptions *options,
                         FsTokenFunc callback, gpointer user_data, FsStopReason *reason,
                         GCancellable *cancellable, GError **error);

G_END_DECLS
