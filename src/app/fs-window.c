/* fs-window.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-window"

#include "config.h"

#include <glib/gi18n.h>

#include "demo.h"
#include "export.h"
#include "fs-error.h"
#include "fs-export.h"
#include "fs-file-chooser.h"
#include "fs-sae-list.h"
#include "fs-window.h"

/* Edits of the graph parameters are collected this long before the graph
 * is rebuilt, so that holding a spin button's arrow builds once. */
#define PARAMS_DEBOUNCE_MS 250
#define PULSE_INTERVAL_MS 120

typedef struct {
  int    layer;
  gint64 index;
} HistoryEntry;

struct _FsWindow
{
  AdwApplicationWindow parent_instance;

  GSettings       *settings;

  FsWorkspace     *workspace;
  GCancellable    *load_cancellable;

  guint            params_timeout;
  guint            pulse_timeout;

  /* The prompt the steering panel generates from and the inspector
   * shows activations on. */
  char            *prompt;

  GArray          *history;         /* HistoryEntry */
  guint            history_position;  /* index of the entry shown + 1; 0 when empty */
  gboolean         navigating;

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  GtkStack        *stack;
  AdwWindowTitle  *window_title;
  AdwStatusPage   *empty_page;
  AdwStatusPage   *loading_page;
  GtkWidget       *demo_button;
  AdwFlap         *sidebar_flap;
  AdwFlap         *inspector_flap;
  FsFeatureFinder *finder;
  FsGraphControls *controls;
  FsSaeList       *sae_list;
  FsGraphWidget   *graph;
  FsInspector     *inspector;
  GtkProgressBar  *progress;
  GtkWidget       *graph_status;
  GtkMenuButton   *export_button;
  GtkWidget       *sidebar_button;
  GtkWidget       *inspector_button;
  GtkWidget       *steering_button;
  FsSteeringPanel *steering;
  GtkWidget       *history_box;
};

G_DEFINE_FINAL_TYPE (FsWindow, fs_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_PROMPT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const FsExportFormat export_formats[] = {
  { "png", "png", "image/png", N_("PNG Image") },
  { "svg", "svg", "image/svg+xml", N_("SVG Image") },
  { "pdf", "pdf", "application/pdf", N_("PDF Document") },
  { "json", "json", "application/json", N_("Graph JSON") },
  { "graphml", "graphml", "application/xml", N_("GraphML") },
  { "dot", "dot", "text/vnd.graphviz", N_("Graphviz DOT") },
};

FsWindow *
fs_window_new (FsApplication *application)
{
  g_return_val_if_fail (FS_IS_APPLICATION (application), NULL);

  return g_object_new (FS_TYPE_WINDOW,
                       "application", application,
                       NULL);
}

static void
fs_window_show_toast (FsWindow   *self,
                      const char *title)
{
  AdwToast *toast = adw_toast_new (title);

  /* Error messages name files and can be long. */
  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* ------------------------------------------------------------ busy state */

static gboolean
pulse_cb (gpointer user_data)
{
  FsWindow *self = user_data;

  gtk_progress_bar_pulse (self->progress);
  return G_SOURCE_CONTINUE;
}

static void
update_busy (FsWindow *self)
{
  gboolean busy = self->load_cancellable != NULL || fs_graph_widget_get_building (self->graph);
  GAction *load_labels = g_action_map_lookup_action (G_ACTION_MAP (self), "load-labels");

  /* Labels are for the SAEs open, not for those still loading. */
  g_simple_action_set_enabled (G_SIMPLE_ACTION (load_labels),
                               self->load_cancellable == NULL && self->workspace != NULL
                               && fs_workspace_get_set (self->workspace) != NULL);

  gtk_widget_set_visible (GTK_WIDGET (self->progress), busy);
  if (busy && self->pulse_timeout == 0)
    self->pulse_timeout = g_timeout_add (PULSE_INTERVAL_MS, pulse_cb, self);
  else if (!busy)
    g_clear_handle_id (&self->pulse_timeout, g_source_remove);
}

gboolean
fs_window_get_loading (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), FALSE);

  return self->load_cancellable != NULL;
}

FsWorkspace *
fs_window_get_workspace (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);

  return self->workspace;
}

/* ------------------------------------------------------------ pages */

static void
update_page (FsWindow *self)
{
  gboolean graph_page = self->workspace != NULL && fs_workspace_get_set (self->workspace) != NULL;

  if (graph_page)
    gtk_stack_set_visible_child_name (self->stack, "graph");
  else if (self->load_cancellable != NULL)
    gtk_stack_set_visible_child_name (self->stack, "loading");
  else
    gtk_stack_set_visible_child_name (self->stack, "empty");

  /* The graph's controls only where there is a graph. */
  gtk_widget_set_visible (self->sidebar_button, graph_page);
  gtk_widget_set_visible (self->inspector_button, graph_page);
  gtk_widget_set_visible (self->steering_button, graph_page);
  gtk_widget_set_visible (self->history_box, graph_page);
  gtk_widget_set_visible (GTK_WIDGET (self->export_button), graph_page);
}

static void
update_title (FsWindow *self)
{
  g_autofree char *subtitle = NULL;

  if (self->workspace != NULL)
    subtitle = fs_workspace_describe (self->workspace);
  adw_window_title_set_subtitle (self->window_title, subtitle != NULL ? subtitle : "");

  /* With a model and no SAEs the empty page says what comes next. */
  if (self->workspace != NULL && fs_workspace_get_model (self->workspace) != NULL
      && fs_workspace_get_set (self->workspace) == NULL)
    adw_status_page_set_description (self->empty_page,
                                     _("The model is open. Open SAE folders trained on it to explore how their features flow between layers."));
  else
    adw_status_page_set_description (self->empty_page,
                                     _("Open a Hugging Face model folder or SAE folders (SAELens, Gemma Scope, Llama Scope) to explore how features flow between layers."));
}

static void
update_actions (FsWindow *self)
{
  static const char * const zoom_actions[] = { "zoom-in", "zoom-out", "zoom-fit" };
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);
  g_auto(GStrv) recent = g_settings_get_strv (self->settings, "recent-sae-sets");
  g_autofree char *demo = fs_demo_find ();
  GAction *action;

  action = g_action_map_lookup_action (G_ACTION_MAP (self), "export");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), graph != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "export-menu");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), graph != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "steer-graph");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), graph != NULL && fs_flow_graph_get_n_nodes (graph) > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->export_button), graph != NULL);

  action = g_action_map_lookup_action (G_ACTION_MAP (self), "back");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->history_position > 1);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "forward");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->history_position < self->history->len);

  action = g_action_map_lookup_action (G_ACTION_MAP (self), "open-recent");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), recent[0] != NULL);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "open-demo");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), demo != NULL);
  gtk_widget_set_visible (self->demo_button, demo != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (zoom_actions); i++)
    {
      action = g_action_map_lookup_action (G_ACTION_MAP (self), zoom_actions[i]);
      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), graph != NULL);
    }
}

/* ------------------------------------------------------------ loading */

typedef struct {
  FsWindow *window;
  gboolean  remember;
} LoadContext;

static void
show_start_feature (FsWindow *self)
{
  int layer;
  gint64 index;

  if (fs_workspace_get_start_feature (self->workspace, &layer, &index))
    fs_window_show_feature (self, layer, index);
}

static void
swap_workspace (FsWindow    *self,
                FsWorkspace *workspace,
                gboolean     remember)
{
  g_autoptr(FsWorkspace) previous = g_steal_pointer (&self->workspace);
  const char * const *warnings;
  gboolean same_saes;
  int layer;
  gint64 index;

  self->workspace = fs_workspace_ref (workspace);
  same_saes = previous != NULL
              && fs_workspace_get_sae_paths (previous) != NULL
              && fs_workspace_get_sae_paths (workspace) != NULL
              && g_strv_equal (fs_workspace_get_sae_paths (previous), fs_workspace_get_sae_paths (workspace));

  if (remember)
    {
      const char * const *paths = fs_workspace_get_sae_paths (workspace);
      const char *model = fs_workspace_get_model_path (workspace);

      g_settings_delay (self->settings);
      if (paths != NULL)
        g_settings_set_strv (self->settings, "recent-sae-sets", paths);
      g_settings_set_string (self->settings, "recent-model", model != NULL ? model : "");
      g_settings_apply (self->settings);
    }

  fs_feature_finder_set_workspace (self->finder, workspace);
  fs_sae_list_set_workspace (self->sae_list, workspace);
  fs_graph_widget_set_workspace (self->graph, workspace);
  fs_steering_panel_set_workspace (self->steering, workspace);

  if (fs_workspace_get_set (workspace) == NULL)
    fs_graph_widget_clear (self->graph);
  else if (same_saes && fs_graph_widget_get_feature (self->graph, &layer, &index))
    fs_window_show_feature (self, layer, index);  /* the model may change the graph */
  else
    {
      g_array_set_size (self->history, 0);
      self->history_position = 0;
      fs_graph_widget_clear (self->graph);
      show_start_feature (self);
    }

  warnings = fs_workspace_get_warnings (workspace);
  if (warnings[0] != NULL)
    {
      guint n = g_strv_length ((char **) warnings);
      g_autofree char *text = NULL;

      if (n == 1)
        text = g_strdup (warnings[0]);
      else
        text = g_strdup_printf (ngettext ("%s (and %u more warning)", "%s (and %u more warnings)", n - 1),
                                warnings[0], n - 1);
      fs_window_show_toast (self, text);
    }

  update_title (self);
  update_page (self);
  update_actions (self);
}

static void
load_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  LoadContext *context = user_data;
  g_autoptr(FsWindow) self = context->window;
  g_autoptr(FsWorkspace) workspace = NULL;
  g_autoptr(GError) error = NULL;
  gboolean remember = context->remember;

  g_free (context);
  workspace = fs_workspace_load_finish (result, &error);

  /* Superseded by a newer load, or the window is going away. */
  if (g_task_get_cancellable (G_TASK (result)) != self->load_cancellable)
    return;
  g_clear_object (&self->load_cancellable);

  if (workspace == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fs_window_show_toast (self, error->message);
    }
  else
    swap_workspace (self, workspace, remember);

  update_page (self);
  update_busy (self);
}

/* Labels files chosen for SAE sets, by the set's folders joined by lines. */
static char *
labels_key (const char * const *sae_paths)
{
  return sae_paths != NULL ? g_strjoinv ("\n", (char **) sae_paths) : NULL;
}

/* The labels file last chosen for @sae_paths, or NULL. */
static char *
dup_remembered_labels (FsWindow           *self,
                       const char * const *sae_paths)
{
  g_autoptr(GVariant) files = g_settings_get_value (self->settings, "labels-files");
  g_autofree char *key = labels_key (sae_paths);
  char *path = NULL;

  if (key != NULL)
    g_variant_lookup (files, key, "s", &path);
  return path;
}

static void
remember_labels (FsWindow    *self,
                 FsWorkspace *workspace)
{
  g_autoptr(GVariant) files = g_settings_get_value (self->settings, "labels-files");
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  g_autofree char *key = labels_key (fs_workspace_get_sae_paths (workspace));
  const char *set, *path;
  GVariantIter iter;

  g_variant_iter_init (&iter, files);
  while (g_variant_iter_next (&iter, "{&s&s}", &set, &path))
    if (!g_str_equal (set, key))
      g_variant_builder_add (&builder, "{ss}", set, path);
  g_variant_builder_add (&builder, "{ss}", key, fs_labels_get_path (fs_workspace_get_labels (workspace)));
  g_settings_delay (self->settings);
  g_settings_set_value (self->settings, "labels-files", g_variant_builder_end (&builder));
  g_settings_apply (self->settings);
}

static void
fs_window_load (FsWindow           *self,
                const char * const *sae_paths,
                const char         *model_path,
                gboolean            remember)
{
  g_autofree char *description = NULL;
  g_autofree char *labels_path = NULL;
  LoadContext *context;

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  if (sae_paths != NULL && sae_paths[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv ("\n", (char **) sae_paths);

      description = g_strdup (joined);
    }
  else if (model_path != NULL)
    description = g_strdup (model_path);
  adw_status_page_set_description (self->loading_page, description);

  context = g_new0 (LoadContext, 1);
  context->window = g_object_ref (self);
  context->remember = remember;
  labels_path = dup_remembered_labels (self, sae_paths);
  fs_workspace_load_async (sae_paths, model_path, labels_path, self->workspace, self->load_cancellable,
                           load_done_cb, context);

  update_page (self);
  update_busy (self);
}

/**
 * fs_window_open_model:
 * @self: a #FsWindow
 * @folder: a Hugging Face model folder
 *
 * Loads the model, keeping the SAEs that are open (they are reopened with
 * the model, which attention SAEs on attn.hook_z need).
 */
void
fs_window_open_model (FsWindow *self,
                      GFile    *folder)
{
  g_autofree char *path = NULL;
  const char * const *sae_paths = NULL;

  g_return_if_fail (FS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  path = g_file_get_path (folder);
  if (path == NULL)
    {
      fs_window_show_toast (self, _("Only local folders can be opened"));
      return;
    }

  if (self->workspace != NULL)
    sae_paths = fs_workspace_get_sae_paths (self->workspace);
  fs_window_load (self, sae_paths, path, TRUE);
}

/**
 * fs_window_open_sae_sets:
 * @self: a #FsWindow
 * @folders: (array length=n_folders): SAE folders or folders to scan for them
 * @n_folders: the length of @folders
 *
 * Loads the SAEs found in @folders as one set, with the model that is open.
 */
void
fs_window_open_sae_sets (FsWindow      *self,
                         GFile * const *folders,
                         guint          n_folders)
{
  g_autoptr(GStrvBuilder) paths = NULL;
  g_auto(GStrv) strv = NULL;
  const char *model_path = NULL;

  g_return_if_fail (FS_IS_WINDOW (self));
  g_return_if_fail (folders != NULL || n_folders == 0);

  paths = g_strv_builder_new ();
  for (guint i = 0; i < n_folders; i++)
    {
      g_autofree char *path = g_file_get_path (folders[i]);

      if (path != NULL)
        g_strv_builder_add (paths, path);
    }
  strv = g_strv_builder_end (paths);

  if (strv[0] == NULL)
    {
      fs_window_show_toast (self, _("Only local folders can be opened"));
      return;
    }

  if (self->workspace != NULL)
    model_path = fs_workspace_get_model_path (self->workspace);
  fs_window_load (self, (const char * const *) strv, model_path, TRUE);
}

gboolean
fs_window_open_demo (FsWindow *self)
{
  g_autofree char *demo = NULL;
  g_autofree char *saes = NULL;
  g_autofree char *model = NULL;
  const char *paths[2] = { NULL, NULL };

  g_return_val_if_fail (FS_IS_WINDOW (self), FALSE);

  demo = fs_demo_find ();
  if (demo == NULL)
    return FALSE;

  saes = g_build_filename (demo, "saes", NULL);
  model = g_build_filename (demo, "model", NULL);
  paths[0] = saes;
  /* The demo is not something the user opened: not remembered. */
  fs_window_load (self, paths, g_file_test (model, G_FILE_TEST_IS_DIR) ? model : NULL, FALSE);
  return TRUE;
}

/* ------------------------------------------------------------ labels */

static void
load_labels_done_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(FsWindow) self = user_data;
  g_autoptr(FsWorkspace) workspace = NULL;
  g_autoptr(GError) error = NULL;

  workspace = fs_workspace_load_labels_finish (result, &error);

  /* Superseded by a newer load, or the window is going away. */
  if (g_task_get_cancellable (G_TASK (result)) != self->load_cancellable)
    return;
  g_clear_object (&self->load_cancellable);

  if (workspace == NULL)
    {
      /* The previous labels stay. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fs_window_show_toast (self, error->message);
    }
  else
    {
      FsLabels *labels = fs_workspace_get_labels (workspace);
      g_autofree char *name = g_path_get_basename (fs_labels_get_path (labels));
      guint n = fs_labels_get_n_labels (labels);
      g_autofree char *title = g_strdup_printf (ngettext ("Loaded %u label from “%s”",
                                                          "Loaded %u labels from “%s”", n),
                                                n, name);

      remember_labels (self, workspace);
      swap_workspace (self, workspace, FALSE);
      fs_window_show_toast (self, title);
    }

  update_busy (self);
}

/**
 * fs_window_load_labels:
 * @self: a #FsWindow
 * @file: a Neuronpedia explanations export
 *
 * Loads labels for the SAEs that are open, in a worker, and shows them
 * everywhere in place of the previous ones, which stay when @file cannot be
 * used. The choice is remembered for these SAEs.
 */
void
fs_window_load_labels (FsWindow *self,
                       GFile    *file)
{
  g_autofree char *path = NULL;

  g_return_if_fail (FS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      fs_window_show_toast (self, _("Only local files can be opened"));
      return;
    }
  if (self->workspace == NULL || fs_workspace_get_set (self->workspace) == NULL)
    {
      fs_window_show_toast (self, _("Open SAEs before labels for them"));
      return;
    }

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  fs_workspace_load_labels_async (self->workspace, path, self->load_cancellable,
                                  load_labels_done_cb, g_object_ref (self));
  update_busy (self);
}

/* ------------------------------------------------------------ graph */

static void
history_push (FsWindow *self,
              int       layer,
              gint64    index)
{
  HistoryEntry entry = { layer, index };

  if (self->history_position > 0)
    {
      HistoryEntry *current = &g_array_index (self->history, HistoryEntry, self->history_position - 1);

      if (current->layer == layer && current->index == index)
        return;
    }

  g_array_set_size (self->history, self->history_position);
  g_array_append_val (self->history, entry);
  self->history_position = self->history->len;
}

void
fs_window_show_feature (FsWindow *self,
                        int       layer,
                        gint64    index)
{
  g_return_if_fail (FS_IS_WINDOW (self));

  fs_graph_widget_show_feature (self->graph, layer, index);
}

static void
feature_changed_cb (FsWindow *self)
{
  g_autofree char *id = NULL;
  int layer;
  gint64 index;

  if (!fs_graph_widget_get_feature (self->graph, &layer, &index))
    return;

  if (!self->navigating)
    history_push (self, layer, index);
  id = fs_feature_id (layer, FS_SITE_RES, index);
  fs_feature_finder_show_feature (self->finder, id);
  update_actions (self);
}

static void
selection_changed_cb (FsWindow *self)
{
  fs_inspector_show_node (self->inspector, self->workspace,
                          fs_graph_widget_get_graph (self->graph),
                          fs_graph_widget_get_selected (self->graph));
}

static void
graph_changed_cb (FsWindow *self)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);

  gtk_widget_set_visible (self->graph_status, graph == NULL && !fs_graph_widget_get_building (self->graph));
  update_actions (self);

  /* A new graph opens on its seed, so the inspector has something to say
   * (the selection's notification updates it). */
  if (graph != NULL && fs_graph_widget_get_selected (self->graph) < 0)
    fs_graph_widget_set_selected (self->graph, fs_flow_graph_get_seed (graph));
  else
    selection_changed_cb (self);
}

static void
building_changed_cb (FsWindow *self)
{
  gtk_widget_set_visible (self->graph_status,
                          fs_graph_widget_get_graph (self->graph) == NULL
                          && !fs_graph_widget_get_building (self->graph));
  update_busy (self);
}

static void
build_failed_cb (FsWindow   *self,
                 const char *message)
{
  fs_window_show_toast (self, message);
}

static void
finder_feature_activated_cb (FsWindow *self,
                             int       layer,
                             gint64    index)
{
  fs_window_show_feature (self, layer, index);
}

/* An MLP or attention feature has no graph of its own: select it in the
 * graph shown, where it may be a node. */
static void
finder_feature_selected_cb (FsWindow *self,
                            int       layer,
                            int       site,
                            gint64    index)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);
  int node = graph != NULL ? fs_flow_graph_find_node (graph, layer, (FsSite) site, index) : -1;
  g_autofree char *id = NULL;
  g_autofree char *message = NULL;

  if (node >= 0)
    {
      fs_graph_widget_set_selected (self->graph, node);
      return;
    }
  id = fs_feature_id (layer, (FsSite) site, index);
  message = g_strdup_printf (_("%s is not in the graph shown; flow graphs start at residual features"), id);
  fs_window_show_toast (self, message);
}

static void
sae_list_position_activated_cb (FsWindow *self,
                                int       layer,
                                int       site)
{
  g_autofree char *position = fs_position_id (layer, (FsSite) site);
  g_autofree char *text = g_strconcat (position, "/", NULL);

  fs_feature_finder_set_text (self->finder, text);
  fs_feature_finder_focus (self->finder);
}

static void
inspector_node_activated_cb (FsWindow *self,
                             guint     node)
{
  fs_graph_widget_set_selected (self->graph, node);
}

/* Steers with @node_index of the graph shown, and shows the panel. */
static void
add_to_steering_cb (FsWindow *self,
                    guint     node_index)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);
  const FsFlowNode *node;

  if (graph == NULL || node_index >= fs_flow_graph_get_n_nodes (graph))
    return;

  node = fs_flow_graph_get_node (graph, node_index);
  fs_steering_panel_add_feature (self->steering, node->layer, node->site, node->index);
  gtk_widget_set_visible (GTK_WIDGET (self->steering), TRUE);
}

static void
inspector_reroot_cb (FsWindow *self,
                     guint     node_index)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);
  const FsFlowNode *node;

  if (graph == NULL || node_index >= fs_flow_graph_get_n_nodes (graph))
    return;

  node = fs_flow_graph_get_node (graph, node_index);
  if (node->site == FS_SITE_RES)
    fs_window_show_feature (self, node->layer, node->index);
}

static gboolean
params_timeout_cb (gpointer user_data)
{
  FsWindow *self = user_data;
  FsFlowParams params;

  self->params_timeout = 0;
  fs_graph_controls_get_params (self->controls, &params);
  fs_graph_widget_set_params (self->graph, &params);

  return G_SOURCE_REMOVE;
}

static void
controls_changed_cb (FsWindow *self)
{
  g_clear_handle_id (&self->params_timeout, g_source_remove);
  self->params_timeout = g_timeout_add (PARAMS_DEBOUNCE_MS, params_timeout_cb, self);
}

/* ------------------------------------------------------------ export */

typedef struct {
  FsFlowGraph *graph;
  char        *format;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_pointer (&data->graph, fs_flow_graph_unref);
  g_free (data->format);
  g_free (data);
}

static gboolean
export_write (gpointer     user_data,
              const char  *path,
              GError     **error)
{
  ExportData *data = user_data;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;

  /* Written to a temporary file and renamed into place. */
  if (g_str_equal (data->format, "png") || g_str_equal (data->format, "svg")
      || g_str_equal (data->format, "pdf"))
    return fs_graph_render_to_file (data->graph, data->format, path, error);

  if (g_str_equal (data->format, "json"))
    text = fs_flow_graph_to_json (data->graph);
  else if (g_str_equal (data->format, "graphml"))
    text = fs_flow_graph_to_graphml (data->graph);
  else
    text = fs_flow_graph_to_dot (data->graph);

  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, text, -1, &local_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

void
fs_window_export_async (FsWindow            *self,
                        const char          *format,
                        GFile               *file,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FsFlowGraph *graph;
  ExportData *data;

  g_return_if_fail (FS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, fs_window_export_async);

  graph = fs_graph_widget_get_graph (self->graph);
  if (graph == NULL)
    {
      g_task_return_new_error (task, FS_ERROR, FS_ERROR_NOT_FOUND, _("There is no graph to export"));
      return;
    }
  if (fs_export_format_find (export_formats, G_N_ELEMENTS (export_formats), format) == NULL)
    {
      g_task_return_new_error (task, FS_ERROR, FS_ERROR_UNSUPPORTED, _("Cannot export as “%s”"), format);
      return;
    }

  data = g_new0 (ExportData, 1);
  data->graph = fs_flow_graph_ref (graph);
  data->format = g_strdup (format);
  fs_export_write_in_background (task, file, export_write, data, (GDestroyNotify) export_data_free,
                                 _("Graphs can only be exported to local files"));
}

gboolean
fs_window_export_finish (FsWindow      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
export_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  FsWindow *self = FS_WINDOW (object);
  g_autoptr(GFile) file = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  fs_window_export_finish (self, result, &error);
  message = fs_export_dup_message (file, error);
  fs_window_show_toast (self, message);
}

static void
export_file_chosen_cb (GtkWidget *owner,
                       GFile     *file,
                       gpointer   data)
{
  const FsExportFormat *format = data;

  fs_window_export_async (FS_WINDOW (owner), format->format, file, NULL, export_done_cb, g_object_ref (file));
}

static void
fs_window_export_action (GSimpleAction *action,
                         GVariant      *parameter,
                         gpointer       user_data)
{
  FsWindow *self = user_data;
  const FsExportFormat *format;
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);
  g_autofree char *seed_id = NULL;
  g_autofree char *basename = NULL;

  format = fs_export_format_find (export_formats, G_N_ELEMENTS (export_formats),
                                  g_variant_get_string (parameter, NULL));
  if (graph == NULL || format == NULL)
    return;

  if (fs_flow_graph_get_n_nodes (graph) > 0)
    {
      const FsFlowNode *seed = fs_flow_graph_get_node (graph, fs_flow_graph_get_seed (graph));

      seed_id = fs_feature_id (seed->layer, seed->site, seed->index);
      g_strdelimit (seed_id, "/", '-');
    }
  basename = g_strdup_printf ("flow-%s", seed_id != NULL ? seed_id : "graph");
  fs_export_dialog_show (GTK_WIDGET (self), _("Export Flow Graph"), format, basename, export_file_chosen_cb);
}

static void
fs_window_export_menu_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  FsWindow *self = user_data;

  gtk_menu_button_popup (self->export_button);
}

/* ------------------------------------------------------------ open */

static void
open_model_chosen_cb (GtkWidget *owner,
                      GFile     *folder,
                      gpointer   data)
{
  fs_window_open_model (FS_WINDOW (owner), folder);
}

static void
open_saes_response_cb (GtkNativeDialog *dialog,
                       int              response,
                       gpointer         user_data)
{
  FsWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_object_unref);
      guint n = g_list_model_get_n_items (files);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (folders, g_list_model_get_item (files, i));

      fs_window_open_sae_sets (self, (GFile * const *) folders->pdata, folders->len);
    }

  g_object_unref (dialog);
}

static void
fs_window_open_model_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  GtkWidget *owner = user_data;
  GtkFileChooserNative *chooser;

  chooser = fs_file_chooser_new (owner, _("Open Model"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"));
  fs_file_chooser_show (chooser, owner, open_model_chosen_cb, NULL);
}

/* Several folders at once: fs_file_chooser_show takes one file. */
static void
fs_window_open_saes_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  FsWindow *self = user_data;
  GtkFileChooserNative *chooser;

  chooser = fs_file_chooser_new (GTK_WIDGET (self), _("Open SAEs"),
                                 GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Open"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  g_signal_connect_object (chooser, "response",
                           G_CALLBACK (open_saes_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
fs_window_open_recent_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  FsWindow *self = user_data;
  g_auto(GStrv) paths = g_settings_get_strv (self->settings, "recent-sae-sets");
  g_autofree char *model = g_settings_get_string (self->settings, "recent-model");

  if (paths[0] == NULL)
    return;
  fs_window_load (self, (const char * const *) paths, model[0] != '\0' ? model : NULL, TRUE);
}

static void
load_labels_chosen_cb (GtkWidget *owner,
                       GFile     *file,
                       gpointer   data)
{
  fs_window_load_labels (FS_WINDOW (owner), file);
}

static void
fs_window_load_labels_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  GtkWidget *owner = user_data;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  chooser = fs_file_chooser_new (owner, _("Load Labels"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Load"));
  /* Neuronpedia exports: JSON, JSON Lines, either gzipped. */
  gtk_file_filter_set_name (filter, _("Neuronpedia Explanations"));
  gtk_file_filter_add_mime_type (filter, "application/json");
  gtk_file_filter_add_suffix (filter, "json");
  gtk_file_filter_add_suffix (filter, "jsonl");
  gtk_file_filter_add_suffix (filter, "gz");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  fs_file_chooser_show (chooser, owner, load_labels_chosen_cb, NULL);
}

static void
fs_window_open_demo_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  fs_window_open_demo (FS_WINDOW (user_data));
}

/* ------------------------------------------------------------ navigation */

static void
navigate (FsWindow *self,
          int       delta)
{
  HistoryEntry *entry;
  guint target = self->history_position + delta;

  if (target < 1 || target > self->history->len)
    return;

  self->history_position = target;
  entry = &g_array_index (self->history, HistoryEntry, target - 1);
  self->navigating = TRUE;
  fs_window_show_feature (self, entry->layer, entry->index);
  self->navigating = FALSE;
  update_actions (self);
}

static void
fs_window_back_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  navigate (FS_WINDOW (user_data), -1);
}

static void
fs_window_forward_action (GSimpleAction *action,
                          GVariant      *parameter,
                          gpointer       user_data)
{
  navigate (FS_WINDOW (user_data), 1);
}

static void
fs_window_find_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  FsWindow *self = user_data;

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "graph") != 0)
    return;
  adw_flap_set_reveal_flap (self->sidebar_flap, TRUE);
  fs_feature_finder_focus (self->finder);
}

static void
fs_window_zoom_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  FsWindow *self = user_data;
  const char *name = g_action_get_name (G_ACTION (action));

  if (g_str_equal (name, "zoom-in"))
    fs_graph_widget_zoom (self->graph, 1.25);
  else if (g_str_equal (name, "zoom-out"))
    fs_graph_widget_zoom (self->graph, 1 / 1.25);
  else
    fs_graph_widget_fit (self->graph);
}

static void
fs_window_steer_graph_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  FsWindow *self = user_data;
  FsFlowGraph *graph = fs_graph_widget_get_graph (self->graph);

  if (graph == NULL || fs_flow_graph_get_n_nodes (graph) == 0)
    return;
  fs_steering_panel_add_graph (self->steering, graph);
  gtk_widget_set_visible (GTK_WIDGET (self->steering), TRUE);
}

static const GActionEntry win_actions[] = {
  { "open-model", fs_window_open_model_action },
  { "open-saes", fs_window_open_saes_action },
  { "open-recent", fs_window_open_recent_action },
  { "open-demo", fs_window_open_demo_action },
  { "load-labels", fs_window_load_labels_action },
  { "export", fs_window_export_action, "s" },
  { "export-menu", fs_window_export_menu_action },
  { "back", fs_window_back_action },
  { "forward", fs_window_forward_action },
  { "find", fs_window_find_action },
  { "zoom-in", fs_window_zoom_action },
  { "zoom-out", fs_window_zoom_action },
  { "zoom-fit", fs_window_zoom_action },
  { "steer-graph", fs_window_steer_graph_action },
};

/* ------------------------------------------------------------ accessors */

FsGraphWidget *
fs_window_get_graph_widget (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);
  return self->graph;
}

FsInspector *
fs_window_get_inspector (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);
  return self->inspector;
}

FsFeatureFinder *
fs_window_get_finder (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);
  return self->finder;
}

FsGraphControls *
fs_window_get_controls (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);
  return self->controls;
}

FsSteeringPanel *
fs_window_get_steering_panel (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);
  return self->steering;
}

/* ------------------------------------------------------------ GObject */

static gboolean
fs_window_close_request (GtkWindow *window)
{
  FsWindow *self = FS_WINDOW (window);
  gboolean maximized = gtk_window_is_maximized (window);
  int width, height;

  /* The default size tracks the unmaximized size, which is what to restore. */
  gtk_window_get_default_size (window, &width, &height);

  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", maximized);
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (fs_window_parent_class)->close_request (window);
}

const char *
fs_window_get_prompt (FsWindow *self)
{
  g_return_val_if_fail (FS_IS_WINDOW (self), NULL);

  return self->prompt;
}

void
fs_window_set_prompt (FsWindow   *self,
                      const char *prompt)
{
  g_return_if_fail (FS_IS_WINDOW (self));

  if (g_strcmp0 (self->prompt, prompt) == 0)
    return;
  g_free (self->prompt);
  self->prompt = g_strdup (prompt);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROMPT]);
}

static void
fs_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  FsWindow *self = FS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      g_value_set_string (value, self->prompt);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  FsWindow *self = FS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      fs_window_set_prompt (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_window_dispose (GObject *object)
{
  FsWindow *self = FS_WINDOW (object);

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_handle_id (&self->params_timeout, g_source_remove);
  g_clear_handle_id (&self->pulse_timeout, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), FS_TYPE_WINDOW);

  G_OBJECT_CLASS (fs_window_parent_class)->dispose (object);
}

static void
fs_window_finalize (GObject *object)
{
  FsWindow *self = FS_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_clear_pointer (&self->history, g_array_unref);
  g_clear_pointer (&self->prompt, g_free);

  G_OBJECT_CLASS (fs_window_parent_class)->finalize (object);
}

static void
fs_window_class_init (FsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = fs_window_dispose;
  object_class->finalize = fs_window_finalize;
  object_class->get_property = fs_window_get_property;
  object_class->set_property = fs_window_set_property;

  properties[PROP_PROMPT] =
    g_param_spec_string ("prompt", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  window_class->close_request = fs_window_close_request;

  g_type_ensure (FS_TYPE_FEATURE_FINDER);
  g_type_ensure (FS_TYPE_GRAPH_CONTROLS);
  g_type_ensure (FS_TYPE_GRAPH_WIDGET);
  g_type_ensure (FS_TYPE_INSPECTOR);
  g_type_ensure (FS_TYPE_SAE_LIST);
  g_type_ensure (FS_TYPE_STEERING_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, FsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, loading_page);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, demo_button);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, sidebar_flap);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, inspector_flap);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, finder);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, controls);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, sae_list);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, graph);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, inspector);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, progress);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, graph_status);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, export_button);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, sidebar_button);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, inspector_button);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, steering_button);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, steering);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, history_box);
  gtk_widget_class_bind_template_callback (widget_class, feature_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, selection_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, graph_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, building_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, build_failed_cb);
  gtk_widget_class_bind_template_callback (widget_class, finder_feature_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, inspector_node_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, sae_list_position_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, inspector_reroot_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_to_steering_cb);
  gtk_widget_class_bind_template_callback (widget_class, controls_changed_cb);
}

static void
fs_window_init (FsWindow *self)
{
  g_autoptr(GPropertyAction) sidebar_action = NULL;
  g_autoptr(GPropertyAction) inspector_action = NULL;
  g_autoptr(GPropertyAction) steering_action = NULL;

  self->history = g_array_new (FALSE, FALSE, sizeof (HistoryEntry));

  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   win_actions, G_N_ELEMENTS (win_actions),
                                   self);
  sidebar_action = g_property_action_new ("toggle-sidebar", self->sidebar_flap, "reveal-flap");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (sidebar_action));
  inspector_action = g_property_action_new ("toggle-inspector", self->inspector_flap, "reveal-flap");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (inspector_action));
  steering_action = g_property_action_new ("toggle-steering", self->steering, "visible");
  g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (steering_action));
  /* One prompt for the whole window: the panel starts with its own. */
  g_object_bind_property (self->steering, "prompt", self, "prompt",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  /* The inspector and the finder's "Active on Prompt" run the same prompt;
   * the inspector can edit it too. */
  g_object_bind_property (self, "prompt", self->inspector, "prompt",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self, "prompt", fs_feature_finder_get_prompt_features (self->finder),
                          "prompt", G_BINDING_SYNC_CREATE);
  g_signal_connect_object (self->finder, "feature-selected",
                           G_CALLBACK (finder_feature_selected_cb), self, G_CONNECT_SWAPPED);

  self->settings = g_settings_new (APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_signal_connect_object (self->settings, "changed::recent-sae-sets",
                           G_CALLBACK (update_actions), self, G_CONNECT_SWAPPED);

  update_title (self);
  update_page (self);
  update_busy (self);
  update_actions (self);
}
