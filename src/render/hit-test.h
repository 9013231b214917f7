/* hit-test.h: the one question a graph widget asks: what is under (x, y)? */
#pragma once

#include "layout.h"
#include "view.h"

G_BEGIN_DECLS

typedef enum {
  FS_GRAPH_HIT_NONE,
  FS_GRAPH_HIT_NODE,
  FS_GRAPH_HIT_EDGE,
} FsGraphHitKind;

/* What is under pixel (x, y) of the view: the nearest node whose circle
 * holds the point, else the nearest edge whose polyline passes within a few
 * pixels, else nothing. Nodes win over edges. Returns whether something was
 * hit; `index` is then a node or an edge index. */
gboolean fs_graph_hit_test (FsGraphLayout *layout, const FsGraphView *view, double x, double y,
                            FsGraphHitKind *kind, guint *index);

G_END_DECLS
