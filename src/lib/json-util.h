/* json-util.h: strict accessors for cJSON documents read from users' files.
 * Every failure sets a GError naming the file and the key. */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Parses `length` bytes (not NUL-terminated) as one JSON document. */
cJSON   *fs_json_parse (const char *path, const char *text, gsize length, GError **error);
/* Reads and parses a whole file. */
cJSON   *fs_json_load (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cJSON, cJSON_Delete)
/* TRUE if `item` is a number holding an integer in [min, max]. */
gboolean fs_json_integer_in (const cJSON *item, int64_t min, int64_t max, int64_t *out);

/* Optional members: absent or null leaves *out unchanged and succeeds. */
gboolean fs_json_get_int (const char *path, const cJSON *object, const char *key,
                          int64_t min, int64_t max, int64_t *out, GError **error);
gboolean fs_json_get_bool (const char *path, const cJSON *object, const char *key,
                           gboolean *out, GError **error);
gboolean fs_json_get_double (const char *path, const cJSON *object, const char *key,
                             double *out, GError **error);
/* *out points into `object` (do not free). */
gboolean fs_json_get_string (const char *path, const cJSON *object, const char *key,
                             const char **out, GError **error);

G_END_DECLS
