/* hit-test.c: what is under a pixel. A linear scan: a flow graph has at most
 * a few thousand nodes and segments, far below what a pointer motion event
 * can afford. */
#include "hit-test.h"

#include <math.h>

#define EDGE_TOLERANCE 4.0  /* pixels either side of an edge's centre line */
#define MIN_NODE_HIT   4.0  /* tiny nodes are still easy to point at */

/* Squared distance from p to the segment a-b. */
static double
segment_distance2 (FsGraphPoint p, FsGraphPoint a, FsGraphPoint b)
{
  double dx = b.x - a.x, dy = b.y - a.y;
  double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0;
  t = CLAMP (t, 0.0, 1.0);
  double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
  return ex * ex + ey * ey;
}

static gboolean
report (FsGraphHitKind what, guint which, FsGraphHitKind *kind, guint *index)
{
  if (kind != NULL)
    *kind = what;
  if (index != NULL)
    *index = which;
  return what != FS_GRAPH_HIT_NONE;
}

gboolean
fs_graph_hit_test (FsGraphLayout *layout, const FsGraphView *view, double x, double y,
                   FsGraphHitKind *kind, guint *index)
{
  g_return_val_if_fail (layout != NULL && view != NULL && view->scale > 0, FALSE);

  /* Work in graph units: one conversion instead of one per point. */
  FsGraphPoint p = fs_graph_view_from_pixels (view, x, y);
  double node_r = MAX (fs_graph_view_node_radius (view, layout), MIN_NODE_HIT) / view->scale;
  double best = node_r * node_r;
  int found = -1;

  for (guint i = 0; i < fs_graph_layout_get_n_nodes (layout); i++)
    {
      FsGraphPoint c = fs_graph_layout_get_node_position (layout, i);
      double d2 = (c.x - p.x) * (c.x - p.x) + (c.y - p.y) * (c.y - p.y);
      if (d2 <= best)
        {
          best = d2;
          found = i;
        }
    }
  if (found >= 0)
    return report (FS_GRAPH_HIT_NODE, found, kind, index);

  double tolerance = EDGE_TOLERANCE / view->scale;
  best = tolerance * tolerance;
  for (guint e = 0; e < fs_graph_layout_get_n_edges (layout); e++)
    {
      guint n;
      const FsGraphPoint *points = fs_graph_layout_get_edge_points (layout, e, &n);
      for (guint k = 0; k + 1 < n; k++)
        {
          double d2 = segment_distance2 (p, points[k], points[k + 1]);
          if (d2 <= best)
            {
              best = d2;
              found = e;
            }
        }
    }
  return report (found >= 0 ? FS_GRAPH_HIT_EDGE : FS_GRAPH_HIT_NONE, MAX (found, 0), kind, index);
}
