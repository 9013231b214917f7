/* model.c: loading a model folder, and the run state (KV cache, scratch,
 * hooks) around each architecture's forward pass. */
#include "model-private.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "safetensors.h"

/* Bounds on config.json sizes: generous for real models, and small enough
 * that products of them cannot overflow or ask for absurd allocations. */
#define MAX_LAYERS     1024
#define MAX_WIDTH      (1 << 16)     /* d_model, n_heads * d_head */
#define MAX_HEADS      1024
#define MAX_D_HEAD     4096
#define MAX_D_MLP      (1 << 18)
#define MAX_VOCAB      (1 << 24)
#define MAX_POSITIONS  (1 << 24)

static const FsArch *const archs[] = { &fs_arch_gpt2, &fs_arch_gemma2, &fs_arch_llama };

/* ---------------------------------------------------------------- config.json */

static const cJSON *
member (const cJSON *json, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, key);
  return cJSON_IsNull (item) ? NULL : item;
}

gboolean
fs_config_int (const char *path, const cJSON *json, const char *key, gboolean required,
               int64_t min, int64_t max, int64_t *out, GError **error)
{
  if (required && member (json, key) == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “%s” is missing", path, key);
      return FALSE;
    }
  return fs_json_get_int (path, json, key, min, max, out, error);
}

gboolean
fs_config_double (const char *path, const cJSON *json, const char *key, double min,
                  double max, double *out, GError **error)
{
  double value = *out;
  if (!fs_json_get_double (path, json, key, &value, error))
    return FALSE;
  if (!(value >= min && value <= max))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “%s” must be from %g to %g",
                   path, key, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
fs_config_optional_double (const char *path, const cJSON *json, const char *key,
                           double *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, key);
  if (cJSON_IsNull (item))
    {
      *out = 0;
      return TRUE;
    }
  return fs_config_double (path, json, key, 0, 1e6, out, error);
}

gboolean
fs_config_bool (const char *path, const cJSON *json, const char *key, gboolean *out,
                GError **error)
{
  return fs_json_get_bool (path, json, key, out, error);
}

gboolean
fs_config_activation (const char *path, const cJSON *json, const char *key,
                      FsActivation *out, GError **error)
{
  static const struct { const char *name; FsActivation activation; } names[] = {
    { "gelu_new", FS_ACTIVATION_GELU_TANH },
    { "gelu_pytorch_tanh", FS_ACTIVATION_GELU_TANH },
    { "gelu_fast", FS_ACTIVATION_GELU_TANH },
    { "gelu", FS_ACTIVATION_GELU_ERF },
    { "silu", FS_ACTIVATION_SILU },
    { "swish", FS_ACTIVATION_SILU },
  };
  const char *name = NULL;

  if (!fs_json_get_string (path, json, key, &name, error))
    return FALSE;
  if (name == NULL)
    return TRUE;
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (name, names[i].name) == 0)
      {
        *out = names[i].activation;
        return TRUE;
      }
  g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED, "%s: unsupported %s “%s”", path, key,
               name);
  return FALSE;
}

gboolean
fs_config_rope (const char *path, const cJSON *json, FsModelConfig *config, GError **error)
{
  const cJSON *scaling = member (json, "rope_scaling");
  const char *type = NULL;

  if (!fs_config_double (path, json, "rope_theta", 1, 1e12, &config->rope_theta, error))
    return FALSE;
  config->rope_factor = 1;
  if (scaling == NULL)
    return TRUE;
  if (!cJSON_IsObject (scaling))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “rope_scaling” must be an object",
                   path);
      return FALSE;
    }
  if (!fs_json_get_string (path, scaling, "type", &type, error)
      || !fs_json_get_string (path, scaling, "rope_type", &type, error))
    return FALSE;
  if (type == NULL || strcmp (type, "default") == 0)
    return TRUE;
  if (strcmp (type, "linear") != 0 && strcmp (type, "llama3") != 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: rope_scaling type “%s” is not supported (default, linear and llama3 are)",
                   path, type);
      return FALSE;
    }
  config->rope_factor = NAN;
  if (!fs_config_double (path, scaling, "factor", 1e-3, 1e6, &config->rope_factor, error))
    return FALSE;
  if (isnan (config->rope_factor))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: rope_scaling has no “factor”", path);
      return FALSE;
    }
  if (strcmp (type, "linear") == 0)
    return TRUE;

  config->rope_low_freq_factor = 1;
  config->rope_high_freq_factor = 4;
  if (!fs_config_double (path, scaling, "low_freq_factor", 1e-6, 1e6,
                         &config->rope_low_freq_factor, error)
      || !fs_config_double (path, scaling, "high_freq_factor", 1e-6, 1e6,
                            &config->rope_high_freq_factor, error)
      || !fs_config_int (path, scaling, "original_max_position_embeddings", TRUE, 1,
                         MAX_POSITIONS, &config->rope_original_max_positions, error))
    return FALSE;
  if (!(config->rope_high_freq_factor > config->rope_low_freq_factor))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: rope_scaling high_freq_factor must exceed low_freq_factor", path);
      return FALSE;
    }
  return TRUE;
}

/* bos_token_id (an integer or null) and eos_token_id (an integer, a list of
 * them, or null). */
static gboolean
parse_special_tokens (const char *path, const cJSON *json, FsModelConfig *config,
                      GError **error)
{
  const cJSON *eos = member (json, "eos_token_id"), *item;

  config->bos_token_id = -1;
  if (!fs_config_int (path, json, "bos_token_id", FALSE, 0, MAX_VOCAB - 1,
                      &config->bos_token_id, error))
    return FALSE;
  if (eos == NULL)
    return TRUE;
  if (cJSON_IsNumber (eos))
    return fs_config_int (path, json, "eos_token_id", FALSE, 0, MAX_VOCAB - 1,
                          &config->eos_token_ids[config->n_eos_token_ids++], error);
  if (!cJSON_IsArray (eos) || cJSON_GetArraySize (eos) > FS_MODEL_MAX_EOS)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: “eos_token_id” must be a token id or a list of at most %d",
                   path, FS_MODEL_MAX_EOS);
      return FALSE;
    }
  cJSON_ArrayForEach (item, eos)
    if (!fs_json_integer_in (item, 0, MAX_VOCAB - 1,
                             &config->eos_token_ids[config->n_eos_token_ids++]))
      {
        g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                     "%s: “eos_token_id” holds something other than a token id", path);
        return FALSE;
      }
  return TRUE;
}

/* What every architecture must satisfy once its keys are read. */
static gboolean
check_config (const char *path, const FsModelConfig *c, GError **error)
{
#define REQUIRE(cond, ...) \
  if (!(cond)) { g_set_error (error, FS_ERROR, FS_ERROR_INVALID, __VA_ARGS__); return FALSE; }
  REQUIRE (c->n_layers >= 1 && c->n_layers <= MAX_LAYERS, "%s: bad number of layers", path);
  REQUIRE (c->d_model >= 1 && c->d_model <= MAX_WIDTH, "%s: bad hidden size", path);
  REQUIRE (c->n_heads >= 1 && c->n_heads <= MAX_HEADS, "%s: bad number of heads", path);
  REQUIRE (c->n_kv_heads >= 1 && c->n_kv_heads <= c->n_heads
           && c->n_heads % c->n_kv_heads == 0,
           "%s: the number of key/value heads must divide the number of heads", path);
  REQUIRE (c->d_head >= 1 && c->d_head <= MAX_D_HEAD && c->n_heads * c->d_head <= MAX_WIDTH,
           "%s: bad head dimension", path);
  REQUIRE (c->type == FS_MODEL_GPT2 || c->d_head % 2 == 0,
           "%s: RoPE needs an even head dimension", path);
  REQUIRE (c->d_mlp >= 1 && c->d_mlp <= MAX_D_MLP, "%s: bad MLP size", path);
  REQUIRE (c->vocab_size >= 1 && c->vocab_size <= MAX_VOCAB, "%s: bad vocabulary size", path);
  REQUIRE (c->max_positions >= 1 && c->max_positions <= MAX_POSITIONS,
           "%s: bad maximum number of positions", path);
  REQUIRE (c->norm_eps >= 0 && c->norm_eps < 1, "%s: bad normalisation epsilon", path);
  REQUIRE (c->bos_token_id < c->vocab_size, "%s: bos_token_id is outside the vocabulary", path);
  for (int i = 0; i < c->n_eos_token_ids; i++)
    REQUIRE (c->eos_token_ids[i] < c->vocab_size,
             "%s: eos_token_id is outside the vocabulary", path);
#undef REQUIRE
  return TRUE;
}

gboolean
fs_model_config_parse (const char *path, const char *text, gsize length,
                       FsModelConfig *config, GError **error)
{
  const char *model_type = NULL;

  g_return_val_if_fail (path != NULL && config != NULL, FALSE);

  g_autoptr(cJSON) json = fs_json_parse (path, text, length, error);
  if (json == NULL)
    return FALSE;
  if (!cJSON_IsObject (json))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: not a JSON object", path);
      return FALSE;
    }
  if (!fs_json_get_string (path, json, "model_type", &model_type, error))
    return FALSE;
  if (model_type == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “model_type” is missing", path);
      return FALSE;
    }

  memset (config, 0, sizeof *config);
  for (size_t i = 0; i < G_N_ELEMENTS (archs); i++)
    if (strcmp (model_type, archs[i]->model_type) == 0)
      return parse_special_tokens (path, json, config, error)
             && archs[i]->parse_config (path, json, config, error)
             && check_config (path, config, error);

  g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
               "%s: unsupported model_type “%s” (gpt2, gemma2 and llama are read)", path,
               model_type);
  return FALSE;
}

const char *
fs_model_type_name (FsModelType type)
{
  switch (type)
    {
    case FS_MODEL_GPT2: return "gpt2";
    case FS_MODEL_GEMMA2: return "gemma2";
    case FS_MODEL_LLAMA: return "llama";
    }
  return "unknown";
}

static const FsArch *
arch_for (FsModelType type)
{
  for (size_t i = 0; i < G_N_ELEMENTS (archs); i++)
    if (g_str_equal (archs[i]->model_type, fs_model_type_name (type)))
      return archs[i];
  g_assert_not_reached ();
}

/* ---------------------------------------------------------------- weights */

const FsTensor *
fs_model_tensor (FsModel *model, const char *name, int64_t rows, int64_t cols,
                 GError **error)
{
  const char *file = fs_tensor_file_get_path (model->file);
  const FsTensor *t = fs_tensor_file_lookup (model->file, name);
  gboolean matrix = cols > 0;

  if (t == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "%s: missing tensor “%s”", file, name);
      return NULL;
    }
  if (t->dtype != FS_DTYPE_F32 && t->dtype != FS_DTYPE_F16 && t->dtype != FS_DTYPE_BF16)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: tensor “%s” is %s (F32, F16 or BF16 are read)", file, name,
                   fs_dtype_name (t->dtype));
      return NULL;
    }
  if (t->n_dims != (matrix ? 2 : 1) || t->shape[0] != rows || (matrix && t->shape[1] != cols))
    {
      int64_t want[2] = { rows, cols };
      g_autofree char *got_shape = fs_shape_to_string (t->n_dims, t->shape);
      g_autofree char *want_shape = fs_shape_to_string (matrix ? 2 : 1, want);
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: tensor “%s” has shape %s, expected %s", file, name, got_shape,
                   want_shape);
      return NULL;
    }
  return t;
}

gboolean
fs_model_has_tensor (FsModel *model, const char *name)
{
  return fs_tensor_file_lookup (model->file, name) != NULL;
}

float *
fs_model_vector (FsModel *model, const char *name, int64_t n, GError **error)
{
  const FsTensor *t = fs_model_tensor (model, name, n, 0, error);
  if (t == NULL)
    return NULL;
  float *out = g_new (float, (size_t) n);
  fs_dtype_to_f32 (t->dtype, t->data, (size_t) n, out);
  return out;
}

gboolean
fs_model_table (FsModel *model, FsMatrixView *view, const char *name, int64_t rows,
                int64_t cols, GError **error)
{
  const FsTensor *t = fs_model_tensor (model, name, rows, cols, error);
  if (t == NULL)
    return FALSE;
  *view = (FsMatrixView) { t->data, t->dtype, rows, cols, cols, 1 };
  return TRUE;
}

gboolean
fs_model_load_embeddings (FsModel *model, FsMatrixView *embed, float **final_norm,
                          FsMatrixView *unembed, GError **error)
{
  const FsModelConfig *c = &model->config;

  if (!fs_model_table (model, embed, "model.embed_tokens.weight", c->vocab_size, c->d_model,
                       error)
      || (*final_norm = fs_model_vector (model, "model.norm.weight", c->d_model, error)) == NULL)
    return FALSE;
  model->dtype = embed->dtype;
  if (c->tied_embeddings)
    {
      *unembed = (FsMatrixView) { embed->data, embed->dtype, c->d_model, c->vocab_size,
                                  1, c->d_model };
      return TRUE;
    }
  FsLinear head;
  if (!fs_model_linear (model, &head, "lm_head.weight", NULL, c->d_model, c->vocab_size, error))
    return FALSE;
  *unembed = head.weight;
  return TRUE;
}

gboolean
fs_model_linear (FsModel *model, FsLinear *linear, const char *weight_name,
                 const char *bias_name, int64_t in, int64_t out, GError **error)
{
  const FsTensor *t = fs_model_tensor (model, weight_name, out, in, error);
  if (t == NULL)
    return FALSE;
  /* Stored [out, in]: the [in, out] view walks it transposed. */
  linear->weight = (FsMatrixView) { t->data, t->dtype, in, out, 1, in };
  linear->bias = NULL;
  if (bias_name != NULL)
    linear->bias = fs_model_vector (model, bias_name, out, error);
  return bias_name == NULL || linear->bias != NULL;
}

gboolean
fs_model_conv1d (FsModel *model, FsLinear *linear, const char *weight_name,
                 const char *bias_name, int64_t in, int64_t out, GError **error)
{
  const FsTensor *t = fs_model_tensor (model, weight_name, in, out, error);
  if (t == NULL)
    return FALSE;
  linear->weight = (FsMatrixView) { t->data, t->dtype, in, out, out, 1 };
  linear->bias = fs_model_vector (model, bias_name, out, error);
  return linear->bias != NULL;
}

void
fs_linear_clear (FsLinear *linear)
{
  g_clear_pointer (&linear->bias, g_free);
}

static FsTensorFile *
open_weights (const char *dir, GError **error)
{
  g_autofree char *single = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *index = g_build_filename (dir, "model.safetensors.index.json", NULL);

  if (g_file_test (single, G_FILE_TEST_EXISTS))
    return fs_safetensors_open (single, error);
  if (g_file_test (index, G_FILE_TEST_EXISTS))
    return fs_safetensors_open_index (index, error);
  g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND,
               "%s: no model.safetensors or model.safetensors.index.json", dir);
  return NULL;
}

FsModel *
fs_model_load (const char *dir, GError **error)
{
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;

  g_return_val_if_fail (dir != NULL, NULL);

  if (!g_file_get_contents (config_path, &text, &length, &local_error))
    {
      g_set_error (error, FS_ERROR, local_error->code == G_FILE_ERROR_NOENT
                   ? FS_ERROR_NOT_FOUND : FS_ERROR_IO, "%s: %s", config_path,
                   local_error->message);
      return NULL;
    }

  g_autoptr(FsModel) model = g_new0 (FsModel, 1);
  g_atomic_ref_count_init (&model->ref_count);
  model->path = g_strdup (dir);
  if (!fs_model_config_parse (config_path, text, length, &model->config, error))
    return NULL;
  model->arch = arch_for (model->config.type);
  model->file = open_weights (dir, error);
  if (model->file == NULL)
    return NULL;
  model->weights = model->arch->load_weights (model, error);
  if (model->weights == NULL)
    return NULL;
  if (model->config.type != FS_MODEL_GPT2)
    model->rope_inv_freq = fs_rope_inv_freq (&model->config);
  return g_steal_pointer (&model);
}

FsModel *
fs_model_ref (FsModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_ref_count_inc (&model->ref_count);
  return model;
}

void
fs_model_unref (FsModel *model)
{
  if (model == NULL || !g_atomic_ref_count_dec (&model->ref_count))
    return;
  if (model->weights != NULL)
    model->arch->free_weights (model->weights);
  g_clear_pointer (&model->file, fs_tensor_file_unref);
  g_free (model->rope_inv_freq);
  g_free (model->path);
  g_free (model);
}

const FsModelConfig *
fs_model_get_config (FsModel *model)
{
  return &model->config;
}

const char *
fs_model_get_path (FsModel *model)
{
  return model->path;
}

FsDtype
fs_model_get_dtype (FsModel *model)
{
  return model->dtype;
}

gboolean
fs_model_wants_bos (FsModel *model)
{
  return model->config.type != FS_MODEL_GPT2 && model->config.bos_token_id >= 0;
}

gboolean
fs_model_is_eos (FsModel *model, int32_t token)
{
  for (int i = 0; i < model->config.n_eos_token_ids; i++)
    if (model->config.eos_token_ids[i] == token)
      return TRUE;
  return FALSE;
}

/* ---------------------------------------------------------------- unembedding */

FsMatrixView
fs_model_get_unembedding (FsModel *model)
{
  const float *weight;
  const FsMatrixView *unembed;
  gboolean plus_one, centres;

  model->arch->unembedding (model->weights, &weight, &plus_one, &centres, &unembed);
  return *unembed;
}

void
fs_model_get_final_norm (FsModel *model, float *scale, gboolean *centres)
{
  const float *weight;
  const FsMatrixView *unembed;
  gboolean plus_one;

  model->arch->unembedding (model->weights, &weight, &plus_one, centres, &unembed);
  for (int64_t j = 0; j < model->config.d_model; j++)
    scale[j] = weight == NULL ? 1.0f : plus_one ? 1.0f + weight[j] : weight[j];
}

/* ---------------------------------------------------------------- hooks */

static const char *const hook_names[FS_N_HOOK_POINTS] = {
  "hook_resid_pre", "attn.hook_z", "hook_attn_out", "hook_mlp_out", "hook_resid_post",
};

const char *
fs_hook_point_name (FsHookPoint point)
{
  g_return_val_if_fail ((unsigned) point < FS_N_HOOK_POINTS, NULL);
  return hook_names[point];
}

gboolean
fs_hook_point_parse (const char *hook_name, int *layer, FsHookPoint *point)
{
  const char *rest;
  char *end;

  if (!g_str_has_prefix (hook_name, "blocks.") || !g_ascii_isdigit (hook_name[7]))
    return FALSE;
  guint64 l = g_ascii_strtoull (hook_name + 7, &end, 10);
  if (*end != '.' || l > MAX_LAYERS)
    return FALSE;
  rest = end + 1;
  for (int p = 0; p < FS_N_HOOK_POINTS; p++)
    if (strcmp (rest, hook_names[p]) == 0)
      {
        *layer = (int) l;
        *point = p;
        return TRUE;
      }
  return FALSE;
}

int64_t
fs_model_get_hook_width (FsModel *model, FsHookPoint point)
{
  const FsModelConfig *c = &model->config;
  return point == FS_HOOK_ATTN_Z ? c->n_heads * c->d_head : c->d_model;
}

static float *
post_norm_factors (FsModel *model, int layer, const FsLinear **projection)
{
  const float *w;
  gboolean plus_one;
  int64_t d = model->config.d_model;

  model->arch->attn_output (model->weights, layer, projection, &w, &plus_one);
  if (w == NULL)
    return NULL;
  float *factors = g_new (float, (size_t) d);
  for (int64_t j = 0; j < d; j++)
    factors[j] = plus_one ? 1.0f + w[j] : w[j];
  return factors;
}

void
fs_model_project_attn_z (FsModel *model, int layer, const float *z, int64_t n, float *out)
{
  const FsLinear *projection;
  int64_t d = model->config.d_model;

  g_return_if_fail (layer >= 0 && layer < model->config.n_layers);
  g_autofree float *factors = post_norm_factors (model, layer, &projection);
  fs_kernel_matmul (z, n, projection->weight.rows, &projection->weight, out, d);
  for (int64_t t = 0; factors != NULL && t < n; t++)
    for (int64_t j = 0; j < d; j++)
      out[t * d + j] *= factors[j];
}

void
fs_model_project_attn_z_transposed (FsModel *model, int layer, const float *f, float *g)
{
  const FsLinear *projection;
  int64_t d = model->config.d_model;

  g_return_if_fail (layer >= 0 && layer < model->config.n_layers);
  g_autofree float *factors = post_norm_factors (model, layer, &projection);
  g_autofree float *scaled = g_memdup2 (f, (size_t) d * sizeof (float));
  for (int64_t j = 0; factors != NULL && j < d; j++)
    scaled[j] *= factors[j];
  /* The weight viewed [in, out]: its rows are the z channels. */
  fs_kernel_matvec (&projection->weight, scaled, g);
}

guint
fs_model_run_add_hook (FsModelRun *run, int layer, FsHookPoint point, FsHookFunc func,
                       gpointer user_data, GDestroyNotify destroy)
{
  g_return_val_if_fail (run != NULL && func != NULL, 0);
  g_return_val_if_fail (layer >= 0 && layer < run->model->config.n_layers, 0);
  g_return_val_if_fail ((unsigned) point < FS_N_HOOK_POINTS, 0);

  FsHook hook = { ++run->last_hook_id, layer, point, func, user_data, destroy };
  g_array_append_val (run->hooks, hook);
  run->hook_counts[layer * FS_N_HOOK_POINTS + point]++;
  return hook.id;
}

static void
clear_hook (FsHook *hook)
{
  if (hook->destroy != NULL)
    hook->destroy (hook->user_data);
}

void
fs_model_run_remove_hook (FsModelRun *run, guint id)
{
  g_return_if_fail (run != NULL);
  for (guint i = 0; i < run->hooks->len; i++)
    {
      FsHook *hook = &g_array_index (run->hooks, FsHook, i);
      if (hook->id == id)
        {
          run->hook_counts[hook->layer * FS_N_HOOK_POINTS + hook->point]--;
          g_array_remove_index (run->hooks, i);
          return;
        }
    }
  g_return_if_reached ();
}

void
fs_run_call_hooks (FsModelRun *run, int layer, FsHookPoint point, float *data, int64_t n)
{
  FsHookBlock block = { layer, point, run->pos0, n,
                        fs_model_get_hook_width (run->model, point), run->tokens, data };
  for (guint i = 0; i < run->hooks->len; i++)
    {
      const FsHook *hook = &g_array_index (run->hooks, FsHook, i);
      if (hook->layer == layer && hook->point == point)
        hook->func (&block, hook->user_data);
    }
}

/* ---------------------------------------------------------------- runs */

FsModelRun *
fs_model_run_new (FsModel *model, const FsModelRunOptions *options)
{
  const FsModelConfig *c;
  FsModelRun *run;
  size_t chunk = FS_MODEL_CHUNK;

  g_return_val_if_fail (model != NULL, NULL);

  c = &model->config;
  run = g_new0 (FsModelRun, 1);
  run->model = fs_model_ref (model);
  if (options != NULL)
    run->options = *options;
  run->max_context = run->options.max_context > 0
    ? MIN (run->options.max_context, c->max_positions) : c->max_positions;
  run->keys = g_new0 (float *, (size_t) c->n_layers);
  run->values = g_new0 (float *, (size_t) c->n_layers);

  size_t d = (size_t) c->d_model, qd = (size_t) (c->n_heads * c->d_head);
  run->x = g_new (float, chunk * d);
  run->xb = g_new (float, chunk * d);
  run->out = g_new (float, chunk * d);
  run->q = g_new (float, chunk * qd);
  run->z = g_new (float, chunk * qd);
  run->hidden = g_new (float, chunk * (size_t) c->d_mlp);
  if (c->type != FS_MODEL_GPT2)
    {
      run->gate = g_new (float, chunk * (size_t) c->d_mlp);
      run->rope_cos = g_new (float, chunk * (size_t) c->d_head / 2);
      run->rope_sin = g_new (float, chunk * (size_t) c->d_head / 2);
    }
  run->hooks = g_array_new (FALSE, FALSE, sizeof (FsHook));
  g_array_set_clear_func (run->hooks, (GDestroyNotify) clear_hook);
  run->hook_counts = g_new0 (guint, (size_t) c->n_layers * FS_N_HOOK_POINTS);
  return run;
}

void
fs_model_run_free (FsModelRun *run)
{
  if (run == NULL)
    return;
  for (int64_t l = 0; l < run->model->config.n_layers; l++)
    {
      g_free (run->keys[l]);
      g_free (run->values[l]);
    }
  g_free (run->keys);
  g_free (run->values);
  g_free (run->x);
  g_free (run->xb);
  g_free (run->out);
  g_free (run->q);
  g_free (run->z);
  g_free (run->hidden);
  g_free (run->gate);
  g_free (run->rope_cos);
  g_free (run->rope_sin);
  g_free (run->scores);
  g_array_unref (run->hooks);
  g_free (run->hook_counts);
  fs_model_unref (run->model);
  g_free (run);
}

FsModel *
fs_model_run_get_model (FsModelRun *run)
{
  return run->model;
}

int64_t
fs_model_run_get_n_past (FsModelRun *run)
{
  return run->n_past;
}

int64_t
fs_model_run_get_max_context (FsModelRun *run)
{
  return run->max_context;
}

void
fs_model_run_truncate (FsModelRun *run, int64_t n_past)
{
  g_return_if_fail (n_past >= 0 && n_past <= run->n_past);
  run->n_past = n_past;
}

/* Grows the KV cache (and the attention scores, one row per key) to hold
 * `needed` positions, doubling so that decoding reallocates rarely. */
static void
reserve (FsModelRun *run, int64_t needed)
{
  const FsModelConfig *c = &run->model->config;
  size_t kv = (size_t) (c->n_kv_heads * c->d_head);

  if (needed <= run->capacity)
    return;
  run->capacity = MIN (run->max_context, MAX (needed, MAX (2 * run->capacity, 64)));
  for (int64_t l = 0; l < c->n_layers; l++)
    {
      run->keys[l] = g_renew (float, run->keys[l], (size_t) run->capacity * kv);
      run->values[l] = g_renew (float, run->values[l], (size_t) run->capacity * kv);
    }
  g_free (run->scores);
  run->scores = g_new (float, (size_t) c->n_heads * (size_t) run->capacity);
}

gboolean
fs_model_run_forward (FsModelRun *run, const int32_t *tokens, int64_t n_tokens,
                      FsLogitsMode mode, float *logits, GCancellable *cancellable,
                      GError **error)
{
  const FsModelConfig *c;

  g_return_val_if_fail (run != NULL && n_tokens >= 0, FALSE);
  g_return_val_if_fail (mode == FS_LOGITS_NONE || logits != NULL, FALSE);
  g_return_val_if_fail (mode != FS_LOGITS_LAST || n_tokens > 0, FALSE);

  c = &run->model->config;
  for (int64_t i = 0; i < n_tokens; i++)
    if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
      {
        g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                     "%s: token %d is outside the vocabulary of %" G_GINT64_FORMAT,
                     run->model->path, tokens[i], c->vocab_size);
        return FALSE;
      }
  if (n_tokens > run->max_context - run->n_past)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: %" G_GINT64_FORMAT " positions exceed the context of %" G_GINT64_FORMAT,
                   run->model->path, run->n_past + n_tokens, run->max_context);
      return FALSE;
    }

  reserve (run, run->n_past + n_tokens);
  for (int64_t done = 0; done < n_tokens;)
    {
      int64_t n = MIN (FS_MODEL_CHUNK, n_tokens - done);
      gboolean last = done + n == n_tokens;
      float *out = mode == FS_LOGITS_ALL ? logits + done * c->vocab_size
                 : mode == FS_LOGITS_LAST && last ? logits : NULL;

      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (error, FS_ERROR, FS_ERROR_CANCELLED, "%s: cancelled", run->model->path);
          return FALSE;
        }
      run->pos0 = run->n_past;
      run->tokens = tokens + done;
      run->model->arch->forward (run, tokens + done, n, out, mode == FS_LOGITS_ALL);
      run->n_past += n;
      done += n;
    }
  return TRUE;
}
