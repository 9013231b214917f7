/* fs-widget-util.h: small GTK helpers the app's panels share.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* gtk_list_box_remove_all came with GTK 4.12. */
void fs_list_box_remove_all (GtkListBox *list);
/* Sets a status line's @text, styled as an error or as dimmed. */
void fs_label_set_status    (GtkLabel   *label,
                             const char *text,
                             gboolean    is_error);

G_END_DECLS
