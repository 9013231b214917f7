/* fs-export.h: exporting what a view shows to a local file: the save
 * dialog for one of its formats, the file written in a worker, and what
 * the user is told when it is done.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "fs-file-chooser.h"

G_BEGIN_DECLS

typedef struct {
  const char *format;     /* the export action's parameter */
  const char *extension;
  const char *mime_type;  /* NULL: files are told by their extension alone */
  const char *name;       /* the file filter's, marked with N_() */
} FsExportFormat;

/* The entry of @formats for @format, or NULL. */
const FsExportFormat *fs_export_format_find          (const FsExportFormat *formats,
                                                      guint                 n_formats,
                                                      const char           *format);

/* Shows a modal save dialog for @format over @owner's window, proposing
 * @basename with the format's extension; @func gets the file and @format. */
void                  fs_export_dialog_show          (GtkWidget            *owner,
                                                      const char           *title,
                                                      const FsExportFormat *format,
                                                      const char           *basename,
                                                      FsFileChosenFunc      func);

/* Writes @data to @path; runs in a worker. */
typedef gboolean (*FsExportWriteFunc) (gpointer     data,
                                       const char  *path,
                                       GError     **error);

/* Returns @task's result (a boolean) from @write, run on @data and the path
 * of @file in a background worker; @data is freed with @data_free. A file
 * that is not local fails the task with @not_local_message. */
void                  fs_export_write_in_background  (GTask                *task,
                                                      GFile                *file,
                                                      FsExportWriteFunc     write,
                                                      gpointer              data,
                                                      GDestroyNotify        data_free,
                                                      const char           *not_local_message);

/* What to tell the user of an export to @file that ended with @error
 * (NULL when it succeeded). */
char                 *fs_export_dup_message          (GFile                *file,
                                                      const GError         *error);

G_END_DECLS
