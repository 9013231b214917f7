/* fs-export.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-export"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-background.h"
#include "fs-error.h"
#include "fs-export.h"

const FsExportFormat *
fs_export_format_find (const FsExportFormat *formats,
                       guint                 n_formats,
                       const char           *format)
{
  for (guint i = 0; i < n_formats; i++)
    if (g_strcmp0 (format, formats[i].format) == 0)
      return &formats[i];
  return NULL;
}

void
fs_export_dialog_show (GtkWidget            *owner,
                       const char           *title,
                       const FsExportFormat *format,
                       const char           *basename,
                       FsFileChosenFunc      func)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  g_autofree char *name = NULL;
  GtkFileChooserNative *chooser;

  g_return_if_fail (format != NULL);

  name = g_strdup_printf ("%s.%s", basename, format->extension);
  chooser = fs_file_chooser_new (owner, title, GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_file_filter_set_name (filter, _(format->name));
  if (format->mime_type != NULL)
    gtk_file_filter_add_mime_type (filter, format->mime_type);
  gtk_file_filter_add_suffix (filter, format->extension);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  fs_file_chooser_show (chooser, owner, func, (gpointer) format);
}

typedef struct {
  FsExportWriteFunc  write;
  gpointer           data;
  GDestroyNotify     data_free;
  char              *path;
} WriteData;

static void
write_data_free (WriteData *write_data)
{
  write_data->data_free (write_data->data);
  g_free (write_data->path);
  g_free (write_data);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *write_data = task_data;
  GError *error = NULL;

  if (!write_data->write (write_data->data, write_data->path, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
fs_export_write_in_background (GTask             *task,
                               GFile             *file,
                               FsExportWriteFunc  write,
                               gpointer           data,
                               GDestroyNotify     data_free,
                               const char        *not_local_message)
{
  g_autofree char *path = NULL;
  WriteData *write_data;

  g_return_if_fail (G_IS_TASK (task));
  g_return_if_fail (G_IS_FILE (file));

  path = g_file_get_path (file);
  if (path == NULL)
    {
      data_free (data);
      g_task_return_new_error (task, FS_ERROR, FS_ERROR_IO, "%s", not_local_message);
      return;
    }

  write_data = g_new0 (WriteData, 1);
  write_data->write = write;
  write_data->data = data;
  write_data->data_free = data_free;
  write_data->path = g_steal_pointer (&path);
  g_task_set_task_data (task, write_data, (GDestroyNotify) write_data_free);
  fs_task_run_in_background (task, write_thread);
}

char *
fs_export_dup_message (GFile        *file,
                       const GError *error)
{
  g_autofree char *name = NULL;

  if (error != NULL)
    return g_strdup (error->message);

  name = g_file_get_basename (file);
  return g_strdup_printf (_("Exported “%s”"), name);
}
