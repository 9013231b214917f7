/* fs-inspector.c: the selected feature's id, label, reading, scores and
 * neighbours, the tokens it promotes and suppresses (logit lens) and its
 * activation at each token of the prompt, both computed in workers.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-inspector"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "fs-background.h"
#include "fs-feature-row.h"
#include "fs-inspector.h"
#include "fs-widget-util.h"
#include "logit-lens.h"
#include "prompt-activations.h"
#include "prompt.h"

#define NEURONPEDIA_URL "https://www.neuronpedia.org/"
/* Tokens listed each way by the logit lens. */
#define LENS_TOKENS 10
/* Shades of a token chip above zero (CSS classes activation-1..4). */
#define ACTIVATION_LEVELS 4

struct _FsInspector
{
  AdwBin        parent_instance;

  char         *feature_id;
  char         *neuronpedia_uri;
  guint         node;

  /* The feature the logit lens and the prompt's activations are for, with
   * what they are computed from; workers run while a cancellable is set. */
  FsWorkspace  *workspace;
  int           layer;
  FsSite        site;
  gint64        index;
  char         *prompt;
  GCancellable *lens_cancellable;
  GCancellable *prompt_cancellable;

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
  GtkWidget    *lens_group;
  GtkSpinner   *lens_spinner;
  GtkListBox   *promoted_list;
  GtkListBox   *suppressed_list;
  GtkLabel     *lens_error;
  GtkWidget    *prompt_group;
  GtkSpinner   *prompt_spinner;
  GtkEntry     *prompt_entry;
  GtkLabel     *prompt_status;
  GtkFlowBox   *prompt_tokens;
  GtkWidget    *neuronpedia_group;
  AdwActionRow *neuronpedia_row;
  GtkLinkButton *neuronpedia_link;
  GtkWidget    *reroot_button;
};

G_DEFINE_FINAL_TYPE (FsInspector, fs_inspector, ADW_TYPE_BIN)

enum {
  NODE_ACTIVATED,
  REROOT,
  ADD_TO_STEERING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_PROMPT,
  PROP_COMPUTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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
  GtkWidget *score_label = gtk_label_new (score);
  GtkWidget *row;

  if (label == NULL && workspace != NULL)
    label = fs_workspace_get_label (workspace, node->layer, node->site, node->index);

  row = fs_feature_row_new (id, label);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), fs_site_dot_new (node->site));
  gtk_widget_add_css_class (score_label, "numeric");
  gtk_widget_set_tooltip_text (score_label, edge->projected
                               ? _("Cosine of the decoder directions, through the attention output projection")
                               : _("Cosine of the decoder directions"));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), score_label);
  g_object_set_data (G_OBJECT (row), "node", GUINT_TO_POINTER (other));

  return row;
}

/* ------------------------------------------------------------ lens and prompt */

gboolean
fs_inspector_get_computing (FsInspector *self)
{
  g_return_val_if_fail (FS_IS_INSPECTOR (self), FALSE);

  return self->lens_cancellable != NULL || self->prompt_cancellable != NULL;
}

/* Cancels what runs in @slot and puts @cancellable there (NULL: nothing runs). */
static void
set_running (FsInspector   *self,
             GCancellable **slot,
             GCancellable  *cancellable)
{
  gboolean was_computing = fs_inspector_get_computing (self);

  g_cancellable_cancel (*slot);
  g_set_object (slot, cancellable);
  gtk_spinner_set_spinning (self->lens_spinner, self->lens_cancellable != NULL);
  gtk_spinner_set_spinning (self->prompt_spinner, self->prompt_cancellable != NULL);
  if (was_computing != fs_inspector_get_computing (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPUTING]);
}

/* A token as the tokenizer decodes it, with line breaks and tabs made
 * visible: a chip holds one line. */
static char *
token_text (FsTokenizer *tokenizer,
            int32_t      id)
{
  g_autofree char *bytes = fs_tokenizer_decode (tokenizer, &id, 1, NULL);
  g_autofree char *valid = g_utf8_make_valid (bytes, -1);
  GString *text = g_string_new (valid);

  g_string_replace (text, "\r\n", "↵", 0);
  g_string_replace (text, "\n", "↵", 0);
  g_string_replace (text, "\t", "→", 0);
  return g_string_free (text, FALSE);
}

/* What a worker needs: the workspace keeps the model and the SAE alive. */
typedef struct {
  FsWorkspace *workspace;
  FsSae       *sae;
  gint64       index;
  char        *prompt;
} Job;

static void
job_free (Job *job)
{
  fs_workspace_unref (job->workspace);
  g_free (job->prompt);
  g_free (job);
}

static void
run_job (FsInspector         *self,
         GCancellable       **slot,
         GTaskThreadFunc      thread_func,
         GAsyncReadyCallback  done_cb)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GTask) task = g_task_new (self, cancellable, done_cb, NULL);
  Job *job = g_new0 (Job, 1);

  job->workspace = fs_workspace_ref (self->workspace);
  job->sae = fs_sae_set_lookup (fs_workspace_get_set (self->workspace), self->layer, self->site);
  job->index = self->index;
  job->prompt = g_strdup (self->prompt);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  set_running (self, slot, cancellable);
  fs_task_run_in_background (task, thread_func);
}

typedef struct {
  int         n;
  FsLensToken top[LENS_TOKENS];
  FsLensToken bottom[LENS_TOKENS];
} LensResult;

static void
lens_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Job *job = task_data;
  g_autofree LensResult *result = g_new0 (LensResult, 1);
  GError *error = NULL;

  result->n = fs_logit_lens (fs_workspace_get_model (job->workspace), job->sae, job->index,
                             LENS_TOKENS, result->top, result->bottom, &error);
  if (result->n < 0)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&result), g_free);
}

static GtkWidget *
lens_row (FsTokenizer       *tokenizer,
          const FsLensToken *token)
{
  g_autofree char *text = tokenizer != NULL ? token_text (tokenizer, token->token)
                                            : g_strdup_printf ("#%d", token->token);
  g_autofree char *score = g_strdup_printf ("%.2f", token->score);
  /* Translators: a token and its logit-lens score, for screen readers. */
  g_autofree char *name = g_strdup_printf (_("“%s”, %s"), text, score);
  g_autofree char *tooltip = g_strdup_printf (_("Token %d"), token->token);
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *token_label = gtk_label_new (text);
  GtkWidget *score_label = gtk_label_new (score);

  gtk_label_set_xalign (GTK_LABEL (token_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (token_label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (token_label, TRUE);
  gtk_widget_add_css_class (token_label, "token");
  gtk_widget_add_css_class (score_label, "numeric");
  gtk_widget_add_css_class (score_label, "dim-label");
  gtk_box_append (GTK_BOX (box), token_label);
  gtk_box_append (GTK_BOX (box), score_label);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_tooltip_text (row, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);

  return row;
}

static void
lens_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  FsInspector *self = FS_INSPECTOR (object);
  g_autoptr(GError) error = NULL;
  g_autofree LensResult *lens = g_task_propagate_pointer (G_TASK (result), &error);
  FsTokenizer *tokenizer;

  /* Superseded by another feature, or the inspector is going away. */
  if (g_task_get_cancellable (G_TASK (result)) != self->lens_cancellable)
    return;
  set_running (self, &self->lens_cancellable, NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->lens_error), lens == NULL);
  if (lens == NULL)
    {
      gtk_label_set_text (self->lens_error, error->message);
      return;
    }
  tokenizer = fs_workspace_get_tokenizer (self->workspace);
  for (int k = 0; k < lens->n; k++)
    {
      gtk_list_box_append (self->promoted_list, lens_row (tokenizer, &lens->top[k]));
      gtk_list_box_append (self->suppressed_list, lens_row (tokenizer, &lens->bottom[k]));
    }
}

static void
refresh_lens (FsInspector *self)
{
  fs_list_box_remove_all (self->promoted_list);
  fs_list_box_remove_all (self->suppressed_list);
  gtk_widget_set_visible (GTK_WIDGET (self->lens_error), FALSE);
  set_running (self, &self->lens_cancellable, NULL);
  if (self->workspace != NULL)
    run_job (self, &self->lens_cancellable, lens_thread, lens_done_cb);
}

typedef struct {
  int32_t *tokens;
  float   *z;
  gsize    n;
} PromptResult;

static void
prompt_result_free (PromptResult *result)
{
  g_free (result->tokens);
  g_free (result->z);
  g_free (result);
}

static void
prompt_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Job *job = task_data;
  FsModel *model = fs_workspace_get_model (job->workspace);
  PromptResult *result = g_new0 (PromptResult, 1);
  GError *error = NULL;

  result->tokens = fs_prompt_encode (model, fs_workspace_get_tokenizer (job->workspace),
                                     job->prompt, FS_PROMPT_BOS_AUTO, &result->n, &error);
  if (result->tokens != NULL)
    result->z = g_new (float, result->n);
  if (result->tokens == NULL
      || !fs_prompt_feature_activations (model, NULL, job->sae, job->index, result->tokens,
                                         (int64_t) result->n, result->z, cancellable, &error))
    {
      prompt_result_free (result);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, result, (GDestroyNotify) prompt_result_free);
}

/* A token chip, shaded by its activation relative to the prompt's largest. */
static GtkWidget *
token_chip (const char *text,
            float       z,
            float       max)
{
  int level = z > 0 && max > 0 ? 1 + (int) MIN (ACTIVATION_LEVELS - 1, floorf (ACTIVATION_LEVELS * z / max))
                               : 0;
  g_autofree char *shade = g_strdup_printf ("activation-%d", level);
  g_autofree char *tooltip = g_strdup_printf (_("Activation %.3f"), z);
  /* Translators: a token of the prompt and the feature's activation there, for screen readers. */
  g_autofree char *name = g_strdup_printf (_("“%s”, activation %.3f"), text, z);
  GtkWidget *child = gtk_flow_box_child_new ();
  GtkWidget *chip = gtk_label_new (text);

  gtk_widget_add_css_class (chip, "token-chip");
  gtk_widget_add_css_class (chip, shade);
  gtk_flow_box_child_set_child (GTK_FLOW_BOX_CHILD (child), chip);
  gtk_widget_set_tooltip_text (child, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);

  return child;
}

static void
prompt_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  FsInspector *self = FS_INSPECTOR (object);
  g_autoptr(GError) error = NULL;
  PromptResult *prompt = g_task_propagate_pointer (G_TASK (result), &error);
  FsTokenizer *tokenizer;
  g_autofree char *status = NULL;
  gsize top = 0;

  if (g_task_get_cancellable (G_TASK (result)) != self->prompt_cancellable)
    {
      g_clear_pointer (&prompt, prompt_result_free);
      return;
    }
  set_running (self, &self->prompt_cancellable, NULL);
  if (prompt == NULL)
    {
      fs_label_set_status (self->prompt_status, error->message, TRUE);
      return;
    }

  tokenizer = fs_workspace_get_tokenizer (self->workspace);
  for (gsize t = 1; t < prompt->n; t++)
    if (prompt->z[t] > prompt->z[top])
      top = t;
  for (gsize t = 0; t < prompt->n; t++)
    {
      g_autofree char *text = token_text (tokenizer, prompt->tokens[t]);

      gtk_flow_box_append (self->prompt_tokens, token_chip (text, prompt->z[t], prompt->z[top]));
    }
  if (prompt->z[top] > 0)
    {
      g_autofree char *text = token_text (tokenizer, prompt->tokens[top]);

      /* Prompts fit a model's context: their lengths fit a guint. */
      status = g_strdup_printf (_("Most active on “%s” (token %u of %u): %.3f"),
                                text, (guint) top + 1, (guint) prompt->n, prompt->z[top]);
    }
  else
    status = g_strdup_printf (ngettext ("Not active on the prompt’s %u token",
                                        "Not active on any of the prompt’s %u tokens", prompt->n),
                              (guint) prompt->n);
  fs_label_set_status (self->prompt_status, status, FALSE);
  prompt_result_free (prompt);
}

/* Runs the model on the prompt for the feature shown, or says why not. */
static void
refresh_prompt (FsInspector *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->prompt_tokens))) != NULL)
    gtk_flow_box_remove (self->prompt_tokens, child);
  set_running (self, &self->prompt_cancellable, NULL);
  if (self->workspace == NULL)
    return;
  if (fs_workspace_get_tokenizer (self->workspace) == NULL)
    fs_label_set_status (self->prompt_status,
                         _("The model folder has no tokenizer, so prompts cannot be run."), TRUE);
  else if (self->prompt == NULL || self->prompt[0] == '\0')
    fs_label_set_status (self->prompt_status,
                         _("Write a prompt to see the feature’s activation at each of its tokens."), FALSE);
  else
    {
      fs_label_set_status (self->prompt_status, _("Running the model on the prompt…"), FALSE);
      run_job (self, &self->prompt_cancellable, prompt_thread, prompt_done_cb);
    }
}

/* The logit lens and the prompt's activations of a feature: computed when
 * it is not the one already shown; hidden without the model. */
static void
show_feature_effects (FsInspector *self,
                      FsWorkspace *workspace,
                      int          layer,
                      FsSite       site,
                      gint64       index)
{
  gboolean usable = workspace != NULL && fs_workspace_get_model (workspace) != NULL
                    && fs_workspace_get_set (workspace) != NULL
                    && fs_sae_set_lookup (fs_workspace_get_set (workspace), layer, site) != NULL;

  gtk_widget_set_visible (self->lens_group, usable);
  gtk_widget_set_visible (self->prompt_group, usable);
  if (usable && workspace == self->workspace && layer == self->layer && site == self->site
      && index == self->index)
    return;

  g_clear_pointer (&self->workspace, fs_workspace_unref);
  if (usable)
    {
      self->workspace = fs_workspace_ref (workspace);
      self->layer = layer;
      self->site = site;
      self->index = index;
    }
  refresh_lens (self);
  refresh_prompt (self);
}

const char *
fs_inspector_get_prompt (FsInspector *self)
{
  g_return_val_if_fail (FS_IS_INSPECTOR (self), NULL);

  return self->prompt;
}

void
fs_inspector_set_prompt (FsInspector *self,
                         const char  *prompt)
{
  g_return_if_fail (FS_IS_INSPECTOR (self));

  if (g_strcmp0 (self->prompt, prompt) == 0)
    return;
  g_free (self->prompt);
  self->prompt = g_strdup (prompt);
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)), prompt != NULL ? prompt : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), prompt != NULL ? prompt : "");
  refresh_prompt (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROMPT]);
}

static void
prompt_entry_activate_cb (FsInspector *self)
{
  fs_inspector_set_prompt (self, gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)));
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
  fs_list_box_remove_all (self->in_list);
  fs_list_box_remove_all (self->out_list);

  if (graph == NULL || node_index < 0 || (guint) node_index >= fs_flow_graph_get_n_nodes (graph))
    {
      show_feature_effects (self, NULL, 0, FS_SITE_RES, 0);
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
    kind = g_strdup_printf (_("%s, embedding"), fs_site_title (node->site));
  else
    kind = g_strdup_printf (_("%s, layer %d"), fs_site_title (node->site), node->layer);
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

  show_feature_effects (self, workspace, node->layer, node->site, node->index);

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
steer_clicked_cb (FsInspector *self)
{
  if (self->feature_id != NULL)
    g_signal_emit (self, signals[ADD_TO_STEERING], 0, self->node);
}

static void
edge_activated_cb (FsInspector   *self,
                   GtkListBoxRow *row)
{
  g_signal_emit (self, signals[NODE_ACTIVATED], 0,
                 GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (row), "node")));
}

static void
fs_inspector_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  FsInspector *self = FS_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      g_value_set_string (value, self->prompt);
      break;
    case PROP_COMPUTING:
      g_value_set_boolean (value, fs_inspector_get_computing (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_inspector_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  FsInspector *self = FS_INSPECTOR (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      fs_inspector_set_prompt (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_inspector_dispose (GObject *object)
{
  FsInspector *self = FS_INSPECTOR (object);

  /* Workers finishing later find no cancellable of theirs and do nothing. */
  g_cancellable_cancel (self->lens_cancellable);
  g_clear_object (&self->lens_cancellable);
  g_cancellable_cancel (self->prompt_cancellable);
  g_clear_object (&self->prompt_cancellable);

  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_INSPECTOR);

  G_OBJECT_CLASS (fs_inspector_parent_class)->dispose (object);
}

static void
fs_inspector_finalize (GObject *object)
{
  FsInspector *self = FS_INSPECTOR (object);

  g_free (self->feature_id);
  g_free (self->neuronpedia_uri);
  g_free (self->prompt);
  g_clear_pointer (&self->workspace, fs_workspace_unref);

  G_OBJECT_CLASS (fs_inspector_parent_class)->finalize (object);
}

static void
fs_inspector_class_init (FsInspectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_inspector_dispose;
  object_class->finalize = fs_inspector_finalize;
  object_class->get_property = fs_inspector_get_property;
  object_class->set_property = fs_inspector_set_property;

  /* The prompt the feature is run on (the window's, bound both ways). */
  properties[PROP_PROMPT] =
    g_param_spec_string ("prompt", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Whether the logit lens or the prompt's activations are being computed. */
  properties[PROP_COMPUTING] =
    g_param_spec_boolean ("computing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A neighbour was picked: select that node of the graph. */
  signals[NODE_ACTIVATED] =
    g_signal_new ("node-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /* Show the flow graph of the node shown. */
  signals[REROOT] =
    g_signal_new ("reroot", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  /* Steer with the node shown. */
  signals[ADD_TO_STEERING] =
    g_signal_new ("add-to-steering", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
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
  gtk_widget_class_bind_template_child (widget_class, FsInspector, lens_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, lens_spinner);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, promoted_list);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, suppressed_list);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, lens_error);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, prompt_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, prompt_spinner);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, prompt_entry);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, prompt_status);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, prompt_tokens);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_group);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_row);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, neuronpedia_link);
  gtk_widget_class_bind_template_child (widget_class, FsInspector, reroot_button);
  gtk_widget_class_bind_template_callback (widget_class, copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, reroot_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, steer_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, edge_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, prompt_entry_activate_cb);
}

static void
fs_inspector_init (FsInspector *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
