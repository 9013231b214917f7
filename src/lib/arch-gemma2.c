/* arch-gemma2.c: Gemma 2 (transformers' Gemma2ForCausalLM).
 *
 *   x = embed[token] * sqrt(d)
 *   per layer:  x += post_attention_norm(o(attention(q, k, v of input_norm(x))))
 *               x += post_feedforward_norm(down(gelu_tanh(gate(m)) * up(m))),
 *                    m = pre_feedforward_norm(x)
 *   logits = 30 tanh((final_norm(x) embed^T) / 30)
 *
 * RMSNorm multiplies by (1 + w). Attention: grouped query heads, RoPE,
 * scale query_pre_attn_scalar^-1/2, scores capped 50 tanh(s / 50) before the
 * mask, a sliding window on even layers. nn.Linear weights [out, in].
 */
#include "model-private.h"

#include <math.h>

#include "fs-error.h"
#include "kernels.h"

typedef struct {
  float   *input_norm, *post_attention_norm;
  float   *pre_feedforward_norm, *post_feedforward_norm;
  FsLinear q, k, v, o;
  FsLinear gate, up, down;
} Gemma2Layer;

typedef struct {
  FsMatrixView embed;           /* [vocab, d] */
  FsMatrixView unembed;         /* [d, vocab]: embed transposed, or lm_head */
  float       *final_norm;
  int64_t      n_layers;
  Gemma2Layer *layers;
} Gemma2Weights;

static gboolean
parse_config (const char *path, const cJSON *json, FsModelConfig *c, GError **error)
{
  double query_pre_attn_scalar = 256;
  gboolean attention_bias = FALSE;

  /* transformers' Gemma2Config defaults, where a key may be left out. */
  c->type = FS_MODEL_GEMMA2;
  c->d_head = 256;
  c->max_positions = 8192;
  c->norm_eps = 1e-6;
  c->rope_theta = 10000;
  c->sliding_window = 4096;
  c->attn_softcap = 50;
  c->final_softcap = 30;
  c->activation = FS_ACTIVATION_GELU_TANH;
  c->tied_embeddings = TRUE;
  c->n_kv_heads = -1;
  if (!fs_config_int (path, json, "vocab_size", TRUE, 1, G_MAXINT32, &c->vocab_size, error)
      || !fs_config_int (path, json, "hidden_size", TRUE, 1, G_MAXINT32, &c->d_model, error)
      || !fs_config_int (path, json, "intermediate_size", TRUE, 1, G_MAXINT32, &c->d_mlp,
                         error)
      || !fs_config_int (path, json, "num_hidden_layers", TRUE, 1, G_MAXINT32, &c->n_layers,
                         error)
      || !fs_config_int (path, json, "num_attention_heads", TRUE, 1, G_MAXINT32, &c->n_heads,
                         error)
      || !fs_config_int (path, json, "num_key_value_heads", FALSE, 1, G_MAXINT32,
                         &c->n_kv_heads, error)
      || !fs_config_int (path, json, "head_dim", FALSE, 1, G_MAXINT32, &c->d_head, error)
      || !fs_config_int (path, json, "max_position_embeddings", FALSE, 1, G_MAXINT32,
                         &c->max_positions, error)
      || !fs_config_double (path, json, "rms_norm_eps", 0, 1, &c->norm_eps, error)
      || !fs_config_double (path, json, "query_pre_attn_scalar", 1e-6, 1e9,
                            &query_pre_attn_scalar, error)
      || !fs_config_optional_double (path, json, "attn_logit_softcapping", &c->attn_softcap,
                                     error)
      || !fs_config_optional_double (path, json, "final_logit_softcapping", &c->final_softcap,
                                     error)
      || !fs_config_activation (path, json, "hidden_act", &c->activation, error)
      || !fs_config_activation (path, json, "hidden_activation", &c->activation, error)
      || !fs_config_bool (path, json, "tie_word_embeddings", &c->tied_embeddings, error)
      || !fs_config_bool (path, json, "attention_bias", &attention_bias, error)
      || !fs_config_rope (path, json, c, error))
    return FALSE;
  if (cJSON_IsNull (cJSON_GetObjectItemCaseSensitive (json, "sliding_window")))
    c->sliding_window = 0;
  else if (!fs_config_int (path, json, "sliding_window", FALSE, 1, G_MAXINT32,
                           &c->sliding_window, error))
    return FALSE;
  if (attention_bias)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: attention_bias is not supported for gemma2", path);
      return FALSE;
    }
  if (c->n_kv_heads < 0)
    c->n_kv_heads = c->n_heads;
  c->attn_scale = 1 / sqrt (query_pre_attn_scalar);
  return TRUE;
}

static void
free_weights (gpointer data)
{
  Gemma2Weights *w = data;
  for (int64_t l = 0; l < w->n_layers; l++)
    {
      Gemma2Layer *layer = &w->layers[l];
      g_free (layer->input_norm);
      g_free (layer->post_attention_norm);
      g_free (layer->pre_feedforward_norm);
      g_free (layer->post_feedforward_norm);
    }
  g_free (w->layers);
  g_free (w->final_norm);
  g_free (w);
}

static gboolean
load_layer (FsModel *model, Gemma2Layer *layer, int64_t index, GError **error)
{
  const FsModelConfig *c = &model->config;
  int64_t d = c->d_model, qd = c->n_heads * c->d_head, kv = c->n_kv_heads * c->d_head;
#define NAME(suffix) g_strdup_printf ("model.layers.%" G_GINT64_FORMAT "." suffix, index)
  g_autofree char *input_norm = NAME ("input_layernorm.weight");
  g_autofree char *post_attention_norm = NAME ("post_attention_layernorm.weight");
  g_autofree char *pre_feedforward_norm = NAME ("pre_feedforward_layernorm.weight");
  g_autofree char *post_feedforward_norm = NAME ("post_feedforward_layernorm.weight");
  g_autofree char *q = NAME ("self_attn.q_proj.weight");
  g_autofree char *k = NAME ("self_attn.k_proj.weight");
  g_autofree char *v = NAME ("self_attn.v_proj.weight");
  g_autofree char *o = NAME ("self_attn.o_proj.weight");
  g_autofree char *gate = NAME ("mlp.gate_proj.weight");
  g_autofree char *up = NAME ("mlp.up_proj.weight");
  g_autofree char *down = NAME ("mlp.down_proj.weight");
#undef NAME

  return (layer->input_norm = fs_model_vector (model, input_norm, d, error)) != NULL
      && (layer->post_attention_norm = fs_model_vector (model, post_attention_norm, d, error))
      && (layer->pre_feedforward_norm = fs_model_vector (model, pre_feedforward_norm, d, error))
      && (layer->post_feedforward_norm = fs_model_vector (model, post_feedforward_norm, d,
                                                           error))
      && fs_model_linear (model, &layer->q, q, NULL, d, qd, error)
      && fs_model_linear (model, &layer->k, k, NULL, d, kv, error)
      && fs_model_linear (model, &layer->v, v, NULL, d, kv, error)
      && fs_model_linear (model, &layer->o, o, NULL, qd, d, error)
      && fs_model_linear (model, &layer->gate, gate, NULL, d, c->d_mlp, error)
      && fs_model_linear (model, &layer->up, up, NULL, d, c->d_mlp, error)
      && fs_model_linear (model, &layer->down, down, NULL, c->d_mlp, d, error);
}

static gpointer
load_weights (FsModel *model, GError **error)
{
  const FsModelConfig *c = &model->config;
  Gemma2Weights *w = g_new0 (Gemma2Weights, 1);

  w->layers = g_new0 (Gemma2Layer, (size_t) c->n_layers);
  w->n_layers = c->n_layers;
  if (!fs_model_load_embeddings (model, &w->embed, &w->final_norm, &w->unembed, error))
    goto fail;
  for (int64_t l = 0; l < c->n_layers; l++)
    if (!load_layer (model, &w->layers[l], l, error))
      goto fail;
  return w;

fail:
  free_weights (w);
  return NULL;
}

static void
forward (FsModelRun *run, const int32_t *tokens, int64_t n, float *logits, gboolean all_rows)
{
  const FsModelConfig *c = &run->model->config;
  const Gemma2Weights *w = run->model->weights;
  int64_t d = c->d_model, qd = c->n_heads * c->d_head, kv = c->n_kv_heads * c->d_head;
  float *x = run->x, *h = run->xb;

  /* The embedding, scaled by sqrt(d) rounded to the activation dtype (F32). */
  fs_embed (&w->embed, tokens, n, x);
  fs_scale (x, sqrtf ((float) d), n * d);
  fs_rope_prepare (run, n);

  for (int layer = 0; layer < c->n_layers; layer++)
    {
      const Gemma2Layer *l = &w->layers[layer];
      float *keys = fs_run_keys (run, layer), *values = fs_run_values (run, layer);
      int64_t window = layer % 2 == 0 ? c->sliding_window : 0;

      fs_run_hook (run, layer, FS_HOOK_RESID_PRE, x, n);

      /* Attention. */
      fs_rms_norm (h, x, l->input_norm, n, d, c->norm_eps, TRUE);
      fs_linear (&l->q, h, n, run->q, qd);
      fs_linear (&l->k, h, n, keys, kv);
      fs_linear (&l->v, h, n, values, kv);
      fs_rope_apply (run, run->q, n, c->n_heads, qd);
      fs_rope_apply (run, keys, n, c->n_kv_heads, kv);
      fs_attention (run, layer, run->q, run->z, n, (float) c->attn_scale,
                    (float) c->attn_softcap, window);
      fs_run_hook (run, layer, FS_HOOK_ATTN_Z, run->z, n);
      fs_linear (&l->o, run->z, n, h, d);
      fs_rms_norm (run->out, h, l->post_attention_norm, n, d, c->norm_eps, TRUE);
      fs_run_hook (run, layer, FS_HOOK_ATTN_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      /* MLP. */
      fs_rms_norm (h, x, l->pre_feedforward_norm, n, d, c->norm_eps, TRUE);
      fs_linear (&l->gate, h, n, run->gate, c->d_mlp);
      fs_linear (&l->up, h, n, run->hidden, c->d_mlp);
      fs_gated_activation (c->activation, run->gate, run->hidden, n * c->d_mlp);
      fs_linear (&l->down, run->gate, n, h, d);
      fs_rms_norm (run->out, h, l->post_feedforward_norm, n, d, c->norm_eps, TRUE);
      fs_run_hook (run, layer, FS_HOOK_MLP_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      fs_run_hook (run, layer, FS_HOOK_RESID_POST, x, n);
    }

  if (logits == NULL)
    return;
  int64_t first = all_rows ? 0 : n - 1, rows = n - first;
  fs_rms_norm (h, x + first * d, w->final_norm, rows, d, c->norm_eps, TRUE);
  fs_kernel_matmul (h, rows, d, &w->unembed, logits, c->vocab_size);
  if (c->final_softcap > 0)
    fs_softcap (logits, (float) c->final_softcap, rows * c->vocab_size);
}

static void
attn_output (gpointer weights, int layer, const FsLinear **projection, const float **post_norm,
             gboolean *post_norm_plus_one)
{
  Gemma2Weights *w = weights;
  *projection = &w->layers[layer].o;
  *post_norm = w->layers[layer].post_attention_norm;
  *post_norm_plus_one = TRUE;
}

static void
unembedding (gpointer weights, const float **norm_weight, gboolean *norm_plus_one,
             gboolean *norm_centres, const FsMatrixView **unembed)
{
  Gemma2Weights *w = weights;
  *norm_weight = w->final_norm;
  *norm_plus_one = TRUE;
  *norm_centres = FALSE;
  *unembed = &w->unembed;
}

const FsArch fs_arch_gemma2 = {
  .model_type = "gemma2",
  .parse_config = parse_config,
  .load_weights = load_weights,
  .free_weights = free_weights,
  .forward = forward,
  .attn_output = attn_output,
  .unembedding = unembedding,
};
