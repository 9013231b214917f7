/* bench-render.c: layout and drawing time for a ~500-node flow graph.
 *
 * Times the layout alone, drawing alone (1600 x 1200 ARGB32 image surface,
 * fitted view) and both, as medians over repeated runs, in wall-clock and
 * in this thread's CPU time (which other processes on a busy machine
 * disturb less). A baseline measured in the same run (cairo filling as many
 * circles, with no layout) gives ratios that stay comparable across
 * machines.
 *
 * Usage: bench-render [RUNS] [LAYERS] [PER_LAYER]     (20, 26, 19)
 * The target is layout + drawing under 50 ms.
 */
#include <cairo.h>
#include <glib.h>
#include <stdlib.h>
#include <time.h>

#include "draw.h"
#include "layout.h"
#include "render-fixtures.h"
#include "view.h"

#define WIDTH  1600
#define HEIGHT 1200

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *values, int n)
{
  qsort (values, n, sizeof (double), compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

typedef struct {
  double wall, cpu;  /* ms */
} Stamp;

static Stamp
now (void)
{
  struct timespec cpu;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &cpu);
  return (Stamp) { g_get_monotonic_time () / 1000.0, cpu.tv_sec * 1e3 + cpu.tv_nsec / 1e6 };
}

typedef struct {
  const char *name;
  double     *wall, *cpu;
  Stamp       start;
} Timer;

static void
timer_start (Timer *timer)
{
  timer->start = now ();
}

static void
timer_stop (Timer *timer, int run)
{
  Stamp end = now ();
  timer->wall[run] = end.wall - timer->start.wall;
  timer->cpu[run] = end.cpu - timer->start.cpu;
}

static void
draw_once (cairo_surface_t *surface, FsGraphLayout *layout, FsFlowGraph *graph)
{
  FsGraphStyle style;
  FsGraphView view;
  cairo_t *cr = cairo_create (surface);

  fs_graph_style_init_light (&style);
  fs_graph_view_init (&view);
  fs_graph_view_fit (&view, layout, WIDTH, HEIGHT, 16);
  fs_graph_draw (cr, layout, graph, &style, &view);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
}

/* The floor any drawing pays: a background and n filled circles. */
static void
baseline_once (cairo_surface_t *surface, guint n)
{
  cairo_t *cr = cairo_create (surface);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  for (guint i = 0; i < n; i++)
    {
      cairo_arc (cr, 40 + (i % 38) * 40, 40 + (i / 38) * 40, 9, 0, 2 * G_PI);
      cairo_set_source_rgb (cr, 0, 0.45, 0.7);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
  cairo_surface_flush (surface);
}

int
main (int argc, char *argv[])
{
  int runs = argc > 1 ? atoi (argv[1]) : 20;
  int n_layers = argc > 2 ? atoi (argv[2]) : 26;
  int per_layer = argc > 3 ? atoi (argv[3]) : 19;
  g_autoptr (FsFlowGraph) graph = render_fixture_large (n_layers, per_layer);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT);
  Timer timers[4] = {
    { "layout" }, { "draw" }, { "layout + draw" }, { "baseline" },
  };
  guint n_nodes = fs_flow_graph_get_n_nodes (graph);

  runs = MAX (runs, 1);
  for (guint t = 0; t < G_N_ELEMENTS (timers); t++)
    {
      timers[t].wall = g_new (double, runs);
      timers[t].cpu = g_new (double, runs);
    }
  {
    /* Warm up: fonts, glyph caches, page faults. */
    g_autoptr (FsGraphLayout) layout = fs_graph_layout_new (graph);
    draw_once (surface, layout, graph);
    baseline_once (surface, n_nodes);
  }

  g_autoptr (FsGraphLayout) fixed = fs_graph_layout_new (graph);
  guint n_points = 0;
  for (guint e = 0; e < fs_flow_graph_get_n_edges (graph); e++)
    {
      guint n;
      fs_graph_layout_get_edge_points (fixed, e, &n);
      n_points += n;
    }

  for (int r = 0; r < runs; r++)
    {
      timer_start (&timers[0]);
      FsGraphLayout *layout = fs_graph_layout_new (graph);
      timer_stop (&timers[0], r);
      fs_graph_layout_unref (layout);

      timer_start (&timers[1]);
      draw_once (surface, fixed, graph);
      timer_stop (&timers[1], r);

      timer_start (&timers[2]);
      layout = fs_graph_layout_new (graph);
      draw_once (surface, layout, graph);
      timer_stop (&timers[2], r);
      fs_graph_layout_unref (layout);

      timer_start (&timers[3]);
      baseline_once (surface, n_nodes);
      timer_stop (&timers[3], r);
    }

  g_print ("graph: %u nodes, %u edges (%u polyline points), %u bands; %d runs; %dx%d ARGB32\n",
           n_nodes, fs_flow_graph_get_n_edges (graph), n_points,
           fs_graph_layout_get_n_bands (fixed), runs, WIDTH, HEIGHT);
  double base_wall = median (timers[3].wall, runs), base_cpu = median (timers[3].cpu, runs);
  double both_wall = 0, both_cpu = 0;
  g_print ("%-16s %12s %12s %10s\n", "median", "wall ms", "cpu ms", "/ baseline");
  for (guint t = 0; t < G_N_ELEMENTS (timers); t++)
    {
      double wall = median (timers[t].wall, runs), cpu = median (timers[t].cpu, runs);
      g_print ("%-16s %12.2f %12.2f %9.1fx\n", timers[t].name, wall, cpu, cpu / base_cpu);
      if (t == 2)
        both_wall = wall, both_cpu = cpu;
      g_free (timers[t].wall);
      g_free (timers[t].cpu);
    }
  g_print ("baseline: background and %u separate circle fills, no layout (%.2f ms wall)\n",
           n_nodes, base_wall);
  g_print ("target layout + draw < 50 ms: %s (wall %.1f ms, cpu %.1f ms)\n",
           both_wall < 50 ? "met" : both_cpu < 50 ? "met in CPU time, not wall (busy machine?)" : "MISSED",
           both_wall, both_cpu);
  cairo_surface_destroy (surface);
  return 0;
}
