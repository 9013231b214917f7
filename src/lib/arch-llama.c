/* arch-llama.c: Llama 3 (transformers' LlamaForCausalLM).
 *
 *   x = embed[token]
 *   per layer:  x += o(attention(q, k, v of input_norm(x)))
 *               x += down(silu(gate(m)) * up(m)),  m = post_attention_norm(x)
 *   logits = final_norm(x) lm_head^T   (lm_head = embed when tied)
 *
 * RMSNorm multiplies by w. Attention: grouped query heads, RoPE with
 * rope_theta and rope_scaling "llama3", scale d_head^-1/2. nn.Linear
 * weights [out, in], with biases when attention_bias / mlp_bias say so.
 */
#include "model-private.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "kernels.h"

typedef struct {
  float   *input_norm, *post_attention_norm;
  FsLinear q, k, v, o;
  FsLinear gate, up, down;
} LlamaLayer;

typedef struct {
  FsMatrixView embed;           /* [vocab, d] */
  FsMatrixView unembed;         /* [d, vocab]: lm_head, or embed transposed */
  float       *final_norm;
  int64_t      n_layers;
  LlamaLayer  *layers;
} LlamaWeights;

static gboolean
parse_config (const char *path, const cJSON *json, FsModelConfig *c, GError **error)
{
  /* transformers' LlamaConfig defaults, where a key may be left out. */
  c->type = FS_MODEL_LLAMA;
  c->max_positions = 2048;
  c->norm_eps = 1e-6;
  c->rope_theta = 10000;
  c->activation = FS_ACTIVATION_SILU;
  c->n_kv_heads = -1;
  c->d_head = -1;
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
      || !fs_config_activation (path, json, "hidden_act", &c->activation, error)
      || !fs_config_bool (path, json, "tie_word_embeddings", &c->tied_embeddings, error)
      || !fs_config_bool (path, json, "attention_bias", &c->attention_bias, error)
      || !fs_config_bool (path, json, "mlp_bias", &c->mlp_bias, error)
      || !fs_config_rope (path, json, c, error))
    return FALSE;
  if (c->d_head < 0)
    {
      if (c->d_model % c->n_heads != 0)
        {
          g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                       "%s: num_attention_heads does not divide hidden_size", path);
          return FALSE;
        }
      c->d_head = c->d_model / c->n_heads;
    }
  if (c->n_kv_heads < 0)
    c->n_kv_heads = c->n_heads;
  c->attn_scale = 1 / sqrt ((double) c->d_head);
  return TRUE;
}

static void
free_weights (gpointer data)
{
  LlamaWeights *w = data;
  for (int64_t l = 0; l < w->n_layers; l++)
    {
      LlamaLayer *layer = &w->layers[l];
      g_free (layer->input_norm);
      g_free (layer->post_attention_norm);
      FsLinear *linears[] = { &layer->q, &layer->k, &layer->v, &layer->o,
                              &layer->gate, &layer->up, &layer->down };
      for (size_t i = 0; i < G_N_ELEMENTS (linears); i++)
        fs_linear_clear (linears[i]);
    }
  g_free (w->layers);
  g_free (w->final_norm);
  g_free (w);
}

/* model.layers.N.<module>.weight, and .bias when `bias` is set. */
static gboolean
load_linear (FsModel *model, FsLinear *linear, int64_t layer, const char *module,
             gboolean bias, int64_t in, int64_t out, GError **error)
{
  g_autofree char *weight_name = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".%s.weight",
                                                  layer, module);
  g_autofree char *bias_name = bias ? g_strdup_printf ("model.layers.%" G_GINT64_FORMAT ".%s.bias",
                                                       layer, module) : NULL;
  return fs_model_linear (model, linear, weight_name, bias_name, in, out, error);
}

static gboolean
load_layer (FsModel *model, LlamaLayer *layer, int64_t index, GError **error)
{
  const FsModelConfig *c = &model->config;
  int64_t d = c->d_model, qd = c->n_heads * c->d_head, kv = c->n_kv_heads * c->d_head;
  gboolean ab = c->attention_bias, mb = c->mlp_bias;
  g_autofree char *input_norm = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT
                                                 ".input_layernorm.weight", index);
  g_autofree char *post_norm = g_strdup_printf ("model.layers.%" G_GINT64_FORMAT
                                                ".post_attention_layernorm.weight", index);

  return (layer->input_norm = fs_model_vector (model, input_norm, d, error)) != NULL
      && (layer->post_attention_norm = fs_model_vector (model, post_norm, d, error)) != NULL
      && load_linear (model, &layer->q, index, "self_attn.q_proj", ab, d, qd, error)
      && load_linear (model, &layer->k, index, "self_attn.k_proj", ab, d, kv, error)
      && load_linear (model, &layer->v, index, "self_attn.v_proj", ab, d, kv, error)
      && load_linear (model, &layer->o, index, "self_attn.o_proj", ab, qd, d, error)
      && load_linear (model, &layer->gate, index, "mlp.gate_proj", mb, d, c->d_mlp, error)
      && load_linear (model, &layer->up, index, "mlp.up_proj", mb, d, c->d_mlp, error)
      && load_linear (model, &layer->down, index, "mlp.down_proj", mb, c->d_mlp, d, error);
}

static gpointer
load_weights (FsModel *model, GError **error)
{
  const FsModelConfig *c = &model->config;
  LlamaWeights *w = g_new0 (LlamaWeights, 1);

  w->layers = g_new0 (LlamaLayer, (size_t) c->n_layers);
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
  const LlamaWeights *w = run->model->weights;
  int64_t d = c->d_model, qd = c->n_heads * c->d_head, kv = c->n_kv_heads * c->d_head;
  float *x = run->x, *h = run->xb;

  fs_embed (&w->embed, tokens, n, x);
  fs_rope_prepare (run, n);

  for (int layer = 0; layer < c->n_layers; layer++)
    {
      const LlamaLayer *l = &w->layers[layer];
      float *keys = fs_run_keys (run, layer), *values = fs_run_values (run, layer);

      fs_run_hook (run, layer, FS_HOOK_RESID_PRE, x, n);

      /* Attention. */
      fs_rms_norm (h, x, l->input_norm, n, d, c->norm_eps, FALSE);
      fs_linear (&l->q, h, n, run->q, qd);
      fs_linear (&l->k, h, n, keys, kv);
      fs_linear (&l->v, h, n, values, kv);
      fs_rope_apply (run, run->q, n, c->n_heads, qd);
      fs_rope_apply (run, keys, n, c->n_kv_heads, kv);
      fs_attention (run, layer, run->q, run->z, n, (float) c->attn_scale, 0, 0);
      fs_run_hook (run, layer, FS_HOOK_ATTN_Z, run->z, n);
      fs_linear (&l->o, run->z, n, run->out, d);
      fs_run_hook (run, layer, FS_HOOK_ATTN_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      /* MLP. */
      fs_rms_norm (h, x, l->post_attention_norm, n, d, c->norm_eps, FALSE);
      fs_linear (&l->gate, h, n, run->gate, c->d_mlp);
      fs_linear (&l->up, h, n, run->hidden, c->d_mlp);
      fs_gated_activation (c->activation, run->gate, run->hidden, n * c->d_mlp);
      fs_linear (&l->down, run->gate, n, run->out, d);
      fs_run_hook (run, layer, FS_HOOK_MLP_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      fs_run_hook (run, layer, FS_HOOK_RESID_POST, x, n);
    }

  if (logits == NULL)
    return;
  int64_t first = all_rows ? 0 : n - 1, rows = n - first;
  fs_rms_norm (h, x + first * d, w->final_norm, rows, d, c->norm_eps, FALSE);
  fs_kernel_matmul (h, rows, d, &w->unembed, logits, c->vocab_size);
}

/* Llama's post_attention_layernorm is the MLP's input norm: attn_out is o(z). */
static void
attn_output (gpointer weights, int layer, const FsLinear **projection, const float **post_norm,
             gboolean *post_norm_plus_one)
{
  LlamaWeights *w = weights;
  *projection = &w->layers[layer].o;
  *post_norm = NULL;
  *post_norm_plus_one = FALSE;
}

static void
unembedding (gpointer weights, const float **norm_weight, gboolean *norm_plus_one,
             gboolean *norm_centres, const FsMatrixView **unembed)
{
  LlamaWeights *w = weights;
  *norm_weight = w->final_norm;
  *norm_plus_one = FALSE;
  *norm_centres = FALSE;
  *unembed = &w->unembed;
}

const FsArch fs_arch_llama = {
  .model_type = "llama",
  .parse_config = parse_config,
  .load_weights = load_weights,
  .free_weights = free_weights,
  .forward = forward,
  .attn_output = attn_output,
  .unembedding = unembedding,
};
