/* arch-gpt2.c: GPT-2 (transformers' GPT2LMHeadModel).
 *
 *   x = wte[token] + wpe[position]
 *   per layer:  x += c_proj(attention(c_attn(ln_1(x))))
 *               x += mlp.c_proj(gelu_new(c_fc(ln_2(x))))
 *   logits = ln_f(x) wte^T
 *
 * Conv1D weights are stored [in, out] (y = x W + b). Tensor names may carry
 * a "transformer." prefix; h.N.attn.bias (the causal mask buffer) is ignored.
 */
#include "model-private.h"

#include <math.h>

#include "fs-error.h"
#include "kernels.h"

typedef struct {
  float   *ln_1_weight, *ln_1_bias;
  float   *ln_2_weight, *ln_2_bias;
  float   *attn_bias;           /* c_attn.bias [3d]: q, k and v point into it */
  FsLinear q, k, v;             /* the column thirds of c_attn */
  FsLinear attn_proj;           /* attn.c_proj */
  FsLinear fc;                  /* mlp.c_fc */
  FsLinear mlp_proj;            /* mlp.c_proj */
} Gpt2Layer;

typedef struct {
  FsMatrixView wte;             /* [vocab, d] */
  FsMatrixView wpe;             /* [n_positions, d] */
  FsMatrixView unembed;         /* [d, vocab]: wte transposed, or lm_head */
  float       *ln_f_weight, *ln_f_bias;
  int64_t      n_layers;
  Gpt2Layer   *layers;
} Gpt2Weights;

static gboolean
parse_config (const char *path, const cJSON *json, FsModelConfig *c, GError **error)
{
  gboolean scale_attn = TRUE;

  c->type = FS_MODEL_GPT2;
  c->max_positions = -1;
  c->d_mlp = -1;
  c->norm_eps = 1e-5;
  c->activation = FS_ACTIVATION_GELU_TANH;
  c->tied_embeddings = TRUE;
  if (!fs_config_int (path, json, "vocab_size", TRUE, 1, G_MAXINT32, &c->vocab_size, error)
      || !fs_config_int (path, json, "n_embd", TRUE, 1, G_MAXINT32, &c->d_model, error)
      || !fs_config_int (path, json, "n_layer", TRUE, 1, G_MAXINT32, &c->n_layers, error)
      || !fs_config_int (path, json, "n_head", TRUE, 1, G_MAXINT32, &c->n_heads, error)
      || !fs_config_int (path, json, "n_ctx", FALSE, 1, G_MAXINT32, &c->max_positions, error)
      || !fs_config_int (path, json, "n_positions", FALSE, 1, G_MAXINT32, &c->max_positions,
                         error)
      || !fs_config_int (path, json, "n_inner", FALSE, 1, G_MAXINT32, &c->d_mlp, error)
      || !fs_config_double (path, json, "layer_norm_epsilon", 0, 1, &c->norm_eps, error)
      || !fs_config_activation (path, json, "activation_function", &c->activation, error)
      || !fs_config_bool (path, json, "scale_attn_weights", &scale_attn, error)
      || !fs_config_bool (path, json, "scale_attn_by_inverse_layer_idx",
                          &c->attn_scale_by_layer, error)
      || !fs_config_bool (path, json, "tie_word_embeddings", &c->tied_embeddings, error))
    return FALSE;
  if (c->max_positions < 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “n_positions” is missing", path);
      return FALSE;
    }
  if (c->d_model % c->n_heads != 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: n_head (%" G_GINT64_FORMAT
                   ") does not divide n_embd (%" G_GINT64_FORMAT ")", path, c->n_heads,
                   c->d_model);
      return FALSE;
    }
  if (c->d_mlp < 0)
    c->d_mlp = 4 * c->d_model;
  c->n_kv_heads = c->n_heads;
  c->d_head = c->d_model / c->n_heads;
  c->attn_scale = scale_attn ? 1 / sqrt ((double) c->d_head) : 1;
  return TRUE;
}

static void
free_weights (gpointer data)
{
  Gpt2Weights *w = data;
  for (int64_t l = 0; l < w->n_layers; l++)
    {
      Gpt2Layer *layer = &w->layers[l];
      g_free (layer->ln_1_weight);
      g_free (layer->ln_1_bias);
      g_free (layer->ln_2_weight);
      g_free (layer->ln_2_bias);
      g_free (layer->attn_bias);
      fs_linear_clear (&layer->attn_proj);
      fs_linear_clear (&layer->fc);
      fs_linear_clear (&layer->mlp_proj);
    }
  g_free (w->layers);
  g_free (w->ln_f_weight);
  g_free (w->ln_f_bias);
  g_free (w);
}

/* c_attn [d, 3d] split into q, k and v views of [d, d] each. */
static gboolean
load_qkv (FsModel *model, Gpt2Layer *layer, const char *prefix, GError **error)
{
  int64_t d = model->config.d_model;
  g_autofree char *weight = g_strconcat (prefix, "attn.c_attn.weight", NULL);
  g_autofree char *bias = g_strconcat (prefix, "attn.c_attn.bias", NULL);
  FsLinear whole;

  if (!fs_model_conv1d (model, &whole, weight, bias, d, 3 * d, error))
    return FALSE;
  layer->attn_bias = whole.bias;
  FsLinear *parts[] = { &layer->q, &layer->k, &layer->v };
  for (int i = 0; i < 3; i++)
    {
      *parts[i] = whole;
      parts[i]->weight.data += (size_t) (i * d) * fs_dtype_size (whole.weight.dtype);
      parts[i]->weight.cols = d;
      parts[i]->bias = whole.bias + i * d;
    }
  return TRUE;
}

static gboolean
load_layer (FsModel *model, Gpt2Layer *layer, const char *prefix, GError **error)
{
  const FsModelConfig *c = &model->config;
  int64_t d = c->d_model;
  g_autofree char *ln_1_w = g_strconcat (prefix, "ln_1.weight", NULL);
  g_autofree char *ln_1_b = g_strconcat (prefix, "ln_1.bias", NULL);
  g_autofree char *ln_2_w = g_strconcat (prefix, "ln_2.weight", NULL);
  g_autofree char *ln_2_b = g_strconcat (prefix, "ln_2.bias", NULL);
  g_autofree char *proj_w = g_strconcat (prefix, "attn.c_proj.weight", NULL);
  g_autofree char *proj_b = g_strconcat (prefix, "attn.c_proj.bias", NULL);
  g_autofree char *fc_w = g_strconcat (prefix, "mlp.c_fc.weight", NULL);
  g_autofree char *fc_b = g_strconcat (prefix, "mlp.c_fc.bias", NULL);
  g_autofree char *mlp_w = g_strconcat (prefix, "mlp.c_proj.weight", NULL);
  g_autofree char *mlp_b = g_strconcat (prefix, "mlp.c_proj.bias", NULL);

  return (layer->ln_1_weight = fs_model_vector (model, ln_1_w, d, error)) != NULL
      && (layer->ln_1_bias = fs_model_vector (model, ln_1_b, d, error)) != NULL
      && load_qkv (model, layer, prefix, error)
      && fs_model_conv1d (model, &layer->attn_proj, proj_w, proj_b, d, d, error)
      && (layer->ln_2_weight = fs_model_vector (model, ln_2_w, d, error)) != NULL
      && (layer->ln_2_bias = fs_model_vector (model, ln_2_b, d, error)) != NULL
      && fs_model_conv1d (model, &layer->fc, fc_w, fc_b, d, c->d_mlp, error)
      && fs_model_conv1d (model, &layer->mlp_proj, mlp_w, mlp_b, c->d_mlp, d, error);
}

static gpointer
load_weights (FsModel *model, GError **error)
{
  const FsModelConfig *c = &model->config;
  const char *prefix = fs_model_has_tensor (model, "transformer.wte.weight") ? "transformer." : "";
  g_autofree char *wte = g_strconcat (prefix, "wte.weight", NULL);
  g_autofree char *wpe = g_strconcat (prefix, "wpe.weight", NULL);
  g_autofree char *ln_f_w = g_strconcat (prefix, "ln_f.weight", NULL);
  g_autofree char *ln_f_b = g_strconcat (prefix, "ln_f.bias", NULL);
  Gpt2Weights *w = g_new0 (Gpt2Weights, 1);

  w->layers = g_new0 (Gpt2Layer, (size_t) c->n_layers);
  w->n_layers = c->n_layers;
  if (!fs_model_table (model, &w->wte, wte, c->vocab_size, c->d_model, error)
      || !fs_model_table (model, &w->wpe, wpe, c->max_positions, c->d_model, error)
      || (w->ln_f_weight = fs_model_vector (model, ln_f_w, c->d_model, error)) == NULL
      || (w->ln_f_bias = fs_model_vector (model, ln_f_b, c->d_model, error)) == NULL)
    goto fail;
  for (int64_t l = 0; l < c->n_layers; l++)
    {
      g_autofree char *layer_prefix = g_strdup_printf ("%sh.%" G_GINT64_FORMAT ".", prefix, l);
      if (!load_layer (model, &w->layers[l], layer_prefix, error))
        goto fail;
    }
  if (c->tied_embeddings)
    w->unembed = (FsMatrixView) { w->wte.data, w->wte.dtype, c->d_model, c->vocab_size, 1,
                                  c->d_model };
  else
    {
      FsLinear head;
      if (!fs_model_linear (model, &head, "lm_head.weight", NULL, c->d_model, c->vocab_size,
                            error))
        goto fail;
      w->unembed = head.weight;
    }
  model->dtype = w->wte.dtype;
  return w;

fail:
  free_weights (w);
  return NULL;
}

/* hook_z, as TransformerLens' folded model shows it when asked: without
 * the value bias (every probability row sums to one, so z carries it). */
static void
hook_z (FsModelRun *run, int layer, const float *value_bias, int64_t n)
{
  int64_t width = run->model->config.d_model;
  gboolean fold = run->options.fold_value_biases;

  if (!fs_run_has_hooks (run, layer, FS_HOOK_ATTN_Z))
    return;
  for (int64_t i = 0; fold && i < n; i++)
    for (int64_t j = 0; j < width; j++)
      run->z[i * width + j] -= value_bias[j];
  fs_run_call_hooks (run, layer, FS_HOOK_ATTN_Z, run->z, n);
  for (int64_t i = 0; fold && i < n; i++)
    fs_add (run->z + i * width, value_bias, width);
}

static void
forward (FsModelRun *run, const int32_t *tokens, int64_t n, float *logits, gboolean all_rows)
{
  const FsModelConfig *c = &run->model->config;
  const Gpt2Weights *w = run->model->weights;
  int64_t d = c->d_model;
  gboolean center = run->options.center_writing_weights;
  float *x = run->x, *h = run->xb;
  g_autofree float *position = g_new (float, (size_t) d);

  /* Embedding: token plus position. */
  fs_embed (&w->wte, tokens, n, x);
  for (int64_t i = 0; i < n; i++)
    {
      int32_t p = (int32_t) (run->pos0 + i);
      fs_embed (&w->wpe, &p, 1, position);
      fs_add (x + i * d, position, d);
    }
  if (center)
    fs_center_rows (x, n, d);

  for (int layer = 0; layer < c->n_layers; layer++)
    {
      const Gpt2Layer *l = &w->layers[layer];
      float scale = (float) (c->attn_scale / (c->attn_scale_by_layer ? layer + 1 : 1));

      fs_run_hook (run, layer, FS_HOOK_RESID_PRE, x, n);

      /* Attention. */
      fs_layer_norm (h, x, l->ln_1_weight, l->ln_1_bias, n, d, c->norm_eps);
      fs_linear (&l->q, h, n, run->q, d);
      fs_linear (&l->k, h, n, fs_run_keys (run, layer), d);
      fs_linear (&l->v, h, n, fs_run_values (run, layer), d);
      fs_attention (run, layer, run->q, run->z, n, scale, 0, 0);
      hook_z (run, layer, l->v.bias, n);
      fs_linear (&l->attn_proj, run->z, n, run->out, d);
      if (center)
        fs_center_rows (run->out, n, d);
      fs_run_hook (run, layer, FS_HOOK_ATTN_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      /* MLP. */
      fs_layer_norm (h, x, l->ln_2_weight, l->ln_2_bias, n, d, c->norm_eps);
      fs_linear (&l->fc, h, n, run->hidden, c->d_mlp);
      fs_activation (c->activation, run->hidden, n * c->d_mlp);
      fs_linear (&l->mlp_proj, run->hidden, n, run->out, d);
      if (center)
        fs_center_rows (run->out, n, d);
      fs_run_hook (run, layer, FS_HOOK_MLP_OUT, run->out, n);
      fs_add (x, run->out, n * d);

      fs_run_hook (run, layer, FS_HOOK_RESID_POST, x, n);
    }

  if (logits == NULL)
    return;
  int64_t first = all_rows ? 0 : n - 1, rows = n - first;
  fs_layer_norm (h, x + first * d, w->ln_f_weight, w->ln_f_bias, rows, d, c->norm_eps);
  fs_kernel_matmul (h, rows, d, &w->unembed, logits, c->vocab_size);
}

static void
attn_output (gpointer weights, int layer, const FsLinear **projection, const float **post_norm,
             gboolean *post_norm_plus_one)
{
  Gpt2Weights *w = weights;
  *projection = &w->layers[layer].attn_proj;
  *post_norm = NULL;
  *post_norm_plus_one = FALSE;
}

static void
unembedding (gpointer weights, const float **norm_weight, gboolean *norm_plus_one,
             gboolean *norm_centres, const FsMatrixView **unembed)
{
  Gpt2Weights *w = weights;
  *norm_weight = w->ln_f_weight;
  *norm_plus_one = FALSE;
  *norm_centres = TRUE;
  *unembed = &w->unembed;
}

const FsArch fs_arch_gpt2 = {
  .model_type = "gpt2",
  .parse_config = parse_config,
  .load_weights = load_weights,
  .free_weights = free_weights,
  .forward = forward,
  .attn_output = attn_output,
  .unembedding = unembedding,
};
