#include "sae-private.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "model.h"

static const char *site_names[] = { "res", "mlp", "att" };
static const char *format_names[] = { "saelens", "gemmascope", "llamascope" };
static const char *architecture_names[] = { "standard", "jumprelu", "topk", "gated" };

const char *
fs_site_name (FsSite site)
{
  g_return_val_if_fail ((size_t) site < G_N_ELEMENTS (site_names), "?");
  return site_names[site];
}

gboolean
fs_site_from_name (const char *name, FsSite *out)
{
  for (size_t i = 0; i < G_N_ELEMENTS (site_names); i++)
    if (g_strcmp0 (name, site_names[i]) == 0)
      {
        *out = (FsSite) i;
        return TRUE;
      }
  return FALSE;
}

const char *
fs_sae_format_name (FsSaeFormat format)
{
  g_return_val_if_fail ((size_t) format < G_N_ELEMENTS (format_names), "?");
  return format_names[format];
}

const char *
fs_architecture_name (FsArchitecture arch)
{
  g_return_val_if_fail ((size_t) arch < G_N_ELEMENTS (architecture_names), "?");
  return architecture_names[arch];
}

char *
fs_position_id (int layer, FsSite site)
{
  if (layer == FS_LAYER_EMBED)
    return g_strdup_printf ("embed/%s", fs_site_name (site));
  return g_strdup_printf ("%d/%s", layer, fs_site_name (site));
}

gboolean
fs_hook_name_to_position (const char *hook_name, int *layer, FsSite *site,
                          gboolean *is_hook_z)
{
  static const struct {
    const char *suffix;
    FsSite site;
    gboolean hook_z;
    int layer_offset;  /* resid_pre of block L is the residual after L - 1 */
  } hooks[] = {
    { ".hook_resid_post", FS_SITE_RES, FALSE, 0 },
    { ".hook_resid_pre", FS_SITE_RES, FALSE, -1 },
    { ".hook_mlp_out", FS_SITE_MLP, FALSE, 0 },
    { ".hook_attn_out", FS_SITE_ATT, FALSE, 0 },
    { ".attn.hook_z", FS_SITE_ATT, TRUE, 0 },
  };

  if (hook_name == NULL || !g_str_has_prefix (hook_name, "blocks."))
    return FALSE;
  const char *digits = hook_name + strlen ("blocks.");
  char *end = NULL;
  if (!g_ascii_isdigit (*digits))
    return FALSE;
  guint64 block = g_ascii_strtoull (digits, &end, 10);
  if (block > 100000)
    return FALSE;

  for (size_t i = 0; i < G_N_ELEMENTS (hooks); i++)
    if (strcmp (end, hooks[i].suffix) == 0)
      {
        *layer = (int) block + hooks[i].layer_offset;
        *site = hooks[i].site;
        *is_hook_z = hooks[i].hook_z;
        return TRUE;
      }
  return FALSE;
}

FsSae *
fs_sae_new_empty (const char *path, FsSaeFormat format)
{
  FsSae *sae = g_new0 (FsSae, 1);
  g_atomic_ref_count_init (&sae->ref_count);
  sae->path = g_strdup (path);
  sae->format = format;
  sae->apply_b_dec_to_input = TRUE;
  sae->average_l0 = -1;
  sae->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (sae->warnings, NULL);
  return sae;
}

void
fs_sae_add_warning (FsSae *sae, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  /* Keep the array NULL-terminated: replace the terminator, then re-add it. */
  g_ptr_array_index (sae->warnings, sae->warnings->len - 1) = g_strdup_vprintf (format, args);
  g_ptr_array_add (sae->warnings, NULL);
  va_end (args);
}

FsSae *
fs_sae_ref (FsSae *sae)
{
  g_return_val_if_fail (sae != NULL, NULL);
  g_atomic_ref_count_inc (&sae->ref_count);
  return sae;
}

void
fs_sae_unref (FsSae *sae)
{
  if (sae == NULL || !g_atomic_ref_count_dec (&sae->ref_count))
    return;
  g_clear_pointer (&sae->weights, fs_tensor_file_unref);
  g_ptr_array_unref (sae->warnings);
  g_free (sae->b_enc);
  g_free (sae->b_dec);
  g_free (sae->threshold);
  g_free (sae->b_gate);
  g_free (sae->r_mag);
  g_free (sae->b_mag);
  g_free (sae->encoder_scale);
  g_free (sae->decoder_scale);
  g_free (sae->stored_row_norms);
  g_free (sae->decoder_norms);
  g_free (sae->projected_norms);
  g_clear_pointer (&sae->projection_model, fs_model_unref);
  g_free (sae->neuronpedia_id);
  g_free (sae->hook_name);
  g_free (sae->path);
  g_free (sae);
}

const char *fs_sae_get_path (FsSae *sae) { return sae->path; }
FsSaeFormat fs_sae_get_format (FsSae *sae) { return sae->format; }
FsArchitecture fs_sae_get_architecture (FsSae *sae) { return sae->architecture; }
int fs_sae_get_layer (FsSae *sae) { return sae->layer; }
FsSite fs_sae_get_site (FsSae *sae) { return sae->site; }
gboolean fs_sae_is_hook_z (FsSae *sae) { return sae->hook_z; }
const char *fs_sae_get_hook_name (FsSae *sae) { return sae->hook_name; }
int64_t fs_sae_get_d_in (FsSae *sae) { return sae->d_in; }
int64_t fs_sae_get_d_sae (FsSae *sae) { return sae->d_sae; }
FsDtype fs_sae_get_dtype (FsSae *sae) { return sae->decoder.dtype; }
int fs_sae_get_k (FsSae *sae) { return sae->k; }
FsNormalization fs_sae_get_normalization (FsSae *sae) { return sae->normalization; }
gboolean fs_sae_get_apply_b_dec_to_input (FsSae *sae) { return sae->apply_b_dec_to_input; }
int fs_sae_get_average_l0 (FsSae *sae) { return sae->average_l0; }
const char *fs_sae_get_neuronpedia_id (FsSae *sae) { return sae->neuronpedia_id; }
int64_t fs_sae_get_seqpos_start (FsSae *sae) { return sae->seqpos_start; }
FsMatrixView fs_sae_get_encoder (FsSae *sae) { return sae->encoder; }
FsMatrixView fs_sae_get_decoder (FsSae *sae) { return sae->decoder; }
const float *fs_sae_get_threshold (FsSae *sae) { return sae->threshold; }

const char * const *
fs_sae_get_warnings (FsSae *sae)
{
  return (const char * const *) sae->warnings->pdata;
}

/* One pass over the stored decoder for its row norms; formats whose scales
 * depend on them (Llama Scope) finish their set-up here. */
static void
sae_prepare (FsSae *sae)
{
  if (!g_once_init_enter (&sae->prepared))
    return;

  int64_t d_sae = sae->d_sae, d_in = sae->d_in;
  g_autofree float *row = g_new (float, (size_t) d_in);
  sae->stored_row_norms = g_new (float, (size_t) d_sae);
  for (int64_t i = 0; i < d_sae; i++)
    {
      double sum = 0;
      fs_matrix_view_read_row (&sae->decoder, i, row);
      for (int64_t j = 0; j < d_in; j++)
        sum += (double) row[j] * row[j];
      sae->stored_row_norms[i] = (float) sqrt (sum);
    }
  if (sae->finish_prepare != NULL)
    sae->finish_prepare (sae);
  if (sae->decoder_scale == NULL)
    {
      sae->decoder_scale = g_new (float, (size_t) d_sae);
      for (int64_t i = 0; i < d_sae; i++)
        sae->decoder_scale[i] = 1.0f;
    }
  sae->decoder_norms = g_new (float, (size_t) d_sae);
  for (int64_t i = 0; i < d_sae; i++)
    sae->decoder_norms[i] = fabsf (sae->decoder_scale[i]) * sae->stored_row_norms[i];

  g_once_init_leave (&sae->prepared, 1);
}

const float *
fs_sae_get_decoder_scale (FsSae *sae)
{
  sae_prepare (sae);
  return sae->decoder_scale;
}

const float *
fs_sae_get_decoder_norms (FsSae *sae)
{
  sae_prepare (sae);
  return sae->decoder_norms;
}

void
fs_sae_read_unit_decoder_rows (FsSae *sae, int64_t first, int64_t n, float *out)
{
  g_return_if_fail (first >= 0 && n >= 0 && first + n <= sae->d_sae);
  sae_prepare (sae);
  fs_matrix_view_read_block (&sae->decoder, first, n, 0, sae->d_in, out);
  for (int64_t r = 0; r < n; r++)
    {
      float norm = sae->decoder_norms[first + r];
      float factor = norm > 0 ? sae->decoder_scale[first + r] / norm : 0.0f;
      for (int64_t j = 0; j < sae->d_in; j++)
        out[r * sae->d_in + j] *= factor;
    }
}

void
fs_sae_get_unit_decoder_row (FsSae *sae, int64_t index, float *out)
{
  fs_sae_read_unit_decoder_rows (sae, index, 1, out);
}

/* Per-row affine normalisation x_norm = (x - shift) * scale, kept to undo it. */
typedef struct {
  float scale, shift;
} RowNorm;

static RowNorm
row_normalization (FsSae *sae, const float *x)
{
  int64_t d = sae->d_in;
  RowNorm norm = { 1.0f, 0.0f };

  if (sae->normalization == FS_NORM_CONSTANT_NORM_RESCALE)
    {
      double sum = 0;
      for (int64_t j = 0; j < d; j++)
        sum += (double) x[j] * x[j];
      norm.scale = sum > 0 ? (float) (sqrt ((double) d) / sqrt (sum)) : 1.0f;
    }
  else if (sae->normalization == FS_NORM_LAYER_NORM)
    {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < d; j++)
        mean += x[j];
      mean /= d;
      for (int64_t j = 0; j < d; j++)
        var += (x[j] - mean) * (x[j] - mean);
      /* Unbiased std, as torch.std; eps outside the root, as SAELens. */
      double std = d > 1 ? sqrt (var / (d - 1)) : 0.0;
      norm.shift = (float) mean;
      norm.scale = (float) (1.0 / (std + 1e-5));
    }
  return norm;
}

static void
activate_topk (const FsSae *sae, float *z)
{
  int64_t d = sae->d_sae;
  int64_t k = MIN ((int64_t) sae->k, d);
  g_autofree int64_t *kept = g_new (int64_t, (size_t) MAX (k, 1));
  int64_t n_kept = 0;

  /* Insertion into a small sorted list: k is tens to hundreds. Ties keep
   * the lower index, as torch.topk does on CPU in practice. */
  for (int64_t i = 0; i < d; i++)
    {
      if (n_kept == k && !(z[i] > z[kept[k - 1]]))
        continue;
      int64_t pos = n_kept < k ? n_kept++ : k - 1;
      while (pos > 0 && z[i] > z[kept[pos - 1]])
        {
          kept[pos] = kept[pos - 1];
          pos--;
        }
      kept[pos] = i;
    }

  g_autofree float *values = g_new (float, (size_t) MAX (n_kept, 1));
  for (int64_t j = 0; j < n_kept; j++)
    values[j] = MAX (z[kept[j]], 0.0f);
  memset (z, 0, (size_t) d * sizeof (float));
  for (int64_t j = 0; j < n_kept; j++)
    z[kept[j]] = values[j];
}

/* One latent from its pre-activation without bias (x_in . W_enc[:, i]).
 * For TopK this is only the candidate value: activate_topk selects. */
static inline float
activate_one (const FsSae *sae, int64_t i, float pre)
{
  pre *= sae->encoder_scale ? sae->encoder_scale[i] : 1.0f;
  switch (sae->architecture)
    {
    case FS_ARCH_STANDARD:
      return MAX (pre + sae->b_enc[i], 0.0f);
    case FS_ARCH_JUMPRELU:
      pre += sae->b_enc[i];
      return pre > sae->threshold[i] ? pre : 0.0f;
    case FS_ARCH_GATED:
      {
        gboolean open = pre + sae->b_gate[i] > 0;
        float magnitude = expf (sae->r_mag[i]) * pre + sae->b_mag[i];
        return open ? MAX (magnitude, 0.0f) : 0.0f;
      }
    case FS_ARCH_TOPK:
      pre += sae->b_enc[i];
      if (sae->rescale_acts_by_decoder_norm)
        pre *= sae->stored_row_norms[i];
      return pre;
    }
  g_assert_not_reached ();
}

/* Turns the pre-activations of one row (x_in W_enc, no bias) into z. */
static void
activate_row (const FsSae *sae, float *z)
{
  for (int64_t i = 0; i < sae->d_sae; i++)
    z[i] = activate_one (sae, i, z[i]);
  if (sae->architecture == FS_ARCH_TOPK)
    activate_topk (sae, z);
}

/* x_in [n, d_in] = normalise(x) - b_dec (when applied): what W_enc multiplies. */
static void
prepare_input (FsSae *sae, const float *x, int64_t n, float *x_in)
{
  int64_t d_in = sae->d_in;

  for (int64_t t = 0; t < n; t++)
    {
      const float *row = x + t * d_in;
      float *out = x_in + t * d_in;
      RowNorm norm = row_normalization (sae, row);
      for (int64_t j = 0; j < d_in; j++)
        {
          out[j] = (row[j] - norm.shift) * norm.scale;
          if (sae->apply_b_dec_to_input)
            out[j] -= sae->b_dec[j];
        }
    }
}

void
fs_sae_encode (FsSae *sae, const float *x, int64_t n, float *z)
{
  g_autofree float *x_in = g_new (float, (size_t) MAX (n * sae->d_in, 1));

  sae_prepare (sae);
  prepare_input (sae, x, n, x_in);
  fs_matrix_multiply (x_in, n, &sae->encoder, z, sae->d_sae);
  for (int64_t t = 0; t < n; t++)
    activate_row (sae, z + t * sae->d_sae);
}

void
fs_sae_read_encoder_columns (FsSae *sae, const int64_t *indices, int64_t n_indices,
                             float *out)
{
  for (int64_t k = 0; k < n_indices; k++)
    {
      g_return_if_fail (indices[k] >= 0 && indices[k] < sae->d_sae);
      fs_matrix_view_read_block (&sae->encoder, 0, sae->d_in, indices[k], 1,
                                 out + k * sae->d_in);
    }
}

/* Rows of TopK latents encoded at once: bounds the scratch to 16 MB. */
#define TOPK_ROWS_BYTES (16 << 20)

void
fs_sae_encode_features (FsSae *sae, const float *x, int64_t n, const int64_t *indices,
                        int64_t n_indices, const float *columns, float *z)
{
  int64_t d_in = sae->d_in, d_sae = sae->d_sae;

  sae_prepare (sae);
  if (sae->architecture == FS_ARCH_TOPK)
    {
      /* Whether a feature is among the top k depends on every latent. */
      int64_t rows = CLAMP (TOPK_ROWS_BYTES / (d_sae * (int64_t) sizeof (float)), 1, MAX (n, 1));
      g_autofree float *full = g_new (float, (size_t) (rows * d_sae));
      for (int64_t t0 = 0; t0 < n; t0 += rows)
        {
          int64_t m = MIN (rows, n - t0);
          fs_sae_encode (sae, x + t0 * d_in, m, full);
          for (int64_t t = 0; t < m; t++)
            for (int64_t k = 0; k < n_indices; k++)
              z[(t0 + t) * n_indices + k] = full[t * d_sae + indices[k]];
        }
      return;
    }

  g_autofree float *own = NULL;
  if (columns == NULL)
    {
      own = g_new (float, (size_t) MAX (n_indices * d_in, 1));
      fs_sae_read_encoder_columns (sae, indices, n_indices, own);
      columns = own;
    }
  g_autofree float *x_in = g_new (float, (size_t) MAX (n * d_in, 1));
  prepare_input (sae, x, n, x_in);
  for (int64_t t = 0; t < n; t++)
    for (int64_t k = 0; k < n_indices; k++)
      {
        const float *row = x_in + t * d_in, *column = columns + k * d_in;
        double pre = 0;
        for (int64_t j = 0; j < d_in; j++)
          pre += (double) row[j] * column[j];
        z[t * n_indices + k] = activate_one (sae, indices[k], (float) pre);
      }
}

void
fs_sae_input_gain (FsSae *sae, const float *x, int64_t n, float *gain)
{
  for (int64_t t = 0; t < n; t++)
    gain[t] = 1.0f / row_normalization (sae, x + t * sae->d_in).scale;
}

void
fs_sae_get_decoder_direction (FsSae *sae, int64_t index, float *out)
{
  g_return_if_fail (index >= 0 && index < sae->d_sae);
  sae_prepare (sae);
  /* The factor fs_sae_decode puts on z[index] before W_dec. */
  float factor = sae->decoder_scale[index];
  if (sae->architecture == FS_ARCH_TOPK && sae->rescale_acts_by_decoder_norm)
    factor = sae->stored_row_norms[index] > 0 ? factor / sae->stored_row_norms[index] : 0.0f;
  fs_matrix_view_read_row (&sae->decoder, index, out);
  for (int64_t j = 0; j < sae->d_in; j++)
    out[j] *= factor;
}

void
fs_sae_decode (FsSae *sae, const float *z, const float *x, int64_t n, float *x_hat)
{
  int64_t d_in = sae->d_in, d_sae = sae->d_sae;
  gboolean needs_input = sae->normalization == FS_NORM_CONSTANT_NORM_RESCALE
                         || sae->normalization == FS_NORM_LAYER_NORM;
  g_autofree float *scaled = g_new (float, (size_t) MAX (n * d_sae, 1));

  g_return_if_fail (x != NULL || !needs_input);
  sae_prepare (sae);
  for (int64_t t = 0; t < n; t++)
    for (int64_t i = 0; i < d_sae; i++)
      {
        float value = z[t * d_sae + i] * sae->decoder_scale[i];
        if (sae->architecture == FS_ARCH_TOPK && sae->rescale_acts_by_decoder_norm)
          value = sae->stored_row_norms[i] > 0 ? value / sae->stored_row_norms[i] : 0.0f;
        scaled[t * d_sae + i] = value;
      }

  fs_matrix_multiply (scaled, n, &sae->decoder, x_hat, d_in);
  for (int64_t t = 0; t < n; t++)
    {
      RowNorm norm = needs_input ? row_normalization (sae, x + t * d_in) : (RowNorm) { 1, 0 };
      float *out = x_hat + t * d_in;
      for (int64_t j = 0; j < d_in; j++)
        out[j] = (out[j] + sae->b_dec[j]) / norm.scale + norm.shift;
    }
}

const FsTensor *
fs_sae_optional_tensor (FsSae *sae, FsTensorFile *weights, const char *name, int n_dims,
                        int64_t dim0, int64_t dim1, GError **error)
{
  const FsTensor *tensor = fs_tensor_file_lookup (weights, name);
  if (tensor == NULL)
    return NULL;

  int64_t want[2] = { dim0, dim1 };
  gboolean ok = tensor->n_dims == n_dims;
  for (int i = 0; ok && i < n_dims && i < 2; i++)
    ok = want[i] < 0 || tensor->shape[i] == want[i];
  if (!ok)
    {
      g_autofree char *shape = fs_shape_to_string (tensor->n_dims, tensor->shape);
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: tensor “%s” has shape %s, which does not fit d_in = %" G_GINT64_FORMAT
                   ", d_sae = %" G_GINT64_FORMAT,
                   fs_tensor_file_get_path (weights), name, shape, sae->d_in, sae->d_sae);
      return NULL;
    }
  return tensor;
}

const FsTensor *
fs_sae_require_tensor (FsSae *sae, FsTensorFile *weights, const char *name, int n_dims,
                       int64_t dim0, int64_t dim1, GError **error)
{
  GError *local_error = NULL;
  const FsTensor *tensor = fs_sae_optional_tensor (sae, weights, name, n_dims, dim0, dim1,
                                                   &local_error);
  if (tensor == NULL && local_error == NULL)
    g_set_error (&local_error, FS_ERROR, FS_ERROR_NOT_FOUND,
                 "%s: tensor “%s” is missing", fs_tensor_file_get_path (weights), name);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return tensor;
}

float *
fs_tensor_to_f32_vector (const FsTensor *tensor)
{
  float *out = g_new (float, (size_t) MAX (tensor->n_elements, 1));
  fs_dtype_to_f32 (tensor->dtype, tensor->data, (size_t) tensor->n_elements, out);
  return out;
}

FsMatrixView
fs_matrix_view_of (const FsTensor *tensor, gboolean transpose)
{
  g_assert (tensor->n_dims == 2);
  FsMatrixView view = {
    .data = tensor->data,
    .dtype = tensor->dtype,
    .rows = tensor->shape[0],
    .cols = tensor->shape[1],
    .row_stride = tensor->shape[1],
    .col_stride = 1,
  };
  if (transpose)
    {
      view.rows = tensor->shape[1];
      view.cols = tensor->shape[0];
      view.row_stride = 1;
      view.col_stride = tensor->shape[1];
    }
  return view;
}

gboolean
fs_sae_validate (FsSae *sae, GError **error)
{
  const char *missing = NULL;

  if (sae->d_in <= 0 || sae->d_sae <= 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: d_in and d_sae must be positive (got %" G_GINT64_FORMAT
                   " and %" G_GINT64_FORMAT ")", sae->path, sae->d_in, sae->d_sae);
      return FALSE;
    }
  if (sae->encoder.rows != sae->d_in || sae->encoder.cols != sae->d_sae
      || sae->decoder.rows != sae->d_sae || sae->decoder.cols != sae->d_in)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: encoder and decoder shapes do not match d_in = %" G_GINT64_FORMAT
                   ", d_sae = %" G_GINT64_FORMAT, sae->path, sae->d_in, sae->d_sae);
      return FALSE;
    }
  if (sae->b_dec == NULL)
    missing = "b_dec";
  else if (sae->architecture != FS_ARCH_GATED && sae->b_enc == NULL)
    missing = "b_enc";
  else if (sae->architecture == FS_ARCH_JUMPRELU && sae->threshold == NULL)
    missing = "threshold";
  else if (sae->architecture == FS_ARCH_GATED
           && (sae->b_gate == NULL || sae->r_mag == NULL || sae->b_mag == NULL))
    missing = "b_gate, r_mag or b_mag";
  if (missing != NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND,
                   "%s: a %s SAE needs %s, which is missing", sae->path,
                   fs_architecture_name (sae->architecture), missing);
      return FALSE;
    }
  if (sae->architecture == FS_ARCH_TOPK && (sae->k <= 0 || sae->k > sae->d_sae))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: topk SAE needs 0 < k <= d_sae (k = %d)", sae->path, sae->k);
      return FALSE;
    }
  return TRUE;
}

FsSae *
fs_sae_load (const char *folder, const FsSaeLoadOptions *options, GError **error)
{
  g_autofree char *cfg = g_build_filename (folder, "cfg.json", NULL);
  g_autofree char *npz = g_build_filename (folder, "params.npz", NULL);
  g_autofree char *hyper = g_build_filename (folder, "hyperparams.json", NULL);

  if (g_file_test (cfg, G_FILE_TEST_EXISTS))
    return fs_sae_load_saelens (folder, error);
  if (g_file_test (npz, G_FILE_TEST_EXISTS))
    return fs_sae_load_gemmascope (folder, error);
  if (g_file_test (hyper, G_FILE_TEST_EXISTS))
    return fs_sae_load_llamascope (folder, options, error);

  g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND,
               "%s: not an SAE folder (no cfg.json, params.npz or hyperparams.json)",
               folder);
  return NULL;
}
