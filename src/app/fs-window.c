/* fs-window.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-window"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-window.h"

struct _FsWindow
{
  AdwApplicationWindow parent_instance;

  GSettings *settings;

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
};

G_DEFINE_FINAL_TYPE (FsWindow, fs_window, ADW_TYPE_APPLICATION_WINDOW)

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
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

/**
 * fs_window_open_model:
 * @self: a #FsWindow
 * @folder: a Hugging Face model folder
 *
 * Remembers @folder as the recent model. Loading models is not implemented
 * yet, and the window says so.
 */
void
fs_window_open_model (FsWindow *self,
                      GFile    *folder)
{
  g_autofree char *path = NULL;

  g_return_if_fail (FS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  path = g_file_get_path (folder);
  if (path == NULL)
    {
      fs_window_show_toast (self, _("Only local folders can be opened"));
      return;
    }

  g_settings_set_string (self->settings, "recent-model", path);
  fs_window_show_toast (self, _("Loading models is not available yet"));
}

/**
 * fs_window_open_sae_sets:
 * @self: a #FsWindow
 * @folders: (array length=n_folders): SAE folders or folders to scan for them
 * @n_folders: the length of @folders
 *
 * Remembers @folders as the recent SAE sets. Loading SAEs is not implemented
 * yet, and the window says so.
 */
void
fs_window_open_sae_sets (FsWindow      *self,
                         GFile * const *folders,
                         guint          n_folders)
{
  g_autoptr(GStrvBuilder) paths = NULL;
  g_auto(GStrv) strv = NULL;

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

  g_settings_set_strv (self->settings, "recent-sae-sets", (const char * const *) strv);
  fs_window_show_toast (self, _("Loading SAEs is not available yet"));
}

static void
open_model_response_cb (GtkNativeDialog *dialog,
                        int              response,
                        gpointer         user_data)
{
  FsWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (folder != NULL)
        fs_window_open_model (self, folder);
    }

  g_object_unref (dialog);
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

/* GtkFileChooserNative is the folder picker available on GTK 4.8 (GtkFileDialog
 * came with 4.10); it uses the portal when there is one. */
static GtkFileChooserNative *
fs_window_new_folder_chooser (FsWindow   *self,
                              const char *title,
                              gboolean    multiple)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (title,
                                         GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Open"),
                                         _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), multiple);

  return chooser;
}

static void
fs_window_open_model_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  FsWindow *self = user_data;
  GtkFileChooserNative *chooser;

  chooser = fs_window_new_folder_chooser (self, _("Open Model"), FALSE);
  g_signal_connect_object (chooser, "response",
                           G_CALLBACK (open_model_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
fs_window_open_saes_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  FsWindow *self = user_data;
  GtkFileChooserNative *chooser;

  chooser = fs_window_new_folder_chooser (self, _("Open SAEs"), TRUE);
  g_signal_connect_object (chooser, "response",
                           G_CALLBACK (open_saes_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static const GActionEntry win_actions[] = {
  { "open-model", fs_window_open_model_action },
  { "open-saes", fs_window_open_saes_action },
};

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

static void
fs_window_dispose (GObject *object)
{
  FsWindow *self = FS_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), FS_TYPE_WINDOW);

  G_OBJECT_CLASS (fs_window_parent_class)->dispose (object);
}

static void
fs_window_finalize (GObject *object)
{
  FsWindow *self = FS_WINDOW (object);

  g_clear_object (&self->settings);

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

  window_class->close_request = fs_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, FsWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, FsWindow, stack);
}

static void
fs_window_init (FsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   win_actions, G_N_ELEMENTS (win_actions),
                                   self);

  self->settings = g_settings_new (APP_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  gtk_stack_set_visible_child_name (self->stack, "empty");
}
