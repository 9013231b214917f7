/* fs-graph-widget.h: the flow graph of one feature, drawn and explored.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * (The type is FsGraphWidget, not FsGraphView: src/render/view.h already
 * has a struct FsGraphView and a function fs_graph_view_init, which the
 * GObject boilerplate of a widget by that name would collide with.)
 *
 * Graphs are built and laid out in a worker; a new request cancels the one
 * in flight. The drawing follows Sysprof: the base (everything that depends
 * only on the layout, the style and the zoom) is rendered once into a
 * texture and reused; hover and selection only render a small overlay.
 * What is under the pointer is answered by fs_graph_hit_test alone.
 */

#pragma once

#include <gtk/gtk.h>

#include "flow-graph.h"
#include "fs-workspace.h"
#include "layout.h"

G_BEGIN_DECLS

#define FS_TYPE_GRAPH_WIDGET (fs_graph_widget_get_type ())

G_DECLARE_FINAL_TYPE (FsGraphWidget, fs_graph_widget, FS, GRAPH_WIDGET, GtkWidget)

/* How often, and how long, the widget painted: for tests and benchmarks. */
typedef struct {
  guint  base_renders;
  guint  overlay_renders;
  gint64 base_last_us;
  gint64 base_max_us;
  gint64 overlay_last_us;
  gint64 overlay_max_us;
} FsGraphRenderStats;

GtkWidget     *fs_graph_widget_new               (void);

void           fs_graph_widget_set_workspace     (FsGraphWidget       *self,
                                                  FsWorkspace         *workspace);
FsWorkspace   *fs_graph_widget_get_workspace     (FsGraphWidget       *self);

/* Builds the graph of residual feature @layer/res/@index with the current
 * parameters; the current graph stays until the new one is ready. */
void           fs_graph_widget_show_feature      (FsGraphWidget       *self,
                                                  int                  layer,
                                                  gint64               index);
/* The feature last asked for (the graph shown may still be the previous
 * one while it builds); FALSE when none. */
gboolean       fs_graph_widget_get_feature       (FsGraphWidget       *self,
                                                  int                 *layer,
                                                  gint64              *index);
/* Rebuilds the current feature's graph when the parameters change. */
void           fs_graph_widget_set_params        (FsGraphWidget       *self,
                                                  const FsFlowParams  *params);
void           fs_graph_widget_get_params        (FsGraphWidget       *self,
                                                  FsFlowParams        *params);
/* Shows a graph built elsewhere (laid out in a worker). */
void           fs_graph_widget_set_graph         (FsGraphWidget       *self,
                                                  FsFlowGraph         *graph);
/* Forgets the graph and cancels any build. */
void           fs_graph_widget_clear             (FsGraphWidget       *self);

gboolean       fs_graph_widget_get_building      (FsGraphWidget       *self);
/* The graph shown, its layout; NULL before the first. */
FsFlowGraph   *fs_graph_widget_get_graph         (FsGraphWidget       *self);
FsGraphLayout *fs_graph_widget_get_layout        (FsGraphWidget       *self);

/* Node index in the graph shown, or -1. */
int            fs_graph_widget_get_selected      (FsGraphWidget       *self);
void           fs_graph_widget_set_selected      (FsGraphWidget       *self,
                                                  int                  node);
/* Where a node is drawn, in widget coordinates; FALSE without a layout. */
gboolean       fs_graph_widget_get_node_point    (FsGraphWidget       *self,
                                                  guint                node,
                                                  double              *x,
                                                  double              *y);

void           fs_graph_widget_zoom              (FsGraphWidget       *self,
                                                  double               factor);
void           fs_graph_widget_fit               (FsGraphWidget       *self);
double         fs_graph_widget_get_scale         (FsGraphWidget       *self);

void           fs_graph_widget_get_render_stats  (FsGraphWidget       *self,
                                                  FsGraphRenderStats  *stats);

G_END_DECLS
