/* fs-graph-widget.c: the flow graph view.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-graph-widget"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "draw.h"
#include "fs-background.h"
#include "fs-graph-widget.h"
#include "hit-test.h"
#include "view.h"

#define FIT_MARGIN      16.0
#define BOTTOM_INSET    40.0   /* room for overlaid buttons when fitting */
#define MAX_SCALE       240.0  /* pixels per graph unit */
#define MIN_SCALE_RATIO 0.2    /* of the fitting scale */
#define ZOOM_STEP       1.25
#define SCROLL_PAN_STEP 40.0   /* pixels per wheel click */

struct _FsGraphWidget
{
  GtkWidget       parent_instance;

  FsWorkspace    *workspace;
  FsFlowParams    params;
  gboolean        has_feature;
  int             feature_layer;
  gint64          feature_index;

  /* The build in flight, if any. */
  GCancellable   *cancellable;
  gboolean        building;

  /* What is shown. */
  FsFlowGraph    *graph;
  FsGraphLayout  *layout;
  FsGraphView     view;
  FsGraphStyle    style;
  gboolean        dark;
  gboolean        user_moved;     /* zoomed or panned: no refit on resize */
  int             fitted_width;
  int             fitted_height;

  /* Cached renderings; NULL when stale. */
  GdkTexture     *base;
  GdkTexture     *overlay;
  FsGraphRenderStats stats;

  /* Pointer and gestures. */
  double          pointer_x;
  double          pointer_y;
  gboolean        pointer_inside;
  double          drag_offset_x;
  double          drag_offset_y;
  gboolean        dragging;
  double          zoom_start_scale;
  double          zoom_center_x;
  double          zoom_center_y;

  GtkWidget      *context_menu;
};

G_DEFINE_FINAL_TYPE (FsGraphWidget, fs_graph_widget, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_BUILDING,
  PROP_SELECTED,
  PROP_FEATURE,
  N_PROPS
};

enum {
  GRAPH_CHANGED,
  BUILD_FAILED,
  ADD_TO_STEERING,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

typedef struct {
  FsWorkspace  *workspace;
  FsFlowGraph  *prebuilt;
  FsFlowGraph  *expand;      /* a graph to expand at expand_node, or NULL */
  guint         expand_node;
  gboolean      expand_forward;
  int           layer;
  gint64        index;
  FsFlowParams  params;
} BuildData;

typedef struct {
  FsFlowGraph   *graph;
  FsGraphLayout *layout;
} BuildResult;

static void
build_data_free (BuildData *data)
{
  g_clear_pointer (&data->workspace, fs_workspace_unref);
  g_clear_pointer (&data->prebuilt, fs_flow_graph_unref);
  g_clear_pointer (&data->expand, fs_flow_graph_unref);
  g_free (data);
}

static void
build_result_free (BuildResult *result)
{
  g_clear_pointer (&result->graph, fs_flow_graph_unref);
  g_clear_pointer (&result->layout, fs_graph_layout_unref);
  g_free (result);
}

/* ------------------------------------------------------------ rendering */

static void
invalidate_overlay (FsGraphWidget *self)
{
  g_clear_object (&self->overlay);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
invalidate_base (FsGraphWidget *self)
{
  g_clear_object (&self->base);
  invalidate_overlay (self);
}

static void
update_style (FsGraphWidget *self)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();

  self->dark = adw_style_manager_get_dark (manager);
  if (self->dark)
    fs_graph_style_init_dark (&self->style);
  else
    fs_graph_style_init_light (&self->style);
  invalidate_base (self);
}

static void
dark_changed_cb (FsGraphWidget *self)
{
  update_style (self);
}

static void
surface_free (gpointer data)
{
  cairo_surface_destroy (data);
}

typedef void (*PaintFunc) (cairo_t *cr, FsGraphLayout *layout, FsFlowGraph *graph,
                           const FsGraphStyle *style, const FsGraphView *view);

/* Paints into a cairo image surface of the widget's size (times the scale
 * factor) and wraps it in a texture without copying: cairo's ARGB32 is
 * GDK_MEMORY_DEFAULT. */
static GdkTexture *
render_texture (FsGraphWidget *self,
                PaintFunc      paint,
                gint64        *elapsed_us)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GBytes) bytes = NULL;
  cairo_surface_t *surface;
  cairo_t *cr;
  GdkTexture *texture;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width * scale, height * scale);
  cairo_surface_set_device_scale (surface, scale, scale);
  cr = cairo_create (surface);
  paint (cr, self->layout, self->graph, &self->style, &self->view);
  cairo_destroy (cr);
  cairo_surface_flush (surface);

  bytes = g_bytes_new_with_free_func (cairo_image_surface_get_data (surface),
                                      (gsize) cairo_image_surface_get_stride (surface) * height * scale,
                                      surface_free, surface);
  texture = gdk_memory_texture_new (width * scale, height * scale, GDK_MEMORY_DEFAULT,
                                    bytes, cairo_image_surface_get_stride (surface));
  *elapsed_us = g_get_monotonic_time () - start;

  return texture;
}

static double
fit_scale (FsGraphWidget *self)
{
  FsGraphView fitted = self->view;
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  fs_graph_view_fit (&fitted, self->layout, gtk_widget_get_width (GTK_WIDGET (self)),
                     height > 4 * BOTTOM_INSET ? height - BOTTOM_INSET : height, FIT_MARGIN);
  return fitted.scale;
}

/* Fits the graph to the widget; called from snapshot too, so it drops the
 * stale textures without queueing another frame. */
static void
fit_view (FsGraphWidget *self)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  if (self->layout == NULL || width <= 0 || height <= 0)
    return;

  /* The window floats its zoom buttons over the bottom right corner. */
  fs_graph_view_fit (&self->view, self->layout, width,
                     height > 4 * BOTTOM_INSET ? height - BOTTOM_INSET : height, FIT_MARGIN);
  self->fitted_width = width;
  self->fitted_height = height;
  self->user_moved = FALSE;
  g_clear_object (&self->base);
  g_clear_object (&self->overlay);
}

static void
refit (FsGraphWidget *self)
{
  fit_view (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
fs_graph_widget_snapshot (GtkWidget   *widget,
                          GtkSnapshot *snapshot)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  gint64 elapsed;

  if (self->layout == NULL || width <= 0 || height <= 0)
    return;

  if (!self->user_moved && (width != self->fitted_width || height != self->fitted_height))
    fit_view (self);

  if (self->base == NULL)
    {
      self->base = render_texture (self, fs_graph_draw_base, &elapsed);
      self->stats.base_renders++;
      self->stats.base_last_us = elapsed;
      self->stats.base_max_us = MAX (self->stats.base_max_us, elapsed);
    }
  gtk_snapshot_append_texture (snapshot, self->base, &bounds);

  if (self->view.highlight < 0 && self->view.selected < 0)
    return;
  if (self->overlay == NULL)
    {
      self->overlay = render_texture (self, fs_graph_draw_overlay, &elapsed);
      self->stats.overlay_renders++;
      self->stats.overlay_last_us = elapsed;
      self->stats.overlay_max_us = MAX (self->stats.overlay_max_us, elapsed);
    }
  gtk_snapshot_append_texture (snapshot, self->overlay, &bounds);
}

static void
fs_graph_widget_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);

  /* A resize changes the textures' size; a fitted graph is refitted at the
   * next snapshot, a zoomed one keeps its place. */
  if (self->base != NULL
      && (gdk_texture_get_width (self->base) != width * gtk_widget_get_scale_factor (widget)
          || gdk_texture_get_height (self->base) != height * gtk_widget_get_scale_factor (widget)))
    invalidate_base (self);

  if (self->context_menu != NULL)
    gtk_popover_present (GTK_POPOVER (self->context_menu));
}

static void
fs_graph_widget_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 240 : 200;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 640 : 480;
}

/* ------------------------------------------------------------ view */

static void
set_view_transform (FsGraphWidget *self,
                    double         scale,
                    double         offset_x,
                    double         offset_y)
{
  if (scale == self->view.scale && offset_x == self->view.offset_x
      && offset_y == self->view.offset_y)
    return;

  self->view.scale = scale;
  self->view.offset_x = offset_x;
  self->view.offset_y = offset_y;
  self->user_moved = TRUE;
  invalidate_base (self);
}

/* Zooms by @factor keeping the graph point under (@x, @y) where it is. */
static void
zoom_at (FsGraphWidget *self,
         double         scale,
         double         x,
         double         y)
{
  FsGraphPoint anchor;
  double min_scale;

  if (self->layout == NULL)
    return;

  min_scale = MIN (fit_scale (self), 1.0) * MIN_SCALE_RATIO;
  scale = CLAMP (scale, min_scale, MAX_SCALE);
  anchor = fs_graph_view_from_pixels (&self->view, x, y);
  set_view_transform (self, scale, round (x - anchor.x * scale), round (y - anchor.y * scale));
}

void
fs_graph_widget_zoom (FsGraphWidget *self,
                      double         factor)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  zoom_at (self, self->view.scale * factor,
           gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
           gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
fs_graph_widget_fit (FsGraphWidget *self)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  refit (self);
}

double
fs_graph_widget_get_scale (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), 1.0);

  return self->view.scale;
}

/* ------------------------------------------------------------ selection */

static char *
node_id (const FsFlowNode *node)
{
  return fs_feature_id (node->layer, node->site, node->index);
}

static void
update_accessible (FsGraphWidget *self)
{
  g_autofree char *description = NULL;

  if (self->graph == NULL)
    description = g_strdup (_("No flow graph"));
  else
    {
      const FsFlowNode *seed = fs_flow_graph_get_node (self->graph, fs_flow_graph_get_seed (self->graph));
      g_autofree char *seed_id = node_id (seed);
      guint n = fs_flow_graph_get_n_nodes (self->graph);
      g_autofree char *summary = g_strdup_printf (ngettext ("Flow graph of %s, %u node",
                                                            "Flow graph of %s, %u nodes", n),
                                                  seed_id, n);

      if (self->view.selected >= 0)
        {
          g_autofree char *selected_id = node_id (fs_flow_graph_get_node (self->graph, self->view.selected));

          description = g_strdup_printf (_("%s; selected %s"), summary, selected_id);
        }
      else
        description = g_steal_pointer (&summary);
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
}

static void
update_actions (FsGraphWidget *self)
{
  gboolean has_selection = self->graph != NULL && self->view.selected >= 0;
  gboolean can_reroot = FALSE, can_expand = FALSE;

  if (has_selection)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (self->graph, self->view.selected);

      can_expand = node->site == FS_SITE_RES && self->workspace != NULL && self->has_feature;
      can_reroot = can_expand && !node->is_seed;
    }

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.copy-id", has_selection);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.reroot", can_reroot);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.expand-predecessors", can_expand);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.expand-successors", can_expand);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.add-to-steering", has_selection);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.zoom-in", self->layout != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.zoom-out", self->layout != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "graph.fit", self->layout != NULL);
}

int
fs_graph_widget_get_selected (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), -1);

  return self->view.selected;
}

void
fs_graph_widget_set_selected (FsGraphWidget *self,
                              int            node)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  if (self->graph == NULL || node < 0 || (guint) node >= fs_flow_graph_get_n_nodes (self->graph))
    node = -1;
  if (node == self->view.selected)
    return;

  self->view.selected = node;
  invalidate_overlay (self);
  update_actions (self);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}

static void
set_highlight (FsGraphWidget *self,
               int            node)
{
  if (node == self->view.highlight)
    return;

  self->view.highlight = node;
  invalidate_overlay (self);
}

static gboolean
hit_node (FsGraphWidget *self,
          double         x,
          double         y,
          guint         *node)
{
  FsGraphHitKind kind;

  if (self->layout == NULL)
    return FALSE;

  return fs_graph_hit_test (self->layout, &self->view, x, y, &kind, node)
         && kind == FS_GRAPH_HIT_NODE;
}

gboolean
fs_graph_widget_get_node_point (FsGraphWidget *self,
                                guint          node,
                                double        *x,
                                double        *y)
{
  FsGraphPoint point;

  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), FALSE);

  if (self->layout == NULL || node >= fs_graph_layout_get_n_nodes (self->layout))
    return FALSE;

  point = fs_graph_view_to_pixels (&self->view, fs_graph_layout_get_node_position (self->layout, node));
  *x = point.x;
  *y = point.y;
  return TRUE;
}

/* ------------------------------------------------------------ building */

static void
set_building (FsGraphWidget *self,
              gboolean       building)
{
  if (self->building == building)
    return;

  self->building = building;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUILDING]);
}

static void
swap_in (FsGraphWidget *self,
         BuildResult   *result)
{
  g_autofree char *selected_id = NULL;
  gboolean same_seed = FALSE;
  int previous_selected = self->view.selected;
  int selected = -1;

  if (self->graph != NULL)
    {
      const FsFlowNode *old_seed = fs_flow_graph_get_node (self->graph, fs_flow_graph_get_seed (self->graph));
      guint n_new = fs_flow_graph_get_n_nodes (result->graph);

      if (n_new > 0)
        {
          const FsFlowNode *new_seed = fs_flow_graph_get_node (result->graph, fs_flow_graph_get_seed (result->graph));

          same_seed = old_seed->layer == new_seed->layer && old_seed->index == new_seed->index;
        }
      /* The selection follows its feature into the new graph. */
      if (self->view.selected >= 0)
        {
          const FsFlowNode *node = fs_flow_graph_get_node (self->graph, self->view.selected);

          selected = fs_flow_graph_find_node (result->graph, node->layer, node->site, node->index);
        }
    }

  g_clear_pointer (&self->graph, fs_flow_graph_unref);
  g_clear_pointer (&self->layout, fs_graph_layout_unref);
  self->graph = g_steal_pointer (&result->graph);
  self->layout = g_steal_pointer (&result->layout);

  self->view.highlight = -1;
  self->view.selected = selected;
  if (!same_seed || !self->user_moved)
    {
      self->fitted_width = self->fitted_height = 0;  /* refit at the next snapshot */
      self->user_moved = FALSE;
    }
  invalidate_base (self);

  /* The pointer may be over a node of the new graph already. */
  if (self->pointer_inside)
    {
      guint node;

      if (hit_node (self, self->pointer_x, self->pointer_y, &node))
        self->view.highlight = node;
    }

  update_actions (self);
  update_accessible (self);
  /* Listeners refresh what they show of the selection on "graph-changed";
   * "notify::selected" only when the index itself moved. */
  if (selected != previous_selected)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  g_signal_emit (self, signals[GRAPH_CHANGED], 0);
}

static void
build_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  BuildData *data = task_data;
  BuildResult *result;
  GError *error = NULL;
  FsFlowGraph *graph;

  if (data->prebuilt != NULL)
    graph = fs_flow_graph_ref (data->prebuilt);
  else if (data->expand != NULL)
    graph = fs_workspace_expand_graph (data->workspace, data->expand, data->expand_node,
                                       data->expand_forward, &error);
  else
    graph = fs_workspace_build_graph (data->workspace, data->layer, data->index, &data->params,
                                      cancellable, &error);
  if (graph == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  result = g_new0 (BuildResult, 1);
  result->graph = graph;
  if (g_task_return_error_if_cancelled (task))
    {
      build_result_free (result);
      return;
    }
  result->layout = fs_graph_layout_new (graph);
  if (g_task_return_error_if_cancelled (task))
    {
      build_result_free (result);
      return;
    }

  g_task_return_pointer (task, result, (GDestroyNotify) build_result_free);
}

static void
build_done_cb (GObject      *object,
               GAsyncResult *res,
               gpointer      user_data)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (object);
  GTask *task = G_TASK (res);
  g_autoptr(GError) error = NULL;
  BuildResult *result;

  result = g_task_propagate_pointer (task, &error);

  /* A superseded build: a newer one is in flight and owns the state. */
  if (g_task_get_cancellable (task) != self->cancellable)
    {
      g_clear_pointer (&result, build_result_free);
      return;
    }

  g_clear_object (&self->cancellable);
  set_building (self, FALSE);

  if (result == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[BUILD_FAILED], 0, error->message);
      return;
    }

  swap_in (self, result);
  build_result_free (result);
}

static void
start_build (FsGraphWidget *self,
             BuildData     *data)
{
  g_autoptr(GTask) task = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  task = g_task_new (self, self->cancellable, build_done_cb, NULL);
  g_task_set_source_tag (task, start_build);
  g_task_set_task_data (task, data, (GDestroyNotify) build_data_free);
  fs_task_run_in_background (task, build_thread);
  set_building (self, TRUE);
}

static void
rebuild (FsGraphWidget *self)
{
  BuildData *data;

  if (self->workspace == NULL || !self->has_feature)
    return;

  data = g_new0 (BuildData, 1);
  data->workspace = fs_workspace_ref (self->workspace);
  data->layer = self->feature_layer;
  data->index = self->feature_index;
  data->params = self->params;
  start_build (self, data);
}

/* ------------------------------------------------------------ public API */

GtkWidget *
fs_graph_widget_new (void)
{
  return g_object_new (FS_TYPE_GRAPH_WIDGET, NULL);
}

void
fs_graph_widget_set_workspace (FsGraphWidget *self,
                               FsWorkspace   *workspace)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  if (fs_set_workspace (&self->workspace, workspace))
    update_actions (self);
}

FsWorkspace *
fs_graph_widget_get_workspace (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), NULL);

  return self->workspace;
}

void
fs_graph_widget_show_feature (FsGraphWidget *self,
                              int            layer,
                              gint64         index)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  self->has_feature = TRUE;
  self->feature_layer = layer;
  self->feature_index = index;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FEATURE]);
  rebuild (self);
}

gboolean
fs_graph_widget_get_feature (FsGraphWidget *self,
                             int           *layer,
                             gint64        *index)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), FALSE);

  if (!self->has_feature)
    return FALSE;
  *layer = self->feature_layer;
  *index = self->feature_index;
  return TRUE;
}

void
fs_graph_widget_set_params (FsGraphWidget      *self,
                            const FsFlowParams *params)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));
  g_return_if_fail (params != NULL);

  if (memcmp (params, &self->params, sizeof *params) == 0)
    return;

  self->params = *params;
  rebuild (self);
}

void
fs_graph_widget_get_params (FsGraphWidget *self,
                            FsFlowParams  *params)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  *params = self->params;
}

void
fs_graph_widget_set_graph (FsGraphWidget *self,
                           FsFlowGraph   *graph)
{
  BuildData *data;

  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));
  g_return_if_fail (graph != NULL);

  /* No feature of the workspace is shown any more: parameter changes
   * leave this graph alone. */
  if (self->has_feature)
    {
      self->has_feature = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FEATURE]);
    }

  data = g_new0 (BuildData, 1);
  data->prebuilt = fs_flow_graph_ref (graph);
  start_build (self, data);
}

void
fs_graph_widget_clear (FsGraphWidget *self)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  set_building (self, FALSE);
  self->has_feature = FALSE;
  g_clear_pointer (&self->graph, fs_flow_graph_unref);
  g_clear_pointer (&self->layout, fs_graph_layout_unref);
  self->view.highlight = -1;
  self->view.selected = -1;
  invalidate_base (self);
  update_actions (self);
  update_accessible (self);
  g_signal_emit (self, signals[GRAPH_CHANGED], 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FEATURE]);
}

gboolean
fs_graph_widget_get_building (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), FALSE);

  return self->building;
}

FsFlowGraph *
fs_graph_widget_get_graph (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), NULL);

  return self->graph;
}

FsGraphLayout *
fs_graph_widget_get_layout (FsGraphWidget *self)
{
  g_return_val_if_fail (FS_IS_GRAPH_WIDGET (self), NULL);

  return self->layout;
}

void
fs_graph_widget_get_render_stats (FsGraphWidget      *self,
                                  FsGraphRenderStats *stats)
{
  g_return_if_fail (FS_IS_GRAPH_WIDGET (self));

  *stats = self->stats;
}

/* ------------------------------------------------------------ actions */

static void
reroot_at (FsGraphWidget *self,
           guint          node_index)
{
  const FsFlowNode *node = fs_flow_graph_get_node (self->graph, node_index);

  if (node->site != FS_SITE_RES || node->is_seed || self->workspace == NULL)
    return;

  fs_graph_widget_show_feature (self, node->layer, node->index);
}

static void
copy_id_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);
  g_autofree char *id = NULL;

  if (self->graph == NULL || self->view.selected < 0)
    return;

  id = node_id (fs_flow_graph_get_node (self->graph, self->view.selected));
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), id);
}

static void
reroot_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);

  if (self->graph != NULL && self->view.selected >= 0)
    reroot_at (self, self->view.selected);
}

/* Expanding rebuilds in a worker like any build: a newer request cancels
 * it, and changed thresholds later rebuild the graph without it. */
static void
expand_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);
  BuildData *data;

  if (self->graph == NULL || self->view.selected < 0 || self->workspace == NULL)
    return;

  data = g_new0 (BuildData, 1);
  data->workspace = fs_workspace_ref (self->workspace);
  data->expand = fs_flow_graph_ref (self->graph);
  data->expand_node = (guint) self->view.selected;
  data->expand_forward = g_str_equal (action_name, "graph.expand-successors");
  start_build (self, data);
}

static void
add_to_steering_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);

  if (self->graph != NULL && self->view.selected >= 0)
    g_signal_emit (self, signals[ADD_TO_STEERING], 0, (guint) self->view.selected);
}

static void
zoom_in_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  fs_graph_widget_zoom (FS_GRAPH_WIDGET (widget), ZOOM_STEP);
}

static void
zoom_out_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  fs_graph_widget_zoom (FS_GRAPH_WIDGET (widget), 1.0 / ZOOM_STEP);
}

static void
fit_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  fs_graph_widget_fit (FS_GRAPH_WIDGET (widget));
}

static void
popup_context_menu (FsGraphWidget *self,
                    double         x,
                    double         y)
{
  if (self->context_menu == NULL)
    {
      g_autoptr(GMenu) menu = g_menu_new ();
      g_autoptr(GMenu) graph_section = g_menu_new ();
      g_autoptr(GMenu) steer_section = g_menu_new ();

      g_menu_append (graph_section, _("_Copy Feature ID"), "graph.copy-id");
      g_menu_append (graph_section, _("Show _Flow Graph From Here"), "graph.reroot");
      g_menu_append (graph_section, _("Expand _Predecessors"), "graph.expand-predecessors");
      g_menu_append (graph_section, _("Expand _Successors"), "graph.expand-successors");
      g_menu_append (steer_section, _("Add to _Steering"), "graph.add-to-steering");
      g_menu_append (steer_section, _("Steer With the Whole _Graph"), "win.steer-graph");
      g_menu_append_section (menu, NULL, G_MENU_MODEL (graph_section));
      g_menu_append_section (menu, NULL, G_MENU_MODEL (steer_section));

      self->context_menu = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
      gtk_widget_set_parent (self->context_menu, GTK_WIDGET (self));
      gtk_popover_set_has_arrow (GTK_POPOVER (self->context_menu), FALSE);
      gtk_widget_set_halign (self->context_menu, GTK_ALIGN_START);
    }

  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu),
                               &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

static void
context_menu_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);
  double x, y;

  if (self->graph == NULL)
    return;
  if (self->view.selected < 0)
    fs_graph_widget_set_selected (self, fs_flow_graph_get_seed (self->graph));
  if (self->view.selected >= 0 && fs_graph_widget_get_node_point (self, self->view.selected, &x, &y))
    popup_context_menu (self, x, y);
}

/* Moves the selection to the nearest node in a direction: the one that
 * minimises the distance along it plus twice the distance across it. */
static void
move_selection (FsGraphWidget *self,
                double         dx,
                double         dy)
{
  FsGraphPoint from;
  double best_cost = G_MAXDOUBLE;
  int best = -1;
  guint n;

  if (self->layout == NULL)
    return;

  n = fs_graph_layout_get_n_nodes (self->layout);
  if (n == 0)
    return;
  if (self->view.selected < 0)
    {
      fs_graph_widget_set_selected (self, fs_flow_graph_get_seed (self->graph));
      return;
    }

  from = fs_graph_layout_get_node_position (self->layout, self->view.selected);
  for (guint i = 0; i < n; i++)
    {
      FsGraphPoint to = fs_graph_layout_get_node_position (self->layout, i);
      double along = (to.x - from.x) * dx + (to.y - from.y) * dy;
      double across = fabs ((to.x - from.x) * dy - (to.y - from.y) * dx);
      double cost;

      if ((int) i == self->view.selected || along <= 1e-9)
        continue;
      cost = along + 2 * across;
      if (cost < best_cost)
        {
          best_cost = cost;
          best = i;
        }
    }

  if (best >= 0)
    fs_graph_widget_set_selected (self, best);
}

static gboolean
move_binding (GtkWidget *widget,
              GVariant  *args,
              gpointer   user_data)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);
  int dx, dy;

  g_variant_get (args, "(ii)", &dx, &dy);
  move_selection (self, dx, dy);
  return TRUE;
}

static gboolean
activate_binding (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);

  if (self->graph == NULL || self->view.selected < 0)
    return FALSE;

  reroot_at (self, self->view.selected);
  return TRUE;
}

static gboolean
unselect_binding (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (widget);

  if (self->view.selected < 0)
    return FALSE;

  fs_graph_widget_set_selected (self, -1);
  return TRUE;
}

/* ------------------------------------------------------------ input */

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           FsGraphWidget            *self)
{
  guint node;

  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;

  if (self->dragging)
    return;

  if (hit_node (self, x, y, &node))
    {
      set_highlight (self, node);
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "pointer");
    }
  else
    {
      set_highlight (self, -1);
      gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
    }
}

static void
leave_cb (GtkEventControllerMotion *controller,
          FsGraphWidget            *self)
{
  self->pointer_inside = FALSE;
  if (!self->dragging)
    set_highlight (self, -1);
}

static void
click_pressed_cb (GtkGestureClick *gesture,
                  int              n_press,
                  double           x,
                  double           y,
                  FsGraphWidget   *self)
{
  guint node;

  gtk_widget_grab_focus (GTK_WIDGET (self));

  if (n_press == 2 && hit_node (self, x, y, &node))
    {
      fs_graph_widget_set_selected (self, node);
      reroot_at (self, node);
    }
}

/* Selection happens on release, so that a drag from a node pans instead. */
static void
click_released_cb (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   FsGraphWidget   *self)
{
  guint node;

  if (n_press != 1 || self->dragging)
    return;

  if (hit_node (self, x, y, &node))
    fs_graph_widget_set_selected (self, node);
  else
    fs_graph_widget_set_selected (self, -1);
}

static void
secondary_pressed_cb (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      FsGraphWidget   *self)
{
  guint node;

  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (!hit_node (self, x, y, &node))
    return;

  fs_graph_widget_set_selected (self, node);
  popup_context_menu (self, x, y);
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
drag_begin_cb (GtkGestureDrag *gesture,
               double          x,
               double          y,
               FsGraphWidget  *self)
{
  self->drag_offset_x = self->view.offset_x;
  self->drag_offset_y = self->view.offset_y;
  self->dragging = FALSE;
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                FsGraphWidget  *self)
{
  if (self->layout == NULL)
    return;

  if (!self->dragging)
    {
      if (!gtk_drag_check_threshold (GTK_WIDGET (self), 0, 0, (int) dx, (int) dy))
        return;
      self->dragging = TRUE;
      set_highlight (self, -1);
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
    }

  set_view_transform (self, self->view.scale,
                      round (self->drag_offset_x + dx), round (self->drag_offset_y + dy));
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             FsGraphWidget  *self)
{
  if (!self->dragging)
    return;

  /* Released after the click gesture saw the release: clear afterwards. */
  self->dragging = FALSE;
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           FsGraphWidget            *self)
{
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  double step = SCROLL_PAN_STEP;

  if (self->layout == NULL)
    return FALSE;

  if (state & GDK_CONTROL_MASK)
    {
      double x = self->pointer_inside ? self->pointer_x : gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      double y = self->pointer_inside ? self->pointer_y : gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;

      zoom_at (self, self->view.scale * pow (ZOOM_STEP, -dy), x, y);
      return TRUE;
    }

  if (gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_SURFACE)
    step = 1.0;
  if (state & GDK_SHIFT_MASK && dx == 0)
    {
      dx = dy;
      dy = 0;
    }
  set_view_transform (self, self->view.scale,
                      round (self->view.offset_x - dx * step),
                      round (self->view.offset_y - dy * step));
  return TRUE;
}

static void
zoom_begin_cb (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               FsGraphWidget    *self)
{
  self->zoom_start_scale = self->view.scale;
  if (!gtk_gesture_get_bounding_box_center (gesture, &self->zoom_center_x, &self->zoom_center_y))
    {
      self->zoom_center_x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      self->zoom_center_y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
}

static void
zoom_scale_changed_cb (GtkGestureZoom *gesture,
                       double          scale,
                       FsGraphWidget  *self)
{
  zoom_at (self, self->zoom_start_scale * scale, self->zoom_center_x, self->zoom_center_y);
}

static gboolean
query_tooltip_cb (GtkWidget     *widget,
                  int            x,
                  int            y,
                  gboolean       keyboard_mode,
                  GtkTooltip    *tooltip,
                  FsGraphWidget *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *id = NULL;
  const FsFlowNode *node;
  FsGraphHitKind kind;
  guint index;
  double radius;
  FsGraphPoint center;

  if (self->layout == NULL || self->dragging)
    return FALSE;

  if (keyboard_mode)
    {
      if (self->view.selected < 0)
        return FALSE;
      kind = FS_GRAPH_HIT_NODE;
      index = self->view.selected;
    }
  else if (!fs_graph_hit_test (self->layout, &self->view, x, y, &kind, &index))
    return FALSE;

  if (kind == FS_GRAPH_HIT_EDGE)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (self->graph, index);
      g_autofree char *source = node_id (fs_flow_graph_get_node (self->graph, edge->source));
      g_autofree char *target = node_id (fs_flow_graph_get_node (self->graph, edge->target));

      g_string_append_printf (text, "<b>%s → %s</b>\n", source, target);
      /* Translators: an edge of the flow graph and its cosine score. */
      g_string_append_printf (text, _("score %.3f"), edge->score);
      if (edge->projected)
        g_string_append_printf (text, " · %s", _("through the attention output projection"));
      gtk_tooltip_set_markup (tooltip, text->str);
      return TRUE;
    }

  node = fs_flow_graph_get_node (self->graph, index);
  id = node_id (node);
  g_string_append_printf (text, "<b>%s</b>", id);
  if (node->label != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (node->label, -1);

      g_string_append_printf (text, "\n%s", escaped);
    }
  if (node->site == FS_SITE_RES && node->reading != FS_READING_NONE)
    g_string_append_printf (text, "\n%s · s(R) %.2f · s(M) %.2f · s(A) %.2f",
                            fs_reading_name (node->reading),
                            node->s_res, node->s_mlp, node->s_att);
  else
    {
      /* A module node: its score is that of its edge into the residual. */
      for (guint i = 0; i < fs_flow_graph_get_n_edges (self->graph); i++)
        {
          const FsFlowEdge *edge = fs_flow_graph_get_edge (self->graph, i);

          if (edge->source == index && edge->kind != FS_SITE_RES)
            {
              g_autofree char *target = node_id (fs_flow_graph_get_node (self->graph, edge->target));

              g_string_append_printf (text, "\n");
              g_string_append_printf (text, _("score %.3f into %s"), edge->score, target);
            }
        }
    }
  if (node->site == FS_SITE_RES && !node->is_seed)
    g_string_append_printf (text, "\n<small>%s</small>", _("Double-click to show its flow graph"));

  gtk_tooltip_set_markup (tooltip, text->str);
  radius = fs_graph_view_node_radius (&self->view, self->layout);
  center = fs_graph_view_to_pixels (&self->view, fs_graph_layout_get_node_position (self->layout, index));
  gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { (int) floor (center.x - radius),
                                                       (int) floor (center.y - radius),
                                                       (int) ceil (2 * radius),
                                                       (int) ceil (2 * radius) });
  return TRUE;
}

static void
scale_factor_changed_cb (FsGraphWidget *self)
{
  invalidate_base (self);
}

/* ------------------------------------------------------------ GObject */

static void
fs_graph_widget_dispose (GObject *object)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context_menu, gtk_widget_unparent);
  g_clear_object (&self->base);
  g_clear_object (&self->overlay);

  G_OBJECT_CLASS (fs_graph_widget_parent_class)->dispose (object);
}

static void
fs_graph_widget_finalize (GObject *object)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (object);

  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_clear_pointer (&self->graph, fs_flow_graph_unref);
  g_clear_pointer (&self->layout, fs_graph_layout_unref);

  G_OBJECT_CLASS (fs_graph_widget_parent_class)->finalize (object);
}

static void
fs_graph_widget_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (object);

  switch (prop_id)
    {
    case PROP_BUILDING:
      g_value_set_boolean (value, self->building);
      break;

    case PROP_SELECTED:
      g_value_set_int (value, self->view.selected);
      break;

    case PROP_FEATURE:
      if (self->has_feature)
        g_value_take_string (value, fs_feature_id (self->feature_layer, FS_SITE_RES, self->feature_index));
      else
        g_value_set_string (value, NULL);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_graph_widget_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  FsGraphWidget *self = FS_GRAPH_WIDGET (object);

  switch (prop_id)
    {
    case PROP_SELECTED:
      fs_graph_widget_set_selected (self, g_value_get_int (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
add_move_binding (GtkWidgetClass *widget_class,
                  guint           keyval,
                  guint           keypad_keyval,
                  int             dx,
                  int             dy)
{
  gtk_widget_class_add_binding (widget_class, keyval, 0, move_binding, "(ii)", dx, dy);
  gtk_widget_class_add_binding (widget_class, keypad_keyval, 0, move_binding, "(ii)", dx, dy);
}

static void
fs_graph_widget_class_init (FsGraphWidgetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_graph_widget_dispose;
  object_class->finalize = fs_graph_widget_finalize;
  object_class->get_property = fs_graph_widget_get_property;
  object_class->set_property = fs_graph_widget_set_property;

  widget_class->snapshot = fs_graph_widget_snapshot;
  widget_class->measure = fs_graph_widget_measure;
  widget_class->size_allocate = fs_graph_widget_size_allocate;

  properties[PROP_BUILDING] =
    g_param_spec_boolean ("building", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
    g_param_spec_int ("selected", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FEATURE] =
    g_param_spec_string ("feature", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A new graph is shown (or none). */
  signals[GRAPH_CHANGED] =
    g_signal_new ("graph-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Building the requested graph failed; the message is for people. */
  signals[BUILD_FAILED] =
    g_signal_new ("build-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The selected node (its index) is to be steered with. */
  signals[ADD_TO_STEERING] =
    g_signal_new ("add-to-steering", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gtk_widget_class_install_action (widget_class, "graph.copy-id", NULL, copy_id_action);
  gtk_widget_class_install_action (widget_class, "graph.reroot", NULL, reroot_action);
  gtk_widget_class_install_action (widget_class, "graph.expand-predecessors", NULL, expand_action);
  gtk_widget_class_install_action (widget_class, "graph.expand-successors", NULL, expand_action);
  gtk_widget_class_install_action (widget_class, "graph.add-to-steering", NULL, add_to_steering_action);
  gtk_widget_class_install_action (widget_class, "graph.zoom-in", NULL, zoom_in_action);
  gtk_widget_class_install_action (widget_class, "graph.zoom-out", NULL, zoom_out_action);
  gtk_widget_class_install_action (widget_class, "graph.fit", NULL, fit_action);
  gtk_widget_class_install_action (widget_class, "graph.context-menu", NULL, context_menu_action);

  /* Keep in step with ui/shortcuts-dialog.ui. The window has the Control
   * variants of the zoom keys, for when the graph is not focused. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "graph.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "graph.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "graph.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "graph.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "graph.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "graph.fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "graph.fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "graph.copy-id", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "graph.context-menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "graph.context-menu", NULL);
  add_move_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, 0, -1);
  add_move_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, 0, 1);
  add_move_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, -1, 0);
  add_move_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, 1, 0);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Return, 0, activate_binding, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_KP_Enter, 0, activate_binding, NULL);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Escape, 0, unselect_binding, NULL);

  gtk_widget_class_set_css_name (widget_class, "flowgraph");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_WIDGET);
}

static void
fs_graph_widget_init (FsGraphWidget *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  fs_flow_params_init (&self->params);
  fs_graph_view_init (&self->view);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (query_tooltip_cb), self);
  g_signal_connect (self, "notify::scale-factor", G_CALLBACK (scale_factor_changed_cb), NULL);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (click_pressed_cb), self);
  g_signal_connect (gesture, "released", G_CALLBACK (click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (secondary_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (zoom_begin_cb), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (zoom_scale_changed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
  update_style (self);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Flow graph"),
                                  -1);
  update_accessible (self);
  update_actions (self);
}
