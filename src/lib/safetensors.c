/* safetensors.c: reads safetensors files in place from a memory mapping.
 *
 * Layout: u64 little-endian N, N bytes of UTF-8 JSON, then the data buffer.
 * Every check the reference reader makes is done here, before any view is
 * built, so a view can never reach outside the mapping.
 */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"

/* The reference reader's limit; larger headers are refused, not parsed. */
#define HEADER_MAX G_GUINT64_CONSTANT (100000000)
/* cJSON keeps numbers as doubles: below 2^53 every integer is exact. */
#define EXACT_INT_LIMIT 9007199254740992.0
#define METADATA_KEY "__metadata__"


typedef struct {
  const char *name;       /* borrowed from the cJSON tree */
  FsDtype dtype;
  int n_dims;
  int64_t shape[FS_TENSOR_MAX_DIMS];
  uint64_t begin;
  uint64_t end;
} Entry;

/* A JSON number that is an exact, non-negative integer. */
static gboolean
json_to_uint (const cJSON *item, uint64_t *out)
{
  if (!cJSON_IsNumber (item))
    return FALSE;
  double value = item->valuedouble;
  /* The comparisons are false for NaN, so it is refused too. */
  if (!(value >= 0.0 && value < EXACT_INT_LIMIT) || value != (double) (uint64_t) value)
    return FALSE;
  *out = (uint64_t) value;
  return TRUE;
}

/* Only the four whitespace characters JSON allows may follow the object
 * (writers pad the header with spaces to align the data). */
static gboolean
only_json_space (const char *text)
{
  for (; *text != '\0'; text++)
    if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r')
      return FALSE;
  return TRUE;
}

/* Parses `length` bytes of UTF-8 JSON that must be one object. */
static cJSON *
parse_json_object (const char *path, const char *what, const char *text, size_t length,
                   GError **error)
{
  /* Also refuses NUL bytes, so the copy below is the whole text. */
  if (!g_utf8_validate_len (text, length, NULL))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "%s is not valid UTF-8", what);
      return NULL;
    }
  /* A terminated copy: cJSON never has to be trusted with a length. */
  g_autofree char *copy = g_strndup (text, length);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts (copy, &end, FALSE);
  if (root == NULL)
    {
      fs_fail (error, FS_ERROR_INVALID, path, "%s is not valid JSON (error at byte %td)",
            what, end != NULL ? end - copy : (ptrdiff_t) 0);
      return NULL;
    }
  if (!only_json_space (end))
    {
      fs_fail (error, FS_ERROR_INVALID, path,
            "%s is not valid JSON (unexpected content at byte %td)", what, end - copy);
      cJSON_Delete (root);
      return NULL;
    }
  if (!cJSON_IsObject (root))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "%s is not a JSON object", what);
      cJSON_Delete (root);
      return NULL;
    }
  return root;
}

/* Finds the header and the data buffer that follows it. */
static gboolean
split_file (const char *path, const uint8_t *bytes, size_t size, const char **header,
            size_t *header_length, GError **error)
{
  if (size < 8)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "file is %zu bytes, shorter than 8 bytes (not a safetensors file)", size);

  uint64_t n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | bytes[i];
  if (n > HEADER_MAX)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "header length %" G_GUINT64_FORMAT " exceeds the limit of %" G_GUINT64_FORMAT,
                 n, HEADER_MAX);
  if (n > size - 8)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "header length %" G_GUINT64_FORMAT " runs past the end of the file (%zu bytes)",
                 n, size);

  *header = (const char *) bytes + 8;
  *header_length = (size_t) n;
  return TRUE;
}

static gboolean
parse_metadata (const char *path, const cJSON *item, GHashTable *metadata, GError **error)
{
  /* The reference reader takes a null __metadata__ as none at all. */
  if (cJSON_IsNull (item))
    return TRUE;
  if (!cJSON_IsObject (item))
    return fs_fail (error, FS_ERROR_INVALID, path, METADATA_KEY " is not a JSON object");

  const cJSON *child;
  cJSON_ArrayForEach (child, item)
    {
      if (!cJSON_IsString (child))
        return fs_fail (error, FS_ERROR_INVALID, path,
                     METADATA_KEY " value of “%s” is not a string", child->string);
      g_hash_table_replace (metadata, g_strdup (child->string), g_strdup (child->valuestring));
    }
  return TRUE;
}

static gboolean
parse_dtype (const char *path, const cJSON *entry, Entry *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (entry, "dtype");
  if (!cJSON_IsString (item))
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "tensor “%s”: dtype is missing or not a string", out->name);
  if (!fs_dtype_from_name (item->valuestring, &out->dtype))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, path, "tensor “%s”: unsupported dtype %s",
                 out->name, item->valuestring);
  return TRUE;
}

static gboolean
parse_shape (const char *path, const cJSON *entry, Entry *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (entry, "shape");
  if (!cJSON_IsArray (item))
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "tensor “%s”: shape is missing or not a list", out->name);

  int n_dims = cJSON_GetArraySize (item);
  if (n_dims > FS_TENSOR_MAX_DIMS)
    return fs_fail (error, FS_ERROR_UNSUPPORTED, path,
                 "tensor “%s” has %d dimensions (at most %d are supported)",
                 out->name, n_dims, FS_TENSOR_MAX_DIMS);

  const cJSON *dim;
  int i = 0;
  cJSON_ArrayForEach (dim, item)
    {
      uint64_t value;
      if (!json_to_uint (dim, &value))
        return fs_fail (error, FS_ERROR_INVALID, path,
                     "tensor “%s”: shape is not a list of non-negative integers", out->name);
      out->shape[i++] = (int64_t) value;
    }
  out->n_dims = n_dims;
  return TRUE;
}

static gboolean
parse_offsets (const char *path, const cJSON *entry, Entry *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (entry, "data_offsets");
  if (!cJSON_IsArray (item) || cJSON_GetArraySize (item) != 2
      || !json_to_uint (cJSON_GetArrayItem (item, 0), &out->begin)
      || !json_to_uint (cJSON_GetArrayItem (item, 1), &out->end))
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "tensor “%s”: data_offsets is missing or not two non-negative integers",
                 out->name);
  if (out->begin > out->end)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "tensor “%s”: data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] end before they begin", out->name, out->begin, out->end);
  return TRUE;
}

/* The byte count must match the shape exactly. */
static gboolean
check_size (const char *path, const Entry *entry, GError **error)
{
  int64_t n_elements;
  size_t n_bytes;
  g_autofree char *shape = fs_shape_to_string (entry->n_dims, entry->shape);

  if (!fs_shape_product (entry->n_dims, entry->shape, fs_dtype_size (entry->dtype),
                         &n_elements, &n_bytes))
    return fs_fail (error, FS_ERROR_INVALID, path, "tensor “%s”: shape %s overflows",
                 entry->name, shape);
  if ((uint64_t) n_bytes != entry->end - entry->begin)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "tensor “%s”: data_offsets hold %" G_GUINT64_FORMAT
                 " bytes but %s %s needs %zu",
                 entry->name, entry->end - entry->begin, fs_dtype_name (entry->dtype),
                 shape, n_bytes);
  return TRUE;
}

static gboolean
parse_entry (const char *path, const cJSON *item, Entry *out, GError **error)
{
  out->name = item->string;
  if (!cJSON_IsObject (item))
    return fs_fail (error, FS_ERROR_INVALID, path, "tensor “%s”: entry is not a JSON object",
                 out->name);
  return parse_dtype (path, item, out, error)
         && parse_shape (path, item, out, error)
         && parse_offsets (path, item, out, error)
         && check_size (path, out, error);
}

static int
compare_offsets (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(const Entry *const *) a;
  const Entry *y = *(const Entry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* Sorted by offset, the tensors must tile the data buffer exactly: from 0,
 * no holes, no overlaps, nothing after the last one. */
static gboolean
check_layout (const char *path, const Entry *entries, guint n_entries, size_t data_length,
              GError **error)
{
  g_autofree const Entry **sorted = g_new (const Entry *, n_entries + 1);
  for (guint i = 0; i < n_entries; i++)
    sorted[i] = &entries[i];
  qsort (sorted, n_entries, sizeof *sorted, compare_offsets);

  uint64_t expected = 0;
  for (guint i = 0; i < n_entries; i++)
    {
      const Entry *entry = sorted[i];
      if (i == 0 && entry->begin != 0)
        return fs_fail (error, FS_ERROR_INVALID, path,
                     "tensor “%s” starts at offset %" G_GUINT64_FORMAT
                     " but the first tensor must start at 0", entry->name, entry->begin);
      if (entry->begin > expected)
        return fs_fail (error, FS_ERROR_INVALID, path,
                     "tensor “%s” starts at offset %" G_GUINT64_FORMAT
                     ", leaving a hole after “%s” which ends at %" G_GUINT64_FORMAT,
                     entry->name, entry->begin, sorted[i - 1]->name, expected);
      if (entry->begin < expected)
        return fs_fail (error, FS_ERROR_INVALID, path,
                     "tensor “%s” starts at offset %" G_GUINT64_FORMAT
                     ", overlapping “%s” which ends at %" G_GUINT64_FORMAT,
                     entry->name, entry->begin, sorted[i - 1]->name, expected);
      expected = entry->end;
    }

  if (expected != (uint64_t) data_length)
    return fs_fail (error, FS_ERROR_INVALID, path,
                 "data buffer is %zu bytes but the tensors end at %" G_GUINT64_FORMAT " (%s)",
                 data_length, expected,
                 expected < data_length ? "trailing bytes" : "file too short for the offsets");
  return TRUE;
}

/* Reads every header entry into `entries` (tensors) and `file` (metadata). */
static gboolean
parse_entries (const char *path, const cJSON *root, GArray *entries, FsTensorFile *file,
               GError **error)
{
  /* cJSON keeps repeated keys; the format does not allow them. */
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  const cJSON *item;

  cJSON_ArrayForEach (item, root)
    {
      if (!g_hash_table_add (seen, item->string))
        return fs_fail (error, FS_ERROR_INVALID, path, "duplicate tensor name “%s” in the header",
                     item->string);
      if (strcmp (item->string, METADATA_KEY) == 0)
        {
          if (!parse_metadata (path, item, fs_tensor_file_get_metadata (file), error))
            return FALSE;
          continue;
        }
      Entry entry = { 0 };
      if (!parse_entry (path, item, &entry, error))
        return FALSE;
      g_array_append_val (entries, entry);
    }
  return TRUE;
}

FsTensorFile *
fs_safetensors_parse (const char *path, GBytes *bytes, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  size_t size = 0;
  const uint8_t *base = g_bytes_get_data (bytes, &size);
  const char *header = NULL;
  size_t header_length = 0;
  if (!split_file (path, base, size, &header, &header_length, error))
    return NULL;

  g_autoptr(cJSON) root = parse_json_object (path, "header", header, header_length, error);
  if (root == NULL)
    return NULL;

  g_autoptr(FsTensorFile) file = fs_tensor_file_new (path);
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  const uint8_t *data = base + 8 + header_length;
  size_t data_length = size - 8 - header_length;
  if (!parse_entries (path, root, entries, file, error)
      || !check_layout (path, (const Entry *) entries->data, entries->len, data_length, error))
    return NULL;

  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = &g_array_index (entries, Entry, i);
      FsTensor *tensor = fs_tensor_new_view (path, entry->name, entry->dtype, entry->n_dims,
                                             entry->shape, bytes, data + entry->begin,
                                             (size_t) (entry->end - entry->begin), error);
      if (tensor == NULL)
        return NULL;
      fs_tensor_file_add (file, tensor);
    }
  return g_steal_pointer (&file);
}

FsTensorFile *
fs_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GBytes) bytes = fs_map_file (path, error);
  if (bytes == NULL)
    return NULL;
  return fs_safetensors_parse (path, bytes, error);
}

/* Sharded checkpoints: model.safetensors.index.json */

static cJSON *
read_index (const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, FS_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? FS_ERROR_NOT_FOUND : FS_ERROR_IO,
                   "%s: %s", path, local_error->message);
      return NULL;
    }
  return parse_json_object (path, "index", text, length, error);
}

/* The index's own "metadata" (usually {"total_size": N}): strings as they
 * are, integers as decimal text, anything else skipped. */
static void
copy_index_metadata (const cJSON *metadata, GHashTable *out)
{
  const cJSON *item;
  cJSON_ArrayForEach (item, metadata)
    {
      uint64_t value;
      if (cJSON_IsString (item))
        g_hash_table_replace (out, g_strdup (item->string), g_strdup (item->valuestring));
      else if (json_to_uint (item, &value))
        g_hash_table_replace (out, g_strdup (item->string),
                              g_strdup_printf ("%" G_GUINT64_FORMAT, value));
    }
}

/* Shards must sit next to the index: no folders, no way up. */
static gboolean
is_plain_file_name (const char *name)
{
  return name[0] != '\0' && strchr (name, '/') == NULL
         && strcmp (name, ".") != 0 && strcmp (name, "..") != 0;
}

/* Opens each shard once; `shards` maps shard name -> FsTensorFile. */
static FsTensorFile *
get_shard (const char *index_path, const char *folder, GHashTable *shards,
           const char *shard_name, GError **error)
{
  FsTensorFile *shard = g_hash_table_lookup (shards, shard_name);
  if (shard != NULL)
    return shard;

  if (!is_plain_file_name (shard_name))
    {
      fs_fail (error, FS_ERROR_INVALID, index_path,
            "shard name “%s” is not a plain file name in the index's folder", shard_name);
      return NULL;
    }
  g_autofree char *shard_path = g_build_filename (folder, shard_name, NULL);
  shard = fs_safetensors_open (shard_path, error);
  if (shard == NULL)
    {
      /* Name the file the user opened first; the shard's own path follows. */
      g_prefix_error (error, "%s: ", index_path);
      return NULL;
    }
  g_hash_table_insert (shards, g_strdup (shard_name), shard);
  return shard;
}

/* Adds tensor `name` from its shard to `out`, as a second view of the same bytes. */
static gboolean
add_mapped_tensor (const char *index_path, const char *folder, GHashTable *shards,
                   const cJSON *item, FsTensorFile *out, GError **error)
{
  const char *name = item->string;
  if (!cJSON_IsString (item))
    return fs_fail (error, FS_ERROR_INVALID, index_path,
                 "weight_map entry of “%s” is not a shard file name", name);
  if (fs_tensor_file_lookup (out, name) != NULL)
    return fs_fail (error, FS_ERROR_INVALID, index_path,
                 "duplicate tensor name “%s” in weight_map", name);

  FsTensorFile *shard = get_shard (index_path, folder, shards, item->valuestring, error);
  if (shard == NULL)
    return FALSE;
  const FsTensor *tensor = fs_tensor_file_lookup (shard, name);
  if (tensor == NULL)
    return fs_fail (error, FS_ERROR_NOT_FOUND, index_path,
                 "tensor “%s” is missing from its shard %s", name, item->valuestring);

  FsTensor *copy = fs_tensor_new_view (index_path, name, tensor->dtype, tensor->n_dims,
                                       tensor->shape, tensor->storage, tensor->data,
                                       tensor->n_bytes, error);
  if (copy == NULL)
    return FALSE;
  fs_tensor_file_add (out, copy);
  return TRUE;
}

FsTensorFile *
fs_safetensors_open_index (const char *index_path, GError **error)
{
  g_return_val_if_fail (index_path != NULL, NULL);

  g_autoptr(cJSON) root = read_index (index_path, error);
  if (root == NULL)
    return NULL;

  const cJSON *weight_map = cJSON_GetObjectItemCaseSensitive (root, "weight_map");
  if (!cJSON_IsObject (weight_map))
    {
      fs_fail (error, FS_ERROR_INVALID, index_path, "weight_map is missing or not a JSON object");
      return NULL;
    }

  g_autoptr(FsTensorFile) out = fs_tensor_file_new (index_path);
  const cJSON *metadata = cJSON_GetObjectItemCaseSensitive (root, "metadata");
  if (cJSON_IsObject (metadata))
    copy_index_metadata (metadata, fs_tensor_file_get_metadata (out));

  g_autofree char *folder = g_path_get_dirname (index_path);
  g_autoptr(GHashTable) shards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) fs_tensor_file_unref);
  const cJSON *item;
  cJSON_ArrayForEach (item, weight_map)
    if (!add_mapped_tensor (index_path, folder, shards, item, out, error))
      return NULL;
  return g_steal_pointer (&out);
}
