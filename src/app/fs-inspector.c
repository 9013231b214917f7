/* fs-inspector.c: the selected feature's id, label, reading, scores and
 * neighbours.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-inspector"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-inspector.h"

#define NEURONPEDIA_URL "https://www.neuronpedia.org/"

struct _FsInspector
{
  AdwBin        parent_instance;

  char         *feature_id;
  char         *neuronpedia_uri;
  guint         node;

  /* Template widgets */
  GtkStack     *stack;
  GtkWidget    *site_dot;
  GtkLabel     *id_label;
  GtkLabel     *kind_label;
  GtkLabel     *label_label;
  GtkWidget    *reading_box;
  GtkLabel     *reading_label;
  GtkLabel     *reading_text;
  GtkWidget    *scores_group;
  GtkLevelBar  *s_res_bar;
  GtkLevelBar  *s_mlp_bar;
  GtkLevelBar  *s_att_bar;
  GtkLabel     *s_res_value;
  GtkLabel     *s_mlp_value;
  GtkLabel     *s_att_value;
  GtkWidget    *in_group;
  GtkListBox   *in_list;
  GtkWidget    *out_group;
  GtkListBox   *out_list;
  GtkWidget    *neuronpedia_group;
  AdwActionRow *neuronpedia_row;
  GtkLinkButton *neuronpedia_link;
  GtkWidget    *reroot_button;
};

G_DEFINE_FINAL_TYPE (FsInspector, fs_inspector, ADW_TYPE_BIN)

enum {
  NODE_ACTIVATED,
  REROOT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
fs_inspector_new (void)
{
  return g_object_new (FS_TYPE_INSPECTOR, NULL);
}

const char *
fs_inspector_get_feature_id (FsInspector *self)
{
  g_return_val_if_fail (FS_IS_INSPECTOR (self), NULL);

  return self->feature_id;
}

const char *
fs_inspector_get_neuronpedia_uri (FsInspector *self)
{
  g_return_val_if_fail (FS_IS_INSPECTOR (self), NULL);

  return self->neuronpedia_uri;
}

static const char *
site_description (FsSite site)
{
  switch (site)
    {
    case FS_SITE_RES:
      return _("Residual stream");
    case FS_SITE_MLP:
      return _("MLP output");
    case FS_SITE_ATT:
      return _("Attention output");
    default:
      g_assert_not_reached ();
    }
}

static const char *
reading_title (FsReading reading)
{
  switch (reading)
    {
    case FS_READING_TRANSLATED:
      return _("Translated");
    case FS_READING_PROCESSED:
      return _("Processed");
    case FS_READING_NEWBORN:
      return _("Newborn");
    case FS_READING_UNEXPLAINED:
      return _("Unexplained");
    case FS_READING_NONE:
    default:
      return NULL;
    }
}

static const char *
reading_explanation (FsReading reading)
{
  switch (reading)
    {
    case FS_READING_TRANSLATED:
      return _("Carried over from the previous residual stream: s(R) is high, the modules’ scores are low.");
    case FS_READING_PROCESSED:
      return _("Passed through and changed by this layer: s(R) and a module’s score are both high.");
    case FS_READING_NEWBORN:
      return _("Created by this layer’s MLP or attention: s(R) is low, a module’s score is high.");
    case FS_READING_UNEXPLAINED:
      return _("No single predecessor matches it well: every score is low.");
    case FS_READING_NONE:
    default:
      return NULL;
    }
}

static void
set_score (GtkLevelBar *bar,
           GtkLabel    *value_label,
           float        score,
           float        threshold)
{
  g_autofree char *text = NULL;

  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (bar, GTK_LEVEL_BAR_OFFSET_FULL);
  /* Below the threshold the bar takes the "low" colour. */
  gtk_level_bar_add_offset_value (bar, GTK_LEVEL_BAR_OFFSET_LOW, MAX (threshold - 1e-4, 0.0));
  gtk_level_bar_add_offset_value (bar, GTK_LEVEL_BAR_OFFSET_HIGH, 1.0);
  gtk_level_bar_set_value (bar, CLAMP (score, 0.0, 1.0));

  /* Translators: a score and the threshold it is compared with. */
  text = g_strdup_printf (score >= threshold ? _("%.2f ≥ %.2f") : _("%.2f < %.2f"), score, threshold);
  gtk_label_set_text (value_label, text);
}

static void
remove_all_rows (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

static GtkWidget *
edge_row (FsWorkspace       *workspace,
          FsFlowGraph       *graph,
          const FsFlowEdge  *edge,
          guint              other)
{
  const FsFlowNode *node = fs_flow_graph_get_node (graph, other);
  g_autofree char *id = fs_feature_id (node->layer, node->site, node->index);
  g_autofree char *score = g_strdup_printf ("%.3f", edge->score);
  const char *label = node->label;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *dot = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *score_label = gtk_label_new (score);

  if (label == NULL && workspace != NULL)
    label = fs_workspace_get_label (workspace, node->layer, node->site, node->index);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), id);
  if (label != NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), label);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
    }
  gtk_widget_add_css_class (dot, "site-dot");
  gtk_widget_add_css_class (dot, fs_site_name (node->site));
  gtk_widget_set_valign (dot, GTK_ALIGN_CENTER);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), dot);
  gtk_widget_add_css_class (score_label, "numeric");
  gtk_widget_set_tooltip_text (score_label, edge->projected
                               ? _("Cosine of the decoder directions, through the attention output projection")
                               : _("Cosine of the decoder directions"));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), score_label);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  g_object_set_data (G_OBJECT (row), "node", GUINT_TO_POINTER (other));

  return row;
}

void
fs_inspector_show_node (FsInspector  *self,
                        FsWorkspace  *workspace,
                        FsFlowGraph  *graph,
                        int           node_index)
{
  const FsFlowParams *params;
  const FsFlowNode *node;
  const char *label;
  g_autofree char *kind = NULL;
  g_autofree char *np_id = NULL;
  FsSae *sae = NULL;
  guint n_in = 0, n_out = 0;
  gboolean has_scores;

  g_return_if_fail (FS_IS_INSPECTOR (self));

  g_clear_pointer (&self->feature_id, g_free);
  g_clear_pointer (&self->neuronpedia_uri, g_free);
  remove_all_rows (self->in_list);
  remove_all_rows (self->out_list);

  if (graph == NULL || node_index < 0 || (guint) node_index >= fs_flow_graph_get_n_nodes (graph))
    {
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }

  node = fs_flow_graph_get_node (graph, node_index);
  params = fs_flow_graph_get_params (graph);
  self->node = node_index;
  self->feature_id = fs_feature_id (node->layer, node->site, node->index);

  /* Identity */
  gtk_label_set_text (self->id_label, self->feature_id);
  gtk_widget_remove_css_class (self->site_dot, "res");
  gtk_widget_remove_css_class (self->site_dot, "mlp");
  gtk_widget_remove_css_class (self->site_dot, "att");
  gtk_widget_add_css_class (self->site_dot, fs_site_name (node->site));

  if (workspace != NULL && fs_workspace_get_set (workspace) != NULL)
    sae = fs_sae_set_lookup (fs_workspace_get_set (workspace), node->layer, node->site);
  if (node->layer == FS_LAYER_EMBED)
    kind = g_strdup_printf (_("%s, embedding"), site_description (node->site));
  else
    kind = g_strdup_printf (_("%s, layer %d"), site_description (node->site), node->layer);
  if (sae != NULL)
    {
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));
      g_autofree char *with_sae = g_strdup_printf (_("%s · SAE %s"), kind, folder);

      g_free (kind);
      kind = g_steal_pointer (&with_sae);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->kind_label), fs_sae_get_path (sae));
    }
  if (node->is_seed)
    {
      g_autofree char *with_seed = g_strdup_printf (_("%s · seed of this graph"), kind);

      g_free (kind);
      kind = g_steal_pointer (&with_seed);
    }
  gtk_label_set_text (self->kind_label, kind);

  label = node->label;
  if (label == NULL && workspace != NULL)
    label = fs_workspace_get_label (workspace, node->layer, node->site, node->index);
  gtk_label_set_text (self->label_label, label != NULL ? label : _("No label"));
  if (label != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (self->label_label), "dim-label");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->label_label), "dim-label");

  /* Reading and scores: residual nodes only, and nothing precedes the
   * embedding. */
  has_scores = node->site == FS_SITE_RES && node->layer != FS_LAYER_EMBED;
  gtk_widget_set_visible (self->reading_box, has_scores && reading_title (node->reading) != NULL);
  if (has_scores && reading_title (node->reading) != NULL)
    {
      static const char *classes[] = { "translated", "processed", "newborn", "unexplained" };

      for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
        gtk_widget_remove_css_class (GTK_WIDGET (self->reading_label), classes[i]);
      gtk_widget_add_css_class (GTK_WIDGET (self->reading_label), fs_reading_name (node->reading));
      gtk_label_set_text (self->reading_label, reading_title (node->reading));
      gtk_label_set_text (self->reading_text, reading_explanation (node->reading));
    }
  gtk_widget_set_visible (self->scores_group, has_scores);
  if (has_scores)
    {
      set_score (self->s_res_bar, self->s_res_value, node->s_res, params->t_res);
      set_score (self->s_mlp_bar, self->s_mlp_value, node->s_mlp, params->t_mlp);
      set_score (self->s_att_bar, self->s_att_value, node->s_att, params->t_att);
    }

  /* Neighbours */
  for (guint i = 0; i < fs_flow_graph_get_n_edges (graph); i++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, i);

      if (edge->target == (guint) node_index)
        {
          gtk_list_box_append (self->in_list, edge_row (workspace, graph, edge, edge->source));
          n_in++;
        }
      else if (edge->source == (guint) node_index)
        {
          gtk_list_box_append (self->out_list, edge_row (workspace, graph, edge, edge->target));
          n_out++;
        }
    }
  gtk_widget_set_visible (self->in_group, n_in > 0);
  gtk_widget_set_visible (self->out_group, n_out > 0);

  /* Neuronpedia */
  if (workspace != NULL)
    np_id = fs_workspace_dup_neuronpedia_id (workspace, node->layer, node->site, node->index);
  gtk_widget_set_visible (self->neuronpedia_group, np_id != NULL);
  if (np_id != NULL)
    {
      self->neuronpedia_uri = g_strconcat (NEURONPEDIA_URL, np_id, NULL);
      gtk_link_button_set_uri (self->neuronpedia_link, self->neuronpedia_uri);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->neuronpedia_row), np_id);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->neuronpedia_row), self->neuronpedia_uri);
      gtk_link_button_set_visited (self->neuronpedia_link, FALSE);
    }

  gtk_widget_set_visible (self->reroot_button,
                          node->site == FS_SITE_RES && !node->is_seed && workspace != NULL);

  gtk_stack_set_visible_child_name (self->stack, "feature");
}

static void
copy_clicked_cb (FsInspector *self)
{
  if (self->feature_id != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->feature_id);
}

static void
reroot_clicked_cb (FsInspector *self)
{
  if (self->feature_id != NULL)
    g_signal_emit (self, signals[REROOT], 0, self->node);
}

static void
edge_activated_cb (FsInspector   *self,
                   GtkListBoxRow *row)
{
  g_signal_emit (self, signals[NODE_ACTIVATED], 0,
                 GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "node")));
}

static void
fs_inspector_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_INSPECTOR);

  G_OBJECT_CLASS (fs_inspector_parent_class)->dispose (object);
}

static void
fs_inspector_finalize (GObject *object)
{
  FsInspector *self = FS_INSPECTOR (object);

  g_free (self->feature_id);
  g_free (self->neuronpedia_uri);

  G_OBJECT_CLASS (fs_inspector_parent_class)->finalize (object);
}

static void
fs_inspector_class_init (FsInspectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_inspector_dispose;
  object_class->finalize = fs_inspector_finalize;

  /* A neighbour was picked: select that node of the graph. */
  signals[NODE_ACTIVATED] =
    g_signal_new ("node-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /* Show the flow graph of the node shown. */
  signals[REROOT] =
    g_signal_new ("reroot", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-inspector.ui");
  gtk_widget_class_bind_template_child (widget_class, FsInspector, stack);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, site_dot);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, id_label);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, kind_label);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, label_label);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, reading_box);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, reading_label);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, reading_text);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, scores_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_res_bar);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_mlp_bar);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_att_bar);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_res_value);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_mlp_value);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, s_att_value);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, in_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, in_list);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, out_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, out_list);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_row);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_link);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, reroot_button);
  gtk_widget_class_bind_template_callback (widget_class, copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, reroot_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, edge_activated_cb);
}

static void
fs_inspector_init (FsInspector *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
