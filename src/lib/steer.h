/* steer.h: interventions on SAE features while a model runs (METHOD.md 4).
 *
 * An intervention edits the hidden state h at the feature's own site hook,
 * keeping the SAE's reconstruction error (h is never replaced by x_hat):
 *
 *   scale r:  h += (r - 1) a v     (r = 0 removes the feature, r = 1 is a no-op)
 *   add s:    h += s v
 *   clamp c:  h += (c - a) v       (the feature's activation becomes c)
 *
 * a is the SAE's own encoding of h at that token, v the feature's decoder
 * direction as the SAE decodes it (fs_sae_get_decoder_direction: not
 * normalised; for SAEs that normalise their input, times the per-token
 * fs_sae_input_gain, so that the edit is exactly x_hat(z') - x_hat(z)).
 * Interventions at one site all read the same original h: every a is
 * computed before any edit is applied. An edit whose coefficient is zero
 * (scale 1, add 0) touches nothing, so it leaves the run bit for bit as it
 * was.
 *
 * Sites: L/res is blocks.L.hook_resid_post (embed/res: blocks.0.hook_resid_pre),
 * L/mlp hook_mlp_out, L/att hook_attn_out, or attn.hook_z for SAEs trained
 * there.
 *
 * An FsSteering is a list of interventions and which token positions they
 * act on. Attaching it to an FsModelRun adds one hook per site; what the
 * hooks need (encoder columns, decoder directions) is copied then, so the
 * list may change afterwards without touching runs already attached. Build
 * it on one thread; once built, several threads may attach it to their own
 * runs at once.
 */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

typedef enum {
  FS_STEER_SCALE,   /* h += (r - 1) a v */
  FS_STEER_ADD,     /* h += s v */
  FS_STEER_CLAMP,   /* h += (c - a) v */
} FsSteerOp;

/* Which positions are edited: all, those of the prompt (positions before
 * n_prompt), or the generated ones (from n_prompt on). The hidden state at
 * the last prompt position predicts the first generated token, so
 * "generated" leaves that first token as the unsteered model would pick it. */
typedef enum {
  FS_STEER_TOKENS_ALL,
  FS_STEER_TOKENS_PROMPT,
  FS_STEER_TOKENS_GENERATED,
} FsSteerTokens;

/* "scale", "add", "clamp" */
const char *fs_steer_op_name (FsSteerOp op);
gboolean    fs_steer_op_from_name (const char *name, FsSteerOp *op);
/* "all", "prompt", "generated" */
const char *fs_steer_tokens_name (FsSteerTokens tokens);
gboolean    fs_steer_tokens_from_name (const char *name, FsSteerTokens *tokens);

/* One steering request as a user writes it: `L/site/i:op=V`, e.g.
 * `12/res/345:add=4`, `3/mlp/7:scale=0`, `embed/res/9:clamp=0.5`. */
typedef struct {
  int       layer;
  FsSite    site;
  int64_t   index;
  FsSteerOp op;
  double    value;
} FsSteerSpec;

/* Parses a SPEC; errors (FS_ERROR_INVALID) quote it and say what is wrong:
 * no ':' or '=', a bad feature id, an unknown op, a value that is not a
 * finite number. Whether the feature exists is not checked here. */
gboolean    fs_steer_spec_parse (const char *text, FsSteerSpec *spec, GError **error);

/* The hook where an SAE's features are steered; FALSE (with `error`) when
 * its site has none (an MLP or attention SAE on the embedding). */
gboolean    fs_steer_site_hook (FsSae *sae, int *layer, FsHookPoint *point, GError **error);

typedef struct {
  FsSae    *sae;     /* owned by the steering */
  int64_t   index;
  FsSteerOp op;
  double    value;   /* r for scale; s or c in raw activation units */
} FsIntervention;

typedef struct _FsSteering FsSteering;

FsSteering *fs_steering_new (void);
FsSteering *fs_steering_ref (FsSteering *steering);
void        fs_steering_unref (FsSteering *steering);

/* Appends an intervention on latent `index` of `sae`. Refuses an index
 * outside [0, d_sae), a value that is not finite, and an SAE whose site
 * cannot be steered, saying which. */
gboolean    fs_steering_add (FsSteering *steering, FsSae *sae, int64_t index, FsSteerOp op,
                             double value, GError **error);
guint       fs_steering_get_n_interventions (FsSteering *steering);
const FsIntervention *fs_steering_get_nth (FsSteering *steering, guint index);

/* Which positions the hooks edit; `n_prompt` is the absolute position of
 * the first generated token. Default: all positions. */
void        fs_steering_set_tokens (FsSteering *steering, FsSteerTokens tokens,
                                    int64_t n_prompt);
FsSteerTokens fs_steering_get_tokens (FsSteering *steering, int64_t *n_prompt);

/* Adds the hooks to `run` (after any already there). Fails, adding none,
 * when an SAE does not fit the model: its layer is beyond the model's, or
 * its width is not the hook's. */
gboolean    fs_steering_attach (FsSteering *steering, FsModelRun *run, GError **error);
/* Removes every hook this steering added to `run`. */
void        fs_steering_detach (FsSteering *steering, FsModelRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSteering, fs_steering_unref)

G_END_DECLS
