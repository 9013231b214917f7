/* labels.c: Neuronpedia explanation exports, read with cJSON. */
#include "labels.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "tensor.h"

/* Larger inputs (or gzip data inflating to more) are not label exports:
 * every Gemma Scope 2B explanation together is a few hundred MB. */
#define MAX_LABELS_SIZE (2 * (gsize) 1024 * 1024 * 1024)
#define GUNZIP_MIN_ROOM (64 * 1024)
/* Sources named in an error, before "…". */
#define MAX_NAMED 3

/* The labels of one Neuronpedia source, that is of one SAE. */
typedef struct {
  const char *model_id;  /* "" when the export does not say */
  const char *layer;
  GArray     *labels;    /* FsLabel, by index once loaded */
} Source;

struct _FsLabels {
  gatomicrefcount  ref_count;
  char            *path;
  GStringChunk    *strings;
  GPtrArray       *sources;    /* Source, in order of first appearance */
  GHashTable      *by_source;  /* "modelId/layer" -> Source */
  GHashTable      *by_layer;   /* "layer" -> the first Source with it */
  guint            n_labels;
};

typedef struct {
  FsLabels     *labels;
  Source       *last;        /* exports come grouped by source: a one-entry cache */
  guint         n_items;     /* explanation objects read */
  GCancellable *cancellable;
} Parser;

static void
source_free (gpointer data)
{
  Source *source = data;
  g_array_unref (source->labels);
  g_free (source);
}

static FsLabels *
labels_new (const char *path)
{
  FsLabels *self = g_new0 (FsLabels, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->strings = g_string_chunk_new (64 * 1024);
  self->sources = g_ptr_array_new_with_free_func (source_free);
  /* Keys live in `strings`. */
  self->by_source = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_layer = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
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
  g_ptr_array_unref (labels->sources);
  g_string_chunk_free (labels->strings);
  g_free (labels->path);
  g_free (labels);
}

/* ------------------------------------------------------------ parsing */

static Source *
intern_source (FsLabels *self, const char *model_id, const char *layer)
{
  g_autofree char *key = g_strconcat (model_id, "/", layer, NULL);
  Source *source = g_hash_table_lookup (self->by_source, key);

  if (source != NULL)
    return source;
  source = g_new0 (Source, 1);
  source->model_id = g_string_chunk_insert_const (self->strings, model_id);
  source->layer = g_string_chunk_insert_const (self->strings, layer);
  source->labels = g_array_new (FALSE, FALSE, sizeof (FsLabel));
  g_ptr_array_add (self->sources, source);
  g_hash_table_insert (self->by_source, g_string_chunk_insert (self->strings, key), source);
  if (!g_hash_table_contains (self->by_layer, source->layer))
    g_hash_table_insert (self->by_layer, (char *) source->layer, source);
  return source;
}

static const char *
string_member (const cJSON *item, const char *name)
{
  const cJSON *member = cJSON_GetObjectItemCaseSensitive (item, name);
  return cJSON_IsString (member) ? member->valuestring : NULL;
}

/* "index" is a string in Neuronpedia's exports and a number in some tools'. */
static gboolean
parse_index (const cJSON *member, int64_t *out)
{
  guint64 value;

  if (!cJSON_IsString (member))
    return fs_json_integer_in (member, 0, G_MAXINT64, out);
  if (!g_ascii_string_to_unsigned (member->valuestring, 10, 0, G_MAXINT64, &value, NULL))
    return FALSE;
  *out = (int64_t) value;
  return TRUE;
}

/* One explanation, `unit` `number` of the file ("line 3"). Explanations
 * without a layer, an index or a description are skipped (Neuronpedia has
 * a few); an index that is there but is no feature index means the file is
 * something else. */
static gboolean
add_explanation (Parser *p, const cJSON *item, const char *unit, guint number, GError **error)
{
  FsLabels *self = p->labels;
  const char *model_id, *layer, *description;
  const cJSON *index;
  FsLabel label;

  if (!cJSON_IsObject (item))
    return fs_fail (error, FS_ERROR_INVALID, self->path, "%s %u is not a JSON object", unit,
                    number);
  if ((++p->n_items & 0xFFF) == 0 && g_cancellable_set_error_if_cancelled (p->cancellable, error))
    return FALSE;

  layer = string_member (item, "layer");
  description = string_member (item, "description");
  index = cJSON_GetObjectItemCaseSensitive (item, "index");
  if (layer == NULL || description == NULL || index == NULL || cJSON_IsNull (index))
    return TRUE;
  if (!parse_index (index, &label.index))
    return fs_fail (error, FS_ERROR_INVALID, self->path,
                    "%s %u: “index” is not a feature index (a whole number from 0)", unit,
                    number);
  model_id = string_member (item, "modelId");
  if (model_id == NULL)
    model_id = "";

  if (p->last == NULL || strcmp (p->last->layer, layer) != 0
      || strcmp (p->last->model_id, model_id) != 0)
    p->last = intern_source (self, model_id, layer);
  label.description = g_string_chunk_insert (self->strings, description);
  g_array_append_val (p->last->labels, label);
  return TRUE;
}

static gsize
skip_space (const char *text, gsize length, gsize at)
{
  while (at < length && g_ascii_isspace (text[at]))
    at++;
  return at;
}

/* 1-based line of byte `offset`, so that people can find the problem. */
static guint
line_of (const char *text, gsize offset)
{
  guint line = 1;

  for (const char *p = text; (p = memchr (p, '\n', offset - (gsize) (p - text))) != NULL; p++)
    line++;
  return line;
}

static gboolean
parse_array (Parser *p, const cJSON *array, GError **error)
{
  const cJSON *item;
  guint number = 0;

  cJSON_ArrayForEach (item, array)
    if (!add_explanation (p, item, "explanation", ++number, error))
      return FALSE;
  return TRUE;
}

/* JSON Lines, one explanation a line: Neuronpedia's bulk exports. */
static gboolean
parse_lines (Parser *p, const char *text, gsize length, GError **error)
{
  guint line = 0;

  for (gsize at = 0; at < length; line++)
    {
      const char *newline = memchr (text + at, '\n', length - at);
      gsize line_end = newline != NULL ? (gsize) (newline - text) : length;
      gsize start = skip_space (text, line_end, at);
      const char *end = NULL;
      g_autoptr(cJSON) item = NULL;

      at = line_end + 1;
      if (start == line_end)
        continue;
      item = cJSON_ParseWithLengthOpts (text + start, line_end - start, &end, FALSE);
      if (item == NULL)
        return fs_fail (error, FS_ERROR_INVALID, p->labels->path, "line %u: not valid JSON",
                        line + 1);
      if (skip_space (text, line_end, (gsize) (end - text)) < line_end)
        return fs_fail (error, FS_ERROR_INVALID, p->labels->path,
                        "line %u: more than one JSON value", line + 1);
      if (!add_explanation (p, item, "line", line + 1, error))
        return FALSE;
    }
  return TRUE;
}

/* A JSON array of explanations, an object holding one under
 * "explanations", or JSON Lines (an object followed by more). */
static gboolean
parse_text (Parser *p, const char *text, gsize length, GError **error)
{
  const char *path = p->labels->path;
  g_autoptr(cJSON) root = NULL;
  const cJSON *array;
  const char *end = NULL;
  gsize start;

  if (length == 0 || (start = skip_space (text, length, 0)) == length)
    return fs_fail (error, FS_ERROR_INVALID, path, "empty, not a labels export");
  if (!g_utf8_validate_len (text, length, NULL))
    return fs_fail (error, FS_ERROR_INVALID, path, "not UTF-8 text");
  if (text[start] != '[' && text[start] != '{')
    return fs_fail (error, FS_ERROR_INVALID, path,
                    "not a Neuronpedia explanations export (a JSON array, an object or "
                    "JSON Lines)");

  root = cJSON_ParseWithLengthOpts (text + start, length - start, &end, FALSE);
  if (root == NULL)
    {
      gsize offset = end != NULL && end >= text + start ? (gsize) (end - text) : start;
      return fs_fail (error, FS_ERROR_INVALID, path, "not valid JSON (line %u)",
                      line_of (text, MIN (offset, length)));
    }
  if (skip_space (text, length, (gsize) (end - text)) < length)
    {
      if (cJSON_IsObject (root))
        return parse_lines (p, text, length, error);
      return fs_fail (error, FS_ERROR_INVALID, path, "text follows the JSON array (line %u)",
                      line_of (text, (gsize) (end - text)));
    }
  if (cJSON_IsArray (root))
    return parse_array (p, root, error);

  array = cJSON_GetObjectItemCaseSensitive (root, "explanations");
  if (array == NULL)
    return add_explanation (p, root, "line", 1, error);  /* JSON Lines of one line */
  if (!cJSON_IsArray (array))
    return fs_fail (error, FS_ERROR_INVALID, path, "“explanations” is not an array");
  return parse_array (p, array, error);
}

static gboolean
is_gzip (const guint8 *data, gsize size)
{
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/* Inflates gzip data of unknown inflated size, up to MAX_LABELS_SIZE. */
static GBytes *
gunzip (const char *where, const guint8 *in, gsize in_size, GError **error)
{
  g_autoptr(GZlibDecompressor) inflater =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize n_in = 0, n_out = 0;
  GConverterResult result;

  do
    {
      g_autoptr(GError) local_error = NULL;
      gsize n_read = 0, n_written = 0;

      if (out->len - n_out < GUNZIP_MIN_ROOM && out->len <= MAX_LABELS_SIZE)
        g_byte_array_set_size (out, (guint) MIN (MAX (2 * (gsize) out->len, 16 * GUNZIP_MIN_ROOM),
                                                 MAX_LABELS_SIZE + 1));
      result = g_converter_convert (G_CONVERTER (inflater), in + n_in, in_size - n_in,
                                    out->data + n_out, out->len - n_out,
                                    G_CONVERTER_INPUT_AT_END, &n_read, &n_written,
                                    &local_error);
      if (result == G_CONVERTER_ERROR)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            fs_fail (error, FS_ERROR_INVALID, where, "gzip data ends early");
          else
            fs_fail (error, FS_ERROR_INVALID, where, "gzip data is corrupt: %s",
                     local_error->message);
          return NULL;
        }
      n_in += n_read;
      n_out += n_written;
      if (n_out > MAX_LABELS_SIZE)
        {
          fs_fail (error, FS_ERROR_UNSUPPORTED, where,
                   "gzip data inflates to more than 2 GiB, too large for a labels file");
          return NULL;
        }
      if (result != G_CONVERTER_FINISHED && n_read == 0 && n_written == 0)
        {
          fs_fail (error, FS_ERROR_INVALID, where, "gzip data makes no progress");
          return NULL;
        }
    }
  while (result != G_CONVERTER_FINISHED);

  if (n_in != in_size)
    {
      fs_fail (error, FS_ERROR_INVALID, where, "%" G_GSIZE_FORMAT " bytes follow the gzip data",
               in_size - n_in);
      return NULL;
    }
  g_byte_array_set_size (out, (guint) n_out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static int
compare_index (gconstpointer a, gconstpointer b, gpointer unused)
{
  const FsLabel *x = a, *y = b;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorts each source by index and keeps the first label of each feature:
 * the sort is stable, so that is the first in the file. */
static void
finish (FsLabels *self)
{
  for (guint s = 0; s < self->sources->len; s++)
    {
      GArray *labels = ((Source *) g_ptr_array_index (self->sources, s))->labels;
      FsLabel *all = (FsLabel *) labels->data;
      guint kept = 0;

      g_array_sort_with_data (labels, compare_index, NULL);
      for (guint i = 0; i < labels->len; i++)
        if (kept == 0 || all[kept - 1].index != all[i].index)
          all[kept++] = all[i];
      g_array_set_size (labels, kept);
      self->n_labels += kept;
    }
}

FsLabels *
fs_labels_new_from_data (const char *where, const void *data, gsize size,
                         GCancellable *cancellable, GError **error)
{
  g_autoptr(GBytes) inflated = NULL;
  g_autoptr(FsLabels) self = NULL;
  Parser parser = { 0 };

  g_return_val_if_fail (where != NULL, NULL);
  g_return_val_if_fail (data != NULL || size == 0, NULL);

  if (size > MAX_LABELS_SIZE)
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, where, "larger than 2 GiB, too large for a labels file");
      return NULL;
    }
  if (is_gzip (data, size))
    {
      inflated = gunzip (where, data, size, error);
      if (inflated == NULL)
        return NULL;
      data = g_bytes_get_data (inflated, &size);
    }

  self = labels_new (where);
  parser.labels = self;
  parser.cancellable = cancellable;
  if (!parse_text (&parser, data, size, error))
    return NULL;
  if (parser.n_items == 0)
    {
      fs_fail (error, FS_ERROR_INVALID, where, "holds no explanations");
      return NULL;
    }
  finish (self);
  if (self->n_labels == 0)
    {
      fs_fail (error, FS_ERROR_INVALID, where,
               "not a Neuronpedia explanations export: no explanation has a “layer”, an "
               "“index” and a “description”");
      return NULL;
    }
  return g_steal_pointer (&self);
}

FsLabels *
fs_labels_load (const char *path, GCancellable *cancellable, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  const void *data;
  gsize size;

  g_return_val_if_fail (path != NULL, NULL);

  bytes = fs_map_file (path, error);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &size);
  return fs_labels_new_from_data (path, data, size, cancellable, error);
}

/* ------------------------------------------------------------ lookups */

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
  return labels->n_labels;
}

static const char *
source_lookup (const Source *source, int64_t index)
{
  const FsLabel *all = (const FsLabel *) source->labels->data;
  guint lo = 0, hi = source->labels->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (all[mid].index < index)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < source->labels->len && all[lo].index == index ? all[lo].description : NULL;
}

const char *
fs_labels_lookup (FsLabels *labels, const char *source, int64_t index)
{
  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (source != NULL, NULL);

  const Source *found = g_hash_table_lookup (labels->by_source, source);
  return found != NULL ? source_lookup (found, index) : NULL;
}

const char *
fs_labels_lookup_layer (FsLabels *labels, const char *layer, int64_t index)
{
  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  const Source *found = g_hash_table_lookup (labels->by_layer, layer);
  return found != NULL ? source_lookup (found, index) : NULL;
}

/* An SAE's source: its Neuronpedia id, else its folder name as the layer. */
static const Source *
source_for_sae (FsLabels *labels, FsSae *sae)
{
  const char *np_id = fs_sae_get_neuronpedia_id (sae);
  const Source *found;

  if (np_id != NULL && (found = g_hash_table_lookup (labels->by_source, np_id)) != NULL)
    return found;
  g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));
  return g_hash_table_lookup (labels->by_layer, folder);
}

const char *
fs_labels_lookup_sae (FsLabels *labels, FsSae *sae, int64_t index)
{
  g_return_val_if_fail (labels != NULL, NULL);
  g_return_val_if_fail (sae != NULL, NULL);

  const Source *found = source_for_sae (labels, sae);
  return found != NULL ? source_lookup (found, index) : NULL;
}

/* Whether `haystack` contains `needle`, ignoring ASCII case. */
static gboolean
contains_caseless (const char *haystack, const char *needle, gsize needle_length)
{
  char first = g_ascii_tolower (needle[0]);

  for (const char *h = haystack; *h != '\0'; h++)
    if (g_ascii_tolower (*h) == first && g_ascii_strncasecmp (h, needle, needle_length) == 0)
      return TRUE;
  return FALSE;
}

guint
fs_labels_search (FsLabels *labels, FsSae *sae, const char *text, const FsLabel **hits,
                  guint max_hits, GCancellable *cancellable)
{
  const Source *source;
  gsize text_length;
  guint n = 0;

  g_return_val_if_fail (labels != NULL, 0);
  g_return_val_if_fail (sae != NULL, 0);
  g_return_val_if_fail (text != NULL, 0);
  g_return_val_if_fail (hits != NULL || max_hits == 0, 0);

  text_length = strlen (text);
  source = source_for_sae (labels, sae);
  if (source == NULL || text_length == 0)
    return 0;
  for (guint i = 0; i < source->labels->len && n < max_hits; i++)
    {
      const FsLabel *label = &g_array_index (source->labels, FsLabel, i);

      if ((i & 0x3FFF) == 0 && g_cancellable_is_cancelled (cancellable))
        break;
      if (contains_caseless (label->description, text, text_length))
        hits[n++] = label;
    }
  return n;
}

static void
append_name (GString *names, guint position, const char *name)
{
  if (position < MAX_NAMED)
    g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", name);
  else if (position == MAX_NAMED)
    g_string_append (names, ", …");
}

gboolean
fs_labels_check_set (FsLabels *labels, FsSaeSet *set, GError **error)
{
  g_autoptr(GString) theirs = g_string_new (NULL);
  g_autoptr(GString) ours = g_string_new (NULL);
  guint n_ours = 0;

  g_return_val_if_fail (labels != NULL, FALSE);
  g_return_val_if_fail (set != NULL, FALSE);

  for (guint i = 0; i < fs_sae_set_get_n_saes (set); i++)
    {
      FsSae *sae = fs_sae_set_get_nth (set, i);
      const char *np_id = fs_sae_get_neuronpedia_id (sae);
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));

      if (!fs_sae_set_is_selected (set, i))
        continue;
      if (source_for_sae (labels, sae) != NULL)
        return TRUE;
      append_name (ours, n_ours++, np_id != NULL ? np_id : folder);
    }
  for (guint s = 0; s < labels->sources->len; s++)
    {
      const Source *source = g_ptr_array_index (labels->sources, s);
      g_autofree char *name = source->model_id[0] != '\0'
                              ? g_strconcat (source->model_id, "/", source->layer, NULL)
                              : g_strdup (source->layer);
      append_name (theirs, s, name);
    }

  return fs_fail (error, FS_ERROR_INVALID, labels->path,
                  "its labels are for other SAEs (%s) than those open (%s)", theirs->str,
                  n_ours > 0 ? ours->str : "none");
}

char *
fs_labels_find (const char * const *sae_paths)
{
  return fs_sae_set_find_file (sae_paths, "labels.json");
}
