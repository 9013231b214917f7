/* bench-map: the all-pairs map of one pair of Gemma-Scope-sized residual
 * SAEs (two 16384 x 2304 decoders with random content: one product serving
 * "next" of 0/res and "prev" of 1/res), against a bare OpenBLAS sgemm of
 * the same shape, [16384, 2304] x [2304, 16384], in the same process on
 * ready F32 operands: in the map's tiles (4096 x 2048), in 2048 x 2048
 * tiles and in full-height panels (16384 x 2048). Runs are interleaved so
 * that a busy machine slows each kind alike; medians. Warm: decoders in the
 * page cache, norms computed. F32 and BF16 decoders.
 *
 * Extra memory is the peak of anonymous resident memory (RssAnon, sampled at
 * every progress report, i.e. after every block) above its level before the
 * run: the mapped decoders are file pages and are not counted.
 *
 * Usage: bench-map [DIR] [RUNS]   (DIR: where the SAEs are written, 0.9 GB,
 * encoders left as sparse holes; a temporary folder by default, removed
 * after; RUNS 3 by default) */
#include <cblas.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"
#include "flow-map.h"

#define D_IN  2304
#define D_SAE 16384
#define BLOCK 2048

/* ------------------------------------------------------------ fixtures */

static FsSaeSet *
make_set (const char *dir, FsDtype dtype)
{
  g_autofree char *folder = g_strdup_printf ("%s/%s", dir, fs_dtype_name (dtype));
  guint64 state = 0x9E3779B97F4A7C15ull + dtype;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    for (int layer = 0; layer < 2; layer++)
      {
        g_autofree char *sae = g_strdup_printf ("%s/%s-%d", folder, fs_dtype_name (dtype), layer);
        bench_write_random_sae (sae, layer, "hook_resid_post", D_IN, D_SAE, dtype, &state);
      }
  const char *paths[] = { folder, NULL };
  FsSaeSet *set = fs_sae_set_open (paths, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fs_sae_set_get_n_saes (set), ==, 2);
  /* Warm: norms computed, decoders read once into the page cache. */
  for (guint i = 0; i < 2; i++)
    fs_sae_get_decoder_norms (fs_sae_set_get_nth (set, i));
  return set;
}

/* ------------------------------------------------------------ measuring */

/* A field of /proc/self/status in kB ("RssAnon", "VmHWM"), or -1. */
static double
status_kb (const char *field)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  g_autofree char *key = g_strconcat ("\n", field, ":", NULL);
  const char *at = strstr (text, key);
  return at != NULL ? g_ascii_strtod (at + strlen (key), NULL) : -1;
}

typedef struct {
  double peak_anon_kb;
} Sampler;

static void
sample (double fraction, const char *message, gpointer user_data)
{
  Sampler *sampler = user_data;
  sampler->peak_anon_kb = MAX (sampler->peak_anon_kb, status_kb ("RssAnon"));
}

/* Seconds for the map of `set`; `extra_mb` gets the peak anonymous memory
 * above the level before the run. */
static double
time_map (FsSaeSet *set, const char *path, double *extra_mb)
{
  Sampler sampler = { 0 };
  g_autoptr(GError) error = NULL;
  double before = status_kb ("RssAnon");

  g_unlink (path);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (fs_flow_map_compute (set, path, FS_MATCH_MAX_K, sample, &sampler, NULL,
                                      &error));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  *extra_mb = (sampler.peak_anon_kb - before) / 1024;
  return seconds;
}

/* Bare sgemm over the same shape: [D_SAE, D_IN] x [D_IN, D_SAE] in tiles of
 * rows x cols, operands already F32 (the map converts its own). */
static double
time_sgemm (const float *a, const float *b, float *c, int rows, int cols)
{
  gint64 start = g_get_monotonic_time ();
  for (int a0 = 0; a0 < D_SAE; a0 += rows)
    for (int b0 = 0; b0 < D_SAE; b0 += cols)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, D_IN, 1.0f,
                   a + (size_t) a0 * D_IN, D_IN, b + (size_t) b0 * D_IN, D_IN, 0.0f, c, cols);
  return (g_get_monotonic_time () - start) / 1e6;
}

static double
best (const double *values, int n)
{
  double low = values[0];
  for (int i = 1; i < n; i++)
    low = MIN (low, values[i]);
  return low;
}

/* Median time and rate, and the best run's, as percentages of `reference`. */
static void
print_rate (const char *what, double *times, int runs, double *reference,
            const char *note)
{
  double flop = 2.0 * D_SAE * (double) D_SAE * D_IN;
  double t_best = best (times, runs), t = bench_median (times, runs);
  double ref_best = best (reference, runs), ref = bench_median (reference, runs);

  printf ("%-14s %7.2f s  %6.1f GFLOP/s  %5.1f%%   best %6.1f GFLOP/s  %5.1f%%  %s\n", what,
          t, flop / t / 1e9, 100 * ref / t, flop / t_best / 1e9, 100 * ref_best / t_best, note);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = argc > 1 ? g_strdup (argv[1]) : g_dir_make_tmp ("bench-map-XXXXXX", NULL);
  int runs = argc > 2 ? CLAMP (atoi (argv[2]), 1, 15) : 3;
  double tiles[16], squares[16], panels[16], map_f32[16], map_bf16[16];
  double extra_f32 = 0, extra_bf16 = 0, extra;
  g_autofree char *cpu = NULL;
  g_autofree char *f32_path = g_build_filename (dir, "F32.map", NULL);
  g_autofree char *bf16_path = g_build_filename (dir, "BF16.map", NULL);

  g_file_get_contents ("/proc/cpuinfo", &cpu, NULL, NULL);
  const char *model = cpu != NULL ? strstr (cpu, "model name") : NULL;
  model = model != NULL ? strchr (model, ':') : NULL;
  model = model != NULL ? model + 2 : "?";
  int model_len = (int) strcspn (model, "\n");
  printf ("all-pairs map of two %d x %d SAEs (one product, both directions), K = %d, "
          "median of %d runs, %ld cores, %.*s\n", D_SAE, D_IN, FS_MATCH_MAX_K, runs,
          sysconf (_SC_NPROCESSORS_ONLN), model_len, model);

  g_autoptr(FsSaeSet) f32 = make_set (dir, FS_DTYPE_F32);
  g_autoptr(FsSaeSet) bf16 = make_set (dir, FS_DTYPE_BF16);

  /* Operands of the bare products: random rows, as the map's would be. */
  guint64 state = 42;
  size_t n = (size_t) D_SAE * D_IN;
  g_autofree float *a = g_new (float, n);
  g_autofree float *b = g_new (float, n);
  g_autofree float *c = g_new (float, (size_t) D_SAE * BLOCK);
  for (size_t i = 0; i < n; i++)
    a[i] = bench_random (&state), b[i] = bench_random (&state);
  memset (c, 0, (size_t) D_SAE * BLOCK * sizeof (float));
  time_sgemm (a, b, c, 2 * BLOCK, BLOCK);   /* warm-up: OpenBLAS threads and buffers */

  /* Interleaved, so that a busy machine slows every kind alike. */
  for (int r = 0; r < runs; r++)
    {
      tiles[r] = time_sgemm (a, b, c, 2 * BLOCK, BLOCK);
      map_f32[r] = time_map (f32, f32_path, &extra);
      extra_f32 = MAX (extra_f32, extra);
      squares[r] = time_sgemm (a, b, c, BLOCK, BLOCK);
      map_bf16[r] = time_map (bf16, bf16_path, &extra);
      extra_bf16 = MAX (extra_bf16, extra);
      panels[r] = time_sgemm (a, b, c, D_SAE, BLOCK);
    }

  g_autofree char *f32_note = g_strdup_printf ("extra memory %.0f MB", extra_f32);
  g_autofree char *bf16_note = g_strdup_printf ("extra memory %.0f MB", extra_bf16);
  double reference[16];
  memcpy (reference, tiles, sizeof tiles);
  printf ("%-14s %9s  %14s  %6s   (%% = rate relative to bare sgemm in the map's tiles)\n",
          "", "median", "rate", "");
  print_rate ("sgemm tiles", tiles, runs, reference, "4096 x 2048 tiles, as the map's");
  print_rate ("sgemm squares", squares, runs, reference, "2048 x 2048 tiles");
  print_rate ("sgemm panels", panels, runs, reference, "16384 x 2048 tiles");
  print_rate ("map F32", map_f32, runs, reference, f32_note);
  print_rate ("map BF16", map_bf16, runs, reference, bf16_note);

  g_unlink (f32_path);
  g_unlink (bf16_path);
  if (argc <= 1)
    bench_remove_tree (dir);
  return 0;
}
