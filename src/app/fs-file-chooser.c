/* fs-file-chooser.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-file-chooser"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-file-chooser.h"

GtkFileChooserNative *
fs_file_chooser_new (GtkWidget            *owner,
                     const char           *title,
                     GtkFileChooserAction  action,
                     const char           *accept_label)
{
  GtkFileChooserNative *chooser;

  g_return_val_if_fail (GTK_IS_WIDGET (owner), NULL);

  chooser = gtk_file_chooser_native_new (title,
                                         GTK_WINDOW (gtk_widget_get_root (owner)),
                                         action,
                                         accept_label,
                                         _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  return chooser;
}

static void
response_cb (GtkNativeDialog *dialog,
             int              response,
             gpointer         user_data)
{
  GtkWidget *owner = user_data;
  FsFileChosenFunc func = (FsFileChosenFunc) g_object_get_data (G_OBJECT (dialog), "fs-chosen-func");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        func (owner, file, g_object_get_data (G_OBJECT (dialog), "fs-chosen-data"));
    }

  g_object_unref (dialog);
}

void
fs_file_chooser_show (GtkFileChooserNative *chooser,
                      GtkWidget            *owner,
                      FsFileChosenFunc      func,
                      gpointer              data)
{
  g_return_if_fail (GTK_IS_FILE_CHOOSER_NATIVE (chooser));
  g_return_if_fail (GTK_IS_WIDGET (owner));
  g_return_if_fail (func != NULL);

  g_object_set_data (G_OBJECT (chooser), "fs-chosen-func", (gpointer) func);
  g_object_set_data (G_OBJECT (chooser), "fs-chosen-data", data);
  /* Connected to @owner: a chooser answered after its owner is gone does nothing. */
  g_signal_connect_object (chooser, "response", G_CALLBACK (response_cb), owner, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
