/* fs-file-chooser.h: the modal file and folder choosers of the window and
 * its panels.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Called with the file a chooser was accepted with, and the data given to
 * fs_file_chooser_show. */
typedef void (*FsFileChosenFunc) (GtkWidget *owner,
                                  GFile     *file,
                                  gpointer   data);

/* A modal chooser over @owner's window. GtkFileChooserNative is the chooser
 * available on GTK 4.8 (GtkFileDialog came with 4.10); it uses the portal
 * when there is one. */
GtkFileChooserNative *fs_file_chooser_new  (GtkWidget            *owner,
                                            const char           *title,
                                            GtkFileChooserAction  action,
                                            const char           *accept_label);
/* Shows @chooser, which it takes, and calls @func with the file it is
 * accepted with unless @owner is gone by then. @data must outlive the
 * chooser. */
void                  fs_file_chooser_show (GtkFileChooserNative *chooser,
                                            GtkWidget            *owner,
                                            FsFileChosenFunc      func,
                                            gpointer              data);

G_END_DECLS
