/* view.h: how a laid-out graph is looked at: the mapping from graph units
 * to pixels, and which node is hovered or selected.
 *
 * A plain struct that the widget owns and changes freely (zoom, pan, hover);
 * the layout it looks at stays immutable.
 */
#pragma once

#include "layout.h"

G_BEGIN_DECLS

typedef struct {
  double scale;              /* pixels per graph unit */
  double offset_x, offset_y; /* pixel position of graph point (0, 0) */
  int    highlight;          /* hovered node: its lineage stands out; -1 for none */
  int    selected;           /* selected node, ringed; -1 for none */
} FsGraphView;

/* Pixel room the drawing keeps around the graph for its fixed parts. */
#define FS_GRAPH_LAYER_COLUMN  44.0  /* left: layer numbers */
#define FS_GRAPH_LEGEND_HEIGHT 34.0  /* top: the legend strip */
#define FS_GRAPH_LABEL_WIDTH   160.0 /* right: labels of the rightmost nodes */

/* Scale 1, no offset, nothing highlighted or selected. */
void         fs_graph_view_init (FsGraphView *view);
/* Scales and centres the layout in a width x height area, leaving `margin`
 * pixels around it plus the room above. Small graphs are not blown up past
 * a comfortable size. Keeps highlight and selection. */
void         fs_graph_view_fit (FsGraphView *view, FsGraphLayout *layout,
                                double width, double height, double margin);
FsGraphPoint fs_graph_view_to_pixels (const FsGraphView *view, FsGraphPoint point);
FsGraphPoint fs_graph_view_from_pixels (const FsGraphView *view, double x, double y);
/* Node radius on screen, in pixels: the layout's radius (graph units)
 * scaled, never below 2 pixels. Geometry, not style, so that hit-testing
 * needs only the layout and the view. */
double       fs_graph_view_node_radius (const FsGraphView *view, FsGraphLayout *layout);

G_END_DECLS
