/* bench-util.c: what the benchmarks share (see bench-util.h). */
#include "bench-util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ random */

float
bench_random (guint64 *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return (float) ((*state >> 40) * 0x1.0p-24 * 2 - 1);
}

void
bench_fill_random (guint64 *state, float scale, float offset, FsDtype dtype, size_t n,
                   uint8_t *out)
{
  for (size_t i = 0; i < n; i++)
    {
      float value = offset + scale * bench_random (state);
      if (dtype == FS_DTYPE_F32)
        memcpy (out + 4 * i, &value, 4);
      else
        {
          uint16_t bits = fs_f32_to_bf16 (value);
          memcpy (out + 2 * i, &bits, 2);
        }
    }
}

/* ------------------------------------------------------------ files */

GString *
bench_safetensors_header (BenchTensor *tensors, int n, FsDtype dtype)
{
  GString *header = g_string_new ("{");
  size_t offset = 0, size = fs_dtype_size (dtype);

  for (int i = 0; i < n; i++)
    {
      BenchTensor *t = &tensors[i];
      t->offset = offset;
      t->bytes = (size_t) t->rows * (size_t) MAX (t->cols, 1) * size;
      g_string_append_printf (header, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%" G_GINT64_FORMAT,
                              i ? "," : "", t->name, fs_dtype_name (dtype), t->rows);
      if (t->cols > 0)
        g_string_append_printf (header, ",%" G_GINT64_FORMAT, t->cols);
      g_string_append_printf (header, "],\"data_offsets\":[%zu,%zu]}", offset,
                              offset + t->bytes);
      offset += t->bytes;
    }
  g_string_append_c (header, '}');
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  return header;
}

#define LAYERS BENCH_GPT2_LAYERS
#define D      BENCH_GPT2_D
#define VOCAB  BENCH_GPT2_VOCAB

size_t
bench_write_gpt2 (const char *dir, FsDtype dtype, guint64 *state)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  BenchTensor tensors[4 + LAYERS * 12];
  float scales[G_N_ELEMENTS (tensors)], offsets[G_N_ELEMENTS (tensors)];
  int n = 0;
#define ADD(r, c, s, o, ...) \
  { char *nm = g_strdup_printf (__VA_ARGS__); g_ptr_array_add (names, nm); \
    tensors[n] = (BenchTensor) { nm, r, c, 0, 0 }; scales[n] = s; offsets[n++] = o; }
  ADD (VOCAB, D, 0.1f, 0, "wte.weight");
  ADD (BENCH_GPT2_POSITIONS, D, 0.02f, 0, "wpe.weight");
  ADD (D, 0, 0.1f, 1, "ln_f.weight");
  ADD (D, 0, 0.1f, 0, "ln_f.bias");
  for (int l = 0; l < LAYERS; l++)
    {
      ADD (D, 0, 0.1f, 1, "h.%d.ln_1.weight", l);
      ADD (D, 0, 0.1f, 0, "h.%d.ln_1.bias", l);
      ADD (D, 3 * D, 0.06f, 0, "h.%d.attn.c_attn.weight", l);
      ADD (3 * D, 0, 0.1f, 0, "h.%d.attn.c_attn.bias", l);
      ADD (D, D, 0.06f, 0, "h.%d.attn.c_proj.weight", l);
      ADD (D, 0, 0.1f, 0, "h.%d.attn.c_proj.bias", l);
      ADD (D, 0, 0.1f, 1, "h.%d.ln_2.weight", l);
      ADD (D, 0, 0.1f, 0, "h.%d.ln_2.bias", l);
      ADD (D, 4 * D, 0.06f, 0, "h.%d.mlp.c_fc.weight", l);
      ADD (4 * D, 0, 0.1f, 0, "h.%d.mlp.c_fc.bias", l);
      ADD (4 * D, D, 0.03f, 0, "h.%d.mlp.c_proj.weight", l);
      ADD (D, 0, 0.1f, 0, "h.%d.mlp.c_proj.bias", l);
    }
#undef ADD
  g_autoptr(GString) header = bench_safetensors_header (tensors, n, dtype);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree uint8_t *buffer = g_malloc ((size_t) VOCAB * D * 4);   /* wte in F32 */
  uint64_t n_header = header->len;

  g_mkdir_with_parents (dir, 0755);
  FILE *f = fopen (path, "wb");
  g_assert_nonnull (f);
  fwrite (&n_header, 8, 1, f);
  fwrite (header->str, 1, header->len, f);
  for (int i = 0; i < n; i++)
    {
      bench_fill_random (state, scales[i], offsets[i], dtype,
                         tensors[i].bytes / fs_dtype_size (dtype), buffer);
      fwrite (buffer, 1, tensors[i].bytes, f);
    }
  /* On disk before timing: write-back running beside the benchmark slows it. */
  fflush (f);
  fsync (fileno (f));
  fclose (f);

  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *json = g_strdup_printf (
    "{\"model_type\":\"gpt2\",\"vocab_size\":%d,\"n_positions\":%d,\"n_embd\":%d,"
    "\"n_layer\":%d,\"n_head\":12,\"layer_norm_epsilon\":1e-5,"
    "\"activation_function\":\"gelu_new\",\"bos_token_id\":50256,\"eos_token_id\":50256}",
    VOCAB, BENCH_GPT2_POSITIONS, D, LAYERS);
  g_file_set_contents (config, json, -1, NULL);
  return tensors[n - 1].offset + tensors[n - 1].bytes;
}

void
bench_write_random_sae (const char *folder, int layer, const char *hook, int d_in, int d_sae,
                        FsDtype dtype, guint64 *state)
{
  g_autofree char *cfg_path = g_build_filename (folder, "cfg.json", NULL);
  g_autofree char *weights = g_build_filename (folder, "sae_weights.safetensors", NULL);
  const char *name = fs_dtype_name (dtype);
  size_t size = fs_dtype_size (dtype), n = (size_t) d_sae * d_in;
  size_t dec = n * size, b_enc = d_sae * size, b_dec = d_in * size, enc = dec;
  g_autofree char *header = g_strdup_printf (
    "{\"W_dec\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]},"
    "\"b_enc\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]},"
    "\"b_dec\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]},"
    "\"W_enc\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}}",
    name, d_sae, d_in, dec, name, d_sae, dec, dec + b_enc, name, d_in, dec + b_enc,
    dec + b_enc + b_dec, name, d_in, d_sae, dec + b_enc + b_dec, dec + b_enc + b_dec + enc);
  g_autofree char *cfg = g_strdup_printf (
    "{\"architecture\":\"standard\",\"d_in\":%d,\"d_sae\":%d,\"metadata\":"
    "{\"sae_lens_version\":\"6.0.0\",\"hook_name\":\"blocks.%d.%s\"}}", d_in, d_sae, layer,
    hook);
  guint64 header_len = strlen (header);
  g_autofree uint8_t *data = g_malloc (dec);

  bench_fill_random (state, 1, 0, dtype, n, data);
  g_mkdir_with_parents (folder, 0755);
  g_assert_true (g_file_set_contents (cfg_path, cfg, -1, NULL));
  FILE *f = fopen (weights, "wb");
  g_assert_nonnull (f);
  fwrite (&header_len, 8, 1, f);
  fwrite (header, 1, header_len, f);
  fwrite (data, 1, dec, f);
  g_autofree uint8_t *zeros = g_malloc0 (b_enc + b_dec);
  fwrite (zeros, 1, b_enc + b_dec, f);
  fflush (f);
  g_assert_cmpint (ftruncate (fileno (f), (off_t) (8 + header_len + dec + b_enc + b_dec + enc)),
                   ==, 0);
  fclose (f);
}

/* ------------------------------------------------------------ runs */

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double
bench_median (double *values, int n)
{
  qsort (values, (size_t) n, sizeof (double), compare_doubles);
  return values[n / 2];
}

void
bench_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          bench_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}
