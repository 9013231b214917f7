/* model-private.h: what model.c, model-layers.c and the architecture files
 * (arch-gpt2.c, arch-gemma2.c, arch-llama.c) share.
 *
 * Each architecture file reads its config.json keys, looks up its weights
 * and runs its forward pass over one chunk of tokens, top to bottom like
 * the equations, with the building blocks of model-layers.c.
 */
#pragma once

#include <cjson/cJSON.h>

#include "matrix.h"
#include "model.h"
#include "tensor.h"

G_BEGIN_DECLS

/* Tokens per forward chunk: bounds a run's scratch memory. */
#define FS_MODEL_CHUNK 256

/* y = x W (+ b), with W viewed [in, out] whatever its stored layout. */
typedef struct {
  FsMatrixView weight;
  float       *bias;    /* [out], or NULL */
} FsLinear;

typedef struct {
  const char *model_type;
  /* Reads the architecture's keys of config.json (`json` is an object). */
  gboolean  (*parse_config) (const char *path, const cJSON *json, FsModelConfig *config,
                             GError **error);
  /* Looks up and checks every weight; returns the architecture's weights. */
  gpointer  (*load_weights) (FsModel *model, GError **error);
  void      (*free_weights) (gpointer weights);
  /* Runs tokens at positions run->pos0.. through every layer, their keys
   * and values going into the KV cache. Writes the logits of every row
   * (all_rows) or of the last one, unless `logits` is NULL. */
  void      (*forward) (FsModelRun *run, const int32_t *tokens, int64_t n, float *logits,
                        gboolean all_rows);
  /* What turns layer `layer`'s hook_z into attn_out: the output projection
   * and, for Gemma 2, the per-channel factor (1 + w) of the norm after it
   * (NULL where there is none). */
  void      (*attn_output) (gpointer weights, int layer, const FsLinear **projection,
                            const float **post_norm, gboolean *post_norm_plus_one);
  /* What turns the last residual into logits: the final norm's weight, whether
   * it multiplies by (1 + w) (Gemma) and whether it centres first
   * (LayerNorm), and the unembedding viewed [d_model, vocab]. */
  void      (*unembedding) (gpointer weights, const float **norm_weight,
                            gboolean *norm_plus_one, gboolean *norm_centres,
                            const FsMatrixView **unembed);
} FsArch;

extern const FsArch fs_arch_gpt2;
extern const FsArch fs_arch_gemma2;
extern const FsArch fs_arch_llama;

struct _FsModel {
  gatomicrefcount ref_count;
  char           *path;
  FsModelConfig   config;
  const FsArch   *arch;
  FsTensorFile   *file;
  FsDtype         dtype;
  float          *rope_inv_freq;   /* [d_head / 2], NULL without RoPE */
  gpointer        weights;
};

typedef struct {
  guint          id;
  int            layer;
  FsHookPoint    point;
  FsHookFunc     func;
  gpointer       user_data;
  GDestroyNotify destroy;
} FsHook;

struct _FsModelRun {
  FsModel          *model;
  FsModelRunOptions options;
  int64_t           max_context;
  int64_t           n_past;        /* positions in the KV cache */
  int64_t           capacity;      /* positions allocated */
  float           **keys;          /* per layer [capacity, n_kv_heads * d_head] */
  float           **values;
  /* The chunk being computed. */
  int64_t           pos0;
  const int32_t    *tokens;
  /* Scratch for one chunk of FS_MODEL_CHUNK tokens. */
  float            *x;             /* residual [n, d_model] */
  float            *xb;            /* normalised residual [n, d_model] */
  float            *q;             /* [n, n_heads * d_head] */
  float            *z;             /* [n, n_heads * d_head] */
  float            *out;           /* attn_out or mlp_out [n, d_model] */
  float            *hidden;        /* [n, d_mlp] */
  float            *gate;          /* [n, d_mlp] */
  float            *rope_cos;      /* [n, d_head / 2] */
  float            *rope_sin;
  float            *scores;        /* decoding: [n_heads, capacity] */
  GArray           *hooks;         /* FsHook, in the order added */
  guint            *hook_counts;   /* per (layer, point) */
  guint             last_hook_id;
};

/* ---------------------------------------------------------------- model.c */

/* config.json members: required ones fail when absent. */
gboolean      fs_config_int (const char *path, const cJSON *json, const char *key,
                             gboolean required, int64_t min, int64_t max, int64_t *out,
                             GError **error);
gboolean      fs_config_double (const char *path, const cJSON *json, const char *key,
                                double min, double max, double *out, GError **error);
/* A number, or null for 0 ("no softcap"). */
gboolean      fs_config_optional_double (const char *path, const cJSON *json,
                                         const char *key, double *out, GError **error);
gboolean      fs_config_bool (const char *path, const cJSON *json, const char *key,
                              gboolean *out, GError **error);
gboolean      fs_config_activation (const char *path, const cJSON *json, const char *key,
                                    FsActivation *out, GError **error);
/* rope_theta and rope_scaling (none, "default", "linear", "llama3"). */
gboolean      fs_config_rope (const char *path, const cJSON *json, FsModelConfig *config,
                              GError **error);

/* A weight that must exist with this shape, in F32, F16 or BF16. */
const FsTensor *fs_model_tensor (FsModel *model, const char *name, int64_t rows,
                                 int64_t cols, GError **error);
gboolean      fs_model_has_tensor (FsModel *model, const char *name);
/* A vector [n], copied to F32 (norm weights and biases are small). */
float        *fs_model_vector (FsModel *model, const char *name, int64_t n, GError **error);
/* nn.Linear weight stored [out, in] (+ bias [out] when bias_name is set). */
gboolean      fs_model_linear (FsModel *model, FsLinear *linear, const char *weight_name,
                               const char *bias_name, int64_t in, int64_t out,
                               GError **error);
/* Conv1D weight stored [in, out] (GPT-2) + bias [out]. */
gboolean      fs_model_conv1d (FsModel *model, FsLinear *linear, const char *weight_name,
                               const char *bias_name, int64_t in, int64_t out,
                               GError **error);
/* A [rows, cols] table viewed as stored. */
gboolean      fs_model_table (FsModel *model, FsMatrixView *view, const char *name,
                              int64_t rows, int64_t cols, GError **error);
void          fs_linear_clear (FsLinear *linear);
/* model.embed_tokens, model.norm and the unembedding (the embedding
 * transposed when tied, else lm_head) of Gemma and Llama checkpoints; sets
 * the model's dtype to the embedding's. */
gboolean      fs_model_load_embeddings (FsModel *model, FsMatrixView *embed, float **final_norm,
                                        FsMatrixView *unembed, GError **error);

/* KV cache rows of this chunk's first position. */
static inline float *
fs_run_keys (FsModelRun *run, int layer)
{
  const FsModelConfig *c = &run->model->config;
  return run->keys[layer] + run->pos0 * c->n_kv_heads * c->d_head;
}

static inline float *
fs_run_values (FsModelRun *run, int layer)
{
  const FsModelConfig *c = &run->model->config;
  return run->values[layer] + run->pos0 * c->n_kv_heads * c->d_head;
}

void          fs_run_call_hooks (FsModelRun *run, int layer, FsHookPoint point, float *data,
                                 int64_t n);

/* Hands a chunk's block to the hooks at (layer, point); free when none. */
static inline void
fs_run_hook (FsModelRun *run, int layer, FsHookPoint point, float *data, int64_t n)
{
  if (run->hook_counts[layer * FS_N_HOOK_POINTS + point] != 0)
    fs_run_call_hooks (run, layer, point, data, n);
}

static inline gboolean
fs_run_has_hooks (FsModelRun *run, int layer, FsHookPoint point)
{
  return run->hook_counts[layer * FS_N_HOOK_POINTS + point] != 0;
}

/* ---------------------------------------------------------------- model-layers.c */

/* x[i] = row tokens[i] of the [vocab, d] table. */
void  fs_embed (const FsMatrixView *table, const int32_t *tokens, int64_t n, float *x);
/* y[n, out] (row stride ldy) = x[n, in] W + b. */
void  fs_linear (const FsLinear *linear, const float *x, int64_t n, float *y, int64_t ldy);
/* out = (x - mean) / sqrt(var + eps) * w + b, per row of d. */
void  fs_layer_norm (float *out, const float *x, const float *w, const float *b, int64_t n,
                     int64_t d, double eps);
/* out = x / sqrt(mean(x^2) + eps) * w, or * (1 + w) (Gemma). */
void  fs_rms_norm (float *out, const float *x, const float *w, int64_t n, int64_t d,
                   double eps, gboolean one_plus_w);
/* Subtracts each row's mean (TransformerLens' centred writing weights). */
void  fs_center_rows (float *x, int64_t n, int64_t d);
void  fs_add (float *x, const float *y, int64_t n);
void  fs_scale (float *x, float factor, int64_t n);
void  fs_activation (FsActivation activation, float *x, int64_t n);
/* gate = act(gate) * up. */
void  fs_gated_activation (FsActivation activation, float *gate, const float *up, int64_t n);
/* x = cap * tanh(x / cap). */
void  fs_softcap (float *x, float cap, int64_t n);
/* Fills run->rope_cos/sin for the chunk's positions, as transformers does
 * in float32 (angle = float(position) * inv_freq). */
void  fs_rope_prepare (FsModelRun *run, int64_t n);
/* Rotates each head of x [n, ld] (rotate_half: element i pairs with i + d_head/2). */
void  fs_rope_apply (FsModelRun *run, float *x, int64_t n, int64_t n_heads, int64_t ld);
/* z [n, n_heads * d_head] = causal softmax(scale q k^T) v over the KV cache
 * of `layer` (grouped query heads; scores capped by `softcap` if > 0;
 * keys further back than `window` - 1 positions dropped if window > 0). */
void  fs_attention (FsModelRun *run, int layer, const float *q, float *z, int64_t n,
                    float scale, float softcap, int64_t window);
/* The inverse RoPE frequencies of config, float32 as transformers computes them. */
float *fs_rope_inv_freq (const FsModelConfig *config);

G_END_DECLS
