#include "json-util.h"

#include <math.h>

#include "fs-error.h"

cJSON *
fs_json_parse (const char *path, const char *text, gsize length, GError **error)
{
  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: not UTF-8 text", path);
      return NULL;
    }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts (text, length, &end, FALSE);
  if (root == NULL)
    {
      gsize offset = end != NULL && end >= text ? (gsize) (end - text) : 0;
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: not valid JSON (near byte %" G_GSIZE_FORMAT ")", path, offset);
    }
  return root;
}

cJSON *
fs_json_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr(GError) local_error = NULL;

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", path, local_error->message);
      return NULL;
    }
  return fs_json_parse (path, text, length, error);
}

gboolean
fs_json_integer_in (const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
  if (!cJSON_IsNumber (item))
    return FALSE;
  double value = item->valuedouble;
  if (!isfinite (value) || value != floor (value) || value < (double) min
      || value > (double) max || fabs (value) > 9007199254740992.0)
    return FALSE;
  *out = (int64_t) value;
  return TRUE;
}

static const cJSON *
member (const cJSON *object, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (object, key);
  return cJSON_IsNull (item) ? NULL : item;
}

gboolean
fs_json_get_int (const char *path, const cJSON *object, const char *key, int64_t min,
                 int64_t max, int64_t *out, GError **error)
{
  const cJSON *item = member (object, key);
  if (item == NULL)
    return TRUE;
  if (!fs_json_integer_in (item, min, max, out))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: “%s” must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                   path, key, min, max);
      return FALSE;
    }
  return TRUE;
}

gboolean
fs_json_get_bool (const char *path, const cJSON *object, const char *key, gboolean *out,
                  GError **error)
{
  const cJSON *item = member (object, key);
  if (item == NULL)
    return TRUE;
  if (!cJSON_IsBool (item))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “%s” must be true or false",
                   path, key);
      return FALSE;
    }
  *out = cJSON_IsTrue (item);
  return TRUE;
}

gboolean
fs_json_get_double (const char *path, const cJSON *object, const char *key, double *out,
                    GError **error)
{
  const cJSON *item = member (object, key);
  if (item == NULL)
    return TRUE;
  if (!cJSON_IsNumber (item) || !isfinite (item->valuedouble))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “%s” must be a finite number",
                   path, key);
      return FALSE;
    }
  *out = item->valuedouble;
  return TRUE;
}

gboolean
fs_json_get_string (const char *path, const cJSON *object, const char *key,
                    const char **out, GError **error)
{
  const cJSON *item = member (object, key);
  if (item == NULL)
    return TRUE;
  if (!cJSON_IsString (item))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: “%s” must be a string", path, key);
      return FALSE;
    }
  *out = item->valuestring;
  return TRUE;
}
