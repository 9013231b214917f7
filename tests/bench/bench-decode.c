/* bench-decode.c: prefill and decode speed of the transformer runtime on a
 * GPT-2-small-shaped model with random weights (12 layers, d = 768, vocab
 * 50257, Conv1D layout, tied head), in F32 and BF16.
 *
 * Same-run references, because the machines are shared and noisy:
 *  - decode against one pass over all the weights' bytes on all cores (the
 *    memory-bandwidth bound of decoding one token: ratio 1 is ideal);
 *  - prefill against bare sgemm of the MLP's shape ([n, 768] x [768, 3072],
 *    F32 in place), in GFLOP/s.
 *
 * Usage: bench-decode [WORK_DIR] [PROMPT_TOKENS] [DECODE_TOKENS] [RUNS]
 */
#include <cblas.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench-util.h"
#include "dtype.h"
#include "kernels.h"
#include "model.h"

#define LAYERS BENCH_GPT2_LAYERS
#define D      BENCH_GPT2_D
#define VOCAB  BENCH_GPT2_VOCAB

static guint64 rng_state = 0x853c49e6748fea9bull;

typedef struct {
  const uint8_t *data;
  size_t         n;
  uint64_t       sums[4096];
} Pass;

#define PASS_ITEM (1 << 20)

static void
pass_item (int64_t item, gpointer user_data)
{
  Pass *pass = user_data;
  size_t end = MIN (pass->n, (size_t) (item + 1) * PASS_ITEM);
  uint64_t total = 0;
  for (size_t i = (size_t) item * PASS_ITEM; i + 32 <= end; i += 32)
    {
      uint64_t w[4];
      memcpy (w, pass->data + i, 32);
      total += w[0] ^ w[1] ^ w[2] ^ w[3];
    }
  pass->sums[item % 4096] += total;
}

/* Seconds for one pass over the model file's bytes on all cores, with the
 * same helper threads as the kernels. */
static double
stream_pass (const uint8_t *data, size_t n)
{
  static Pass pass;
  double start = g_get_monotonic_time () / 1e6;
  pass.data = data;
  pass.n = n;
  fs_kernel_parallel_for ((int64_t) ((n + PASS_ITEM - 1) / PASS_ITEM), (int64_t) n, pass_item,
                          &pass);
  return g_get_monotonic_time () / 1e6 - start;
}

/* GFLOP/s of sgemm [n, 768] x [768, 3072]. */
static double
sgemm_gflops (int n)
{
  g_autofree float *a = g_new (float, (size_t) n * D);
  g_autofree float *b = g_new (float, (size_t) D * 4 * D);
  g_autofree float *c = g_new (float, (size_t) n * 4 * D);
  double best = 0;
  for (size_t i = 0; i < (size_t) n * D; i++)
    a[i] = bench_random (&rng_state);
  for (size_t i = 0; i < (size_t) D * 4 * D; i++)
    b[i] = bench_random (&rng_state);
  for (int r = 0; r < 7; r++)
    {
      double start = g_get_monotonic_time () / 1e6;
      for (int k = 0; k < 12; k++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, 4 * D, D, 1, a, D, b, 4 * D,
                     0, c, 4 * D);
      double seconds = g_get_monotonic_time () / 1e6 - start;
      best = MAX (best, 12 * 2.0 * n * D * 4 * D / seconds / 1e9);
    }
  return best;
}

static void
bench (const char *dir, FsDtype dtype, int n_prompt, int n_decode, int runs)
{
  g_autoptr(GError) error = NULL;
  size_t bytes = bench_write_gpt2 (dir, dtype, &rng_state);
  g_autoptr(FsModel) model = fs_model_load (dir, &error);
  g_assert_no_error (error);
  g_autofree int32_t *prompt = g_new (int32_t, (size_t) n_prompt);
  g_autofree float *logits = g_new (float, VOCAB);
  double prefill[16], decode[16], pass[16];
  int32_t token = 0;

  for (int i = 0; i < n_prompt; i++)
    prompt[i] = (int32_t) ((i * 7919) % VOCAB);

  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);
  const uint8_t *data = (const uint8_t *) g_mapped_file_get_contents (mapped);
  size_t file_size = g_mapped_file_get_length (mapped);

  runs = MIN (runs, 16);
  for (int r = -1; r < runs; r++)   /* run -1 warms the page cache */
    {
      g_autoptr(FsModelRun) run = fs_model_run_new (model, NULL);
      double t0 = g_get_monotonic_time () / 1e6;
      g_assert_true (fs_model_run_forward (run, prompt, n_prompt, FS_LOGITS_LAST, logits, NULL,
                                           &error));
      double t1 = g_get_monotonic_time () / 1e6;
      for (int i = 0; i < n_decode; i++)
        {
          token = (int32_t) ((token * 31 + 17) % VOCAB);
          g_assert_true (fs_model_run_forward (run, &token, 1, FS_LOGITS_LAST, logits, NULL,
                                               &error));
        }
      double t2 = g_get_monotonic_time () / 1e6;
      double p = stream_pass (data, file_size);
      if (r >= 0)
        {
          prefill[r] = t1 - t0;
          decode[r] = (t2 - t1) / n_decode;
          pass[r] = p;
        }
    }

  double params = (double) LAYERS * 12 * D * D + (double) VOCAB * D;
  double attention = 2.0 * LAYERS * D * (double) n_prompt * n_prompt;  /* QK^T and PV, masked */
  double prefill_s = bench_median (prefill, runs), decode_s = bench_median (decode, runs);
  double pass_s = bench_median (pass, runs);
  double flops = 2 * params * n_prompt - 2.0 * VOCAB * D * (n_prompt - 1) + attention;
  printf ("%-4s  weights %6.1f MB | prefill %4d tokens: %7.1f ms, %7.0f tokens/s, %5.1f GFLOP/s"
          " | decode: %6.2f ms/token, %6.1f tokens/s; one pass over the weights %6.2f ms"
          " (%5.1f GB/s), ratio %.2f\n",
          fs_dtype_name (dtype), bytes / 1e6, n_prompt, prefill_s * 1e3, n_prompt / prefill_s,
          flops / prefill_s / 1e9, decode_s * 1e3, 1 / decode_s, pass_s * 1e3,
          file_size / pass_s / 1e9, decode_s / pass_s);
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_unlink (path);
  g_unlink (config);
}

int
main (int argc, char **argv)
{
  g_autofree char *work = argc > 1 ? g_strdup (argv[1])
                                   : g_dir_make_tmp ("flowscope-bench-decode-XXXXXX", NULL);
  int n_prompt = argc > 2 ? atoi (argv[2]) : 128;
  int n_decode = argc > 3 ? atoi (argv[3]) : 32;
  int runs = argc > 4 ? atoi (argv[4]) : 5;

  printf ("GPT-2-small shape, random weights; OMP_NUM_THREADS=%s, %u processors; median of %d"
          " runs\n", g_getenv ("OMP_NUM_THREADS") ? g_getenv ("OMP_NUM_THREADS") : "unset",
          g_get_num_processors (), runs);
  printf ("bare sgemm [%d, 768] x [768, 3072]: %.1f GFLOP/s\n", n_prompt, sgemm_gflops (n_prompt));
  for (int i = 0; i < 2; i++)
    {
      FsDtype dtype = i == 0 ? FS_DTYPE_F32 : FS_DTYPE_BF16;
      g_autofree char *dir = g_build_filename (work, fs_dtype_name (dtype), NULL);
      bench (dir, dtype, n_prompt, n_decode, runs);
      g_rmdir (dir);
    }
  if (argc <= 1)
    g_rmdir (work);
  return 0;
}
