/* bench-graph: one seed graph over a Gemma-Scope-shaped set (26 layers x
 * res/mlp/att, 16384 x 2304, BF16 decoders with random content), without a
 * map, warm (decoders in the page cache, norms computed), median of runs.
 *
 * The same run measures the memory bandwidth of a plain pass over the very
 * decoders the graph reads (summing their bytes on all cores), so the ratio
 * says how close matching is to a single pass at full bandwidth.
 *
 * Usage: bench-graph DIR [RUNS]   (DIR is created and filled on first use,
 * about 5.9 GB; encoder matrices are left as sparse holes, never read) */
#include <stdio.h>

#include "bench-util.h"
#include "flow-graph.h"

#define LAYERS 26
#define D_IN 2304
#define D_SAE 16384

static const char *hooks[] = { "hook_resid_post", "hook_mlp_out", "hook_attn_out" };

/* Bytes of every decoder of the set summed once, on all cores. */
static double
bandwidth_pass (FsSaeSet *set)
{
  volatile uint64_t sink = 0;
  gint64 start = g_get_monotonic_time ();
  for (guint s = 0; s < fs_sae_set_get_n_saes (set); s++)
    {
      FsMatrixView d = fs_sae_get_decoder (fs_sae_set_get_nth (set, s));
      const uint64_t *words = (const uint64_t *) d.data;
      size_t n = (size_t) (d.rows * d.cols * 2 / 8);
      uint64_t sum = 0;
#pragma omp parallel for reduction(+:sum)
      for (size_t i = 0; i < n; i++)
        sum += words[i];
      sink += sum;
    }
  (void) sink;
  return (g_get_monotonic_time () - start) / 1e6;
}

int
main (int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : "/tmp/flowscope-bench-graph";
  int runs = argc > 2 ? atoi (argv[2]) : 7;
  g_autofree char *marker = g_build_filename (dir, "layer_25_2", "cfg.json", NULL);
  guint64 state = 88172645463325252ull;

  if (!g_file_test (marker, G_FILE_TEST_EXISTS))
    for (int layer = 0; layer < LAYERS; layer++)
      for (int site = 0; site < 3; site++)
        {
          g_autofree char *folder = g_strdup_printf ("%s/layer_%02d_%d", dir, layer, site);
          bench_write_random_sae (folder, layer, hooks[site], D_IN, D_SAE, FS_DTYPE_BF16,
                                  &state);
        }

  const char *paths[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FsSaeSet) set = fs_sae_set_open (paths, NULL, NULL, &error);
  g_assert_no_error (error);
  FsFlowParams params;
  fs_flow_params_init (&params);
  params.span_cut = FALSE;  /* random decoders: follow the chain down every layer */

  double graph_times[64], pass_times[64];
  guint n_nodes = 0;
  runs = CLAMP (runs, 1, 64);
  for (int r = -1; r < runs; r++)  /* run -1 pages in and computes norms */
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(FsFlowGraph) graph = fs_flow_graph_build (set, NULL, 24, 14548, &params, NULL, &error);
      g_assert_no_error (error);
      double elapsed = (g_get_monotonic_time () - start) / 1e6;
      n_nodes = fs_flow_graph_get_n_nodes (graph);
      if (r >= 0)
        {
          graph_times[r] = elapsed;
          pass_times[r] = bandwidth_pass (set);
        }
    }
  double graph = bench_median (graph_times, runs), pass = bench_median (pass_times, runs);
  double set_bytes = 3.0 * LAYERS * D_SAE * D_IN * 2;
  printf ("seed graph 24/res/14548, top-1, no span cut: %u nodes\n", n_nodes);
  printf ("graph build, warm: median %.1f ms over %d runs\n", graph * 1e3, runs);
  printf ("one pass over all %d decoders (%.1f GB): median %.1f ms = %.1f GB/s\n",
          3 * LAYERS, set_bytes / 1e9, pass * 1e3, set_bytes / pass / 1e9);
  printf ("ratio graph / one pass: %.2f\n", graph / pass);
  return 0;
}
