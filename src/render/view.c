/* view.c: graph units to pixels and back, and fitting a layout to a window. */
#include "view.h"

#include <math.h>

#define MAX_FIT_SCALE   64.0  /* a lone node is not drawn the size of the window */
#define MIN_NODE_RADIUS 2.0

void
fs_graph_view_init (FsGraphView *view)
{
  *view = (FsGraphView) { .scale = 1.0, .highlight = -1, .selected = -1 };
}

void
fs_graph_view_fit (FsGraphView *view, FsGraphLayout *layout, double width, double height,
                   double margin)
{
  double x, y, w, h;

  g_return_if_fail (view != NULL && layout != NULL);

  fs_graph_layout_get_bounds (layout, &x, &y, &w, &h);
  double left = margin + FS_GRAPH_LAYER_COLUMN;
  double top = margin + FS_GRAPH_LEGEND_HEIGHT;
  double room_w = MAX (width - left - margin - FS_GRAPH_LABEL_WIDTH, 1.0);
  double room_h = MAX (height - top - margin, 1.0);

  double scale = MAX_FIT_SCALE;
  if (w > 0)
    scale = MIN (scale, room_w / w);
  if (h > 0)
    scale = MIN (scale, room_h / h);
  view->scale = scale;
  view->offset_x = round (left + (room_w - w * scale) / 2 - x * scale);
  view->offset_y = round (top + (room_h - h * scale) / 2 - y * scale);
}

FsGraphPoint
fs_graph_view_to_pixels (const FsGraphView *view, FsGraphPoint point)
{
  return (FsGraphPoint) { point.x * view->scale + view->offset_x,
                          point.y * view->scale + view->offset_y };
}

FsGraphPoint
fs_graph_view_from_pixels (const FsGraphView *view, double x, double y)
{
  return (FsGraphPoint) { (x - view->offset_x) / view->scale,
                          (y - view->offset_y) / view->scale };
}

double
fs_graph_view_node_radius (const FsGraphView *view, FsGraphLayout *layout)
{
  return MAX (fs_graph_layout_get_node_radius (layout) * view->scale, MIN_NODE_RADIUS);
}
