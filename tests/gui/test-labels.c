/* test-labels.c: labels in the window, driven in-process under Xvfb: the
 * Load Labels dialog, loading a labels file the way it does (the graph,
 * the finder and the inspector show the new labels; the choice is
 * remembered), a corrupt or foreign file (a toast, the old labels stay),
 * labels on a graph cut short by its node cap, and label searches in a
 * worker, each superseding the last.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-labels"

#include <string.h>

#include "gui-test-util.h"

static FsApplication *app;
static FsWindow *window;
static char *planted;
static char *tmp_dir;
static char *good_path;

/* ------------------------------------------------------------ helpers */

static FsGraphWidget *
graph_widget (void)
{
  return fs_window_get_graph_widget (window);
}

static FsLabels *
window_labels (void)
{
  return fs_workspace_get_labels (fs_window_get_workspace (window));
}

/* Labels every feature of every planted SAE, by folder name:
 * "@prefix label of 5-res #10". */
static char *
write_labels (const char *name,
              const char *prefix)
{
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(GDir) dir = g_dir_open (planted, 0, NULL);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (tmp_dir, name, NULL);
  const char *folder;

  g_assert_nonnull (dir);
  while ((folder = g_dir_read_name (dir)) != NULL)
    for (guint i = 0; i < 96; i++)
      g_string_append_printf (text, "%s{\"modelId\": \"planted\", \"layer\": \"%s\", \"index\": \"%u\", "
                              "\"description\": \"%s label of %s #%u\"}",
                              text->len > 1 ? ",\n" : "", folder, i, prefix, folder, i);
  g_string_append (text, "]\n");
  g_file_set_contents (path, text->str, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
load_labels (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  fs_window_load_labels (window, file);
  g_assert_true (fs_window_get_loading (window));
  gui_wait_until (gui_load_finished, window, "the labels to load");
}

/* Waits for a toast saying @text, then closes it: the next toast shows
 * only when it is gone. */
static void
wait_for_toast (const char *text)
{
  g_autofree char *what = g_strdup_printf ("a toast saying “%s”", text);

  gui_wait_for_label (GTK_WIDGET (window), text, what);
  gui_dismiss_toasts (GTK_WIDGET (window));
}

/* The labels file remembered for the planted set, or NULL. */
static char *
remembered_labels (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.flowscope.Flowscope");
  g_autoptr(GVariant) files = g_settings_get_value (settings, "labels-files");
  char *path = NULL;

  g_variant_lookup (files, planted, "s", &path);
  return path;
}

static void
check_inspector_shows (const char *label)
{
  FsInspector *inspector = fs_window_get_inspector (window);

  g_assert_nonnull (gui_find_label (GTK_WIDGET (inspector), label));
}

/* ------------------------------------------------------------ tests */

/* Without a portal, GtkFileChooserNative falls back to an in-process
 * dialog, which can be inspected and cancelled here. */
static void
test_dialog (void)
{
  g_autoptr(GFile) folder = g_file_new_for_path (planted);
  GtkWindow *chooser;
  GtkFileFilter *filter;

  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "load-labels"));
  fs_window_open_sae_sets (window, &folder, 1);
  /* Not for SAEs still loading. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "load-labels"));
  gui_wait_until (gui_load_finished, window, "the SAEs to load");
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "load-labels"));
  g_assert_null (window_labels ());

  if (g_getenv ("GTK_USE_PORTAL") != NULL)
    {
      g_test_skip ("file choosers go through the portal");
      return;
    }
  g_action_group_activate_action (G_ACTION_GROUP (window), "load-labels", NULL);
  chooser = gui_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  g_assert_nonnull (chooser);
  g_object_ref (chooser);
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, chooser, "the file chooser");
  g_assert_cmpint (gtk_file_chooser_get_action (GTK_FILE_CHOOSER (chooser)), ==,
                   GTK_FILE_CHOOSER_ACTION_OPEN);
  g_assert_false (gtk_file_chooser_get_select_multiple (GTK_FILE_CHOOSER (chooser)));
  filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (chooser));
  g_assert_nonnull (filter);
  g_assert_cmpstr (gtk_file_filter_get_name (filter), ==, "Neuronpedia Explanations");

  gtk_window_close (chooser);
  g_object_unref (chooser);
  /* Cancelling loads nothing. */
  g_assert_false (fs_window_get_loading (window));
  g_assert_null (window_labels ());
}

/* Loading a labels file: the graph, the inspector and the finder show its
 * labels, a toast says so, and the choice is remembered for the set. */
static void
test_load (void)
{
  const FsFlowNode *seed;
  g_autofree char *remembered = NULL;
  FsFeatureFinder *finder = fs_window_get_finder (window);

  fs_window_show_feature (window, 5, 10);
  seed = gui_wait_for_graph (window, "5/res/10");
  g_assert_null (seed->label);
  check_inspector_shows ("No label");

  good_path = write_labels ("good.json", "good");
  load_labels (good_path);
  g_assert_nonnull (window_labels ());
  g_assert_cmpstr (fs_labels_get_path (window_labels ()), ==, good_path);
  wait_for_toast ("Loaded 1536 labels from “good.json”");
  remembered = remembered_labels ();
  g_assert_cmpstr (remembered, ==, good_path);

  /* The same feature, rebuilt with its labels. */
  seed = gui_wait_for_graph (window, "5/res/10");
  g_assert_cmpstr (seed->label, ==, "good label of 5-res #10");
  check_inspector_shows ("good label of 5-res #10");

  /* The finder searches the new labels (in a worker) and shows the first. */
  g_assert_true (fs_feature_finder_activate_text (finder, "label of 3-res #42"));
  g_assert_true (fs_feature_finder_get_searching (finder));
  gui_wait_until (gui_search_finished, window, "the label search");
  seed = gui_wait_for_graph (window, "3/res/42");
  g_assert_cmpstr (seed->label, ==, "good label of 3-res #42");
  g_assert_nonnull (gui_find_label (GTK_WIDGET (finder), "1 residual feature by label"));
  g_assert_nonnull (gui_find_label (GTK_WIDGET (finder), "good label of 3-res #42"));
  check_inspector_shows ("good label of 3-res #42");
  fs_feature_finder_set_text (finder, "");
}

/* A file that cannot be read as labels, or labels other SAEs, is refused
 * with a toast naming it and the problem; the labels open stay. */
static void
test_bad_files (void)
{
  g_autofree char *corrupt = g_build_filename (tmp_dir, "corrupt.json", NULL);
  g_autofree char *foreign = g_build_filename (tmp_dir, "gemma.json", NULL);
  const struct {
    const char *path;
    const char *toast;
  } cases[] = {
    { corrupt, "corrupt.json: not valid JSON (line 2)" },
    { foreign, "gemma.json: its labels are for other SAEs (gemma-2-2b/12-gemmascope-res-16k)" },
  };
  FsLabels *before = window_labels ();

  g_assert_nonnull (before);
  g_assert_true (g_file_set_contents (corrupt, "[{\"layer\": \"5-res\",\n \"index\": ", -1, NULL));
  g_assert_true (g_file_set_contents (foreign, "[{\"modelId\": \"gemma-2-2b\", \"layer\": \"12-gemmascope-res-16k\", "
                                               "\"index\": \"1\", \"description\": \"x\"}]", -1, NULL));
  fs_window_show_feature (window, 5, 10);
  gui_wait_for_graph (window, "5/res/10");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *remembered = NULL;
      const FsFlowNode *seed;

      load_labels (cases[i].path);
      wait_for_toast (cases[i].toast);
      g_assert_true (window_labels () == before);
      remembered = remembered_labels ();
      g_assert_cmpstr (remembered, ==, good_path);
      seed = gui_wait_for_graph (window, "5/res/10");
      g_assert_cmpstr (seed->label, ==, "good label of 5-res #10");
      check_inspector_shows ("good label of 5-res #10");
    }
}

/* Loading another file replaces the labels everywhere, truncated graphs
 * included: the node cap no longer costs a graph its labels. */
static void
test_truncated (void)
{
  g_autofree char *second = write_labels ("second.json", "second");
  FsFlowGraph *graph;
  FsFlowParams params;

  load_labels (second);
  g_assert_cmpstr (fs_labels_get_path (window_labels ()), ==, second);

  fs_graph_widget_get_params (graph_widget (), &params);
  params.max_nodes = 3;
  fs_graph_widget_set_params (graph_widget (), &params);
  gui_wait_for_graph (window, "5/res/10");
  graph = fs_graph_widget_get_graph (graph_widget ());
  g_assert_true (fs_flow_graph_is_truncated (graph));
  g_assert_cmpuint (fs_flow_graph_get_n_nodes (graph), ==, 3);
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      FsSae *sae = fs_sae_set_lookup (fs_workspace_get_set (fs_window_get_workspace (window)),
                                      node->layer, node->site);
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));
      g_autofree char *want = g_strdup_printf ("second label of %s #%" G_GINT64_FORMAT, folder, node->index);

      g_assert_cmpstr (node->label, ==, want);
    }
  check_inspector_shows ("second label of 5-res #10");

  fs_flow_params_init (&params);
  fs_graph_widget_set_params (graph_widget (), &params);
  gui_wait_for_graph (window, "5/res/10");
}

/* Typing starts a search in a worker; the next keystroke cancels it, and
 * only the last search's results show. */
static void
test_search_superseded (void)
{
  FsFeatureFinder *finder = fs_window_get_finder (window);
  GtkWidget *entry = gui_find_widget (GTK_WIDGET (finder), GTK_TYPE_SEARCH_ENTRY);
  const FsFlowNode *seed;

  g_assert_nonnull (entry);
  g_assert_true (fs_feature_finder_activate_text (finder, "label of 4-res"));
  g_assert_true (fs_feature_finder_get_searching (finder));
  g_assert_true (fs_feature_finder_activate_text (finder, "label of 2-res #7"));
  g_assert_true (fs_feature_finder_get_searching (finder));
  gui_wait_until (gui_search_finished, window, "the last label search");

  /* #7 and #70 to #79. */
  seed = gui_wait_for_graph (window, "2/res/7");
  g_assert_cmpstr (seed->label, ==, "second label of 2-res #7");
  g_assert_nonnull (gui_find_label (GTK_WIDGET (finder), "11 residual features by label"));
  g_assert_null (gui_find_label (GTK_WIDGET (finder), "label of 4-res"));

  /* The entry's own (delayed) search for the same text changes nothing. */
  gui_spin (400);
  g_assert_false (fs_feature_finder_get_searching (finder));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "label of 2-res #7");
  fs_feature_finder_set_text (finder, "");
}

/* Opening the set again brings back the labels chosen for it, not the
 * labels.json beside it. */
static void
test_remembered (void)
{
  g_autoptr(GFile) folder = g_file_new_for_path (planted);
  g_autofree char *remembered = remembered_labels ();

  g_assert_cmpstr (fs_labels_get_path (window_labels ()), ==, remembered);
  fs_window_open_sae_sets (window, &folder, 1);
  gui_wait_until (gui_load_finished, window, "the SAEs to load again");
  g_assert_nonnull (window_labels ());
  g_assert_cmpstr (fs_labels_get_path (window_labels ()), ==, remembered);
  g_assert_cmpstr (fs_workspace_get_label (fs_window_get_workspace (window), 1, FS_SITE_MLP, 4),
                   ==, "second label of 1-mlp #4");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const char *fixtures;
  int ret;

  g_test_init (&argc, &argv, NULL);

  fixtures = g_getenv ("FLOWSCOPE_FIXTURES");
  if (fixtures == NULL)
    g_error ("FLOWSCOPE_FIXTURES is not set");
  planted = g_build_filename (fixtures, "flow", "planted-F32", NULL);
  tmp_dir = g_dir_make_tmp ("flowscope-gui-labels-XXXXXX", &error);
  g_assert_no_error (error);

  /* Wide enough for the sidebar and the inspector side by side. */
  window = gui_app_start (&app, FALSE, 1280, 800);

  g_test_add_func ("/labels/dialog", test_dialog);
  g_test_add_func ("/labels/load", test_load);
  g_test_add_func ("/labels/bad-files", test_bad_files);
  g_test_add_func ("/labels/truncated", test_truncated);
  g_test_add_func ("/labels/search-superseded", test_search_superseded);
  g_test_add_func ("/labels/remembered", test_remembered);
  ret = g_test_run ();

  gui_app_stop (app, window);
  gui_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (planted);
  g_free (good_path);

  return ret;
}
