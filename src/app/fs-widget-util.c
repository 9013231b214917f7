/* fs-widget-util.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-widget-util"

#include "fs-widget-util.h"

void
fs_list_box_remove_all (GtkListBox *list)
{
  GtkWidget *child;

  g_return_if_fail (GTK_IS_LIST_BOX (list));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

void
fs_label_set_status (GtkLabel   *label,
                     const char *text,
                     gboolean    is_error)
{
  g_return_if_fail (GTK_IS_LABEL (label));

  gtk_label_set_text (label, text);
  gtk_widget_remove_css_class (GTK_WIDGET (label), is_error ? "dim-label" : "error");
  gtk_widget_add_css_class (GTK_WIDGET (label), is_error ? "error" : "dim-label");
}
