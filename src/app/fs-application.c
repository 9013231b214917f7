/* fs-application.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-application"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-application.h"
#include "fs-window.h"

struct _FsApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (FsApplication, fs_application, ADW_TYPE_APPLICATION)

FsApplication *
fs_application_new (void)
{
  return g_object_new (FS_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

static void
fs_application_activate (GApplication *app)
{
  GtkWindow *window;

  g_assert (FS_IS_APPLICATION (app));

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    {
      g_autoptr(GSettings) settings = g_settings_new (APP_ID);

      window = GTK_WINDOW (fs_window_new (FS_APPLICATION (app)));
      /* Started without files: the bundled demo, when it is installed. */
      if (g_settings_get_boolean (settings, "open-demo-on-start"))
        fs_window_open_demo (FS_WINDOW (window));
    }

  gtk_window_present (window);
}

static void
fs_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  static const char *developers[] = { "The Flowscope team", NULL };
  FsApplication *self = user_data;
  GtkWindow *parent;
  GtkWidget *about;

  g_assert (FS_IS_APPLICATION (self));

  parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", parent != NULL,
                        "application-name", _("Flowscope"),
                        "application-icon", APP_ID,
                        "version", PACKAGE_VERSION,
                        "developer-name", _("The Flowscope team"),
                        "developers", developers,
                        "copyright", _("© 2026 The Flowscope team"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        /* Translators: Replace with your names, one per line. */
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
fs_application_shortcuts_action (GSimpleAction *action,
                                 GVariant      *parameter,
                                 gpointer       user_data)
{
  FsApplication *self = user_data;
  g_autoptr(GtkBuilder) builder = NULL;
  GtkWindow *parent;
  GtkWindow *shortcuts;

  g_assert (FS_IS_APPLICATION (self));

  parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  builder = gtk_builder_new_from_resource ("/io/github/flowscope/Flowscope/ui/shortcuts-dialog.ui");
  shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_dialog"));
  gtk_window_set_transient_for (shortcuts, parent);
  gtk_window_present (shortcuts);
}

static void
fs_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  FsApplication *self = user_data;
  g_autoptr(GList) windows = NULL;

  g_assert (FS_IS_APPLICATION (self));

  /* Close rather than destroy, so each window saves its state on the way out;
   * the application exits when the last one is gone. */
  windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (const GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static const GActionEntry app_actions[] = {
  { "about", fs_application_about_action },
  { "shortcuts", fs_application_shortcuts_action },
  { "quit", fs_application_quit_action },
};

static void
fs_application_startup (GApplication *app)
{
  /* Keep in step with ui/shortcuts-dialog.ui. */
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "app.quit", { "<Control>q", NULL } },
    { "app.shortcuts", { "<Control>question", NULL } },
    { "win.open-saes", { "<Control>o", NULL } },
    { "win.open-model", { "<Control><Shift>o", NULL } },
    { "win.export-menu", { "<Control>e", NULL } },
    { "win.find", { "<Control>f", NULL } },
    { "win.toggle-sidebar", { "F9", NULL } },
    { "win.toggle-inspector", { "<Control>i", NULL } },
    { "win.toggle-steering", { "F8", NULL } },
    { "win.back", { "<Alt>Left", NULL } },
    { "win.forward", { "<Alt>Right", NULL } },
    { "win.zoom-in", { "<Control>plus", "<Control>equal" } },
    { "win.zoom-out", { "<Control>minus", NULL } },
    { "win.zoom-fit", { "<Control>0", NULL } },
  };
  FsApplication *self = FS_APPLICATION (app);

  G_APPLICATION_CLASS (fs_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   app_actions, G_N_ELEMENTS (app_actions),
                                   self);

  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                           accels[i].action,
                                           accels[i].accels);
}

static void
fs_application_class_init (FsApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = fs_application_activate;
  app_class->startup = fs_application_startup;
}

static void
fs_application_init (FsApplication *self)
{
}
