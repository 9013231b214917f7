/* test-window.c: the application window, driven in-process under Xvfb.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-window"

#include <glib/gstdio.h>

#include "gui-test-util.h"

static FsApplication *app;
static FsWindow *window;

/* The content stack, reached through the toast overlay around it: other
 * widgets in the window have stacks of their own inside. */
static GtkStack *
find_content_stack (void)
{
  GtkWidget *overlay = gui_find_widget (GTK_WIDGET (window), ADW_TYPE_TOAST_OVERLAY);
  GtkWidget *stack;

  g_assert_nonnull (overlay);
  stack = adw_toast_overlay_get_child (ADW_TOAST_OVERLAY (overlay));
  g_assert_true (GTK_IS_STACK (stack));

  return GTK_STACK (stack);
}

static void
test_empty_state (void)
{
  GtkStack *stack = find_content_stack ();
  GtkWidget *status;

  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (window)));
  g_assert_nonnull (gui_find_widget (GTK_WIDGET (window), ADW_TYPE_HEADER_BAR));

  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

  status = gtk_stack_get_visible_child (stack);
  g_assert_true (ADW_IS_STATUS_PAGE (status));
  g_assert_true (gtk_widget_get_mapped (status));
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (status)), ==,
                   "No Model or SAEs Loaded");
  g_assert_cmpstr (adw_status_page_get_icon_name (ADW_STATUS_PAGE (status)), ==,
                   "io.github.flowscope.Flowscope");
}

static void
test_actions (void)
{
  GActionGroup *win_actions = G_ACTION_GROUP (window);
  GActionGroup *app_actions = G_ACTION_GROUP (app);
  const char * const app_names[] = { "about", "quit", "shortcuts" };
  const char * const win_names[] = { "find", "toggle-sidebar", "toggle-inspector" };
  g_auto(GStrv) accels = NULL;

  g_assert_true (g_action_group_get_action_enabled (win_actions, "open-model"));
  g_assert_true (g_action_group_get_action_enabled (win_actions, "open-saes"));
  for (guint i = 0; i < G_N_ELEMENTS (win_names); i++)
    g_assert_true (g_action_group_has_action (win_actions, win_names[i]));
  /* Nothing to export before there is a graph, nor to label before SAEs. */
  g_assert_false (g_action_group_get_action_enabled (win_actions, "export"));
  g_assert_false (g_action_group_get_action_enabled (win_actions, "load-labels"));
  for (guint i = 0; i < G_N_ELEMENTS (app_names); i++)
    g_assert_true (g_action_group_get_action_enabled (app_actions, app_names[i]));

  accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "app.quit");
  g_assert_cmpstrv (accels, ((const char * const []) { "<Control>q", NULL }));
}

static void
test_about (void)
{
  GtkWindow *about;

  g_assert_null (gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW));
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);

  about = gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW);
  g_assert_nonnull (about);
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, GTK_WIDGET (about), "the about window");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (about)));
  g_assert_true (gtk_window_get_transient_for (about) == GTK_WINDOW (window));
  g_assert_cmpstr (adw_about_window_get_application_name (ADW_ABOUT_WINDOW (about)), ==, "Flowscope");
  g_assert_cmpint (adw_about_window_get_license_type (ADW_ABOUT_WINDOW (about)), ==, GTK_LICENSE_GPL_3_0);

  g_object_ref (about);
  gtk_window_close (about);
  gui_wait_until (gui_widget_unmapped, GTK_WIDGET (about), "the about window to close");
  g_object_unref (about);
  g_assert_null (gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW));
}

static void
test_shortcuts (void)
{
  GtkWindow *shortcuts;

  g_action_group_activate_action (G_ACTION_GROUP (app), "shortcuts", NULL);

  shortcuts = gui_find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_nonnull (shortcuts);
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, GTK_WIDGET (shortcuts), "the shortcuts window");
  g_assert_true (gtk_window_get_transient_for (shortcuts) == GTK_WINDOW (window));

  g_object_ref (shortcuts);
  gtk_window_close (shortcuts);
  gui_wait_until (gui_widget_unmapped, GTK_WIDGET (shortcuts), "the shortcuts window to close");
  g_object_unref (shortcuts);
}

/* Without a portal, GtkFileChooserNative falls back to an in-process dialog,
 * which can be inspected and cancelled here. */
static void
check_folder_chooser (const char *action,
                      gboolean    multiple)
{
  GtkWindow *chooser;

  g_assert_null (gui_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG));
  g_action_group_activate_action (G_ACTION_GROUP (window), action, NULL);

  chooser = gui_find_toplevel (GTK_TYPE_FILE_CHOOSER_DIALOG);
  g_assert_nonnull (chooser);
  g_object_ref (chooser);
  gui_wait_until ((GuiPredicate) gtk_widget_get_mapped, GTK_WIDGET (chooser), "the folder chooser");
  g_assert_cmpint (gtk_file_chooser_get_action (GTK_FILE_CHOOSER (chooser)), ==,
                   GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
  g_assert_cmpint (gtk_file_chooser_get_select_multiple (GTK_FILE_CHOOSER (chooser)), ==, multiple);

  gtk_window_close (chooser);
  gui_wait_until (gui_widget_unmapped, GTK_WIDGET (chooser), "the folder chooser to close");
  g_object_unref (chooser);
}

static void
test_open_dialogs (void)
{
  if (g_getenv ("GTK_USE_PORTAL") != NULL)
    {
      g_test_skip ("file choosers go through the portal");
      return;
    }

  check_folder_chooser ("open-saes", TRUE);
  check_folder_chooser ("open-model", FALSE);

  /* Cancelling changes nothing. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (find_content_stack ()), ==, "empty");
}

static gboolean
shows_not_found (gpointer widget)
{
  return gui_find_label (widget, "/tmp/flowscope-no-such") != NULL;
}

/* Opening folders that are not there loads in a worker, fails with a
 * toast, remembers nothing and leaves the window as it was. */
static void
test_open_missing_folders (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.flowscope.Flowscope");
  g_autoptr(GFile) a = g_file_new_for_path ("/tmp/flowscope-no-such/gemma-scope");
  g_autoptr(GFile) b = g_file_new_for_path ("/tmp/flowscope-no-such/llama-scope");
  g_autoptr(GFile) model = g_file_new_for_path ("/tmp/flowscope-no-such/gpt2");
  GFile *folders[] = { a, b };
  g_auto(GStrv) recent = NULL;
  g_autofree char *recent_model = NULL;

  fs_window_open_sae_sets (window, folders, G_N_ELEMENTS (folders));
  g_assert_true (fs_window_get_loading (window));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (find_content_stack ()), ==, "loading");
  gui_wait_until (gui_load_finished, window, "the SAEs to fail to load");
  gui_wait_until (shows_not_found, GTK_WIDGET (window), "a toast naming the folder");
  recent = g_settings_get_strv (settings, "recent-sae-sets");
  g_assert_cmpstrv (recent, ((const char * const []) { NULL }));

  fs_window_open_model (window, model);
  gui_wait_until (gui_load_finished, window, "the model to fail to load");
  recent_model = g_settings_get_string (settings, "recent-model");
  g_assert_cmpstr (recent_model, ==, "");

  /* Nothing is loaded, so the empty state stays. */
  g_assert_null (fs_window_get_workspace (window));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (find_content_stack ()), ==, "empty");
}

/* Runs last: closing the window saves its size, and the size must come back
 * exactly, or it would drift a little at every start. */
static void
test_close_saves_size (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.flowscope.Flowscope");
  g_autoptr(FsWindow) closed = g_object_ref (window);

  gtk_window_set_default_size (GTK_WINDOW (window), 900, 650);
  gui_wait_for_paint (GTK_WIDGET (window));

  gtk_window_close (GTK_WINDOW (window));
  gui_wait_until (gui_widget_unmapped, GTK_WIDGET (window), "the main window to close");
  window = NULL;

  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 900);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 650);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
}

/* Renders the window through its own renderer, as it is drawn on screen. */
static void
test_screenshot (void)
{
  g_autofree char *path = gui_screenshot (GTK_WIDGET (window), "empty.png");
  g_autoptr(GdkTexture) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  if (path == NULL)
    {
      g_test_skip ("FLOWSCOPE_SCREENSHOT_DIR is not set");
      return;
    }

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 10 * 1024);

  reloaded = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (reloaded), >=, 1000);
  g_assert_cmpint (gdk_texture_get_height (reloaded), >=, 600);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* The demo opens in test-graph; the window opens at its own size. */
  window = gui_app_start (&app, FALSE, 0, 0);

  g_test_add_func ("/window/empty-state", test_empty_state);
  g_test_add_func ("/window/actions", test_actions);
  g_test_add_func ("/window/about", test_about);
  g_test_add_func ("/window/shortcuts", test_shortcuts);
  /* Before the open test, whose toasts would be in the picture. */
  g_test_add_func ("/window/screenshot", test_screenshot);
  g_test_add_func ("/window/open-dialogs", test_open_dialogs);
  g_test_add_func ("/window/open-missing-folders", test_open_missing_folders);
  g_test_add_func ("/window/close-saves-size", test_close_saves_size);

  ret = g_test_run ();

  gui_app_stop (app, window);

  return ret;
}
