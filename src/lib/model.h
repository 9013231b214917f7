/* model.h: transformer language models read from Hugging Face folders, and
 * runs of them.
 *
 * An FsModel (config.json + model.safetensors or shards) is immutable once
 * loaded: its weights are viewed in place in their stored dtype, and several
 * threads may run it at once. An FsModelRun holds what one run mutates: the
 * KV cache, scratch buffers and hooks. Prefill is a forward over many tokens
 * (matrix-matrix work), decode a forward over one token (matrix-vector);
 * both extend the same KV cache.
 *
 * Hooks see activations with TransformerLens' meaning (see METHOD.md):
 * blocks.L.hook_resid_pre, attn.hook_z (heads concatenated head-major,
 * before the output projection), hook_attn_out and hook_mlp_out (what is
 * added to the residual; Gemma 2: after its post-norms), hook_resid_post.
 * A hook may change the block in place and the change flows on.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "dtype.h"
#include "matrix.h"

G_BEGIN_DECLS

typedef enum {
  FS_MODEL_GPT2,
  FS_MODEL_GEMMA2,
  FS_MODEL_LLAMA,
} FsModelType;

typedef enum {
  FS_ACTIVATION_GELU_TANH,
  FS_ACTIVATION_GELU_ERF,
  FS_ACTIVATION_SILU,
} FsActivation;

#define FS_MODEL_MAX_EOS 8

/* config.json, checked and with every default filled in. */
typedef struct {
  FsModelType  type;
  int64_t      n_layers;
  int64_t      d_model;
  int64_t      n_heads;
  int64_t      n_kv_heads;
  int64_t      d_head;
  int64_t      d_mlp;
  int64_t      vocab_size;
  int64_t      max_positions;
  double       norm_eps;
  FsActivation activation;
  gboolean     tied_embeddings;
  gboolean     attention_bias;       /* Llama: q/k/v/o biases */
  gboolean     mlp_bias;             /* Llama: gate/up/down biases */
  double       attn_scale;           /* multiplies q.k */
  gboolean     attn_scale_by_layer;  /* GPT-2 scale_attn_by_inverse_layer_idx */
  double       attn_softcap;         /* Gemma 2: cap * tanh(s / cap); 0 = none */
  double       final_softcap;        /* Gemma 2, on the logits; 0 = none */
  int64_t      sliding_window;       /* Gemma 2, even layers; 0 = none */
  double       rope_theta;           /* Gemma 2 and Llama */
  double       rope_factor;          /* rope_scaling "linear" or "llama3"; 1 = none */
  double       rope_low_freq_factor;
  double       rope_high_freq_factor;
  int64_t      rope_original_max_positions;  /* > 0: "llama3" scaling */
  int64_t      bos_token_id;         /* -1 if none */
  int64_t      eos_token_ids[FS_MODEL_MAX_EOS];
  int          n_eos_token_ids;
} FsModelConfig;

/* Parses config.json text as if read from `path` (for fuzzing and tests). */
gboolean     fs_model_config_parse (const char *path, const char *text, gsize length,
                                    FsModelConfig *config, GError **error);
/* "gpt2", "gemma2", "llama": config.json's model_type. */
const char  *fs_model_type_name (FsModelType type);

typedef struct _FsModel FsModel;

/* Opens a model folder: config.json and model.safetensors or the shards of
 * model.safetensors.index.json. Refuses unknown architectures and missing or
 * misshapen tensors, naming the file and the tensor. */
FsModel             *fs_model_load (const char *dir, GError **error);
FsModel             *fs_model_ref (FsModel *model);
void                 fs_model_unref (FsModel *model);
const FsModelConfig *fs_model_get_config (FsModel *model);
const char          *fs_model_get_path (FsModel *model);
/* The stored dtype of the token embedding (the model's dtype). */
FsDtype              fs_model_get_dtype (FsModel *model);
/* Whether prompts normally start with BOS: Gemma and Llama yes, GPT-2 no. */
gboolean             fs_model_wants_bos (FsModel *model);
gboolean             fs_model_is_eos (FsModel *model, int32_t token);

/* ---------------------------------------------------------------- hooks */

typedef enum {
  FS_HOOK_RESID_PRE,
  FS_HOOK_ATTN_Z,
  FS_HOOK_ATTN_OUT,
  FS_HOOK_MLP_OUT,
  FS_HOOK_RESID_POST,
} FsHookPoint;

#define FS_N_HOOK_POINTS 5

/* "hook_resid_pre", "attn.hook_z", "hook_attn_out", "hook_mlp_out",
 * "hook_resid_post": TransformerLens' names after "blocks.L.". */
const char *fs_hook_point_name (FsHookPoint point);
/* Parses "blocks.L.<name>" into its layer and point. */
gboolean    fs_hook_point_parse (const char *hook_name, int *layer, FsHookPoint *point);
/* d_model, or n_heads * d_head for hook_z. */
int64_t     fs_model_get_hook_width (FsModel *model, FsHookPoint point);

/* The direction each row of z [n, n_heads * d_head] (layer `layer`'s
 * hook_z) writes into attn_out: the output projection without its bias,
 * times Gemma 2's post-attention norm weights (1 + w): RMSNorm rescales a
 * whole vector, so this is the direction of one feature (METHOD.md 1).
 * out is [n, d_model]. */
void        fs_model_project_attn_z (FsModel *model, int layer, const float *z, int64_t n,
                                     float *out);
/* The transpose: g [n_heads * d_head] = P^T f for f [d_model], so that
 * f . (P u) = g . u for every u. */
void        fs_model_project_attn_z_transposed (FsModel *model, int layer, const float *f,
                                                float *g);

typedef struct {
  int            layer;
  FsHookPoint    point;
  int64_t        pos0;      /* absolute position of the first row */
  int64_t        n_tokens;
  int64_t        width;
  const int32_t *tokens;    /* the n_tokens ids being computed */
  float         *data;      /* [n_tokens, width], may be changed in place */
} FsHookBlock;

typedef void (*FsHookFunc) (const FsHookBlock *block, gpointer user_data);

/* ---------------------------------------------------------------- unembedding */

/* The unembedding viewed [d_model, vocab] in its stored dtype (the token
 * embedding transposed when tied): logits = final_norm(x) W_U. */
FsMatrixView fs_model_get_unembedding (FsModel *model);
/* The final norm as a function of direction: `scale` [d_model] gets its
 * per-channel factor (GPT-2's ln_f weight, Gemma's 1 + w, Llama's w) and
 * `centres` whether it subtracts the mean first (LayerNorm). What is left
 * of the norm is the division by one number per token, and its bias. */
void         fs_model_get_final_norm (FsModel *model, float *scale, gboolean *centres);

/* ---------------------------------------------------------------- runs */

typedef struct {
  /* GPT-2 only. center_writing_weights: every vector written to the
   * residual (token + position embedding, attn_out, mlp_out) loses its mean
   * over d_model before the hooks see it, so the residual stream is that of
   * TransformerLens' processed model (what gpt2-small-res-jb SAEs expect).
   * Logits are unchanged (LayerNorm ignores the mean). */
  gboolean center_writing_weights;
  /* GPT-2 only. fold_value_biases: hook_z shows z minus the value bias, as
   * TransformerLens' folded model does; attn_out is unchanged. */
  gboolean fold_value_biases;
  /* Most positions this run may hold; 0 or more than the model's limit
   * means the model's limit. The KV cache grows as needed up to it. */
  int64_t  max_context;
} FsModelRunOptions;

typedef enum {
  FS_LOGITS_NONE,
  FS_LOGITS_LAST,   /* logits[vocab] for the last token */
  FS_LOGITS_ALL,    /* logits[n_tokens, vocab] */
} FsLogitsMode;

typedef struct _FsModelRun FsModelRun;

/* `options` may be NULL for the defaults. Refs `model`. */
FsModelRun *fs_model_run_new (FsModel *model, const FsModelRunOptions *options);
void        fs_model_run_free (FsModelRun *run);
FsModel    *fs_model_run_get_model (FsModelRun *run);
/* Positions held in the KV cache (the next token's position). */
int64_t     fs_model_run_get_n_past (FsModelRun *run);
int64_t     fs_model_run_get_max_context (FsModelRun *run);
/* Forgets positions n_past.. (n_past <= the current count); 0 restarts. */
void        fs_model_run_truncate (FsModelRun *run, int64_t n_past);

/* Calls `func` on the block at (layer, point) of every forward, after the
 * hooks added before it, on the thread running the forward. A hook must
 * not add or remove hooks. Returns an id > 0 for fs_model_run_remove_hook,
 * which calls `destroy` (as does freeing the run). */
guint       fs_model_run_add_hook (FsModelRun *run, int layer, FsHookPoint point,
                                   FsHookFunc func, gpointer user_data,
                                   GDestroyNotify destroy);
void        fs_model_run_remove_hook (FsModelRun *run, guint id);

/* Runs `n_tokens` tokens at positions n_past.. and appends them to the KV
 * cache. Fails (changing nothing) on a token outside the vocabulary or
 * beyond the context; checks `cancellable` between chunks of tokens (then
 * the KV cache holds the chunks done). */
gboolean    fs_model_run_forward (FsModelRun *run, const int32_t *tokens, int64_t n_tokens,
                                  FsLogitsMode mode, float *logits,
                                  GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsModel, fs_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsModelRun, fs_model_run_free)

G_END_DECLS
