/* fs-steering-files.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-steering-files"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "fs-steering-files.h"
#include "steer-typical.h"

struct _FsSteeringFiles
{
  FsThemeClassifier *classifier;
  GHashTable        *typical;    /* FsSae* -> float[d_sae], NaN where unknown */
  GPtrArray         *warnings;   /* NULL-terminated */
};

static void
add_warning (FsSteeringFiles *self,
             char            *warning)
{
  g_ptr_array_index (self->warnings, self->warnings->len - 1) = warning;
  g_ptr_array_add (self->warnings, NULL);
}

/* Only SAEs without thresholds: a threshold is their typical unit. */
static void
load_typical (FsSteeringFiles *self,
              FsSaeSet        *set,
              const char      *path)
{
  g_autoptr(GArray) items = g_array_new (FALSE, FALSE, sizeof (FsTypicalActivation));
  g_autoptr(GError) error = NULL;

  for (guint s = 0; s < fs_sae_set_get_n_saes (set); s++)
    {
      FsSae *sae = fs_sae_set_get_nth (set, s);

      if (!fs_sae_set_is_selected (set, s) || fs_sae_get_threshold (sae) != NULL)
        continue;
      for (gint64 i = 0; i < fs_sae_get_d_sae (sae); i++)
        {
          FsTypicalActivation item = { sae, i, NAN, 0 };

          g_array_append_val (items, item);
        }
    }
  if (items->len == 0)
    return;
  if (!fs_typical_from_feature_stats (path, (FsTypicalActivation *) items->data, items->len, &error))
    {
      add_warning (self, g_strdup_printf (_("Typical activations not loaded: %s"), error->message));
      return;
    }

  for (guint i = 0; i < items->len; i++)
    {
      const FsTypicalActivation *item = &g_array_index (items, FsTypicalActivation, i);
      float *means = g_hash_table_lookup (self->typical, item->sae);

      if (isnan (item->mean))
        continue;
      if (means == NULL)
        {
          means = g_new (float, fs_sae_get_d_sae (item->sae));
          for (gint64 j = 0; j < fs_sae_get_d_sae (item->sae); j++)
            means[j] = NAN;
          g_hash_table_insert (self->typical, item->sae, means);
        }
      means[item->index] = item->mean;
    }
}

FsSteeringFiles *
fs_steering_files_load (FsSaeSet           *set,
                        const char * const *sae_paths)
{
  FsSteeringFiles *self = g_atomic_rc_box_new0 (FsSteeringFiles);
  g_autofree char *classifier_path = fs_sae_set_find_file (sae_paths, "theme-classifier.json");
  g_autofree char *stats_path = fs_sae_set_find_file (sae_paths, "feature-stats.json");

  g_return_val_if_fail (set != NULL, NULL);

  self->typical = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);

  if (classifier_path != NULL)
    {
      g_autoptr(GError) error = NULL;

      self->classifier = fs_theme_classifier_load (classifier_path, &error);
      if (self->classifier == NULL)
        add_warning (self, g_strdup_printf (_("Theme classifier not loaded: %s"), error->message));
    }
  if (stats_path != NULL)
    load_typical (self, set, stats_path);

  return self;
}

FsSteeringFiles *
fs_steering_files_ref (FsSteeringFiles *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

static void
fs_steering_files_clear (gpointer data)
{
  FsSteeringFiles *self = data;

  g_clear_pointer (&self->classifier, fs_theme_classifier_free);
  g_hash_table_unref (self->typical);
  g_ptr_array_unref (self->warnings);
}

void
fs_steering_files_unref (FsSteeringFiles *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, fs_steering_files_clear);
}

FsThemeClassifier *
fs_steering_files_get_classifier (FsSteeringFiles *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->classifier;
}

double
fs_steering_files_get_typical (FsSteeringFiles *self,
                               FsSae           *sae,
                               gint64           index)
{
  const float *means;

  g_return_val_if_fail (self != NULL, NAN);

  means = g_hash_table_lookup (self->typical, sae);
  if (means == NULL || index < 0 || index >= fs_sae_get_d_sae (sae))
    return NAN;
  return means[index];
}

gboolean
fs_steering_files_has_typical (FsSteeringFiles *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return g_hash_table_size (self->typical) > 0;
}

const char * const *
fs_steering_files_get_warnings (FsSteeringFiles *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char * const *) self->warnings->pdata;
}
