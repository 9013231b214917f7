/* fs-steering-row.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-steering-row"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "fs-steering-row.h"

/* Typed and keyboard edits commit after this pause, so that holding an
 * arrow key regenerates once. */
#define COMMIT_DELAY_MS 400

/* The slider's range for each operation, and where a new row starts:
 * the paper sweeps r down to -64 to remove a theme; add and clamp values
 * count activations. */
static const struct {
  double lower;
  double upper;
  double initial;
} op_ranges[] = {
  [FS_STEER_SCALE] = { -64, 16, 0 },
  [FS_STEER_ADD] = { -50, 50, 10 },
  [FS_STEER_CLAMP] = { 0, 50, 5 },
};

struct _FsSteeringRow
{
  GtkListBoxRow   parent_instance;

  int             layer;
  FsSite          site;
  gint64          index;
  FsFlowGraph    *graph;
  int             seed_layer;
  int             span_start;
  int             span_end;

  char           *unit;
  double          raw_factor;
  char           *range_text;

  /* A pointer holds the slider: changes wait for its release. */
  gboolean        pressed;
  gboolean        changed_while_pressed;
  guint           commit_timeout;
  /* Set while the row changes itself: no commit. */
  gboolean        updating;

  /* Template widgets */
  GtkWidget      *site_dot;
  GtkLabel       *title_label;
  GtkLabel       *subtitle_label;
  GtkDropDown    *op_dropdown;
  GtkScale       *slider;
  GtkAdjustment  *adjustment;
  GtkLabel       *range_label;
  GtkWidget      *strategy_box;
  GtkDropDown    *strategy_dropdown;
  GtkLabel       *layer_label;
  GtkSpinButton  *layer_spin;
  GtkWidget      *s_end_box;
  GtkSpinButton  *s_end_spin;
  GtkWidget      *alpha_box;
  GtkSpinButton  *alpha_spin;
};

G_DEFINE_FINAL_TYPE (FsSteeringRow, fs_steering_row, GTK_TYPE_LIST_BOX_ROW)

enum {
  COMMITTED,
  REMOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
commit (FsSteeringRow *self)
{
  g_clear_handle_id (&self->commit_timeout, g_source_remove);
  g_signal_emit (self, signals[COMMITTED], 0);
}

static gboolean
commit_timeout_cb (gpointer user_data)
{
  FsSteeringRow *self = user_data;

  self->commit_timeout = 0;
  commit (self);
  return G_SOURCE_REMOVE;
}

static void
commit_later (FsSteeringRow *self,
              guint          delay_ms)
{
  g_clear_handle_id (&self->commit_timeout, g_source_remove);
  self->commit_timeout = g_timeout_add (delay_ms, commit_timeout_cb, self);
}

static void
update_range_text (FsSteeringRow *self)
{
  FsSteerOp op = fs_steering_row_get_op (self);
  double lower = op_ranges[op].lower, upper = op_ranges[op].upper;
  const char *symbol = op == FS_STEER_ADD ? "s" : "c";

  g_free (self->range_text);
  if (op == FS_STEER_SCALE)
    self->range_text = g_strdup_printf (_("r from %g to %g, a ratio: 1 changes nothing, 0 removes the feature"),
                                        lower, upper);
  else if (isfinite (self->raw_factor))
    /* Translators: "s from -50 to 50 typical activations (1 = 0.88 raw)" */
    self->range_text = g_strdup_printf (_("%s from %g to %g %s (1 = %.3g raw)"),
                                        symbol, lower, upper, self->unit, self->raw_factor);
  else
    /* Translators: "s from -50 to 50 raw activation units" */
    self->range_text = g_strdup_printf (_("%s from %g to %g %s"), symbol, lower, upper, self->unit);
  gtk_label_set_text (self->range_label, self->range_text);
}

/* ------------------------------------------------------------ slider */

static gboolean
slider_event_cb (FsSteeringRow            *self,
                 GdkEvent                 *event,
                 GtkEventControllerLegacy *controller)
{
  switch (gdk_event_get_event_type (event))
    {
    case GDK_BUTTON_PRESS:
    case GDK_TOUCH_BEGIN:
      self->pressed = TRUE;
      self->changed_while_pressed = FALSE;
      break;
    case GDK_BUTTON_RELEASE:
    case GDK_TOUCH_END:
    case GDK_TOUCH_CANCEL:
      self->pressed = FALSE;
      /* After the release has reached the slider, not inside it. */
      if (self->changed_while_pressed)
        commit_later (self, 0);
      break;
    default:
      break;
    }

  return GDK_EVENT_PROPAGATE;
}

static void
value_changed_cb (FsSteeringRow *self)
{
  if (self->updating)
    return;
  if (self->pressed)
    self->changed_while_pressed = TRUE;
  else
    commit_later (self, COMMIT_DELAY_MS);
}

static void
op_changed_cb (FsSteeringRow *self)
{
  FsSteerOp op = fs_steering_row_get_op (self);
  gboolean updating = self->updating;

  /* Each operation starts from its own typical value; a mark shows where
   * rescaling or adding changes nothing. */
  self->updating = TRUE;
  gtk_adjustment_configure (self->adjustment, op_ranges[op].initial, op_ranges[op].lower,
                            op_ranges[op].upper, 0.5, 5, 0);
  gtk_scale_clear_marks (self->slider);
  if (op != FS_STEER_CLAMP)
    gtk_scale_add_mark (self->slider, op == FS_STEER_SCALE ? 1 : 0, GTK_POS_BOTTOM, NULL);
  self->updating = updating;
  update_range_text (self);
  if (!updating)
    commit (self);
}

/* ------------------------------------------------------------ strategy */

static void
update_strategy_widgets (FsSteeringRow *self)
{
  FsStrategy strategy = gtk_drop_down_get_selected (self->strategy_dropdown);

  gtk_label_set_text_with_mnemonic (self->layer_label,
                                    strategy == FS_STRATEGY_SINGLE ? _("_Layer") : _("_Up to layer"));
  gtk_widget_set_visible (self->s_end_box, strategy == FS_STRATEGY_LINEAR);
  gtk_widget_set_visible (self->alpha_box, strategy == FS_STRATEGY_EXPONENTIAL);
}

static void
strategy_changed_cb (FsSteeringRow *self)
{
  FsStrategy strategy = gtk_drop_down_get_selected (self->strategy_dropdown);
  gboolean updating = self->updating;

  /* The strategies' own defaults: the seed's layer alone, or everything
   * up to the span's end. */
  self->updating = TRUE;
  gtk_spin_button_set_value (self->layer_spin,
                             strategy == FS_STRATEGY_SINGLE ? self->seed_layer : self->span_end);
  self->updating = updating;
  update_strategy_widgets (self);
  if (!self->updating)
    commit (self);
}

static void
strategy_value_changed_cb (FsSteeringRow *self)
{
  if (!self->updating)
    commit_later (self, COMMIT_DELAY_MS);
}

/* ------------------------------------------------------------ public */

static void
fs_steering_row_setup (FsSteeringRow *self,
                       int            layer,
                       FsSite         site,
                       gint64         index,
                       const char    *label)
{
  g_autofree char *id = fs_feature_id (layer, site, index);

  self->layer = layer;
  self->site = site;
  self->index = index;
  gtk_widget_add_css_class (self->site_dot, fs_site_name (site));
  gtk_label_set_text (self->title_label, id);
  gtk_label_set_text (self->subtitle_label, label != NULL ? label : _("No label"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label), label);
}

GtkWidget *
fs_steering_row_new_feature (int         layer,
                             FsSite      site,
                             gint64      index,
                             const char *label)
{
  FsSteeringRow *self = g_object_new (FS_TYPE_STEERING_ROW, NULL);
  g_autofree char *id = fs_feature_id (layer, site, index);

  fs_steering_row_setup (self, layer, site, index, label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, id,
                                  -1);
  return GTK_WIDGET (self);
}

GtkWidget *
fs_steering_row_new_graph (FsFlowGraph *graph,
                           const char  *label)
{
  FsSteeringRow *self = g_object_new (FS_TYPE_STEERING_ROW, NULL);
  const FsFlowNode *seed = fs_flow_graph_get_node (graph, fs_flow_graph_get_seed (graph));
  g_autoptr(GArray) features = fs_strategy_graph_features (graph, &self->seed_layer);
  g_autofree char *seed_id = fs_feature_id (seed->layer, seed->site, seed->index);
  g_autofree char *title = g_strdup_printf (_("Graph of %s"), seed_id);
  g_autofree char *subtitle = NULL;

  fs_steering_row_setup (self, seed->layer, seed->site, seed->index, label);
  self->graph = fs_flow_graph_ref (graph);
  self->span_start = g_array_index (features, FsSteerTarget, 0).layer;
  self->span_end = g_array_index (features, FsSteerTarget, features->len - 1).layer;

  subtitle = g_strdup_printf (ngettext ("%u feature, layers %d to %d", "%u features, layers %d to %d",
                                        features->len),
                              features->len, self->span_start, self->span_end);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->subtitle_label, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label), label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);

  self->updating = TRUE;
  gtk_spin_button_set_range (self->layer_spin, self->span_start, self->span_end);
  gtk_drop_down_set_selected (self->strategy_dropdown, FS_STRATEGY_CONSTANT);
  gtk_spin_button_set_value (self->layer_spin, self->span_end);
  self->updating = FALSE;
  update_strategy_widgets (self);
  gtk_widget_set_visible (self->strategy_box, TRUE);

  return GTK_WIDGET (self);
}

void
fs_steering_row_get_feature (FsSteeringRow *self,
                             int           *layer,
                             FsSite        *site,
                             gint64        *index)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));

  *layer = self->layer;
  *site = self->site;
  *index = self->index;
}

FsFlowGraph *
fs_steering_row_get_graph (FsSteeringRow *self)
{
  g_return_val_if_fail (FS_IS_STEERING_ROW (self), NULL);

  return self->graph;
}

FsSteerOp
fs_steering_row_get_op (FsSteeringRow *self)
{
  g_return_val_if_fail (FS_IS_STEERING_ROW (self), FS_STEER_ADD);

  return (FsSteerOp) gtk_drop_down_get_selected (self->op_dropdown);
}

void
fs_steering_row_set_op (FsSteeringRow *self,
                        FsSteerOp      op)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));
  g_return_if_fail (op <= FS_STEER_CLAMP);

  self->updating = TRUE;
  gtk_drop_down_set_selected (self->op_dropdown, op);
  self->updating = FALSE;
}

double
fs_steering_row_get_value (FsSteeringRow *self)
{
  g_return_val_if_fail (FS_IS_STEERING_ROW (self), 0);

  return gtk_adjustment_get_value (self->adjustment);
}

void
fs_steering_row_set_value (FsSteeringRow *self,
                           double         value)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));

  self->updating = TRUE;
  gtk_adjustment_set_value (self->adjustment, value);
  self->updating = FALSE;
}

void
fs_steering_row_get_strategy (FsSteeringRow    *self,
                              FsStrategyParams *params)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));

  fs_strategy_params_init (params);
  params->strategy = gtk_drop_down_get_selected (self->strategy_dropdown);
  params->layer = gtk_spin_button_get_value_as_int (self->layer_spin);
  params->s_end = gtk_spin_button_get_value (self->s_end_spin);
  params->alpha = gtk_spin_button_get_value (self->alpha_spin);
}

void
fs_steering_row_set_strategy (FsSteeringRow          *self,
                              const FsStrategyParams *params)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));

  self->updating = TRUE;
  gtk_drop_down_set_selected (self->strategy_dropdown, params->strategy);
  if (params->layer != FS_STRATEGY_LAYER_DEFAULT)
    gtk_spin_button_set_value (self->layer_spin, params->layer);
  gtk_spin_button_set_value (self->s_end_spin, params->s_end);
  gtk_spin_button_set_value (self->alpha_spin, params->alpha);
  self->updating = FALSE;
}

void
fs_steering_row_set_unit (FsSteeringRow *self,
                          const char    *unit,
                          double         raw_factor)
{
  g_return_if_fail (FS_IS_STEERING_ROW (self));
  g_return_if_fail (unit != NULL);

  g_free (self->unit);
  self->unit = g_strdup (unit);
  self->raw_factor = raw_factor;
  update_range_text (self);
}

const char *
fs_steering_row_get_range_text (FsSteeringRow *self)
{
  g_return_val_if_fail (FS_IS_STEERING_ROW (self), NULL);

  return self->range_text;
}

GtkRange *
fs_steering_row_get_slider (FsSteeringRow *self)
{
  g_return_val_if_fail (FS_IS_STEERING_ROW (self), NULL);

  return GTK_RANGE (self->slider);
}

static void
remove_clicked_cb (FsSteeringRow *self)
{
  g_signal_emit (self, signals[REMOVE], 0);
}

/* ------------------------------------------------------------ GObject */

static void
fs_steering_row_dispose (GObject *object)
{
  FsSteeringRow *self = FS_STEERING_ROW (object);

  g_clear_handle_id (&self->commit_timeout, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_STEERING_ROW);

  G_OBJECT_CLASS (fs_steering_row_parent_class)->dispose (object);
}

static void
fs_steering_row_finalize (GObject *object)
{
  FsSteeringRow *self = FS_STEERING_ROW (object);

  g_free (self->unit);
  g_free (self->range_text);
  g_clear_pointer (&self->graph, fs_flow_graph_unref);

  G_OBJECT_CLASS (fs_steering_row_parent_class)->finalize (object);
}

static void
fs_steering_row_class_init (FsSteeringRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_steering_row_dispose;
  object_class->finalize = fs_steering_row_finalize;

  /* The user settled on a value: time to generate again. */
  signals[COMMITTED] =
    g_signal_new ("committed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The remove button was clicked. */
  signals[REMOVE] =
    g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-steering-row.ui");
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, site_dot);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, op_dropdown);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, slider);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, adjustment);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, range_label);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, strategy_box);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, strategy_dropdown);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, layer_label);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, layer_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, s_end_box);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, s_end_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, alpha_box);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringRow, alpha_spin);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
}

static void
fs_steering_row_init (FsSteeringRow *self)
{
  GtkEventController *controller;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->unit = g_strdup (_("raw activation units"));
  self->raw_factor = NAN;

  /* Capture phase: the slider's own drag gesture must not hide the
   * release from us. */
  controller = gtk_event_controller_legacy_new ();
  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  g_signal_connect_object (controller, "event", G_CALLBACK (slider_event_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->slider), controller);

  g_signal_connect_object (self->adjustment, "value-changed", G_CALLBACK (value_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->op_dropdown, "notify::selected", G_CALLBACK (op_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->strategy_dropdown, "notify::selected", G_CALLBACK (strategy_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->layer_spin, "value-changed", G_CALLBACK (strategy_value_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->s_end_spin, "value-changed", G_CALLBACK (strategy_value_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->alpha_spin, "value-changed", G_CALLBACK (strategy_value_changed_cb), self, G_CONNECT_SWAPPED);

  /* A new row adds its feature: activating is what it is added for. */
  self->updating = TRUE;
  gtk_drop_down_set_selected (self->op_dropdown, FS_STEER_ADD);
  self->updating = FALSE;
}
