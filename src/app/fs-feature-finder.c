/* fs-feature-finder.c: the search entry and the list of SAEs.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The SAE list is FsSaeList. Text that looks like a feature id (it starts with a layer number or
 * "embed") is validated when activated; other text searches the labels as
 * it is typed, in a worker: exports can hold a million labels, and typing
 * must not wait for them.
 */

#define G_LOG_DOMAIN "fs-feature-finder"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-background.h"
#include "fs-feature-finder.h"
#include "fs-feature-row.h"
#include "fs-widget-util.h"

#define MAX_LABEL_HITS 100

struct _FsFeatureFinder
{
  AdwBin          parent_instance;

  FsWorkspace    *workspace;
  char           *error;

  /* The label search shown or under way, and its text. */
  GCancellable   *search_cancellable;
  char           *search_text;
  gboolean        activate_first;   /* activate its first hit when it is done */

  /* Template widgets */
  GtkSearchEntry *entry;
  GtkLabel       *error_label;
  GtkWidget      *results_box;
  GtkListBox     *results_list;
  GtkLabel       *results_title;
  GtkToggleButton *prompt_button;
  FsPromptFeatures *prompt_features;
};

G_DEFINE_FINAL_TYPE (FsFeatureFinder, fs_feature_finder, ADW_TYPE_BIN)

enum {
  FEATURE_ACTIVATED,
  FEATURE_SELECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
fs_feature_finder_new (void)
{
  return g_object_new (FS_TYPE_FEATURE_FINDER, NULL);
}

static void
set_error (FsFeatureFinder *self,
           const char      *error)
{
  g_free (self->error);
  self->error = g_strdup (error);

  gtk_label_set_text (self->error_label, error != NULL ? error : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), error != NULL);
  if (error != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
  gtk_accessible_update_state (GTK_ACCESSIBLE (self->entry),
                               GTK_ACCESSIBLE_STATE_INVALID,
                               error != NULL ? GTK_ACCESSIBLE_INVALID_TRUE : GTK_ACCESSIBLE_INVALID_FALSE,
                               -1);
}

const char *
fs_feature_finder_get_error (FsFeatureFinder *self)
{
  g_return_val_if_fail (FS_IS_FEATURE_FINDER (self), NULL);

  return self->error;
}

/* Starts like an id: a layer number or "embed". */
static gboolean
looks_like_id (const char *text)
{
  return g_ascii_isdigit (text[0]) || g_str_has_prefix (text, "embed");
}

static void
show_label_hits (FsFeatureFinder  *self,
                 const FsLabelHit *hits,
                 guint             n_hits)
{
  g_autofree char *title = NULL;

  fs_list_box_remove_all (self->results_list);
  for (guint i = 0; i < n_hits; i++)
    {
      g_autofree char *id = fs_feature_id (hits[i].layer, hits[i].site, hits[i].index);
      GtkWidget *row = fs_feature_row_new (id, hits[i].description);

      adw_action_row_add_prefix (ADW_ACTION_ROW (row), fs_site_dot_new (hits[i].site));
      g_object_set_data (G_OBJECT (row), "layer", GINT_TO_POINTER (hits[i].layer));
      g_object_set_data_full (G_OBJECT (row), "index", g_memdup2 (&hits[i].index, sizeof (gint64)), g_free);
      gtk_list_box_append (self->results_list, row);
    }

  if (n_hits == 0)
    title = g_strdup (_("No residual feature has a matching label"));
  else if (n_hits >= MAX_LABEL_HITS)
    title = g_strdup_printf (_("First %u residual features by label"), n_hits);
  else
    title = g_strdup_printf (ngettext ("%u residual feature by label",
                                       "%u residual features by label", n_hits), n_hits);
  gtk_label_set_text (self->results_title, title);
  gtk_widget_set_visible (self->results_box, TRUE);
}

/* ------------------------------------------------------------ label search */

typedef struct {
  FsWorkspace *workspace;   /* keeps the hits' descriptions alive */
  char        *text;
} SearchData;

typedef struct {
  FsLabelHit *hits;
  guint       n_hits;
} SearchResult;

static void
search_data_free (SearchData *data)
{
  fs_workspace_unref (data->workspace);
  g_free (data->text);
  g_free (data);
}

static void
search_result_free (SearchResult *result)
{
  g_free (result->hits);
  g_free (result);
}

static void
result_activated_cb (FsFeatureFinder *self,
                     GtkListBoxRow   *row)
{
  int layer = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "layer"));
  const gint64 *index = g_object_get_data (G_OBJECT (row), "index");

  g_signal_emit (self, signals[FEATURE_ACTIVATED], 0, layer, *index);
}

static gboolean
activate_first_hit (FsFeatureFinder *self)
{
  GtkListBoxRow *first = gtk_list_box_get_row_at_index (self->results_list, 0);

  if (first == NULL)
    return FALSE;
  result_activated_cb (self, first);
  return TRUE;
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  SearchData *data = task_data;
  SearchResult *result = g_new0 (SearchResult, 1);

  result->hits = fs_workspace_search_labels (data->workspace, data->text, MAX_LABEL_HITS,
                                             cancellable, &result->n_hits);
  if (g_task_return_error_if_cancelled (task))
    search_result_free (result);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) search_result_free);
}

static void
search_done_cb (GObject      *object,
                GAsyncResult *res,
                gpointer      user_data)
{
  FsFeatureFinder *self = FS_FEATURE_FINDER (object);
  GTask *task = G_TASK (res);
  SearchResult *result = g_task_propagate_pointer (task, NULL);

  /* Superseded by a newer search, or the finder is going away. */
  if (g_task_get_cancellable (task) != self->search_cancellable)
    {
      g_clear_pointer (&result, search_result_free);
      return;
    }

  /* Only superseded searches are cancelled. */
  g_assert (result != NULL);
  g_clear_object (&self->search_cancellable);
  show_label_hits (self, result->hits, result->n_hits);
  search_result_free (result);
  if (self->activate_first)
    {
      self->activate_first = FALSE;
      activate_first_hit (self);
    }
}

static void
cancel_search (FsFeatureFinder *self)
{
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  g_clear_pointer (&self->search_text, g_free);
  self->activate_first = FALSE;
}

/* Supersedes the search under way; the results shown stay until the new
 * ones are in. */
static void
start_search (FsFeatureFinder *self,
              const char      *text,
              gboolean         activate_first)
{
  g_autoptr(GTask) task = NULL;
  SearchData *data;

  cancel_search (self);
  self->search_cancellable = g_cancellable_new ();
  self->search_text = g_strdup (text);
  self->activate_first = activate_first;

  data = g_new0 (SearchData, 1);
  data->workspace = fs_workspace_ref (self->workspace);
  data->text = g_strdup (text);

  task = g_task_new (self, self->search_cancellable, search_done_cb, NULL);
  g_task_set_source_tag (task, start_search);
  g_task_set_task_data (task, data, (GDestroyNotify) search_data_free);
  fs_task_run_in_background (task, search_thread);
}

gboolean
fs_feature_finder_get_searching (FsFeatureFinder *self)
{
  g_return_val_if_fail (FS_IS_FEATURE_FINDER (self), FALSE);

  return self->search_cancellable != NULL;
}

static void
search_changed_cb (FsFeatureFinder *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->entry))));

  set_error (self, NULL);

  if (text[0] == '\0' || looks_like_id (text) || self->workspace == NULL
      || fs_workspace_get_labels (self->workspace) == NULL)
    {
      cancel_search (self);
      gtk_widget_set_visible (self->results_box, FALSE);
      return;
    }

  /* Activating searches at once, before the entry's delayed signal. */
  if (g_strcmp0 (text, self->search_text) == 0)
    return;
  start_search (self, text, FALSE);
}

gboolean
fs_feature_finder_activate_text (FsFeatureFinder *self,
                                 const char      *text)
{
  g_autofree char *stripped = NULL;
  g_autoptr(GError) error = NULL;
  int layer;
  FsSite site;
  gint64 index;

  g_return_val_if_fail (FS_IS_FEATURE_FINDER (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  stripped = g_strstrip (g_strdup (text));
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->entry)), text) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->entry), text);

  if (stripped[0] == '\0')
    {
      set_error (self, NULL);
      return FALSE;
    }

  if (!looks_like_id (stripped))
    {
      if (self->workspace == NULL || fs_workspace_get_labels (self->workspace) == NULL)
        {
          set_error (self, _("Write a feature ID as LAYER/SITE/INDEX, e.g. 3/res/42 (no labels are loaded to search)"));
          return FALSE;
        }
      set_error (self, NULL);
      /* The first hit, now when the search for this text is done, else
       * when it is. */
      if (g_strcmp0 (stripped, self->search_text) != 0)
        start_search (self, stripped, TRUE);
      else if (self->search_cancellable != NULL)
        self->activate_first = TRUE;
      else
        return activate_first_hit (self);
      return TRUE;
    }

  if (!fs_feature_id_parse (stripped, &layer, &site, &index, NULL))
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is not a feature ID: write LAYER/SITE/INDEX, e.g. 3/res/42 (sites res, mlp, att)"),
                                                  stripped);
      set_error (self, message);
      return FALSE;
    }
  if (self->workspace == NULL)
    {
      set_error (self, _("Open SAEs first"));
      return FALSE;
    }
  if (!fs_workspace_check_feature (self->workspace, layer, site, index, &error))
    {
      set_error (self, error->message);
      return FALSE;
    }
  if (site != FS_SITE_RES)
    {
      g_autofree char *position = fs_position_id (layer, FS_SITE_RES);
      g_autofree char *message = g_strdup_printf (_("Flow graphs start at residual features: try %s/…"),
                                                  position);
      set_error (self, message);
      return FALSE;
    }

  set_error (self, NULL);
  g_signal_emit (self, signals[FEATURE_ACTIVATED], 0, layer, index);
  return TRUE;
}

static void
entry_activate_cb (FsFeatureFinder *self)
{
  fs_feature_finder_activate_text (self, gtk_editable_get_text (GTK_EDITABLE (self->entry)));
}

void
fs_feature_finder_set_text (FsFeatureFinder *self,
                            const char      *text)
{
  g_return_if_fail (FS_IS_FEATURE_FINDER (self));

  gtk_editable_set_text (GTK_EDITABLE (self->entry), text != NULL ? text : "");
  gtk_editable_set_position (GTK_EDITABLE (self->entry), -1);
  set_error (self, NULL);
  cancel_search (self);
  gtk_widget_set_visible (self->results_box, FALSE);
}

void
fs_feature_finder_show_feature (FsFeatureFinder *self,
                                const char      *id)
{
  g_autofree char *text = NULL;

  g_return_if_fail (FS_IS_FEATURE_FINDER (self));
  g_return_if_fail (id != NULL);

  /* A label search stays, with its results, while its hits are looked at. */
  text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->entry))));
  if (text[0] != '\0' && !looks_like_id (text))
    return;

  fs_feature_finder_set_text (self, id);
}

void
fs_feature_finder_focus (FsFeatureFinder *self)
{
  g_return_if_fail (FS_IS_FEATURE_FINDER (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
  gtk_editable_set_position (GTK_EDITABLE (self->entry), -1);
}

void
fs_feature_finder_set_workspace (FsFeatureFinder *self,
                                 FsWorkspace     *workspace)
{
  g_return_if_fail (FS_IS_FEATURE_FINDER (self));

  if (!fs_set_workspace (&self->workspace, workspace))
    return;

  /* gtk_search_entry_set_placeholder_text came with GTK 4.10. */
  g_object_set (self->entry, "placeholder-text",
                workspace != NULL && fs_workspace_get_labels (workspace) != NULL
                ? _("Feature ID or label")
                : _("Feature ID, e.g. 3/res/42"),
                NULL);
  /* The same text, searched again in the new labels. */
  cancel_search (self);
  search_changed_cb (self);
  fs_prompt_features_set_workspace (self->prompt_features, workspace);
}

/* ------------------------------------------------------------ active on prompt */

FsPromptFeatures *
fs_feature_finder_get_prompt_features (FsFeatureFinder *self)
{
  g_return_val_if_fail (FS_IS_FEATURE_FINDER (self), NULL);

  return self->prompt_features;
}

void
fs_feature_finder_set_prompt_mode (FsFeatureFinder *self,
                                   gboolean         prompt_mode)
{
  g_return_if_fail (FS_IS_FEATURE_FINDER (self));

  gtk_toggle_button_set_active (self->prompt_button, prompt_mode);
}

static void
prompt_mode_changed_cb (FsFeatureFinder *self)
{
  /* One list at a time: the mode takes the place of label results. */
  if (gtk_toggle_button_get_active (self->prompt_button))
    gtk_widget_set_visible (self->results_box, FALSE);
}

/* Typing in the entry leaves the mode; the window setting the text of
 * the graph shown does not (the entry does not have the focus then). */
static void
entry_changed_cb (FsFeatureFinder *self)
{
  GtkWidget *text = GTK_WIDGET (gtk_editable_get_delegate (GTK_EDITABLE (self->entry)));

  if (gtk_widget_has_focus (text))
    gtk_toggle_button_set_active (self->prompt_button, FALSE);
}

static void
prompt_feature_activated_cb (FsFeatureFinder *self,
                             int              layer,
                             int              site,
                             gint64           index)
{
  if (site == FS_SITE_RES)
    g_signal_emit (self, signals[FEATURE_ACTIVATED], 0, layer, index);
  else
    g_signal_emit (self, signals[FEATURE_SELECTED], 0, layer, site, index);
}

static void
fs_feature_finder_dispose (GObject *object)
{
  cancel_search (FS_FEATURE_FINDER (object));
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_FEATURE_FINDER);

  G_OBJECT_CLASS (fs_feature_finder_parent_class)->dispose (object);
}

static void
fs_feature_finder_finalize (GObject *object)
{
  FsFeatureFinder *self = FS_FEATURE_FINDER (object);

  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_free (self->error);

  G_OBJECT_CLASS (fs_feature_finder_parent_class)->finalize (object);
}

static void
fs_feature_finder_class_init (FsFeatureFinderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_feature_finder_dispose;
  object_class->finalize = fs_feature_finder_finalize;

  /* A residual feature was chosen: (layer, index). */
  signals[FEATURE_ACTIVATED] =
    g_signal_new ("feature-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT64);
  /* A feature at an MLP or attention site was chosen: (layer, site, index). */
  signals[FEATURE_SELECTED] =
    g_signal_new ("feature-selected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT64);

  g_type_ensure (FS_TYPE_PROMPT_FEATURES);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-feature-finder.ui");
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, entry);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, error_label);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, results_box);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, results_list);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, results_title);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, prompt_button);
  gtk_widget_class_bind_template_child (widget_class, FsFeatureFinder, prompt_features);
  gtk_widget_class_bind_template_callback (widget_class, prompt_mode_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, prompt_feature_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, result_activated_cb);
}

static void
fs_feature_finder_init (FsFeatureFinder *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->entry, "changed", G_CALLBACK (entry_changed_cb), self);
}
