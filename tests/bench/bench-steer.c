/* bench-steer.c: what steering costs per decoded token. A GPT-2-small-shaped
 * model with random weights (12 layers, d = 768, vocab 50257) and 12
 * JumpReLU SAEs of 768 x 24576 at hook_resid_post; 64 features clamped,
 * spread over the 12 layers (clamp needs each feature's activation, so the
 * encoder columns are read at every token). The goal: at most 10% more time
 * per decoded token than without steering.
 *
 * The SAE files are sparse: only the steered features' encoder columns and
 * decoder rows (and the small vectors) hold data, the rest are holes. That
 * changes nothing per token: the hooks read only those.
 *
 * Runs with and without steering alternate, in F32 then BF16 (model and
 * SAEs), so that the machine's load hits both alike; medians of RUNS.
 *
 * Usage: bench-steer [WORK_DIR] [PROMPT_TOKENS] [DECODE_TOKENS] [RUNS]
 */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "bench-util.h"
#include "dtype.h"
#include "model.h"
#include "sae.h"
#include "steer.h"

#define LAYERS BENCH_GPT2_LAYERS
#define D      BENCH_GPT2_D
#define VOCAB  BENCH_GPT2_VOCAB
#define D_SAE 24576
#define FEATURES 64

static guint64 rng_state = 0x9e3779b97f4a7c15ull;

static int
create_file (const char *path, GString *header, size_t data_bytes)
{
  int fd = open (path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  uint64_t n = header->len;
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, &n, 8), ==, 8);
  g_assert_cmpint (write (fd, header->str, header->len), ==, (gssize) header->len);
  g_assert_cmpint (ftruncate (fd, (off_t) (8 + header->len + data_bytes)), ==, 0);
  return fd;
}

/* Writes n values (offset + scale * bench_random) at `where` in the data. */
static void
write_random (int fd, size_t data0, size_t where, size_t n, float scale, float offset,
              FsDtype dtype)
{
  g_autofree uint8_t *bytes = g_malloc (n * 4);
  bench_fill_random (&rng_state, scale, offset, dtype, n, bytes);
  size_t length = n * fs_dtype_size (dtype);
  g_assert_cmpint (pwrite (fd, bytes, length, (off_t) (data0 + where)), ==, (gssize) length);
}

/* A JumpReLU SAE at blocks.L.hook_resid_post whose features `indices` have
 * data; everything else of W_enc and W_dec is a hole. */
static void
write_sae (const char *dir, int layer, const int64_t *indices, int n_indices, FsDtype dtype)
{
  BenchTensor entries[] = {
    { "W_enc", D, D_SAE, 0, 0 }, { "W_dec", D_SAE, D, 0, 0 }, { "b_enc", D_SAE, 0, 0, 0 },
    { "b_dec", D, 0, 0, 0 }, { "threshold", D_SAE, 0, 0, 0 },
  };
  size_t size = fs_dtype_size (dtype);

  g_mkdir_with_parents (dir, 0755);
  GString *header = bench_safetensors_header (entries, G_N_ELEMENTS (entries), dtype);
  g_autofree char *path = g_build_filename (dir, "sae_weights.safetensors", NULL);
  BenchTensor *last = &entries[G_N_ELEMENTS (entries) - 1];
  int fd = create_file (path, header, last->offset + last->bytes);
  size_t data0 = 8 + header->len;

  write_random (fd, data0, entries[2].offset, D_SAE, 0.1f, 0, dtype);
  write_random (fd, data0, entries[3].offset, D, 0.1f, 0, dtype);
  write_random (fd, data0, entries[4].offset, D_SAE, 0.05f, 0.1f, dtype);
  for (int k = 0; k < n_indices; k++)
    {
      int64_t i = indices[k];
      write_random (fd, data0, entries[1].offset + (size_t) i * D * size, D, 0.05f, 0, dtype);
      for (int64_t r = 0; r < D; r++)   /* column i of W_enc [D, D_SAE] */
        write_random (fd, data0, entries[0].offset + ((size_t) r * D_SAE + (size_t) i) * size,
                      1, 0.05f, 0, dtype);
    }
  close (fd);
  g_string_free (header, TRUE);

  g_autofree char *cfg = g_build_filename (dir, "cfg.json", NULL);
  g_autofree char *json = g_strdup_printf (
    "{\"architecture\":\"jumprelu\",\"d_in\":%d,\"d_sae\":%d,\"dtype\":\"%s\","
    "\"apply_b_dec_to_input\":true,\"normalize_activations\":\"none\","
    "\"metadata\":{\"sae_lens_version\":\"6.0.0\",\"hook_name\":\"blocks.%d.hook_resid_post\"}}",
    D, D_SAE, dtype == FS_DTYPE_F32 ? "float32" : "bfloat16", layer);
  g_file_set_contents (cfg, json, -1, NULL);
}

/* The steering hooks' own time: a hook just before them at each site
 * starts a clock, one just after stops it. */
typedef struct {
  double start, total;
} Clock;

static void
clock_start (const FsHookBlock *block, gpointer user_data)
{
  ((Clock *) user_data)->start = g_get_monotonic_time () / 1e6;
}

static void
clock_stop (const FsHookBlock *block, gpointer user_data)
{
  Clock *clock = user_data;
  clock->total += g_get_monotonic_time () / 1e6 - clock->start;
}

/* Seconds per decoded token after a prefill of n_prompt; *in_hooks gets
 * the seconds per token spent in the steering hooks. */
static double
decode_time (FsModel *model, FsSteering *steering, int n_prompt, int n_decode,
             double *in_hooks)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (model, NULL);
  Clock clock = { 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree int32_t *prompt = g_new (int32_t, (size_t) n_prompt);
  g_autofree float *logits = g_new (float, VOCAB);
  int32_t token = 11;

  for (int i = 0; i < n_prompt; i++)
    prompt[i] = (int32_t) ((i * 7919) % VOCAB);
  for (int l = 0; steering != NULL && l < LAYERS; l++)
    fs_model_run_add_hook (run, l, FS_HOOK_RESID_POST, clock_start, &clock, NULL);
  if (steering != NULL)
    g_assert_true (fs_steering_attach (steering, run, &error));
  for (int l = 0; steering != NULL && l < LAYERS; l++)
    fs_model_run_add_hook (run, l, FS_HOOK_RESID_POST, clock_stop, &clock, NULL);
  g_assert_true (fs_model_run_forward (run, prompt, n_prompt, FS_LOGITS_LAST, logits, NULL,
                                       &error));
  clock.total = 0;
  double start = g_get_monotonic_time () / 1e6;
  for (int i = 0; i < n_decode; i++)
    {
      token = (int32_t) ((token * 31 + 17) % VOCAB);
      g_assert_true (fs_model_run_forward (run, &token, 1, FS_LOGITS_LAST, logits, NULL,
                                           &error));
    }
  if (in_hooks != NULL)
    *in_hooks = clock.total / n_decode;
  return (g_get_monotonic_time () / 1e6 - start) / n_decode;
}

static void
bench (const char *work, FsDtype dtype, int n_prompt, int n_decode, int runs)
{
  g_autofree char *dir = g_build_filename (work, fs_dtype_name (dtype), NULL);
  g_autofree char *model_dir = g_build_filename (dir, "model", NULL);
  g_autoptr(FsSteering) steering = fs_steering_new ();
  g_autoptr(GError) error = NULL;
  double plain[32], steered[32], hooks[32];

  bench_write_gpt2 (model_dir, dtype, &rng_state);
  g_autoptr(FsModel) model = fs_model_load (model_dir, &error);
  g_assert_no_error (error);

  /* 64 features over 12 layers: 6 on the first 4 layers, 5 on the others. */
  for (int layer = 0, used = 0; layer < LAYERS; layer++)
    {
      int n = layer < FEATURES % LAYERS ? FEATURES / LAYERS + 1 : FEATURES / LAYERS;
      int64_t indices[8];
      for (int k = 0; k < n; k++)
        indices[k] = (int64_t) ((used + k) * 7717 % D_SAE);
      used += n;
      g_autofree char *name = g_strdup_printf ("sae-%d", layer);
      g_autofree char *sae_dir = g_build_filename (dir, name, NULL);
      write_sae (sae_dir, layer, indices, n, dtype);
      g_autoptr(FsSae) sae = fs_sae_load (sae_dir, NULL, &error);
      g_assert_no_error (error);
      for (int k = 0; k < n; k++)
        g_assert_true (fs_steering_add (steering, sae, indices[k], FS_STEER_CLAMP, 2.0,
                                        &error));
    }
  g_assert_cmpuint (fs_steering_get_n_interventions (steering), ==, FEATURES);

  runs = CLAMP (runs, 1, 32);
  decode_time (model, steering, n_prompt, 2, NULL);   /* warms the page cache and the SAEs */
  for (int r = 0; r < runs; r++)
    {
      plain[r] = decode_time (model, NULL, n_prompt, n_decode, NULL);
      steered[r] = decode_time (model, steering, n_prompt, n_decode, &hooks[r]);
    }
  double p = bench_median (plain, runs), s = bench_median (steered, runs);
  double h = bench_median (hooks, runs);
  printf ("%-4s  decode without steering %7.2f ms/token, with %d clamped features %7.2f "
          "ms/token: ratio %.3f (goal <= 1.10); in the steering hooks %.3f ms/token "
          "(%.2f%% of a plain token)\n", fs_dtype_name (dtype), p * 1e3, FEATURES, s * 1e3,
          s / p, h * 1e3, 100 * h / p);
  bench_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autofree char *work = argc > 1 ? g_strdup (argv[1])
                                   : g_dir_make_tmp ("flowscope-bench-steer-XXXXXX", NULL);
  int n_prompt = argc > 2 ? atoi (argv[2]) : 32;
  int n_decode = argc > 3 ? atoi (argv[3]) : 32;
  int runs = argc > 4 ? atoi (argv[4]) : 7;

  printf ("GPT-2-small shape, random weights, %d JumpReLU SAEs %d x %d at resid_post; "
          "OMP_NUM_THREADS=%s, %u processors; prompt %d, %d decoded tokens, median of %d "
          "alternating runs\n", LAYERS, D, D_SAE,
          g_getenv ("OMP_NUM_THREADS") ? g_getenv ("OMP_NUM_THREADS") : "unset",
          g_get_num_processors (), n_prompt, n_decode, runs);
  bench (work, FS_DTYPE_F32, n_prompt, n_decode, runs);
  bench (work, FS_DTYPE_BF16, n_prompt, n_decode, runs);
  if (argc <= 1)
    g_rmdir (work);
  return 0;
}
