/* test-steering.c: the steering panel, driven in-process under Xvfb on the
 * bundled demo the app opens at start: a node of the computed graph added
 * through the graph's action and the inspector's button, the shared prompt,
 * baseline and steered text generated and streamed, the slider's release,
 * a whole graph with a strategy, exports, pictures, and the main loop kept
 * free while text is generated.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Feature ids are taken from the graph the demo opens on, never written
 * here: the demo may be trained again.
 */

#define G_LOG_DOMAIN "test-steering"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "gui-test-util.h"

/* Rounds of the stall check while text is generated (see test_stall). */
#define N_STALL_ROUNDS 8
/* A strength that changes any demo text: 50 typical activations. */
#define STRONG 50.0

static FsApplication *app;
static FsWindow *window;
static char *tmp_dir;
static char *steered_id;   /* the feature the tests steer with */

/* ------------------------------------------------------------ helpers */

static FsSteeringPanel *
panel (void)
{
  return fs_window_get_steering_panel (window);
}

static FsTextComparison *
comparison (void)
{
  return fs_steering_panel_get_comparison (panel ());
}

static gboolean
generation_finished (gpointer data)
{
  return !fs_steering_panel_get_generating (panel ()) && fs_steering_panel_has_result (panel ());
}

static void
wait_for_generation (void)
{
  gui_wait_until (generation_finished, NULL, "both texts to be generated");
}

/* A residual node of the graph shown, not @other: the seed if it can be. */
static int
pick_residual_node (int other)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (fs_window_get_graph_widget (window));
  int seed = fs_flow_graph_get_seed (graph);

  if (seed != other)
    return seed;
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);

      if ((int) i != other && node->site == FS_SITE_RES && node->layer >= 0)
        return i;
    }
  return -1;
}

static char *
node_id (int node_index)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (fs_window_get_graph_widget (window));
  const FsFlowNode *node = fs_flow_graph_get_node (graph, node_index);

  return fs_feature_id (node->layer, node->site, node->index);
}

static char *
row_id (guint index)
{
  FsSteeringRow *row = fs_steering_panel_get_row (panel (), index);
  FsSite site;
  gint64 feature;
  int layer;

  fs_steering_row_get_feature (row, &layer, &site, &feature);
  return fs_feature_id (layer, site, feature);
}

/* A button under @root with this label, or this icon. */
static GtkWidget *
find_button (GtkWidget  *root,
             const char *label,
             const char *icon_name)
{
  if (GTK_IS_BUTTON (root)
      && (label == NULL || g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
      && (icon_name == NULL || g_strcmp0 (gtk_button_get_icon_name (GTK_BUTTON (root)), icon_name) == 0))
    return root;

  for (GtkWidget *child = gtk_widget_get_first_child (root);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label, icon_name);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* The number after "Perplexity " in a run's summary; NaN when none. */
static double
summary_perplexity (gboolean steered)
{
  const char *summary = fs_text_comparison_get_summary (comparison (), steered);
  const char *number = strstr (summary, "Perplexity ");
  char *end = NULL;
  double value;

  if (number == NULL)
    return NAN;
  number += strlen ("Perplexity ");
  value = g_ascii_strtod (number, &end);
  return end > number ? value : NAN;
}

static gboolean
skip_without_demo (void)
{
  if (fs_window_get_workspace (window) == NULL
      || fs_workspace_get_model (fs_window_get_workspace (window)) == NULL)
    {
      g_test_skip ("the demo is not there (FLOWSCOPE_DEMO_DIR)");
      return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------ tests */

/* The app opens the demo and its start graph; a node of it goes to the
 * panel through the graph's action, another through the inspector. */
static void
test_add (void)
{
  FsGraphWidget *graph = fs_window_get_graph_widget (window);
  g_autofree char *second_id = NULL;
  g_autofree char *other_id = NULL;
  GtkWidget *button;
  int node, other;

  gui_wait_for_graph (window, NULL);
  if (skip_without_demo ())
    return;
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (panel ())));
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 0);

  node = pick_residual_node (-1);
  g_assert_cmpint (node, >=, 0);
  fs_graph_widget_set_selected (graph, node);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (graph), "graph.add-to-steering", NULL));

  /* The panel shows, with the feature in it. */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (panel ())));
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, panel (), "the steering panel");
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 1);
  steered_id = node_id (node);
  {
    g_autofree char *id = row_id (0);

    g_assert_cmpstr (id, ==, steered_id);
  }
  g_test_message ("steering with %s", steered_id);
  /* Its slider says its range and units. */
  g_assert_nonnull (strstr (fs_steering_row_get_range_text (fs_steering_panel_get_row (panel (), 0)),
                            "from -50 to 50"));

  /* Adding it again does not duplicate it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (graph), "graph.add-to-steering", NULL));
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 1);

  /* The inspector's button adds the node it shows. */
  other = pick_residual_node (node);
  g_assert_cmpint (other, >=, 0);
  fs_graph_widget_set_selected (graph, other);
  button = find_button (GTK_WIDGET (fs_window_get_inspector (window)), "Add to _Steering", NULL);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 2);
  second_id = row_id (1);
  other_id = node_id (other);
  g_assert_cmpstr (second_id, ==, other_id);

  /* Its remove button takes it away again. */
  button = find_button (GTK_WIDGET (fs_steering_panel_get_row (panel (), 1)), NULL, "user-trash-symbolic");
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 1);
  /* Removing started a generation with what is left; let it end. */
  if (fs_steering_panel_get_generating (panel ()))
    wait_for_generation ();
}

/* The panel's prompt is the window's, both ways. */
static void
test_prompt (void)
{
  GtkWidget *entry;

  if (skip_without_demo ())
    return;
  entry = gui_find_widget (GTK_WIDGET (panel ()), GTK_TYPE_ENTRY);
  g_assert_nonnull (entry);
  g_assert_cmpstr (fs_window_get_prompt (window), ==, fs_steering_panel_get_prompt (panel ()));

  fs_window_set_prompt (window, "And the ");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "And the ");
  gtk_editable_set_text (GTK_EDITABLE (entry), "I think ");
  g_assert_cmpstr (fs_window_get_prompt (window), ==, "I think ");
}

static void
test_generate (void)
{
  FsSteeringRow *row;
  g_autofree char *baseline = NULL;
  g_autofree char *steered = NULL;
  double ppl_baseline, ppl_steered;

  if (skip_without_demo ())
    return;
  row = fs_steering_panel_get_row (panel (), 0);
  fs_steering_row_set_op (row, FS_STEER_ADD);
  fs_steering_row_set_value (row, STRONG);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (panel ()), "steering.generate", NULL));
  g_assert_true (fs_steering_panel_get_generating (panel ()));
  wait_for_generation ();

  baseline = fs_text_comparison_dup_text (comparison (), FALSE);
  steered = fs_text_comparison_dup_text (comparison (), TRUE);
  g_test_message ("baseline: %s", baseline);
  g_test_message ("steered:  %s", steered);
  g_assert_cmpuint (strlen (baseline), >, 0);
  g_assert_cmpuint (strlen (steered), >, 0);
  /* Both buffers hold the prompt, then the text. */
  g_assert_cmpint (gtk_text_buffer_get_char_count (fs_text_comparison_get_buffer (comparison (), FALSE)),
                   >, (int) g_utf8_strlen (baseline, -1));
  g_assert_cmpstr (baseline, !=, steered);
  g_assert_cmpint (fs_text_comparison_get_divergence (comparison ()), >=, 0);

  ppl_baseline = summary_perplexity (FALSE);
  ppl_steered = summary_perplexity (TRUE);
  g_test_message ("%s | %s", fs_text_comparison_get_summary (comparison (), FALSE),
                  fs_text_comparison_get_summary (comparison (), TRUE));
  g_assert_true (isfinite (ppl_baseline) && ppl_baseline >= 1);
  g_assert_true (isfinite (ppl_steered) && ppl_steered >= 1);
  /* The demo ships a theme classifier: the summaries name a theme. */
  g_assert_nonnull (strchr (fs_text_comparison_get_summary (comparison (), TRUE), '%'));
}

/* Generations started, counted as the panel says it is generating: one
 * may start and end between two looks at it. */
static guint n_started;

static void
generating_changed_cb (FsSteeringPanel *steering)
{
  n_started += fs_steering_panel_get_generating (steering);
}

static gboolean
started_since (gpointer data)
{
  return n_started > GPOINTER_TO_UINT (data) && generation_finished (NULL);
}

/* Dragging the slider waits for the release; the release generates. */
static void
test_slider_release (void)
{
  FsSteeringRow *row;
  GtkWidget *slider;
  double before;
  guint started;
  int width, height;

  if (skip_without_demo ())
    return;
  if (!gui_pointer_available ())
    {
      g_test_skip ("XTest is not available");
      return;
    }

  row = fs_steering_panel_get_row (panel (), 0);
  slider = GTK_WIDGET (fs_steering_row_get_slider (row));
  before = fs_steering_row_get_value (row);
  width = gtk_widget_get_width (slider);
  height = gtk_widget_get_height (slider);
  g_assert_cmpint (width, >, 20);

  /* A press on the trough moves the value; letting go generates. */
  g_signal_connect (panel (), "notify::generating", G_CALLBACK (generating_changed_cb), NULL);
  started = n_started;
  gui_pointer_click (slider, width * 0.9, height / 2.0, 1, 1);
  g_assert_cmpfloat (fs_steering_row_get_value (row), !=, before);
  gui_wait_until (started_since, GUINT_TO_POINTER (started), "the release to generate");
  g_signal_handlers_disconnect_by_func (panel (), generating_changed_cb, NULL);

  /* Back to the strong setting for what follows. */
  fs_steering_row_set_value (row, STRONG);
  fs_steering_panel_generate (panel ());
  wait_for_generation ();
}

/* A whole graph, spread linearly over its layers. */
static void
test_graph_strategy (void)
{
  FsSteeringRow *row;
  FsStrategyParams params;
  g_autofree char *steered = NULL;
  g_autofree char *baseline = NULL;

  if (skip_without_demo ())
    return;
  g_action_group_activate_action (G_ACTION_GROUP (window), "steer-graph", NULL);
  g_assert_cmpuint (fs_steering_panel_get_n_rows (panel ()), ==, 2);
  row = fs_steering_panel_get_row (panel (), 1);
  g_assert_nonnull (fs_steering_row_get_graph (row));

  fs_steering_row_get_strategy (row, &params);
  params.strategy = FS_STRATEGY_LINEAR;
  params.s_end = 2;
  fs_steering_row_set_strategy (row, &params);
  fs_steering_row_set_value (row, 20);
  fs_steering_panel_generate (panel ());
  wait_for_generation ();

  baseline = fs_text_comparison_dup_text (comparison (), FALSE);
  steered = fs_text_comparison_dup_text (comparison (), TRUE);
  g_assert_cmpuint (strlen (steered), >, 0);
  g_assert_cmpstr (baseline, !=, steered);
}

static char *
export (const char *format,
        const char *name)
{
  g_autofree char *path = g_build_filename (tmp_dir, name, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  fs_steering_panel_export_async (panel (), format, file, NULL, gui_store_result, &result);
  gui_wait_for_result (&result, "the export");
  g_assert_true (fs_steering_panel_export_finish (panel (), result, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

static void
test_export (void)
{
  g_autofree char *markdown = NULL;
  g_autofree char *json = NULL;
  g_autofree char *baseline = NULL;
  g_autofree char *steered = NULL;
  g_autofree char *ppl = NULL;
  cJSON *root, *list, *item, *run;
  gboolean found = FALSE;

  if (skip_without_demo ())
    return;
  g_assert_true (fs_steering_panel_has_result (panel ()));
  baseline = fs_text_comparison_dup_text (comparison (), FALSE);
  steered = fs_text_comparison_dup_text (comparison (), TRUE);

  markdown = export ("markdown", "comparison.md");
  g_assert_true (g_str_has_prefix (markdown, "# Steering comparison\n"));
  g_assert_nonnull (strstr (markdown, steered_id));
  g_assert_nonnull (strstr (markdown, "| Prompt | I think  |"));
  g_assert_nonnull (strstr (markdown, "## Steered\n\n```"));
  g_assert_nonnull (strstr (markdown, steered));
  g_assert_nonnull (strstr (markdown, baseline));
  /* The perplexity shown is the one written. */
  ppl = g_strdup_printf ("%.2f", summary_perplexity (TRUE));
  g_assert_nonnull (strstr (markdown, ppl));

  json = export ("json", "comparison.json");
  root = cJSON_Parse (json);
  g_assert_nonnull (root);
  g_assert_cmpstr (cJSON_GetObjectItem (root, "format")->valuestring, ==, "flowscope-steering-comparison");
  g_assert_cmpstr (cJSON_GetObjectItem (root, "prompt")->valuestring, ==, "I think ");
  g_assert_cmpstr (cJSON_GetObjectItem (root, "units")->valuestring, ==, "typical");
  g_assert_cmpstr (cJSON_GetObjectItem (cJSON_GetObjectItem (root, "graph"), "strategy")->valuestring, ==, "linear");
  list = cJSON_GetObjectItem (root, "interventions");
  g_assert_cmpint (cJSON_GetArraySize (list), >, 1);
  cJSON_ArrayForEach (item, list)
    if (g_str_equal (cJSON_GetObjectItem (item, "feature")->valuestring, steered_id)
        && cJSON_GetObjectItem (item, "value")->valuedouble == STRONG)
      {
        /* Typical units: a typical activation of the feature. */
        g_assert_cmpstr (cJSON_GetObjectItem (item, "unit")->valuestring, !=, "raw");
        g_assert_cmpfloat_with_epsilon (cJSON_GetObjectItem (item, "raw_value")->valuedouble,
                                        STRONG * cJSON_GetObjectItem (item, "unit_factor")->valuedouble,
                                        1e-9);
        found = TRUE;
      }
  g_assert_true (found);

  run = cJSON_GetObjectItem (root, "baseline");
  g_assert_cmpstr (cJSON_GetObjectItem (run, "text")->valuestring, ==, baseline);
  run = cJSON_GetObjectItem (root, "steered");
  g_assert_cmpstr (cJSON_GetObjectItem (run, "text")->valuestring, ==, steered);
  g_assert_cmpfloat_with_epsilon (cJSON_GetObjectItem (run, "perplexity")->valuedouble,
                                  summary_perplexity (TRUE), 0.006);
  g_assert_nonnull (cJSON_GetObjectItem (cJSON_GetObjectItem (run, "theme"), "class"));
  g_assert_cmpint (cJSON_GetObjectItem (root, "first_difference")->valueint, ==,
                   fs_text_comparison_get_divergence (comparison ()));
  cJSON_Delete (root);
}

static void
test_screenshot (void)
{
  g_autofree char *path = NULL;

  if (skip_without_demo ())
    return;
  /* What a user would try first: a moderate strength on the feature alone
   * (the graph row left at 0), from a neutral prompt. */
  for (guint i = 0; i < fs_steering_panel_get_n_rows (panel ()); i++)
    fs_steering_row_set_value (fs_steering_panel_get_row (panel (), i), i == 0 ? 4.0 : 0.0);
  fs_window_set_prompt (window, "It is");
  fs_steering_panel_generate (panel ());
  wait_for_generation ();
  gui_clear_for_screenshot (GTK_WIDGET (window));
  path = gui_screenshot (GTK_WIDGET (window), "steering.png");
  if (path == NULL)
    {
      g_test_skip ("FLOWSCOPE_SCREENSHOT_DIR is not set");
      return;
    }
  gui_screenshot_dark (GTK_WIDGET (window), "steering-dark.png");
}

static void
request_generation (guint    round,
                    guint    k,
                    gpointer data)
{
  fs_steering_panel_generate (panel ());
}

/* While text is generated and streamed, the main loop keeps ticking:
 * requests that supersede each other, then one that completes, each round. */
static void
test_stall (void)
{
  if (skip_without_demo ())
    return;
  fs_steering_row_set_value (fs_steering_panel_get_row (panel (), 0), STRONG);
  gui_wait_for_paint (GTK_WIDGET (window));
  gui_check_stall (GTK_WIDGET (window), N_STALL_ROUNDS, request_generation, generation_finished,
                   NULL, "generating");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("flowscope-steering-XXXXXX", &error);
  g_assert_no_error (error);

  /* Started as users start it: on the demo, at the size the app opens at
   * on a first start (the schema's default). */
  window = gui_app_start (&app, TRUE, 1024, 700);

  g_test_add_func ("/steering/add", test_add);
  /* The stall check alone (meson runs it on the Cairo renderer). */
  if (g_getenv ("FLOWSCOPE_GUI_STALL_ONLY") != NULL)
    {
      g_test_add_func ("/steering/stall", test_stall);
      goto run;
    }
  g_test_add_func ("/steering/prompt", test_prompt);
  g_test_add_func ("/steering/generate", test_generate);
  g_test_add_func ("/steering/slider-release", test_slider_release);
  g_test_add_func ("/steering/graph-strategy", test_graph_strategy);
  g_test_add_func ("/steering/export", test_export);
  g_test_add_func ("/steering/screenshot", test_screenshot);
  g_test_add_func ("/steering/stall", test_stall);

run:
  ret = g_test_run ();

  gui_app_stop (app, window);
  gui_remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (steered_id);

  return ret;
}
