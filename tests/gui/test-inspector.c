/* test-inspector.c: the inspector's logit lens and the prompt's
 * activations, and the finder's "Active on Prompt" mode, on the demo,
 * driven in-process under Xvfb. What the widgets show is checked against
 * the library functions that compute it; no demo feature id is assumed
 * (the demo may be retrained).
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-inspector"

#include "gui-test-util.h"
#include "logit-lens.h"
#include "prompt.h"
#include "prompt-activations.h"

#define PROMPT "In the beginning God created the heaven and the earth."
#define OTHER_PROMPT "A computer program is a sequence of instructions."
#define LENS_TOKENS 10

static FsApplication *app;
static FsWindow *window;

/* ------------------------------------------------------------ helpers */

static FsGraphWidget *
graph_widget (void)
{
  return fs_window_get_graph_widget (window);
}

static FsWorkspace *
workspace (void)
{
  return fs_window_get_workspace (window);
}

static gboolean
inspector_idle (gpointer data)
{
  return !fs_inspector_get_computing (fs_window_get_inspector (window));
}

static gboolean
prompt_features_idle (gpointer data)
{
  return !fs_prompt_features_get_computing (fs_feature_finder_get_prompt_features (fs_window_get_finder (window)));
}

static const FsFlowNode *
selected_node (void)
{
  FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());
  int node = fs_graph_widget_get_selected (graph_widget ());

  g_assert_cmpint (node, >=, 0);
  return fs_flow_graph_get_node (graph, node);
}

/* The token as the inspector shows it: the prompts here have no line
 * breaks or tabs, which it would make visible. */
static char *
token_text (int32_t id)
{
  g_autofree char *bytes = fs_tokenizer_decode (fs_workspace_get_tokenizer (workspace ()), &id, 1, NULL);

  return g_utf8_make_valid (bytes, -1);
}

static GtkWidget *
inspector_part (const char *name)
{
  GtkWidget *part = gui_find_named (GTK_WIDGET (fs_window_get_inspector (window)), name);

  g_assert_nonnull (part);
  return part;
}

/* The token and score labels of a logit-lens row. */
static void
lens_row_texts (GtkListBoxRow  *row,
                const char    **token,
                const char    **score)
{
  GtkWidget *box = gtk_list_box_row_get_child (row);

  *token = gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (box)));
  *score = gtk_label_get_text (GTK_LABEL (gtk_widget_get_last_child (box)));
}

static void
check_lens_list (const char        *name,
                 const FsLensToken *expected,
                 int                n)
{
  GtkListBox *list = GTK_LIST_BOX (inspector_part (name));

  for (int k = 0; k < n; k++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, k);
      g_autofree char *text = token_text (expected[k].token);
      g_autofree char *score_text = g_strdup_printf ("%.2f", expected[k].score);
      const char *token, *score;

      g_assert_nonnull (row);
      lens_row_texts (row, &token, &score);
      g_assert_cmpstr (token, ==, text);
      g_assert_cmpstr (score, ==, score_text);
    }
  g_assert_null (gtk_list_box_get_row_at_index (list, n));
}

/* The inspector shows the selected node's logit lens as fs_logit_lens
 * computes it, and its activation at each token of @prompt as
 * fs_prompt_feature_activations does. */
static void
check_inspector (const char *prompt)
{
  const FsFlowNode *node = selected_node ();
  FsModel *model = fs_workspace_get_model (workspace ());
  FsSae *sae = fs_sae_set_lookup (fs_workspace_get_set (workspace ()), node->layer, node->site);
  FsLensToken top[LENS_TOKENS], bottom[LENS_TOKENS];
  g_autofree int32_t *tokens = NULL;
  g_autofree float *z = NULL;
  g_autoptr(GError) error = NULL;
  GtkFlowBox *chips = GTK_FLOW_BOX (inspector_part ("prompt-tokens"));
  gsize n_tokens = 0;
  int n;

  g_assert_nonnull (sae);
  n = fs_logit_lens (model, sae, node->index, LENS_TOKENS, top, bottom, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, LENS_TOKENS);
  check_lens_list ("promoted-list", top, n);
  check_lens_list ("suppressed-list", bottom, n);

  tokens = fs_prompt_encode (model, fs_workspace_get_tokenizer (workspace ()), prompt,
                             FS_PROMPT_BOS_AUTO, &n_tokens, &error);
  g_assert_no_error (error);
  z = g_new (float, n_tokens);
  g_assert_true (fs_prompt_feature_activations (model, NULL, sae, node->index, tokens,
                                                (int64_t) n_tokens, z, NULL, &error));
  g_assert_no_error (error);
  for (gsize t = 0; t < n_tokens; t++)
    {
      GtkFlowBoxChild *chip = gtk_flow_box_get_child_at_index (chips, (int) t);
      g_autofree char *text = token_text (tokens[t]);
      g_autofree char *tooltip = g_strdup_printf ("Activation %.3f", z[t]);

      g_assert_nonnull (chip);
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gtk_flow_box_child_get_child (chip))), ==, text);
      g_assert_cmpstr (gtk_widget_get_tooltip_text (GTK_WIDGET (chip)), ==, tooltip);
    }
  g_assert_null (gtk_flow_box_get_child_at_index (chips, (int) n_tokens));
  g_test_message ("%s: %" G_GSIZE_FORMAT " tokens, status “%s”",
                  fs_inspector_get_feature_id (fs_window_get_inspector (window)), n_tokens,
                  gtk_label_get_text (GTK_LABEL (inspector_part ("prompt-status"))));
}

/* The first chip in the darkest shade, or -1. */
static int
darkest_chip (GtkFlowBox *chips)
{
  GtkFlowBoxChild *chip;

  for (int i = 0; (chip = gtk_flow_box_get_child_at_index (chips, i)) != NULL; i++)
    if (gtk_widget_has_css_class (gtk_flow_box_child_get_child (chip), "activation-4"))
      return i;
  return -1;
}

/* ------------------------------------------------------------ tests */

static void
test_open_demo (void)
{
  if (!fs_window_open_demo (window))
    {
      g_test_skip ("the demo is not there (FLOWSCOPE_DEMO_DIR)");
      return;
    }
  gui_wait_for_graph (window, NULL);
  g_assert_nonnull (fs_workspace_get_model (workspace ()));
  g_assert_nonnull (fs_workspace_get_tokenizer (workspace ()));
}

static void
test_prompt (void)
{
  FsInspector *inspector = fs_window_get_inspector (window);
  FsFlowGraph *graph;
  int module = -1;

  if (workspace () == NULL)
    {
      g_test_skip ("no demo");
      return;
    }
  graph = fs_graph_widget_get_graph (graph_widget ());

  /* The window's prompt reaches the inspector, which runs it on the seed. */
  fs_window_set_prompt (window, PROMPT);
  g_assert_cmpstr (fs_inspector_get_prompt (inspector), ==, PROMPT);
  fs_graph_widget_set_selected (graph_widget (), fs_flow_graph_get_seed (graph));
  gui_wait_until (inspector_idle, NULL, "the seed's logit lens and prompt activations");
  check_inspector (PROMPT);

  /* Another node: an MLP or attention one when the graph has one. */
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph) && module < 0; i++)
    if (fs_flow_graph_get_node (graph, i)->site != FS_SITE_RES)
      module = (int) i;
  if (module >= 0)
    {
      fs_graph_widget_set_selected (graph_widget (), module);
      g_assert_true (fs_inspector_get_computing (inspector));
      gui_wait_until (inspector_idle, NULL, "a module feature's lens and activations");
      check_inspector (PROMPT);
    }

  /* A prompt superseded before its run is done leaves only the last one. */
  fs_window_set_prompt (window, OTHER_PROMPT);
  fs_window_set_prompt (window, PROMPT);
  fs_window_set_prompt (window, OTHER_PROMPT);
  gui_wait_until (inspector_idle, NULL, "the last prompt's activations");
  check_inspector (OTHER_PROMPT);

  /* Editing the inspector's entry sets the window's prompt. */
  fs_inspector_set_prompt (inspector, PROMPT);
  g_assert_cmpstr (fs_window_get_prompt (window), ==, PROMPT);
  gui_wait_until (inspector_idle, NULL, "the edited prompt's activations");
  check_inspector (PROMPT);

}

static void
test_active_on_prompt (void)
{
  FsFeatureFinder *finder = fs_window_get_finder (window);
  GtkListBox *list;
  g_autoptr(GArray) expected = NULL;
  g_autofree int32_t *tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *residual = NULL;
  GtkFlowBox *chips;
  GtkScrolledWindow *scrolled;
  GtkAdjustment *adjustment;
  gsize n_tokens = 0;
  guint n_rows = 0;

  if (workspace () == NULL)
    {
      g_test_skip ("no demo");
      return;
    }

  fs_feature_finder_set_prompt_mode (finder, TRUE);
  gui_wait_until (prompt_features_idle, NULL, "the features active on the prompt");

  tokens = fs_prompt_encode (fs_workspace_get_model (workspace ()), fs_workspace_get_tokenizer (workspace ()),
                             PROMPT, FS_PROMPT_BOS_AUTO, &n_tokens, &error);
  g_assert_no_error (error);
  expected = fs_prompt_active_features (fs_workspace_get_set (workspace ()), fs_workspace_get_model (workspace ()),
                                        NULL, tokens, (int64_t) n_tokens, 5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (expected->len, >, 0);

  /* The list is the library's, in its order. */
  list = GTK_LIST_BOX (gui_find_named (GTK_WIDGET (finder), "prompt-features-list"));
  g_assert_nonnull (list);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (list)));
  for (GtkListBoxRow *row; (row = gtk_list_box_get_row_at_index (list, (int) n_rows)) != NULL; n_rows++)
    {
      const FsActiveFeature *f = &g_array_index (expected, FsActiveFeature, n_rows);
      g_autofree char *id = fs_feature_id (f->layer, f->site, f->index);

      g_assert_cmpuint (n_rows, <, expected->len);
      g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, id);
      if (residual == NULL && f->site == FS_SITE_RES && f->layer != FS_LAYER_EMBED)
        residual = g_strdup (id);
    }
  g_assert_cmpuint (n_rows, ==, expected->len);
  g_test_message ("%u features active on the prompt listed", n_rows);
  g_free (gui_screenshot (GTK_WIDGET (window), "finder-active-on-prompt.png"));

  /* Activating a residual feature shows its graph. */
  g_assert_nonnull (residual);
  for (guint i = 0; i < n_rows; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) i);

      if (g_str_equal (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), residual))
        gtk_widget_activate (GTK_WIDGET (row));
    }
  gui_wait_for_graph (window, residual);
  g_assert_cmpstr (fs_inspector_get_feature_id (fs_window_get_inspector (window)), ==, residual);
  /* The list stays for the next pick. */
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (list)));

  /* The inspector shows it active on the prompt: its largest activation
   * takes the darkest shade. */
  gui_wait_until (inspector_idle, NULL, "the activated feature's lens and activations");
  check_inspector (PROMPT);
  chips = GTK_FLOW_BOX (inspector_part ("prompt-tokens"));
  g_assert_cmpint (darkest_chip (chips), >=, 0);
  /* The picture shows the prompt's tokens, at the inspector's end (once
   * laid out). */
  gui_wait_for_paint (GTK_WIDGET (window));
  scrolled = GTK_SCROLLED_WINDOW (gtk_widget_get_ancestor (GTK_WIDGET (chips), GTK_TYPE_SCROLLED_WINDOW));
  adjustment = gtk_scrolled_window_get_vadjustment (scrolled);
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment));
  gui_dismiss_toasts (GTK_WIDGET (window));
  g_free (gui_screenshot (GTK_WIDGET (window), "inspector-demo.png"));

  /* An MLP or attention feature is selected in the graph shown, one there
   * if the list has one, else a toast says it is not there. */
  {
    FsFlowGraph *graph = fs_graph_widget_get_graph (graph_widget ());
    GtkListBoxRow *module = NULL;
    int node = -1;

    for (guint i = 0; i < n_rows && node < 0; i++)
      {
        GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, (int) i);
        int layer;
        FsSite site;
        gint64 index;

        g_assert_true (fs_feature_id_parse (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                                            &layer, &site, &index, NULL));
        if (site == FS_SITE_RES)
          continue;
        module = row;
        node = fs_flow_graph_find_node (graph, layer, site, index);
      }
    g_assert_nonnull (module);
    g_test_message ("%s: %s", adw_preferences_row_get_title (ADW_PREFERENCES_ROW (module)),
                    node >= 0 ? "in the graph" : "not in the graph");
    gtk_widget_activate (GTK_WIDGET (module));
    if (node >= 0)
      g_assert_cmpint (fs_graph_widget_get_selected (graph_widget ()), ==, node);
    else
      gui_wait_for_label (GTK_WIDGET (window), "is not in the graph shown",
                          "a toast that the feature is not in the graph");
  }

  /* A new prompt lists again. */
  fs_window_set_prompt (window, OTHER_PROMPT);
  g_assert_true (prompt_features_idle (NULL) == FALSE);
  gui_wait_until (prompt_features_idle, NULL, "the features active on the new prompt");
  g_assert_nonnull (gtk_list_box_get_row_at_index (list, 0));
  fs_feature_finder_set_prompt_mode (finder, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  window = gui_app_start (&app, FALSE, 1280, 780);

  g_test_add_func ("/inspector/open-demo", test_open_demo);
  g_test_add_func ("/inspector/prompt", test_prompt);
  g_test_add_func ("/inspector/active-on-prompt", test_active_on_prompt);
  ret = g_test_run ();

  gui_app_stop (app, window);
  return ret;
}
