/* fs-feature-row.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-feature-row"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-feature-row.h"

const char *
fs_site_title (FsSite site)
{
  switch (site)
    {
    case FS_SITE_RES:
      return _("Residual stream");
    case FS_SITE_MLP:
      return _("MLP output");
    case FS_SITE_ATT:
      return _("Attention output");
    default:
      g_assert_not_reached ();
    }
}

GtkWidget *
fs_site_dot_new (FsSite site)
{
  GtkWidget *dot = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);

  gtk_widget_add_css_class (dot, "site-dot");
  gtk_widget_add_css_class (dot, fs_site_name (site));
  gtk_widget_set_valign (dot, GTK_ALIGN_CENTER);

  return dot;
}

GtkWidget *
fs_feature_row_new (const char *id,
                    const char *label)
{
  GtkWidget *row = adw_action_row_new ();

  /* Labels are free text: "<" in one is not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), id);
  if (label != NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), label);
      adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
    }
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);

  return row;
}
