/* fs-labels.c: Neuronpedia explanation exports, read with cJSON.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-labels"

#include "config.h"

#include <glib/gi18n.h>
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "fs-error.h"
#include "fs-labels.h"

/* Larger files are not label exports (a Gemma Scope 2B export of every
 * feature is a few hundred MB). */
#define MAX_LABELS_FILE_SIZE (2 * (gsize) 1024 * 1024 * 1024)

struct _FsLabels
{
  gatomicrefcount  ref_count;
  char            *path;
  GStringChunk    *strings;
  GArray          *labels;      /* FsLabel */
  GHashTable      *by_source;   /* "model/layer/index" -> FsLabel index + 1 */
  GHashTable      *by_layer;    /* "layer/index" -> FsLabel index + 1 */
};

static const char *
string_member (const cJSON *item,
               const char  *name)
{
  const cJSON *member = cJSON_GetObjectItemCaseSensitive (item, name);

  return cJSON_IsString (member) ? member->valuestring : NULL;
}

/* "index" is a string in Neuronpedia's exports and a number in some tools'. */
static gboolean
index_member (const cJSON *item,
              gint64      *out)
{
  const cJSON *member = cJSON_GetObjectItemCaseSensitive (item, "index");
  guint64 value;

  if (cJSON_IsString (member))
    {
      if (!g_ascii_string_to_unsigned (member->valuestring, 10, 0, G_MAXINT64, &value, NULL))
        return FALSE;
      *out = (gint64) value;
      return TRUE;
    }
  if (cJSON_IsNumber (member) && member->valuedouble >= 0 && member->valuedouble < 9e15
      && member->valuedouble == (double) (gint64) member->valuedouble)
    {
      *out = (gint64) member->valuedouble;
      return TRUE;
    }

  return FALSE;
}

static void
fs_labels_add (FsLabels    *self,
               const char  *model_id,
               const char  *layer,
               gint64       index,
               const char  *description)
{
  g_autofree char *source_key = g_strdup_printf ("%s/%s/%" G_GINT64_FORMAT, model_id, layer, index);
  g_autofree char *layer_key = g_strdup_printf ("%s/%" G_GINT64_FORMAT, layer, index);
  FsLabel label;
  guint position;

  /* Neuronpedia keeps several explanations per feature; the first wins. */
  if (g_hash_table_contains (self->by_source, source_key))
    return;

  label.model_id = g_string_chunk_insert_const (self->strings, model_id);
  label.layer = g_string_chunk_insert_const (self->strings, layer);
  label.index = index;
  label.description = g_string_chunk_insert (self->strings, description);
  g_array_append_val (self->labels, label);
  position = self->labels->len;

  g_hash_table_insert (self->by_source,
                       g_string_chunk_insert (self->strings, source_key),
                       GUINT_TO_POINTER (position));
  if (!g_hash_table_contains (self->by_layer, layer_key))
    g_hash_table_insert (self->by_layer,
                         g_string_chunk_insert (self->strings, layer_key),
                         GUINT_TO_POINTER (position));
}

static FsLabels *
fs_labels_new (const char *path)
{
  FsLabels *self = g_new0 (FsLabels, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->strings = g_string_chunk_new (64 * 1024);
  self->labels = g_array_new (FALSE, FALSE, sizeof (FsLabel));
  self->by_source = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_layer = g_hash_table_new (g_str_hash, g_str_equal);

  return self;
}

FsLabels *
fs_labels_load (const char    *path,
                GCancellable  *cancellable,
                GError       **error)
{
  g_autoptr(FsLabels) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  const cJSON *array;
  const cJSON *item;
  cJSON *root;
  gsize length;
  guint n = 0;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", path, local_error->message);
      return NULL;
    }
  if (length > MAX_LABELS_FILE_SIZE)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED, "%s: too large for a labels file", path);
      return NULL;
    }

  root = cJSON_ParseWithLength (text, length);
  g_clear_pointer (&text, g_free);
  if (root == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: not valid JSON", path);
      return NULL;
    }

  /* An array of explanations, or an object holding one under "explanations". */
  array = root;
  if (cJSON_IsObject (root))
    array = cJSON_GetObjectItemCaseSensitive (root, "explanations");
  if (!cJSON_IsArray (array))
    {
      cJSON_Delete (root);
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: not a Neuronpedia explanations export (a JSON array of explanations)",
                   path);
      return NULL;
    }

  self = fs_labels_new (path);
  cJSON_ArrayForEach (item, array)
    {
      const char *model_id = string_member (item, "modelId");
      const char *layer = string_member (item, "layer");
      const char *description = string_member (item, "description");
      gint64 index;

      if ((++n & 0xFFF) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          cJSON_Delete (root);
          return NULL;
        }
      if (layer == NULL || description == NULL || !index_member (item, &index))
        continue;
      fs_labels_add (self, model_id != NULL ? model_id : "", layer, index, description);
    }
  cJSON_Delete (root);

  if (self->labels->len == 0 && n > 0)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: no explanation has a layer, an index and a description", path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

FsLabels *
fs_labels_ref (FsLabels *labels)
{
  g_return_val_if_fail (labels != NULL, NULL);

  g_atomic_ref_count_inc (&labels->ref_count);
  return labels;
}

void
fs_labels_unref (FsLabels *labels)
{
  if (labels == NULL || !g_atomic_ref_count_dec (&labels->ref_count))
    return;

  g_hash_table_unref (labels->by_source);
  g_hash_table_unref (labels->by_layer);
  g_array_unref (labels->labels);
  g_string_chunk_free (labels->strings);
  g_free (labels->path);
  g_free (labels);
}

const char *
fs_labels_get_path (FsLabels *labels)
{
  g_return_val_if_fail (labels != NULL, NULL);

  return labels->path;
}

guint
fs_labels_get_n_labels (FsLabels *labels)
{
  g_return_val_if_fail (labels != NULL, 0);

  return labels->labels->len;
}

const FsLabel *
fs_labels_get_nth (FsLabels *labels,
                   guint     index)
{
  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (index < labels->labels->len, NULL);

  return &g_array_index (labels->labels, FsLabel, index);
}

static const char *
lookup (FsLabels   *labels,
        GHashTable *table,
        const char *key)
{
  guint position = GPOINTER_TO_UINT (g_hash_table_lookup (table, key));

  if (position == 0)
    return NULL;

  return g_array_index (labels->labels, FsLabel, position - 1).description;
}

const char *
fs_labels_lookup (FsLabels   *labels,
                  const char *source,
                  gint64      index)
{
  char key[512];

  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);

  if ((gsize) g_snprintf (key, sizeof key, "%s/%" G_GINT64_FORMAT, source, index) >= sizeof key)
    return NULL;

  return lookup (labels, labels->by_source, key);
}

const char *
fs_labels_lookup_layer (FsLabels   *labels,
                        const char *layer,
                        gint64      index)
{
  char key[512];

  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  if ((gsize) g_snprintf (key, sizeof key, "%s/%" G_GINT64_FORMAT, layer, index) >= sizeof key)
    return NULL;

  return lookup (labels, labels->by_layer, key);
}
