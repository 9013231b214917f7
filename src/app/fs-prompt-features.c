/* fs-prompt-features.c: the features most active on the prompt.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The model runs on the prompt in a worker and every SAE of the set
 * encodes its hook there (fs_prompt_active_features); the list shows the
 * TOP_PER_POSITION largest activations of each position, under a header
 * per position. Runs only while visible: the finder shows this list as its
 * "Active on Prompt" mode.
 */

#define G_LOG_DOMAIN "fs-prompt-features"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-background.h"
#include "fs-feature-row.h"
#include "fs-prompt-features.h"
#include "fs-widget-util.h"
#include "prompt-activations.h"
#include "prompt.h"

#define TOP_PER_POSITION 5

struct _FsPromptFeatures
{
  AdwBin        parent_instance;

  FsWorkspace  *workspace;
  char         *prompt;
  GCancellable *cancellable;
  /* What is listed is not for this workspace and prompt. */
  gboolean      stale;

  /* Template widgets */
  GtkLabel     *status;
  GtkSpinner   *spinner;
  GtkListBox   *list;
};

G_DEFINE_FINAL_TYPE (FsPromptFeatures, fs_prompt_features, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROMPT,
  PROP_COMPUTING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FEATURE_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
fs_prompt_features_new (void)
{
  return g_object_new (FS_TYPE_PROMPT_FEATURES, NULL);
}

gboolean
fs_prompt_features_get_computing (FsPromptFeatures *self)
{
  g_return_val_if_fail (FS_IS_PROMPT_FEATURES (self), FALSE);

  return self->cancellable != NULL;
}

/* Cancels the run under way and puts @cancellable in its place. */
static void
set_running (FsPromptFeatures *self,
             GCancellable     *cancellable)
{
  gboolean was_computing = self->cancellable != NULL;

  g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, cancellable);
  gtk_spinner_set_spinning (self->spinner, cancellable != NULL);
  if (was_computing != (cancellable != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPUTING]);
}

/* ------------------------------------------------------------ worker */

typedef struct {
  FsWorkspace *workspace;
  char        *prompt;
} Job;

typedef struct {
  int32_t *tokens;
  gsize    n_tokens;
  GArray  *active;   /* FsActiveFeature */
} Result;

static void
job_free (Job *job)
{
  fs_workspace_unref (job->workspace);
  g_free (job->prompt);
  g_free (job);
}

static void
result_free (Result *result)
{
  g_free (result->tokens);
  g_clear_pointer (&result->active, g_array_unref);
  g_free (result);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  FsModel *model = fs_workspace_get_model (job->workspace);
  Result *result = g_new0 (Result, 1);
  GError *error = NULL;

  result->tokens = fs_prompt_encode (model, fs_workspace_get_tokenizer (job->workspace),
                                     job->prompt, FS_PROMPT_BOS_AUTO, &result->n_tokens, &error);
  if (result->tokens != NULL)
    result->active = fs_prompt_active_features (fs_workspace_get_set (job->workspace), model,
                                                NULL, result->tokens,
                                                (int64_t) result->n_tokens, TOP_PER_POSITION,
                                                cancellable, &error);
  if (result->active == NULL)
    {
      result_free (result);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, result, (GDestroyNotify) result_free);
}

/* ------------------------------------------------------------ list */

static GtkWidget *
feature_row (FsPromptFeatures      *self,
             const FsActiveFeature *feature,
             const Result          *result)
{
  FsTokenizer *tokenizer = fs_workspace_get_tokenizer (self->workspace);
  int32_t token = result->tokens[feature->position];
  g_autofree char *id = fs_feature_id (feature->layer, feature->site, feature->index);
  g_autofree char *value = g_strdup_printf ("%.2f", feature->activation);
  g_autofree char *bytes = fs_tokenizer_decode (tokenizer, &token, 1, NULL);
  g_autofree char *text = g_utf8_make_valid (bytes, -1);
  /* Prompts fit a model's context: positions fit a guint. */
  g_autofree char *tooltip = g_strdup_printf (_("Largest activation, on “%s” (token %u of %u)"), text,
                                              (guint) feature->position + 1, (guint) result->n_tokens);
  const char *label = fs_workspace_get_label (self->workspace, feature->layer, feature->site,
                                              feature->index);
  GtkWidget *row = fs_feature_row_new (id, label);
  GtkWidget *value_label = gtk_label_new (value);

  gtk_widget_add_css_class (value_label, "numeric");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), value_label);
  gtk_widget_set_tooltip_text (row, tooltip);
  g_object_set_data (G_OBJECT (row), "layer", GINT_TO_POINTER (feature->layer));
  g_object_set_data (G_OBJECT (row), "site", GINT_TO_POINTER (feature->site));
  g_object_set_data_full (G_OBJECT (row), "index", g_memdup2 (&feature->index, sizeof (gint64)), g_free);

  return row;
}

/* A header above the first row of each position. */
static void
update_header (GtkListBoxRow *row,
               GtkListBoxRow *before,
               gpointer       user_data)
{
  int layer = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "layer"));
  FsSite site = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "site"));
  g_autofree char *position = NULL;
  GtkWidget *header;

  if (before != NULL
      && layer == GPOINTER_TO_INT (g_object_get_data (G_OBJECT (before), "layer"))
      && site == (FsSite) GPOINTER_TO_INT (g_object_get_data (G_OBJECT (before), "site")))
    {
      gtk_list_box_row_set_header (row, NULL);
      return;
    }
  position = fs_position_id (layer, site);
  header = gtk_label_new (position);
  gtk_label_set_xalign (GTK_LABEL (header), 0);
  gtk_widget_add_css_class (header, "heading");
  gtk_widget_add_css_class (header, "dim-label");
  gtk_widget_set_margin_start (header, 12);
  gtk_widget_set_margin_top (header, 6);
  gtk_widget_set_margin_bottom (header, 6);
  gtk_list_box_row_set_header (row, header);
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *res,
             gpointer      user_data)
{
  FsPromptFeatures *self = FS_PROMPT_FEATURES (object);
  g_autoptr(GError) error = NULL;
  Result *result = g_task_propagate_pointer (G_TASK (res), &error);
  g_autofree char *status = NULL;

  /* Superseded, or the widget is going away. */
  if (g_task_get_cancellable (G_TASK (res)) != self->cancellable)
    {
      g_clear_pointer (&result, result_free);
      return;
    }
  set_running (self, NULL);
  if (result == NULL)
    {
      fs_label_set_status (self->status, error->message, TRUE);
      return;
    }

  for (guint i = 0; i < result->active->len; i++)
    gtk_list_box_append (self->list, feature_row (self, &g_array_index (result->active, FsActiveFeature, i), result));
  gtk_widget_set_visible (GTK_WIDGET (self->list), result->active->len > 0);
  if (result->active->len == 0)
    status = g_strdup (_("No feature is active on the prompt."));
  else
    status = g_strdup_printf (ngettext ("The features most active on the prompt’s %u token, per layer and site.",
                                        "The features most active on the prompt’s %u tokens, per layer and site.",
                                        result->n_tokens),
                              (guint) result->n_tokens);
  fs_label_set_status (self->status, status, FALSE);
  result_free (result);
}

/* Lists the features of the current workspace and prompt, running the
 * model if the widget is visible, else when it is shown again. */
static void
refresh (FsPromptFeatures *self)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GTask) task = NULL;
  Job *job;

  set_running (self, NULL);
  self->stale = !gtk_widget_get_visible (GTK_WIDGET (self));
  if (self->stale)
    return;

  fs_list_box_remove_all (self->list);
  gtk_widget_set_visible (GTK_WIDGET (self->list), FALSE);
  if (self->workspace == NULL || fs_workspace_get_set (self->workspace) == NULL)
    {
      fs_label_set_status (self->status, _("Open SAEs first."), FALSE);
      return;
    }
  if (fs_workspace_get_model (self->workspace) == NULL)
    {
      fs_label_set_status (self->status,
                           _("Open the model the SAEs were trained on to run a prompt."), FALSE);
      return;
    }
  if (fs_workspace_get_tokenizer (self->workspace) == NULL)
    {
      fs_label_set_status (self->status,
                           _("The model folder has no tokenizer, so prompts cannot be run."), TRUE);
      return;
    }
  if (self->prompt == NULL || self->prompt[0] == '\0')
    {
      fs_label_set_status (self->status,
                           _("Write a prompt in the steering panel or the inspector first."), FALSE);
      return;
    }

  fs_label_set_status (self->status, _("Running the model on the prompt…"), FALSE);
  cancellable = g_cancellable_new ();
  set_running (self, cancellable);
  job = g_new0 (Job, 1);
  job->workspace = fs_workspace_ref (self->workspace);
  job->prompt = g_strdup (self->prompt);
  task = g_task_new (self, cancellable, run_done_cb, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  fs_task_run_in_background (task, run_thread);
}

static void
visible_changed_cb (FsPromptFeatures *self)
{
  if (gtk_widget_get_visible (GTK_WIDGET (self)) && self->stale)
    refresh (self);
}

static void
row_activated_cb (FsPromptFeatures *self,
                  GtkListBoxRow    *row)
{
  const gint64 *index = g_object_get_data (G_OBJECT (row), "index");

  g_signal_emit (self, signals[FEATURE_ACTIVATED], 0,
                 GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "layer")),
                 GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "site")),
                 *index);
}

/* ------------------------------------------------------------ API */

void
fs_prompt_features_set_workspace (FsPromptFeatures *self,
                                  FsWorkspace      *workspace)
{
  g_return_if_fail (FS_IS_PROMPT_FEATURES (self));

  if (fs_set_workspace (&self->workspace, workspace))
    refresh (self);
}

const char *
fs_prompt_features_get_prompt (FsPromptFeatures *self)
{
  g_return_val_if_fail (FS_IS_PROMPT_FEATURES (self), NULL);

  return self->prompt;
}

void
fs_prompt_features_set_prompt (FsPromptFeatures *self,
                               const char       *prompt)
{
  g_return_if_fail (FS_IS_PROMPT_FEATURES (self));

  if (g_strcmp0 (self->prompt, prompt) == 0)
    return;
  g_free (self->prompt);
  self->prompt = g_strdup (prompt);
  refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROMPT]);
}

/* ------------------------------------------------------------ GObject */

static void
fs_prompt_features_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  FsPromptFeatures *self = FS_PROMPT_FEATURES (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      g_value_set_string (value, self->prompt);
      break;
    case PROP_COMPUTING:
      g_value_set_boolean (value, fs_prompt_features_get_computing (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_prompt_features_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  FsPromptFeatures *self = FS_PROMPT_FEATURES (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      fs_prompt_features_set_prompt (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_prompt_features_dispose (GObject *object)
{
  FsPromptFeatures *self = FS_PROMPT_FEATURES (object);

  /* A worker finishing later finds no cancellable of its own. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_PROMPT_FEATURES);

  G_OBJECT_CLASS (fs_prompt_features_parent_class)->dispose (object);
}

static void
fs_prompt_features_finalize (GObject *object)
{
  FsPromptFeatures *self = FS_PROMPT_FEATURES (object);

  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_free (self->prompt);

  G_OBJECT_CLASS (fs_prompt_features_parent_class)->finalize (object);
}

static void
fs_prompt_features_class_init (FsPromptFeaturesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = fs_prompt_features_get_property;
  object_class->set_property = fs_prompt_features_set_property;
  object_class->dispose = fs_prompt_features_dispose;
  object_class->finalize = fs_prompt_features_finalize;

  properties[PROP_PROMPT] =
    g_param_spec_string ("prompt", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COMPUTING] =
    g_param_spec_boolean ("computing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A listed feature was chosen: (layer, site, index). */
  signals[FEATURE_ACTIVATED] =
    g_signal_new ("feature-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT64);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-prompt-features.ui");
  gtk_widget_class_bind_template_child (widget_class, FsPromptFeatures, status);
  gtk_widget_class_bind_template_child (widget_class, FsPromptFeatures, spinner);
  gtk_widget_class_bind_template_child (widget_class, FsPromptFeatures, list);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
}

static void
fs_prompt_features_init (FsPromptFeatures *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_box_set_header_func (self->list, update_header, NULL, NULL);
  g_signal_connect (self, "notify::visible", G_CALLBACK (visible_changed_cb), NULL);
  self->stale = TRUE;
}
