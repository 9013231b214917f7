/* fs-graph-controls.c: thresholds, top-k, span cut and node cap.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Emits "changed" at every edit; the window debounces the rebuild.
 */

#define G_LOG_DOMAIN "fs-graph-controls"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-graph-controls.h"

struct _FsGraphControls
{
  AdwBin          parent_instance;

  GtkSpinButton  *t_res;
  GtkSpinButton  *t_mlp;
  GtkSpinButton  *t_att;
  GtkSpinButton  *top_k;
  GtkSpinButton  *max_nodes;
  GtkSwitch      *span_cut;

  gboolean        updating;
};

G_DEFINE_FINAL_TYPE (FsGraphControls, fs_graph_controls, ADW_TYPE_BIN)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
fs_graph_controls_new (void)
{
  return g_object_new (FS_TYPE_GRAPH_CONTROLS, NULL);
}

void
fs_graph_controls_set_params (FsGraphControls    *self,
                              const FsFlowParams *params)
{
  g_return_if_fail (FS_IS_GRAPH_CONTROLS (self));
  g_return_if_fail (params != NULL);

  self->updating = TRUE;
  gtk_spin_button_set_value (self->t_res, params->t_res);
  gtk_spin_button_set_value (self->t_mlp, params->t_mlp);
  gtk_spin_button_set_value (self->t_att, params->t_att);
  gtk_spin_button_set_value (self->top_k, params->top_k);
  gtk_spin_button_set_value (self->max_nodes, params->max_nodes);
  gtk_switch_set_active (self->span_cut, params->span_cut);
  self->updating = FALSE;
}

void
fs_graph_controls_get_params (FsGraphControls *self,
                              FsFlowParams    *params)
{
  g_return_if_fail (FS_IS_GRAPH_CONTROLS (self));
  g_return_if_fail (params != NULL);

  fs_flow_params_init (params);
  /* Spin buttons hold doubles; the engine compares floats. Round to the
   * shown digits so 0.3 means 0.3f. */
  params->t_res = (float) gtk_spin_button_get_value (self->t_res);
  params->t_mlp = (float) gtk_spin_button_get_value (self->t_mlp);
  params->t_att = (float) gtk_spin_button_get_value (self->t_att);
  params->top_k = gtk_spin_button_get_value_as_int (self->top_k);
  params->max_nodes = gtk_spin_button_get_value_as_int (self->max_nodes);
  params->span_cut = gtk_switch_get_active (self->span_cut);
}

static void
changed_cb (FsGraphControls *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[CHANGED], 0);
}

static void
fs_graph_controls_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_GRAPH_CONTROLS);

  G_OBJECT_CLASS (fs_graph_controls_parent_class)->dispose (object);
}

static void
fs_graph_controls_class_init (FsGraphControlsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_graph_controls_dispose;

  /* A parameter was edited. */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-graph-controls.ui");
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, t_res);
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, t_mlp);
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, t_att);
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, top_k);
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, max_nodes);
  gtk_widget_class_bind_template_child (widget_class, FsGraphControls, span_cut);
  gtk_widget_class_bind_template_callback (widget_class, changed_cb);
}

static void
fs_graph_controls_init (FsGraphControls *self)
{
  FsFlowParams params;

  gtk_widget_init_template (GTK_WIDGET (self));

  fs_flow_params_init (&params);
  fs_graph_controls_set_params (self, &params);
}
