/* model-layers.c: the building blocks of the forward passes, one small
 * function per operation, on F32 activations [n_tokens, width]. Weight
 * products go through fs_kernel_matmul (stored dtype, in place); sums that
 * set a row's scale (norms, softmax) are accumulated in double. */
#include "model-private.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

void
fs_embed (const FsMatrixView *table, const int32_t *tokens, int64_t n, float *x)
{
  size_t row_bytes = (size_t) table->row_stride * fs_dtype_size (table->dtype);
  for (int64_t i = 0; i < n; i++)
    fs_kernel_to_f32 (table->dtype, table->data + (size_t) tokens[i] * row_bytes, table->cols,
                      x + i * table->cols);
}

void
fs_linear (const FsLinear *linear, const float *x, int64_t n, float *y, int64_t ldy)
{
  int64_t out = linear->weight.cols;
  fs_kernel_matmul (x, n, linear->weight.rows, &linear->weight, y, ldy);
  if (linear->bias != NULL)
    for (int64_t i = 0; i < n; i++)
      fs_add (y + i * ldy, linear->bias, out);
}

void
fs_layer_norm (float *out, const float *x, const float *w, const float *b, int64_t n,
               int64_t d, double eps)
{
  for (int64_t i = 0; i < n; i++)
    {
      const float *row = x + i * d;
      double mean = 0, var = 0;
      for (int64_t j = 0; j < d; j++)
        mean += row[j];
      mean /= d;
      for (int64_t j = 0; j < d; j++)
        var += (row[j] - mean) * (row[j] - mean);
      float inv = (float) (1 / sqrt (var / d + eps));
      for (int64_t j = 0; j < d; j++)
        out[i * d + j] = ((float) (row[j] - mean) * inv) * w[j] + b[j];
    }
}

void
fs_rms_norm (float *out, const float *x, const float *w, int64_t n, int64_t d, double eps,
             gboolean one_plus_w)
{
  for (int64_t i = 0; i < n; i++)
    {
      const float *row = x + i * d;
      double sum = 0;
      for (int64_t j = 0; j < d; j++)
        sum += (double) row[j] * row[j];
      float inv = (float) (1 / sqrt (sum / d + eps));
      for (int64_t j = 0; j < d; j++)
        out[i * d + j] = (row[j] * inv) * (one_plus_w ? 1 + w[j] : w[j]);
    }
}

void
fs_center_rows (float *x, int64_t n, int64_t d)
{
  for (int64_t i = 0; i < n; i++)
    {
      double mean = 0;
      for (int64_t j = 0; j < d; j++)
        mean += x[i * d + j];
      mean /= d;
      for (int64_t j = 0; j < d; j++)
        x[i * d + j] = (float) (x[i * d + j] - mean);
    }
}

void
fs_add (float *x, const float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] += y[i];
}

void
fs_scale (float *x, float factor, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] *= factor;
}

static inline float
activate (FsActivation activation, float x)
{
  switch (activation)
    {
    case FS_ACTIVATION_GELU_TANH:
      /* 0.5 x (1 + tanh(u)) = x sigmoid(2u): the same function, one expf
       * instead of tanhf (a sixth of a GPT-2 prefill went to tanhf). */
      return x / (1 + expf (-1.5957691216057308f * (x + 0.044715f * x * x * x)));
    case FS_ACTIVATION_GELU_ERF:
      return 0.5f * x * (1 + erff (x * (float) M_SQRT1_2));
    case FS_ACTIVATION_SILU:
      return x / (1 + expf (-x));
    }
  g_assert_not_reached ();
}

void
fs_activation (FsActivation activation, float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = activate (activation, x[i]);
}

void
fs_gated_activation (FsActivation activation, float *gate, const float *up, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    gate[i] = activate (activation, gate[i]) * up[i];
}

void
fs_softcap (float *x, float cap, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    x[i] = cap * tanhf (x[i] / cap);
}

/* ---------------------------------------------------------------- RoPE */

float *
fs_rope_inv_freq (const FsModelConfig *c)
{
  int64_t half = c->d_head / 2;
  float *inv = g_new (float, (size_t) half);

  /* transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32. */
  for (int64_t j = 0; j < half; j++)
    inv[j] = 1.0f / powf ((float) c->rope_theta, (float) (2 * j) / (float) c->d_head);

  if (c->rope_original_max_positions > 0)
    {
      /* rope_scaling "llama3": long wavelengths slowed by `factor`, short
       * ones kept, and a smooth blend between the two bands. */
      float factor = (float) c->rope_factor, lo = (float) c->rope_low_freq_factor;
      float hi = (float) c->rope_high_freq_factor;
      float old = (float) c->rope_original_max_positions;
      float low_freq_wavelen = old / lo, high_freq_wavelen = old / hi;
      for (int64_t j = 0; j < half; j++)
        {
          float wavelen = 2 * (float) M_PI / inv[j];
          if (wavelen > low_freq_wavelen)
            inv[j] = inv[j] / factor;
          else if (!(wavelen < high_freq_wavelen))
            {
              float smooth = (old / wavelen - lo) / (hi - lo);
              inv[j] = (1 - smooth) * inv[j] / factor + smooth * inv[j];
            }
        }
    }
  else if (c->rope_factor != 1)
    for (int64_t j = 0; j < half; j++)
      inv[j] /= (float) c->rope_factor;  /* "linear" */
  return inv;
}

void
fs_rope_prepare (FsModelRun *run, int64_t n)
{
  int64_t half = run->model->config.d_head / 2;
  const float *inv = run->model->rope_inv_freq;

  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < half; j++)
      {
        float angle = (float) (run->pos0 + i) * inv[j];
        run->rope_cos[i * half + j] = cosf (angle);
        run->rope_sin[i * half + j] = sinf (angle);
      }
}

void
fs_rope_apply (FsModelRun *run, float *x, int64_t n, int64_t n_heads, int64_t ld)
{
  int64_t d_head = run->model->config.d_head, half = d_head / 2;

  for (int64_t i = 0; i < n; i++)
    {
      const float *cos = run->rope_cos + i * half, *sin = run->rope_sin + i * half;
      for (int64_t h = 0; h < n_heads; h++)
        {
          float *v = x + i * ld + h * d_head;
          for (int64_t j = 0; j < half; j++)
            {
              float a = v[j], b = v[j + half];
              v[j] = a * cos[j] - b * sin[j];
              v[j + half] = b * cos[j] + a * sin[j];
            }
        }
    }
}

/* ---------------------------------------------------------------- attention */

/* Scores s[lo..hi] become probabilities (capped first if softcap > 0), the
 * rest of s[0..len) zero. */
static void
softmax_row (float *s, int64_t len, int64_t lo, int64_t hi, float softcap)
{
  float max = -INFINITY;
  double sum = 0;

  for (int64_t t = lo; t <= hi; t++)
    {
      if (softcap > 0)
        s[t] = softcap * tanhf (s[t] / softcap);
      max = MAX (max, s[t]);
    }
  for (int64_t t = lo; t <= hi; t++)
    {
      s[t] = expf (s[t] - max);
      sum += s[t];
    }
  float inv = (float) (1 / sum);
  for (int64_t t = 0; t < len; t++)
    s[t] = t >= lo && t <= hi ? s[t] * inv : 0;
}

/* First key position that `position` sees. */
static inline int64_t
first_key (int64_t position, int64_t window)
{
  return window > 0 ? MAX (0, position - window + 1) : 0;
}

typedef struct {
  FsModelRun  *run;
  const float *keys, *values;  /* the cache from key t0 on */
  int64_t      t0;
  const float *q;
  float       *z;
  int64_t      n;
  float        scale, softcap;
  int64_t      window;
} Attention;

/* One new token, one head: scores over the cache, then the mix of values. */
static void
attend_one (int64_t h, gpointer data)
{
  const Attention *at = data;
  FsModelRun *run = at->run;
  const FsModelConfig *c = &run->model->config;
  int64_t dh = c->d_head, kv = c->n_kv_heads * dh, g = h / (c->n_heads / c->n_kv_heads) * dh;
  int64_t lo = first_key (run->pos0, at->window) - at->t0, hi = run->pos0 - at->t0;
  const float *qh = at->q + h * dh;
  float *s = run->scores + h * run->capacity, *zh = at->z + h * dh;

  for (int64_t t = lo; t <= hi; t++)
    s[t] = fs_kernel_dot (qh, at->keys + t * kv + g, dh) * at->scale;
  softmax_row (s + lo, hi - lo + 1, 0, hi - lo, at->softcap);
  memset (zh, 0, (size_t) dh * sizeof (float));
  for (int64_t t = lo; t <= hi; t++)
    fs_kernel_axpy (s[t], at->values + t * kv + g, zh, dh);
}

/* Query rows per item of a chunk's attention. */
#define QUERY_BLOCK 32

/* A block of a chunk's query rows, one head: scores against the keys the
 * block can see and the mix of values, as two products. */
static void
attend_block (int64_t item, gpointer data)
{
  const Attention *at = data;
  FsModelRun *run = at->run;
  const FsModelConfig *c = &run->model->config;
  int64_t n_blocks = (at->n + QUERY_BLOCK - 1) / QUERY_BLOCK;
  int64_t h = item / n_blocks, i0 = item % n_blocks * QUERY_BLOCK;
  int64_t rows = MIN (QUERY_BLOCK, at->n - i0);
  int64_t dh = c->d_head, qd = c->n_heads * dh, kv = c->n_kv_heads * dh;
  int64_t g = h / (c->n_heads / c->n_kv_heads) * dh;
  int64_t lo = first_key (run->pos0 + i0, at->window) - at->t0;
  int64_t len = run->pos0 + i0 + rows - at->t0 - lo;
  /* Keys as [d_head, len] (stored one per row) and values as [len, d_head]. */
  FsMatrixView keys = { (const uint8_t *) (at->keys + lo * kv + g), FS_DTYPE_F32, dh, len, 1, kv };
  FsMatrixView values = { (const uint8_t *) (at->values + lo * kv + g), FS_DTYPE_F32, len, dh,
                          kv, 1 };
  g_autofree float *s = g_new (float, (size_t) (rows * len));

  fs_kernel_matmul (at->q + i0 * qd + h * dh, rows, qd, &keys, s, len);
  fs_scale (s, at->scale, rows * len);
  for (int64_t i = 0; i < rows; i++)
    {
      int64_t position = run->pos0 + i0 + i;
      softmax_row (s + i * len, len, first_key (position, at->window) - at->t0 - lo,
                   position - at->t0 - lo, at->softcap);
    }
  fs_kernel_matmul (s, rows, len, &values, at->z + i0 * qd + h * dh, qd);
}

void
fs_attention (FsModelRun *run, int layer, const float *q, float *z, int64_t n, float scale,
              float softcap, int64_t window)
{
  const FsModelConfig *c = &run->model->config;
  int64_t kv = c->n_kv_heads * c->d_head, t0 = first_key (run->pos0, window);
  int64_t work = c->n_heads * n * (run->pos0 + n - t0) * c->d_head;
  Attention at = { run, run->keys[layer] + t0 * kv, run->values[layer] + t0 * kv, t0, q, z, n,
                   scale, softcap, window };

  /* Every (head, block of rows) is computed whole by one thread, in a
   * fixed order: results do not depend on the number of threads. */
  if (n == 1)
    fs_kernel_parallel_for (c->n_heads, work, attend_one, &at);
  else
    fs_kernel_parallel_for (c->n_heads * ((n + QUERY_BLOCK - 1) / QUERY_BLOCK), work,
                            attend_block, &at);
}
