/* fs-sae-list.c: one row per SAE: position, site, size and folder.
 * Activating a row emits "position-activated" (layer, site), which the
 * window turns into "L/site/" in the feature finder.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-sae-list"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-feature-row.h"
#include "fs-sae-list.h"
#include "fs-widget-util.h"

struct _FsSaeList
{
  AdwBin       parent_instance;

  FsWorkspace *workspace;
  GtkWidget   *group;
  GtkListBox  *list;
};

G_DEFINE_FINAL_TYPE (FsSaeList, fs_sae_list, ADW_TYPE_BIN)

enum {
  POSITION_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

GtkWidget *
fs_sae_list_new (void)
{
  return g_object_new (FS_TYPE_SAE_LIST, NULL);
}

void
fs_sae_list_set_workspace (FsSaeList   *self,
                           FsWorkspace *workspace)
{
  FsSaeSet *set;
  guint n;

  g_return_if_fail (FS_IS_SAE_LIST (self));

  fs_set_workspace (&self->workspace, workspace);
  fs_list_box_remove_all (self->list);

  set = workspace != NULL ? fs_workspace_get_set (workspace) : NULL;
  n = set != NULL ? fs_sae_set_get_n_saes (set) : 0;
  for (guint i = 0; i < n; i++)
    {
      FsSae *sae = fs_sae_set_get_nth (set, i);
      int layer = fs_sae_get_layer (sae);
      FsSite site = fs_sae_get_site (sae);
      g_autofree char *position = fs_position_id (layer, site);
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));
      g_autofree char *title = g_strdup_printf ("%s · %s", position, fs_site_title (site));
      g_autofree char *subtitle = NULL;
      g_autofree char *count = NULL;
      GtkWidget *row;

      count = g_strdup_printf ("%" G_GINT64_FORMAT, fs_sae_get_d_sae (sae));
      /* Translators: the number of features of an SAE, and its folder. */
      subtitle = g_strdup_printf (ngettext ("%s feature · %s", "%s features · %s",
                                            (gulong) fs_sae_get_d_sae (sae)),
                                  count, folder);
      row = adw_action_row_new ();
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), fs_site_dot_new (site));
      gtk_widget_set_tooltip_text (row, fs_sae_get_path (sae));
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      if (!fs_sae_set_is_selected (set, i))
        {
          /* Another SAE at this position is the one graphs use. */
          gtk_widget_add_css_class (row, "dim-label");
          gtk_widget_set_tooltip_text (row, fs_sae_set_get_selection_reason (set, i));
        }
      g_object_set_data (G_OBJECT (row), "layer", GINT_TO_POINTER (layer));
      g_object_set_data (G_OBJECT (row), "site", GINT_TO_POINTER (site));
      gtk_list_box_append (self->list, row);
    }

  if (n > 0)
    {
      g_autofree char *title = g_strdup_printf (ngettext ("%u SAE", "%u SAEs", n), n);

      adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self->group), title);
    }
  gtk_widget_set_visible (self->group, n > 0);
}

static void
row_activated_cb (FsSaeList     *self,
                  GtkListBoxRow *row)
{
  g_signal_emit (self, signals[POSITION_ACTIVATED], 0,
                 GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "layer")),
                 GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "site")));
}

static void
fs_sae_list_finalize (GObject *object)
{
  FsSaeList *self = FS_SAE_LIST (object);

  g_clear_pointer (&self->workspace, fs_workspace_unref);

  G_OBJECT_CLASS (fs_sae_list_parent_class)->finalize (object);
}

static void
fs_sae_list_class_init (FsSaeListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = fs_sae_list_finalize;

  /* A position was picked: (layer, site). */
  signals[POSITION_ACTIVATED] =
    g_signal_new ("position-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
}

static void
fs_sae_list_init (FsSaeList *self)
{
  self->group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self->group), _("SAEs"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (self->group),
                                         _("Pick a position, then type a feature index."));

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("SAEs by position"),
                                  -1);
  g_signal_connect_object (self->list, "row-activated", G_CALLBACK (row_activated_cb),
                           self, G_CONNECT_SWAPPED);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->group), GTK_WIDGET (self->list));

  adw_bin_set_child (ADW_BIN (self), self->group);
  gtk_widget_set_visible (self->group, FALSE);
}
