/* test-graph.c: the window's graph side, driven in-process under Xvfb:
 * loading SAEs, finding a feature, the flow graph view (selection by a
 * click at the drawn node, re-rooting by double-click, hover, keyboard),
 * the inspector, exports and a bad folder.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-graph"

#include <cjson/cJSON.h>
#include <X11/keysym.h>
#include <string.h>

#include "gui-test-util.h"
#include "render-fixtures.h"

/* Rounds of the stall check while graphs build (see test_stall). */
#define N_STALL_ROUNDS 12

static FsApplication *app;
static FsWindow *window;
static char *fixtures;
static char *tmp_dir;

/* ------------------------------------------------------------ helpers */

static FsGraphWidget *
graph_widget (void)
{
  return fs_window_get_graph_widget (window);
}

static char *
fixture_path (const char *relative)
{
  return g_build_filename (fixtures, relative, NULL);
}

static int
node_of (const char *id)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());
  int layer;
  FsSite site;
  gint64 index;

  g_assert_true (fs_feature_id_parse (id, &layer, &site, &index, NULL));
  return fs_flow_graph_find_node (graph, layer, site, index);
}

static void
node_point (const char *id,
            double     *x,
            double     *y)
{
  int node = node_of (id);

  g_assert_cmpint (node, >=, 0);
  g_assert_true (fs_graph_widget_get_node_point (graph_widget (), node, x, y));
}

static void
open_folder (const char *path)
{
  g_autoptr(GFile) folder = g_file_new_for_path (path);

  fs_window_open_sae_sets (window, &folder, 1);
  g_assert_true (fs_window_get_loading (window));
  gui_wait_until (gui_load_finished, window, "the SAEs to load");
}

static void
set_strict_params (void)
{
  FsFlowParams params;

  fs_flow_params_init (&params);
  params.t_mlp = 0.3f;
  params.t_att = 0.3f;
  /* As the user would: through the controls, which the window debounces. */
  fs_graph_controls_set_params (fs_window_get_controls (window), &params);
  g_signal_emit_by_name (fs_window_get_controls (window), "changed");
}

static gboolean
params_applied (gpointer data)
{
  FsFlowParams params;

  fs_graph_widget_get_params (graph_widget (), &params);
  return params.t_mlp == 0.3f && params.t_att == 0.3f && gui_graph_shown (window, data);
}

/* ------------------------------------------------------------ tests */

static void
test_load (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.flowscope.Flowscope");
  g_autofree char *planted = fixture_path ("flow/planted-F32");
  g_auto(GStrv) recent = NULL;
  GtkStack *stack = GTK_STACK (adw_toast_overlay_get_child (ADW_TOAST_OVERLAY (gui_find_widget (GTK_WIDGET (window), ADW_TYPE_TOAST_OVERLAY))));
  FsSaeSet *set;

  open_folder (planted);

  g_assert_nonnull (fs_window_get_workspace (window));
  set = fs_workspace_get_set (fs_window_get_workspace (window));
  g_assert_nonnull (set);
  g_assert_cmpuint (fs_sae_set_get_n_saes (set), ==, 16);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "graph");

  recent = g_settings_get_strv (settings, "recent-sae-sets");
  g_assert_cmpstrv (recent, ((const char * const []) { planted, NULL }));

  /* A start feature is shown at once, from the top residual layer. */
  gui_wait_for_graph (window, NULL);
  g_assert_cmpint (fs_flow_graph_get_node (fs_graph_widget_get_graph (graph_widget ()), 0)->layer, <=, 5);
}

static void
test_finder_errors (void)
{
  FsFeatureFinder *finder = fs_window_get_finder (window);
  static const struct {
    const char *text;
    const char *error;
  } cases[] = {
    { "5/res/96", "96 features" },
    { "9/res/1", "no SAE at 9/res" },
    { "5/mlp/3", "start at residual features" },
    { "5/xyz/3", "not a feature ID" },
    { "5/res", "not a feature ID" },
    { "five", "LAYER/SITE/INDEX" },  /* no labels to search in this set */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *lower = NULL;

      g_assert_false (fs_feature_finder_activate_text (finder, cases[i].text));
      g_assert_nonnull (fs_feature_finder_get_error (finder));
      lower = g_ascii_strdown (fs_feature_finder_get_error (finder), -1);
      if (strstr (fs_feature_finder_get_error (finder), cases[i].error) == NULL
          && strstr (lower, cases[i].error) == NULL)
        g_error ("%s: error “%s” does not say “%s”", cases[i].text,
                 fs_feature_finder_get_error (finder), cases[i].error);
      /* The error is shown under the entry. */
      g_assert_nonnull (gui_find_label (GTK_WIDGET (finder), fs_feature_finder_get_error (finder)));
    }

  /* Typing clears it. */
  fs_feature_finder_set_text (finder, "5/res/");
  g_assert_null (fs_feature_finder_get_error (finder));
}

static void
test_build (void)
{
  static const char * const expected[] = {
    "5/res/10", "4/res/20", "3/res/30", "2/res/40",
    "5/mlp/3", "4/mlp/7", "3/att/11", "2/att/3", "2/mlp/9",
  };
  FsFeatureFinder *finder = fs_window_get_finder (window);
  FsFlowGraph *graph;
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  set_strict_params ();
  /* Typed and activated, as with Enter in the search entry. */
  g_assert_true (fs_feature_finder_activate_text (finder, "5/res/10"));
  gui_wait_until (params_applied, "5/res/10", "the 5/res/10 graph with t(M) = t(A) = 0.3");
  gui_wait_for_paint (GTK_WIDGET (graph_widget ()));

  graph = fs_graph_widget_get_graph (graph_widget ());
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);

      g_hash_table_add (ids, fs_feature_id (node->layer, node->site, node->index));
    }
  g_assert_cmpuint (g_hash_table_size (ids), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (!g_hash_table_contains (ids, expected[i]))
      g_error ("the graph lacks %s", expected[i]);
  g_assert_cmpuint (fs_flow_graph_get_n_edges (graph), ==, 8);

  /* A new graph opens with its seed in the inspector. */
  g_assert_cmpstr (fs_inspector_get_feature_id (fs_window_get_inspector (window)), ==, "5/res/10");
}

static gboolean
selected_is (gpointer data)
{
  return fs_graph_widget_get_selected (graph_widget ()) == GPOINTER_TO_INT (data);
}

static void
test_click_selects (void)
{
  FsInspector *inspector = fs_window_get_inspector (window);
  int node = node_of ("3/res/30");
  double x, y;
  int width;

  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  width = gtk_widget_get_width (GTK_WIDGET (graph_widget ()));
  node_point ("3/res/30", &x, &y);
  gui_pointer_click (GTK_WIDGET (graph_widget ()), x, y, 1, 1);
  gui_wait_until (selected_is, GINT_TO_POINTER (node), "3/res/30 to be selected");
  gui_wait_for_paint (GTK_WIDGET (window));
  /* The inspector keeps its width: selecting does not move the graph. */
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (graph_widget ())), ==, width);

  g_assert_cmpstr (fs_inspector_get_feature_id (inspector), ==, "3/res/30");
  g_assert_nonnull (gui_find_label (GTK_WIDGET (inspector), "3/res/30"));
  /* Its predecessors are listed with their scores. */
  g_assert_nonnull (gui_find_label (GTK_WIDGET (inspector), "2/res/40"));
  g_assert_nonnull (gui_find_label (GTK_WIDGET (inspector), "3/att/11"));

  /* A click on empty canvas clears the selection. */
  gui_pointer_click (GTK_WIDGET (graph_widget ()), 4, gtk_widget_get_height (GTK_WIDGET (graph_widget ())) - 4, 1, 1);
  gui_wait_until (selected_is, GINT_TO_POINTER (-1), "the selection to clear");
  g_assert_null (fs_inspector_get_feature_id (inspector));
}

static gboolean
overlay_rendered (gpointer data)
{
  FsGraphRenderStats stats;

  fs_graph_widget_get_render_stats (graph_widget (), &stats);
  return stats.overlay_renders > GPOINTER_TO_UINT (data);
}

/* Hovering redraws the overlay only: the cached base stays. */
static void
test_hover_overlay_only (void)
{
  FsGraphRenderStats before, after;
  const char *ids[] = { "4/res/20", "2/mlp/9", "3/att/11" };
  double x, y;

  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  fs_graph_widget_get_render_stats (graph_widget (), &before);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      FsGraphRenderStats now;

      fs_graph_widget_get_render_stats (graph_widget (), &now);
      node_point (ids[i], &x, &y);
      gui_pointer_move (GTK_WIDGET (graph_widget ()), x, y);
      gui_wait_until (overlay_rendered, GUINT_TO_POINTER (now.overlay_renders), "the hover overlay");
    }
  fs_graph_widget_get_render_stats (graph_widget (), &after);

  g_assert_cmpuint (after.base_renders, ==, before.base_renders);
  g_assert_cmpuint (after.overlay_renders, >=, before.overlay_renders + G_N_ELEMENTS (ids));
  g_test_message ("base %u renders (last %.1f ms), overlay %u renders (last %.1f ms)",
                  after.base_renders, after.base_last_us / 1000.0,
                  after.overlay_renders, after.overlay_last_us / 1000.0);
}

static void
test_screenshot_graph (void)
{
  g_autofree char *path = NULL;
  double x, y;

  if (gui_pointer_available ())
    {
      /* Hover a node so the picture shows a highlighted lineage. */
      node_point ("3/res/30", &x, &y);
      gui_pointer_move (GTK_WIDGET (graph_widget ()), x, y);
    }
  path = gui_screenshot (GTK_WIDGET (window), "graph-fixture.png");
  if (path == NULL)
    g_test_skip ("FLOWSCOPE_SCREENSHOT_DIR is not set");
}

static double
selected_y (void)
{
  double x, y;

  g_assert_true (fs_graph_widget_get_node_point (graph_widget (), fs_graph_widget_get_selected (graph_widget ()), &x, &y));
  return y;
}

static gboolean
selection_moved (gpointer data)
{
  return fs_graph_widget_get_selected (graph_widget ()) != GPOINTER_TO_INT (data);
}

static void
test_keyboard (void)
{
  int seed = node_of ("5/res/10");
  double y0, y1, fitted;
  int above;

  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  /* Move the pointer off the graph so hover does not interfere. */
  gui_pointer_move (GTK_WIDGET (window), 2, 2);
  gtk_widget_grab_focus (GTK_WIDGET (graph_widget ()));
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (graph_widget ())));
  fs_graph_widget_set_selected (graph_widget (), seed);
  y0 = selected_y ();

  /* Layers grow downwards and the seed is the last: Up moves to a node
   * drawn above it, Down comes back down. */
  gui_key_press (XK_Up, FALSE);
  gui_wait_until (selection_moved, GINT_TO_POINTER (seed), "Up to move the selection");
  above = fs_graph_widget_get_selected (graph_widget ());
  y1 = selected_y ();
  g_assert_cmpfloat (y1, <, y0);
  gui_key_press (XK_Down, FALSE);
  gui_wait_until (selection_moved, GINT_TO_POINTER (above), "Down to move the selection");
  g_assert_cmpfloat (selected_y (), >, y1);

  /* Zoom keys change the scale; 0 fits again. */
  fitted = fs_graph_widget_get_scale (graph_widget ());
  gui_key_press (XK_plus, FALSE);
  g_assert_cmpfloat (fs_graph_widget_get_scale (graph_widget ()), >, fitted);
  gui_key_press (XK_0, FALSE);
  g_assert_cmpfloat_with_epsilon (fs_graph_widget_get_scale (graph_widget ()), fitted, 1e-9);

  gui_key_press (XK_Escape, FALSE);
  gui_wait_until (selected_is, GINT_TO_POINTER (-1), "Escape to clear the selection");
}

static gboolean
popover_mapped (gpointer data)
{
  GtkWidget *popover = gui_find_widget (GTK_WIDGET (graph_widget ()), GTK_TYPE_POPOVER_MENU);

  return popover != NULL && gtk_widget_get_mapped (popover);
}

static gboolean
popover_unmapped (gpointer data)
{
  return !popover_mapped (data);
}

static void
test_context_menu (void)
{
  GtkWidget *popover;
  double x, y;

  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  node_point ("2/res/40", &x, &y);
  gui_pointer_click (GTK_WIDGET (graph_widget ()), x, y, 3, 1);
  gui_wait_until (popover_mapped, NULL, "the context menu");
  g_assert_cmpint (fs_graph_widget_get_selected (graph_widget ()), ==, node_of ("2/res/40"));

  popover = gui_find_widget (GTK_WIDGET (graph_widget ()), GTK_TYPE_POPOVER_MENU);
  g_assert_nonnull (gui_find_label (popover, "Copy Feature ID"));
  g_assert_nonnull (gui_find_label (popover, "Add to Steering"));
  g_assert_nonnull (gui_find_label (popover, "Expand Predecessors"));
  g_assert_nonnull (gui_find_label (popover, "Expand Successors"));
  gtk_popover_popdown (GTK_POPOVER (popover));
  gui_wait_until (popover_unmapped, NULL, "the context menu to close");
}

static void
test_reroot (void)
{
  g_autofree char *feature = NULL;
  double x, y;

  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  node_point ("4/res/20", &x, &y);
  gui_pointer_click (GTK_WIDGET (graph_widget ()), x, y, 1, 2);
  gui_wait_for_graph (window, "4/res/20");

  g_object_get (graph_widget (), "feature", &feature, NULL);
  g_assert_cmpstr (feature, ==, "4/res/20");
  g_assert_true (fs_flow_graph_get_node (fs_graph_widget_get_graph (graph_widget ()),
                                         node_of ("4/res/20"))->is_seed);
  /* The re-rooted graph keeps 4/res/20 selected, shown in the inspector. */
  g_assert_cmpstr (fs_inspector_get_feature_id (fs_window_get_inspector (window)), ==, "4/res/20");

  /* Back returns to the previous seed. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "back", NULL);
  gui_wait_for_graph (window, "5/res/10");
  g_action_group_activate_action (G_ACTION_GROUP (window), "forward", NULL);
  gui_wait_for_graph (window, "4/res/20");
}

static gboolean
graph_has_nodes (gpointer data)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());

  return !fs_graph_widget_get_building (graph_widget ()) && graph != NULL
         && fs_flow_graph_get_n_nodes (graph) == GPOINTER_TO_UINT (data);
}

/* Expanding shows what fs_flow_graph_expand gives (checked against NumPy
 * in tests/flow) for the selected node, keeps the seed and the selection. */
static void
test_expand (void)
{
  FsWorkspace *workspace = fs_window_get_workspace (window);
  static const char * const actions[] = { "graph.expand-predecessors", "graph.expand-successors" };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());
      int node = node_of ("4/res/20");
      g_autoptr(FsFlowGraph) expected = NULL;
      g_autoptr(GError) error = NULL;
      FsFlowGraph *shown;

      fs_graph_widget_set_selected (graph_widget (), node);
      expected = fs_flow_graph_expand (graph, fs_workspace_get_set (workspace),
                                       fs_workspace_get_map (workspace), (guint) node, i == 1,
                                       FS_FLOW_EXPAND_DEFAULT_K, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (fs_flow_graph_get_n_nodes (expected), >, fs_flow_graph_get_n_nodes (graph));

      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (graph_widget ()), actions[i], NULL));
      gui_wait_until (graph_has_nodes, GUINT_TO_POINTER (fs_flow_graph_get_n_nodes (expected)),
                      "the expanded graph");
      shown = fs_graph_widget_get_graph (graph_widget ());
      for (guint n = 0; n < fs_flow_graph_get_n_nodes (expected); n++)
        {
          const FsFlowNode *want = fs_flow_graph_get_node (expected, n);
          const FsFlowNode *got = fs_flow_graph_get_node (shown, n);

          g_assert_cmpint (got->layer, ==, want->layer);
          g_assert_cmpint (got->site, ==, want->site);
          g_assert_cmpint (got->index, ==, want->index);
        }
      g_assert_cmpuint (fs_flow_graph_get_n_edges (shown), ==, fs_flow_graph_get_n_edges (expected));
      g_assert_cmpint (fs_graph_widget_get_selected (graph_widget ()), ==, node_of ("4/res/20"));
      g_assert_true (fs_flow_graph_get_node (shown, fs_flow_graph_get_seed (shown))->is_seed);
    }
}

static void
check_xml (const char *text,
           gsize       length)
{
  static const GMarkupParser parser = { 0 };
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&parser, 0, NULL, NULL);
  g_autoptr(GError) error = NULL;

  /* Skip the XML declaration and doctype, which GMarkup does not take. */
  const char *start = strstr (text, "<svg");
  if (start == NULL)
    start = strstr (text, "<graphml");
  g_assert_nonnull (start);
  g_assert_true (g_markup_parse_context_parse (context, start, length - (start - text), &error));
  g_assert_no_error (error);
  g_assert_true (g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
}

static void
test_export (void)
{
  static const char * const formats[] = { "png", "svg", "pdf", "json", "graphml", "dot" };
  FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());
  guint n_nodes = fs_flow_graph_get_n_nodes (graph);

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree char *name = g_strdup_printf ("flow.%s", formats[i]);
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
      g_autoptr(GFile) file = g_file_new_for_path (path);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      gsize length;

      fs_window_export_async (window, formats[i], file, NULL, gui_store_result, &result);
      gui_wait_for_result (&result, "an export");
      g_assert_true (fs_window_export_finish (window, result, &error));
      g_assert_no_error (error);

      g_assert_true (g_file_get_contents (path, &text, &length, &error));
      g_assert_no_error (error);
      g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", path, length);
      g_assert_cmpuint (length, >, 100);

      if (g_str_equal (formats[i], "png"))
        {
          g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, &error);

          g_assert_no_error (error);
          g_assert_cmpint (gdk_texture_get_width (texture), >=, 240);
        }
      else if (g_str_equal (formats[i], "svg") || g_str_equal (formats[i], "graphml"))
        check_xml (text, length);
      else if (g_str_equal (formats[i], "pdf"))
        {
          g_assert_true (g_str_has_prefix (text, "%PDF-"));
          /* Binary data: look for the trailer in the last bytes. */
          gboolean trailer = FALSE;

          for (gsize k = length > 64 ? length - 64 : 0; k + 5 <= length && !trailer; k++)
            trailer = memcmp (text + k, "%%EOF", 5) == 0;
          g_assert_true (trailer);
        }
      else if (g_str_equal (formats[i], "json"))
        {
          cJSON *root = cJSON_ParseWithLength (text, length);
          const cJSON *nodes, *seed;

          g_assert_nonnull (root);
          nodes = cJSON_GetObjectItemCaseSensitive (root, "nodes");
          seed = cJSON_GetObjectItemCaseSensitive (root, "seed");
          g_assert_true (cJSON_IsArray (nodes));
          g_assert_cmpint (cJSON_GetArraySize (nodes), ==, n_nodes);
          g_assert_true (cJSON_IsString (seed));
          g_assert_cmpstr (seed->valuestring, ==, "4/res/20");
          cJSON_Delete (root);
        }
      else
        {
          g_assert_true (g_str_has_prefix (text, "digraph"));
          g_assert_nonnull (strstr (text, "\"4/res/20\""));
          g_assert_true (g_str_has_suffix (g_strchomp (text), "}"));
        }
    }

  /* Nothing else was left in the folder (no temporary files). */
  {
    g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
    guint n = 0;

    while (g_dir_read_name (dir) != NULL)
      n++;
    g_assert_cmpuint (n, ==, G_N_ELEMENTS (formats));
  }
}

/* Without a portal the save dialog is GTK's own, which can be looked at:
 * it proposes a file named for the seed, and cancelling writes nothing. */
static void
test_export_dialog (void)
{
  GtkWindow *chooser;
  GtkWindow *message;

  if (g_getenv ("GTK_USE_PORTAL") != NULL)
    {
      g_test_skip ("file choosers go through the portal");
      return;
    }

  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (window), "export"));
  g_action_group_activate_action (G_ACTION_GROUP (window), "export", g_variant_new_string ("svg"));
  chooser = gui_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  g_assert_nonnull (chooser);
  g_object_ref (chooser);
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, chooser, "the export dialog");
  g_assert_cmpint (gtk_file_chooser_get_action (GTK_FILE_CHOOSER (chooser)), ==, GTK_FILE_CHOOSER_ACTION_SAVE);
  g_assert_cmpstr (gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser)), ==, "flow-4-res-20.svg");
  gtk_window_close (chooser);
  gui_wait_until (gui_widget_unmapped, chooser, "the export dialog to close");
  g_object_unref (chooser);

  /* GTK 4.8's own chooser, closed while it still lists a folder, reports
   * "The folder contents could not be displayed: Operation was cancelled"
   * in a modal message dialog of its own; close that too, or it takes the
   * pointer from the tests after this one. */
  gui_spin (300);
  while ((message = gui_find_toplevel (GTK_TYPE_MESSAGE_DIALOG)) != NULL)
    {
      g_object_ref (message);
      gtk_window_destroy (message);
      gui_wait_until (gui_widget_unmapped, message, "GTK's message dialog to close");
      g_object_unref (message);
    }
}

static void
test_bad_folder (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.flowscope.Flowscope");
  g_autofree char *corrupt = fixture_path ("sae/corrupt/weights-corrupt");
  g_auto(GStrv) recent_before = g_settings_get_strv (settings, "recent-sae-sets");
  g_auto(GStrv) recent_after = NULL;
  FsWorkspace *workspace = fs_window_get_workspace (window);
  FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());

  open_folder (corrupt);
  gui_wait_for_label (GTK_WIDGET (window), "sae_weights.safetensors", "a toast about the bad file");

  /* The previous set and graph stay, and the window stays usable. */
  g_assert_true (fs_window_get_workspace (window) == workspace);
  g_assert_true (fs_graph_widget_get_graph (graph_widget ()) == graph);
  recent_after = g_settings_get_strv (settings, "recent-sae-sets");
  g_assert_cmpstrv (recent_after, recent_before);
  g_assert_true (fs_feature_finder_activate_text (fs_window_get_finder (window), "5/res/10"));
  gui_wait_for_graph (window, "5/res/10");
}

static void
request_graph (guint    round,
               guint    k,
               gpointer data)
{
  FsFlowParams *params = data;

  params->top_k = 1 + (round + k) % 3;
  fs_graph_widget_set_params (graph_widget (), params);
}

static gboolean
rebuilt_graph_shown (gpointer data)
{
  return gui_graph_shown (window, "5/res/10");
}

/* While graphs build, the main loop must keep ticking (gui_ticker_start). */
static void
test_stall (void)
{
  FsFlowParams params;

  fs_graph_widget_get_params (graph_widget (), &params);
  gui_wait_for_paint (GTK_WIDGET (graph_widget ()));
  gui_check_stall (GTK_WIDGET (graph_widget ()), N_STALL_ROUNDS, request_graph, rebuilt_graph_shown,
                   &params, "building");

  params.top_k = 1;
  fs_graph_widget_set_params (graph_widget (), &params);
  gui_wait_for_graph (window, "5/res/10");
}

/* A 494-node graph: laid out in a worker, the base rendered once, hover
 * only renders the overlay. Timings are reported, not asserted, beyond a
 * generous bound that a shared machine still meets. */
static void
test_large_graph (void)
{
  g_autoptr(FsFlowGraph) large = render_fixture_large (26, 19);
  FsGraphRenderStats before, after;
  GuiTicker ticker;
  gint64 hover_frame;
  FsGraphLayout *layout;
  guint n;

  fs_graph_widget_set_graph (graph_widget (), large);
  gui_wait_for_graph (window, NULL);
  g_assert_true (fs_graph_widget_get_graph (graph_widget ()) == large);
  layout = fs_graph_widget_get_layout (graph_widget ());
  n = fs_graph_layout_get_n_nodes (layout);
  g_assert_cmpuint (n, >=, 450);

  fs_graph_widget_get_render_stats (graph_widget (), &before);
  gui_ticker_start (&ticker, GTK_WIDGET (window));
  if (gui_pointer_available ())
    {
      for (guint i = 0; i < n; i += n / 10)
        {
          FsGraphRenderStats now;
          double x, y;

          fs_graph_widget_get_render_stats (graph_widget (), &now);
          g_assert_true (fs_graph_widget_get_node_point (graph_widget (), i, &x, &y));
          if (x < 0 || y < 0 || x >= gtk_widget_get_width (GTK_WIDGET (graph_widget ()))
              || y >= gtk_widget_get_height (GTK_WIDGET (graph_widget ())))
            continue;
          gui_pointer_move (GTK_WIDGET (graph_widget ()), x, y);
          if (fs_graph_widget_get_render_stats (graph_widget (), &now), now.overlay_renders == before.overlay_renders)
            gui_wait_for_paint (GTK_WIDGET (graph_widget ()));
        }
    }
  fs_graph_widget_get_render_stats (graph_widget (), &after);
  hover_frame = ticker.max_paint;
  /* For comparison: frames that change nothing in the graph view. */
  ticker.max_paint = 0;
  for (guint i = 0; i < 5; i++)
    gui_wait_for_paint (GTK_WIDGET (window));
  gui_ticker_stop (&ticker);
  g_test_message ("longest frame while hovering: %.1f ms; a frame that changes nothing: %.1f ms (%s)",
                  hover_frame / 1000.0, ticker.max_paint / 1000.0,
                  G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))));

  g_test_message ("%u nodes: base render %.1f ms (max %.1f), overlay render %.1f ms (max %.1f), %u overlay renders, %u base renders during hover",
                  n, after.base_last_us / 1000.0, after.base_max_us / 1000.0,
                  after.overlay_last_us / 1000.0, after.overlay_max_us / 1000.0,
                  after.overlay_renders - before.overlay_renders,
                  after.base_renders - before.base_renders);
  g_assert_cmpuint (after.base_renders, ==, before.base_renders);
  if (gui_pointer_available ())
    g_assert_cmpuint (after.overlay_renders, >, before.overlay_renders);
  g_free (gui_screenshot (GTK_WIDGET (window), "graph-large.png"));
}

/* The demo, when the tree has it: labels and Neuronpedia ids show. */
static void
test_demo (void)
{
  FsInspector *inspector = fs_window_get_inspector (window);
  FsFlowGraph *graph;
  gboolean labelled = FALSE;
  int middle = -1;

  if (!fs_window_open_demo (window))
    {
      g_test_skip ("the demo is not there (FLOWSCOPE_DEMO_DIR)");
      return;
    }
  gui_wait_until (gui_load_finished, window, "the demo to load");
  g_assert_nonnull (fs_workspace_get_model (fs_window_get_workspace (window)));
  g_assert_nonnull (fs_workspace_get_labels (fs_window_get_workspace (window)));
  gui_wait_for_graph (window, NULL);

  /* The start feature has a sizeable graph, with labels. */
  graph = fs_graph_widget_get_graph (graph_widget ());
  g_test_message ("demo start graph: %u nodes", fs_flow_graph_get_n_nodes (graph));
  g_assert_cmpuint (fs_flow_graph_get_n_nodes (graph), >=, 5);
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);

      labelled |= node->label != NULL;
      if (node->site == FS_SITE_RES && node->layer == 1)
        middle = i;
    }
  g_assert_true (labelled);

  /* A residual node in the middle, as a user would inspect it. */
  if (middle >= 0)
    fs_graph_widget_set_selected (graph_widget (), middle);
  g_assert_nonnull (fs_inspector_get_neuronpedia_uri (inspector));
  g_assert_true (g_str_has_prefix (fs_inspector_get_neuronpedia_uri (inspector),
                                   "https://www.neuronpedia.org/flowscope-demo/"));

  /* Earlier tests leave toasts. */
  gui_clear_for_screenshot (GTK_WIDGET (window));
  g_free (gui_screenshot (GTK_WIDGET (window), "graph-demo.png"));
  gui_screenshot_dark (GTK_WIDGET (window), "graph-demo-dark.png");

  /* Label search lists residual features; activating shows the first. */
  fs_feature_finder_set_text (fs_window_get_finder (window), "");
  g_assert_true (fs_feature_finder_activate_text (fs_window_get_finder (window), "computing"));
  gui_wait_until (gui_search_finished, window, "the label search");
  gui_wait_for_graph (window, NULL);
  g_assert_nonnull (gui_find_label (GTK_WIDGET (fs_window_get_finder (window)), "residual features by label"));
  {
    FsFlowGraph *found = fs_graph_widget_get_graph (graph_widget ());
    const FsFlowNode *seed = fs_flow_graph_get_node (found, fs_flow_graph_get_seed (found));

    g_assert_nonnull (seed->label);
    g_assert_nonnull (strstr (seed->label, "computing"));
  }
  g_free (gui_screenshot (GTK_WIDGET (window), "graph-demo-search.png"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  fixtures = g_strdup (g_getenv ("FLOWSCOPE_FIXTURES"));
  if (fixtures == NULL)
    g_error ("FLOWSCOPE_FIXTURES is not set");
  tmp_dir = g_dir_make_tmp ("flowscope-gui-XXXXXX", &error);
  g_assert_no_error (error);

  /* The tests open fixtures; the demo is opened by its own test. At the
   * size the app opens at on a first start (the schema's default). */
  window = gui_app_start (&app, FALSE, 1024, 700);

  g_test_add_func ("/graph/load", test_load);
  g_test_add_func ("/graph/finder-errors", test_finder_errors);
  g_test_add_func ("/graph/build", test_build);
  /* The stall check alone (meson runs it again on the Cairo renderer);
   * several -p options would print one TAP plan each. */
  if (g_getenv ("FLOWSCOPE_GUI_STALL_ONLY") != NULL)
    {
      g_test_add_func ("/graph/stall", test_stall);
      goto run;
    }
  g_test_add_func ("/graph/click-selects", test_click_selects);
  g_test_add_func ("/graph/hover-overlay-only", test_hover_overlay_only);
  g_test_add_func ("/graph/screenshot", test_screenshot_graph);
  g_test_add_func ("/graph/keyboard", test_keyboard);
  g_test_add_func ("/graph/context-menu", test_context_menu);
  g_test_add_func ("/graph/reroot", test_reroot);
  g_test_add_func ("/graph/expand", test_expand);
  g_test_add_func ("/graph/export", test_export);
  g_test_add_func ("/graph/export-dialog", test_export_dialog);
  g_test_add_func ("/graph/bad-folder", test_bad_folder);
  g_test_add_func ("/graph/stall", test_stall);
  g_test_add_func ("/graph/large", test_large_graph);
  g_test_add_func ("/graph/demo", test_demo);

run:
  ret = g_test_run ();

  gui_app_stop (app, window);
  gui_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (fixtures);

  return ret;
}
