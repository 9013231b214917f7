/* npz.c: NumPy .npy arrays and .npz archives (ZIP files of .npy members).
 *
 * Everything read from a file is untrusted: every offset and size is checked
 * against the bytes actually present before it is used, with arithmetic that
 * cannot wrap. Stored members are viewed in place in the caller's GBytes.
 */
#include "npz.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "fs-error.h"

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN     64

#define ZIP_LOCAL_SIG         0x04034b50u
#define ZIP_CENTRAL_SIG       0x02014b50u
#define ZIP_END_SIG           0x06054b50u
#define ZIP64_END_SIG         0x06064b50u
#define ZIP64_LOCATOR_SIG     0x07064b50u
#define ZIP_LOCAL_SIZE        30
#define ZIP_CENTRAL_SIZE      46
#define ZIP_END_SIZE          22
#define ZIP_MAX_COMMENT       65535
#define ZIP64_END_SIZE        56
#define ZIP64_LOCATOR_SIZE    20
#define ZIP64_EXTRA_ID        0x0001
#define ZIP_FLAG_ENCRYPTED    0x0001
#define ZIP_FLAG_STRONG       0x0040
#define ZIP_METHOD_STORED     0
#define ZIP_METHOD_DEFLATE    8
/* Deflate cannot expand its input more than 1032 times, so a larger
 * declared size is a lie that would otherwise cost a huge allocation. */
#define DEFLATE_MAX_RATIO     1032

/* ------------------------------------------------------------------------ */
/* Helpers */

static uint16_t
get_u16 (const uint8_t *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
get_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

static uint64_t
get_u64 (const uint8_t *p)
{
  return get_u32 (p) | (uint64_t) get_u32 (p + 4) << 32;
}

/* Whether [offset, offset + length) fits below `limit`, without overflow. */
static gboolean
in_range (uint64_t offset, uint64_t length, uint64_t limit)
{
  return offset <= limit && length <= limit - offset;
}

/* ------------------------------------------------------------------------ */
/* .npy header: a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2304, 16384), }
 * Only the forms numpy writes are accepted; anything else is an error. */

typedef struct {
  char    *descr;
  gboolean fortran_order;
  int      n_dims;      /* may exceed FS_TENSOR_MAX_DIMS; only that many are kept */
  int64_t  shape[FS_TENSOR_MAX_DIMS];
} NpyHeader;

static void
npy_header_clear (NpyHeader *header)
{
  g_clear_pointer (&header->descr, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NpyHeader, npy_header_clear)

typedef struct {
  const char *pos;
  const char *end;
  const char *where;
} Scanner;

static gboolean G_GNUC_PRINTF (3, 4)
syntax_error (Scanner *s, GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  return fs_fail (error, FS_ERROR_INVALID, s->where, ".npy header: %s", message);
}

static void
skip_space (Scanner *s)
{
  while (s->pos < s->end && (*s->pos == ' ' || *s->pos == '\t' || *s->pos == '\n'
                             || *s->pos == '\r'))
    s->pos++;
}

static gboolean
accept_char (Scanner *s, char c)
{
  skip_space (s);
  if (s->pos < s->end && *s->pos == c)
    {
      s->pos++;
      return TRUE;
    }
  return FALSE;
}

static gboolean
peek_char (Scanner *s, char c)
{
  skip_space (s);
  return s->pos < s->end && *s->pos == c;
}

/* A bare word such as True, not followed by more identifier characters. */
static gboolean
accept_word (Scanner *s, const char *word)
{
  size_t len = strlen (word);
  skip_space (s);
  if ((size_t) (s->end - s->pos) < len || memcmp (s->pos, word, len) != 0)
    return FALSE;
  if ((size_t) (s->end - s->pos) > len
      && (g_ascii_isalnum (s->pos[len]) || s->pos[len] == '_'))
    return FALSE;
  s->pos += len;
  return TRUE;
}

/* A quoted string without escapes (numpy never writes any). Returns NULL
 * when there is none; the text is validated so messages can quote it. */
static char *
scan_string (Scanner *s)
{
  skip_space (s);
  if (s->pos >= s->end || (*s->pos != '\'' && *s->pos != '"'))
    return NULL;
  char quote = *s->pos++;
  const char *start = s->pos;
  while (s->pos < s->end && *s->pos != quote)
    {
      if (*s->pos == '\\' || *s->pos == '\n' || *s->pos == '\0')
        return NULL;
      s->pos++;
    }
  if (s->pos >= s->end || !g_utf8_validate (start, s->pos - start, NULL))
    return NULL;
  char *text = g_strndup (start, s->pos - start);
  s->pos++;
  return text;
}

/* A non-negative decimal integer; Python 2 era files may add an L suffix. */
static gboolean
scan_int (Scanner *s, int64_t *out, GError **error)
{
  int64_t value = 0;
  skip_space (s);
  if (s->pos >= s->end || !g_ascii_isdigit (*s->pos))
    return syntax_error (s, error, "expected a non-negative integer in the shape");
  while (s->pos < s->end && g_ascii_isdigit (*s->pos))
    {
      int digit = *s->pos++ - '0';
      if (value > (INT64_MAX - digit) / 10)
        return syntax_error (s, error, "shape dimension is too large");
      value = value * 10 + digit;
    }
  if (s->pos < s->end && *s->pos == 'L')
    s->pos++;
  *out = value;
  return TRUE;
}

/* "()", "(5,)", "(2, 3)" or "(2, 3,)"; "(5)" is an int in Python, not a tuple. */
static gboolean
parse_shape (Scanner *s, NpyHeader *header, GError **error)
{
  header->n_dims = 0;
  if (!accept_char (s, '('))
    return syntax_error (s, error, "'shape' is not a tuple");
  if (accept_char (s, ')'))
    return TRUE;
  for (;;)
    {
      int64_t dim = 0;
      if (!scan_int (s, &dim, error))
        return FALSE;
      if (header->n_dims < FS_TENSOR_MAX_DIMS)
        header->shape[header->n_dims] = dim;
      if (header->n_dims == INT_MAX)
        return syntax_error (s, error, "shape has too many dimensions");
      header->n_dims++;
      if (accept_char (s, ')'))
        {
          if (header->n_dims == 1)
            return syntax_error (s, error, "'shape' is not a tuple (missing comma)");
          return TRUE;
        }
      if (!accept_char (s, ','))
        return syntax_error (s, error, "expected ',' or ')' in the shape");
      if (accept_char (s, ')'))
        return TRUE;
    }
}

static gboolean
parse_descr (Scanner *s, NpyHeader *header, GError **error)
{
  if (peek_char (s, '['))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, s->where,
                 "structured dtypes are not supported");
  header->descr = scan_string (s);
  if (header->descr == NULL)
    return syntax_error (s, error, "'descr' is not a string");
  return TRUE;
}

static gboolean
parse_fortran_order (Scanner *s, NpyHeader *header, GError **error)
{
  if (accept_word (s, "True"))
    header->fortran_order = TRUE;
  else if (accept_word (s, "False"))
    header->fortran_order = FALSE;
  else
    return syntax_error (s, error, "'fortran_order' is not True or False");
  return TRUE;
}

static const struct {
  const char *key;
  gboolean  (*parse) (Scanner *s, NpyHeader *header, GError **error);
} npy_keys[] = {
  { "descr", parse_descr },
  { "fortran_order", parse_fortran_order },
  { "shape", parse_shape },
};

static gboolean
parse_entry (Scanner *s, NpyHeader *header, guint *seen, GError **error)
{
  g_autofree char *key = scan_string (s);
  if (key == NULL)
    return syntax_error (s, error, "expected a quoted key");
  if (!accept_char (s, ':'))
    return syntax_error (s, error, "expected ':' after '%s'", key);
  for (guint i = 0; i < G_N_ELEMENTS (npy_keys); i++)
    {
      if (strcmp (key, npy_keys[i].key) != 0)
        continue;
      if (*seen & (1u << i))
        return syntax_error (s, error, "duplicate key '%s'", key);
      *seen |= 1u << i;
      return npy_keys[i].parse (s, header, error);
    }
  return syntax_error (s, error, "unknown key '%s'", key);
}

static gboolean
parse_header_dict (const char *where, const char *text, size_t len, NpyHeader *header,
                   GError **error)
{
  Scanner s = { text, text + len, where };
  guint seen = 0;

  if (!accept_char (&s, '{'))
    return syntax_error (&s, error, "not a dict");
  while (!accept_char (&s, '}'))
    {
      if (!parse_entry (&s, header, &seen, error))
        return FALSE;
      if (!accept_char (&s, ',') && !peek_char (&s, '}'))
        return syntax_error (&s, error, "expected ',' or '}' after a value");
    }
  /* numpy pads with spaces and ends with a newline; nothing else may follow. */
  skip_space (&s);
  if (s.pos != s.end)
    return syntax_error (&s, error, "unexpected text after the dict");
  for (guint i = 0; i < G_N_ELEMENTS (npy_keys); i++)
    if (!(seen & (1u << i)))
      return syntax_error (&s, error, "missing key '%s'", npy_keys[i].key);
  return TRUE;
}

/* Maps a descr such as '<f4' to a dtype; the data must be little-endian. */
static gboolean
npy_dtype (const char *where, const char *descr, FsDtype *out, GError **error)
{
  const char *type = descr;
  char order = '=';

  if (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')
    order = *type++;
  if (strcmp (type, "f4") == 0)
    *out = FS_DTYPE_F32;
  else if (strcmp (type, "f2") == 0)
    *out = FS_DTYPE_F16;
  else if (strcmp (type, "f8") == 0)
    *out = FS_DTYPE_F64;
  else
    return fs_fail (error, FS_ERROR_UNSUPPORTED, where,
                 "dtype '%s' is not supported (only float16, float32 and float64)",
                 descr);

  gboolean native = G_BYTE_ORDER == G_LITTLE_ENDIAN;
  if (order == '>' || (order != '<' && !native))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, where,
                 "big-endian dtype '%s' is not supported", descr);
  return TRUE;
}

static gboolean
has_npy_magic (const uint8_t *data, size_t n_bytes)
{
  size_t n = MIN (n_bytes, NPY_MAGIC_LEN);
  return n > 0 && memcmp (data, NPY_MAGIC, n) == 0;
}

/* Finds the header text after the magic, version and header length. */
static gboolean
npy_locate_header (const char *where, const uint8_t *data, size_t n_bytes,
                   size_t *header_start, size_t *header_len, GError **error)
{
  if (!has_npy_magic (data, n_bytes))
    return fs_fail (error, FS_ERROR_INVALID, where, "not a .npy file (bad magic)");
  if (n_bytes < NPY_MAGIC_LEN + 4)
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "truncated: %zu bytes is too short for a .npy header", n_bytes);

  uint8_t major = data[NPY_MAGIC_LEN], minor = data[NPY_MAGIC_LEN + 1];
  if (major == 1 && minor == 0)
    {
      *header_len = get_u16 (data + 8);
      *header_start = 10;
    }
  else if ((major == 2 || major == 3) && minor == 0)
    {
      if (n_bytes < 12)
        return fs_fail (error, FS_ERROR_INVALID, where,
                     "truncated: %zu bytes is too short for a .npy header", n_bytes);
      *header_len = get_u32 (data + 8);
      *header_start = 12;
    }
  else
    return fs_fail (error, FS_ERROR_UNSUPPORTED, where,
                 ".npy format version %u.%u is not supported", major, minor);

  if (*header_len > n_bytes - *header_start)
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "truncated: the .npy header needs %zu bytes but %zu follow",
                 *header_len, n_bytes - *header_start);
  return TRUE;
}

FsTensor *
fs_npy_parse (const char *path, const char *name, GBytes *storage, const uint8_t *data,
              size_t n_bytes, GError **error)
{
  g_auto(NpyHeader) header = { 0 };
  size_t header_start = 0, header_len = 0;
  FsDtype dtype = FS_DTYPE_F32;
  int64_t n_elements;
  size_t expected;

  if (!npy_locate_header (path, data, n_bytes, &header_start, &header_len, error)
      || !parse_header_dict (path, (const char *) data + header_start, header_len,
                             &header, error)
      || !npy_dtype (path, header.descr, &dtype, error))
    return NULL;

  if (header.fortran_order)
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, path,
            "Fortran-order (column-major) arrays are not supported");
      return NULL;
    }
  if (header.n_dims > FS_TENSOR_MAX_DIMS)
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, path,
            "%d dimensions (at most %d are supported)", header.n_dims, FS_TENSOR_MAX_DIMS);
      return NULL;
    }

  g_autofree char *shape_text = fs_shape_to_string (header.n_dims, header.shape);
  if (!fs_shape_product (header.n_dims, header.shape, fs_dtype_size (dtype),
                         &n_elements, &expected))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "shape %s overflows", shape_text);
      return NULL;
    }

  size_t data_start = header_start + header_len;
  size_t available = n_bytes - data_start;
  if (available < expected)
    {
      fs_fail (error, FS_ERROR_INVALID, path,
            "truncated: %s %s needs %zu data bytes but %zu are present",
            header.descr, shape_text, expected, available);
      return NULL;
    }
  if (available > expected)
    {
      fs_fail (error, FS_ERROR_INVALID, path,
            "%zu trailing bytes after the %zu data bytes of %s %s",
            available - expected, expected, header.descr, shape_text);
      return NULL;
    }
  return fs_tensor_new_view (path, name, dtype, header.n_dims, header.shape, storage,
                             data + data_start, expected, error);
}

FsTensorFile *
fs_npy_open (const char *path, GError **error)
{
  g_autoptr(GBytes) bytes = fs_map_file (path, error);
  if (bytes == NULL)
    return NULL;

  g_autofree char *name = g_path_get_basename (path);
  if (g_str_has_suffix (name, ".npy"))
    name[strlen (name) - 4] = '\0';

  gsize size;
  const uint8_t *data = g_bytes_get_data (bytes, &size);
  FsTensor *tensor = fs_npy_parse (path, name, bytes, data, size, error);
  if (tensor == NULL)
    return NULL;

  FsTensorFile *file = fs_tensor_file_new (path);
  fs_tensor_file_add (file, tensor);
  return file;
}

/* ------------------------------------------------------------------------ */
/* .npz: a ZIP archive. The central directory is the authority on sizes;
 * local headers are read only to skip their variable-length fields. */

typedef struct {
  const char    *path;
  const uint8_t *data;
  size_t         size;
  uint64_t       n_entries;
  uint64_t       cd_offset;
  uint64_t       cd_size;
  uint64_t       cd_limit;   /* where the (ZIP64) end records begin */
} ZipArchive;

typedef struct {
  char    *name;
  uint16_t flags;
  uint16_t method;
  uint64_t compressed_size;
  uint64_t uncompressed_size;
  uint64_t local_offset;
} ZipEntry;

static void
zip_entry_clear (ZipEntry *entry)
{
  g_clear_pointer (&entry->name, g_free);
}

/* The end record is the last 22+ bytes; its comment must reach the end of
 * the file exactly, which rules out a signature found inside a comment. */
static gboolean
zip_find_end (const ZipArchive *zip, size_t *out, GError **error)
{
  if (zip->size >= ZIP_END_SIZE)
    {
      size_t last = zip->size - ZIP_END_SIZE;
      size_t first = last > ZIP_MAX_COMMENT ? last - ZIP_MAX_COMMENT : 0;
      for (size_t at = last + 1; at-- > first;)
        {
          const uint8_t *p = zip->data + at;
          if (get_u32 (p) == ZIP_END_SIG && get_u16 (p + 20) == last - at)
            {
              *out = at;
              return TRUE;
            }
        }
    }
  return fs_fail (error, FS_ERROR_INVALID, zip->path,
               "no ZIP end of central directory record (not an .npz archive)");
}

/* Replaces the end record's fields with the ZIP64 end record's. */
static gboolean
zip_read_end64 (ZipArchive *zip, size_t locator, guint32 *disk, guint32 *cd_disk,
                uint64_t *entries_here, GError **error)
{
  const uint8_t *p = zip->data + locator;
  uint64_t offset = get_u64 (p + 8);

  if (get_u32 (p + 4) != 0 || get_u32 (p + 16) > 1)
    return fs_fail (error, FS_ERROR_UNSUPPORTED, zip->path,
                 "multi-disk ZIP archives are not supported");
  if (!in_range (offset, ZIP64_END_SIZE, locator))
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "ZIP64 end of central directory offset %" PRIu64 " lies outside the file",
                 offset);
  p = zip->data + offset;
  if (get_u32 (p) != ZIP64_END_SIG)
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "no ZIP64 end of central directory record at offset %" PRIu64, offset);
  uint64_t record_size = get_u64 (p + 4);
  if (record_size < ZIP64_END_SIZE - 12 || !in_range (offset + 12, record_size, locator))
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "ZIP64 end of central directory record has a bad size %" PRIu64,
                 record_size);
  *disk = get_u32 (p + 16);
  *cd_disk = get_u32 (p + 20);
  *entries_here = get_u64 (p + 24);
  zip->n_entries = get_u64 (p + 32);
  zip->cd_size = get_u64 (p + 40);
  zip->cd_offset = get_u64 (p + 48);
  zip->cd_limit = offset;
  return TRUE;
}

static gboolean
zip_read_end (ZipArchive *zip, GError **error)
{
  size_t end = 0;
  if (!zip_find_end (zip, &end, error))
    return FALSE;

  const uint8_t *p = zip->data + end;
  guint32 disk = get_u16 (p + 4), cd_disk = get_u16 (p + 6);
  uint64_t entries_here = get_u16 (p + 8);
  zip->n_entries = get_u16 (p + 10);
  zip->cd_size = get_u32 (p + 12);
  zip->cd_offset = get_u32 (p + 16);
  zip->cd_limit = end;

  if (end >= ZIP64_LOCATOR_SIZE
      && get_u32 (zip->data + end - ZIP64_LOCATOR_SIZE) == ZIP64_LOCATOR_SIG)
    {
      if (!zip_read_end64 (zip, end - ZIP64_LOCATOR_SIZE, &disk, &cd_disk,
                           &entries_here, error))
        return FALSE;
    }
  else if (zip->cd_size == 0xFFFFFFFFu || zip->cd_offset == 0xFFFFFFFFu)
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "end record defers to ZIP64 but there is no ZIP64 locator");

  if (disk != 0 || cd_disk != 0 || entries_here != zip->n_entries)
    return fs_fail (error, FS_ERROR_UNSUPPORTED, zip->path,
                 "multi-disk ZIP archives are not supported");
  if (!in_range (zip->cd_offset, zip->cd_size, zip->cd_limit))
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "central directory (offset %" PRIu64 ", %" PRIu64 " bytes) lies outside "
                 "the archive", zip->cd_offset, zip->cd_size);
  if (zip->n_entries > zip->cd_size / ZIP_CENTRAL_SIZE)
    return fs_fail (error, FS_ERROR_INVALID, zip->path,
                 "end record declares %" PRIu64 " entries but the central directory "
                 "of %" PRIu64 " bytes has room for at most %" PRIu64,
                 zip->n_entries, zip->cd_size, zip->cd_size / ZIP_CENTRAL_SIZE);
  return TRUE;
}

/* Reads the 64-bit values that the ZIP64 extra field (0x0001) holds for
 * each 32-bit field saturated at 0xFFFFFFFF, in the order the spec gives. */
static gboolean
zip_read_zip64_extra (const char *where, const uint8_t *extra, size_t extra_len,
                      ZipEntry *entry, uint32_t *disk, GError **error)
{
  size_t pos = 0;
  while (extra_len - pos >= 4)
    {
      uint16_t id = get_u16 (extra + pos), len = get_u16 (extra + pos + 2);
      const uint8_t *field = extra + pos + 4;
      if (len > extra_len - pos - 4)
        return fs_fail (error, FS_ERROR_INVALID, where, "extra field runs past its entry");
      pos += 4 + (size_t) len;
      if (id != ZIP64_EXTRA_ID)
        continue;

      uint64_t *values[] = {
        entry->uncompressed_size == 0xFFFFFFFFu ? &entry->uncompressed_size : NULL,
        entry->compressed_size == 0xFFFFFFFFu ? &entry->compressed_size : NULL,
        entry->local_offset == 0xFFFFFFFFu ? &entry->local_offset : NULL,
      };
      size_t at = 0;
      for (guint i = 0; i < G_N_ELEMENTS (values); i++)
        {
          if (values[i] == NULL)
            continue;
          if (len - at < 8)
            return fs_fail (error, FS_ERROR_INVALID, where, "ZIP64 extra field is too short");
          *values[i] = get_u64 (field + at);
          at += 8;
        }
      if (*disk == 0xFFFF)
        {
          if (len - at < 4)
            return fs_fail (error, FS_ERROR_INVALID, where, "ZIP64 extra field is too short");
          *disk = get_u32 (field + at);
        }
      return TRUE;
    }
  return fs_fail (error, FS_ERROR_INVALID, where,
               "sizes defer to a ZIP64 extra field that is missing");
}

static gboolean
zip_read_name (const char *where, const uint8_t *bytes, size_t len, char **out,
               GError **error)
{
  if (len == 0)
    return fs_fail (error, FS_ERROR_INVALID, where, "member has an empty name");
  if (memchr (bytes, '\0', len) != NULL || !g_utf8_validate ((const char *) bytes, len, NULL))
    return fs_fail (error, FS_ERROR_INVALID, where, "member name is not valid UTF-8 text");
  *out = g_strndup ((const char *) bytes, len);
  return TRUE;
}

/* Reads the central directory entry at *pos and advances past it. */
static gboolean
zip_read_entry (const ZipArchive *zip, uint64_t *pos, uint64_t index, ZipEntry *entry,
                GError **error)
{
  uint64_t cd_end = zip->cd_offset + zip->cd_size;
  g_autofree char *where = g_strdup_printf ("%s: central directory entry %" PRIu64,
                                            zip->path, index);

  if (!in_range (*pos, ZIP_CENTRAL_SIZE, cd_end))
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "truncated: runs past the end of the central directory");
  const uint8_t *p = zip->data + *pos;
  if (get_u32 (p) != ZIP_CENTRAL_SIG)
    return fs_fail (error, FS_ERROR_INVALID, where, "bad signature");

  size_t name_len = get_u16 (p + 28), extra_len = get_u16 (p + 30);
  size_t comment_len = get_u16 (p + 32);
  uint64_t total = ZIP_CENTRAL_SIZE + name_len + extra_len + comment_len;
  if (!in_range (*pos, total, cd_end))
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "truncated: runs past the end of the central directory");

  entry->flags = get_u16 (p + 8);
  entry->method = get_u16 (p + 10);
  entry->compressed_size = get_u32 (p + 20);
  entry->uncompressed_size = get_u32 (p + 24);
  entry->local_offset = get_u32 (p + 42);
  uint32_t disk = get_u16 (p + 34);
  if (!zip_read_name (where, p + ZIP_CENTRAL_SIZE, name_len, &entry->name, error))
    return FALSE;

  if (entry->compressed_size == 0xFFFFFFFFu || entry->uncompressed_size == 0xFFFFFFFFu
      || entry->local_offset == 0xFFFFFFFFu || disk == 0xFFFF)
    {
      g_autofree char *member = g_strdup_printf ("%s: member %s", zip->path, entry->name);
      if (!zip_read_zip64_extra (member, p + ZIP_CENTRAL_SIZE + name_len, extra_len,
                                 entry, &disk, error))
        return FALSE;
    }
  if (disk != 0)
    return fs_fail (error, FS_ERROR_UNSUPPORTED, where,
                 "multi-disk ZIP archives are not supported");
  *pos += total;
  return TRUE;
}

/* All entries, after checking that they fill the central directory exactly. */
static GArray *
zip_read_entries (const ZipArchive *zip, GError **error)
{
  g_autoptr(GArray) entries = g_array_sized_new (FALSE, TRUE, sizeof (ZipEntry),
                                                 (guint) zip->n_entries);
  g_array_set_clear_func (entries, (GDestroyNotify) zip_entry_clear);
  uint64_t pos = zip->cd_offset;

  for (uint64_t i = 0; i < zip->n_entries; i++)
    {
      ZipEntry entry = { 0 };
      gboolean ok = zip_read_entry (zip, &pos, i, &entry, error);
      if (!ok)
        {
          zip_entry_clear (&entry);
          return NULL;
        }
      g_array_append_val (entries, entry);
    }
  if (pos != zip->cd_offset + zip->cd_size)
    {
      fs_fail (error, FS_ERROR_INVALID, zip->path,
            "central directory has %" PRIu64 " bytes after its %" PRIu64 " entries "
            "(the end record's entry count is wrong)",
            zip->cd_offset + zip->cd_size - pos, zip->n_entries);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

/* Where a member's (possibly compressed) bytes start, via its local header. */
static gboolean
zip_locate_data (const ZipArchive *zip, const ZipEntry *entry, const char *where,
                 const uint8_t **out, GError **error)
{
  uint64_t local = entry->local_offset;
  if (!in_range (local, ZIP_LOCAL_SIZE, zip->cd_offset))
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "local header offset %" PRIu64 " lies outside the member data", local);
  const uint8_t *p = zip->data + local;
  if (get_u32 (p) != ZIP_LOCAL_SIG)
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "no local header at offset %" PRIu64, local);

  uint64_t start = local + ZIP_LOCAL_SIZE + get_u16 (p + 26) + get_u16 (p + 28);
  if (!in_range (start, entry->compressed_size, zip->cd_offset))
    return fs_fail (error, FS_ERROR_INVALID, where,
                 "data (offset %" PRIu64 ", %" PRIu64 " bytes) runs past the member data",
                 start, entry->compressed_size);
  *out = zip->data + start;
  return TRUE;
}

/* Inflates a raw deflate stream into exactly `out_size` bytes. */
static GBytes *
zip_inflate (const char *where, const uint8_t *in, uint64_t in_size, uint64_t out_size,
             GError **error)
{
  if ((out_size > 1024 && (out_size - 1024) / DEFLATE_MAX_RATIO > in_size)
      || out_size >= G_MAXSIZE)
    {
      fs_fail (error, FS_ERROR_INVALID, where,
            "declares %" PRIu64 " bytes, more than %" PRIu64 " deflated bytes can hold",
            out_size, in_size);
      return NULL;
    }
  /* One spare byte reveals a stream that inflates to more than declared,
   * and keeps the output buffer never empty (GConverter refuses that). */
  size_t capacity = (size_t) out_size + 1;
  g_autofree uint8_t *out = g_try_malloc (capacity);
  if (out == NULL)
    {
      fs_fail (error, FS_ERROR_IO, where, "cannot allocate %zu bytes to inflate into",
            capacity);
      return NULL;
    }

  g_autoptr(GZlibDecompressor) inflater =
    g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  size_t n_in = 0, n_out = 0;
  GConverterResult result;
  do
    {
      g_autoptr(GError) local_error = NULL;
      gsize n_read = 0, n_written = 0;
      result = g_converter_convert (G_CONVERTER (inflater), in + n_in, in_size - n_in,
                                    out + n_out, capacity - n_out,
                                    G_CONVERTER_INPUT_AT_END, &n_read, &n_written,
                                    &local_error);
      if (result == G_CONVERTER_ERROR)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            fs_fail (error, FS_ERROR_INVALID, where,
                  "deflate stream ends early (after %zu of %" PRIu64 " bytes)", n_out,
                  out_size);
          else
            fs_fail (error, FS_ERROR_INVALID, where, "deflate stream is corrupt: %s",
                  local_error->message);
          return NULL;
        }
      n_in += n_read;
      n_out += n_written;
      if (n_out > out_size)
        {
          fs_fail (error, FS_ERROR_INVALID, where,
                "deflate stream inflates to more than the %" PRIu64 " bytes declared",
                out_size);
          return NULL;
        }
      if (result != G_CONVERTER_FINISHED && n_read == 0 && n_written == 0)
        {
          fs_fail (error, FS_ERROR_INVALID, where, "deflate stream makes no progress");
          return NULL;
        }
    }
  while (result != G_CONVERTER_FINISHED);

  if (n_out != out_size)
    {
      fs_fail (error, FS_ERROR_INVALID, where,
            "deflate stream inflates to %zu bytes, fewer than the %" PRIu64 " declared",
            n_out, out_size);
      return NULL;
    }
  if (n_in != in_size)
    {
      fs_fail (error, FS_ERROR_INVALID, where, "%" PRIu64 " bytes follow the deflate stream",
            in_size - n_in);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&out), n_out);
}

static FsTensor *
zip_read_member (const ZipArchive *zip, const ZipEntry *entry, GBytes *bytes,
                 const char *where, const char *name, GError **error)
{
  const uint8_t *data = NULL;

  if (entry->flags & (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG))
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, where, "encrypted members are not supported");
      return NULL;
    }
  if (entry->method != ZIP_METHOD_STORED && entry->method != ZIP_METHOD_DEFLATE)
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, where,
            "compression method %u is not supported (only stored and deflate)",
            entry->method);
      return NULL;
    }
  if (!zip_locate_data (zip, entry, where, &data, error))
    return NULL;

  if (entry->method == ZIP_METHOD_STORED)
    {
      if (entry->compressed_size != entry->uncompressed_size)
        {
          fs_fail (error, FS_ERROR_INVALID, where,
                "stored member's compressed size %" PRIu64 " differs from its size %" PRIu64,
                entry->compressed_size, entry->uncompressed_size);
          return NULL;
        }
      return fs_npy_parse (where, name, bytes, data, entry->compressed_size, error);
    }

  g_autoptr(GBytes) inflated = zip_inflate (where, data, entry->compressed_size,
                                            entry->uncompressed_size, error);
  if (inflated == NULL)
    return NULL;
  gsize size;
  const uint8_t *npy = g_bytes_get_data (inflated, &size);
  return fs_npy_parse (where, name, inflated, npy, size, error);
}

/* Adds member "X.npy" as tensor "X"; other members are not arrays and skipped. */
static gboolean
zip_add_member (const ZipArchive *zip, const ZipEntry *entry, GBytes *bytes,
                FsTensorFile *file, GError **error)
{
  if (!g_str_has_suffix (entry->name, ".npy"))
    return TRUE;

  g_autofree char *where = g_strdup_printf ("%s: member %s", zip->path, entry->name);
  g_autofree char *name = g_strndup (entry->name, strlen (entry->name) - 4);
  if (name[0] == '\0')
    return fs_fail (error, FS_ERROR_INVALID, where, "empty array name");
  if (fs_tensor_file_lookup (file, name) != NULL)
    return fs_fail (error, FS_ERROR_INVALID, where, "duplicate member name");

  FsTensor *tensor = zip_read_member (zip, entry, bytes, where, name, error);
  if (tensor == NULL)
    return FALSE;
  fs_tensor_file_add (file, tensor);
  return TRUE;
}

FsTensorFile *
fs_npz_parse (const char *path, GBytes *bytes, GError **error)
{
  ZipArchive zip = { .path = path };
  zip.data = g_bytes_get_data (bytes, &zip.size);

  if (!zip_read_end (&zip, error))
    return NULL;
  g_autoptr(GArray) entries = zip_read_entries (&zip, error);
  if (entries == NULL)
    return NULL;

  g_autoptr(FsTensorFile) file = fs_tensor_file_new (path);
  for (guint i = 0; i < entries->len; i++)
    if (!zip_add_member (&zip, &g_array_index (entries, ZipEntry, i), bytes, file, error))
      return NULL;
  return g_steal_pointer (&file);
}

FsTensorFile *
fs_npz_open (const char *path, GError **error)
{
  g_autoptr(GBytes) bytes = fs_map_file (path, error);
  if (bytes == NULL)
    return NULL;
  return fs_npz_parse (path, bytes, error);
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* The header numpy itself would write, padded so the data is 64-aligned. */
static GString *
npy_header_f32 (int n_dims, const int64_t *shape)
{
  GString *dict = g_string_new ("{'descr': '<f4', 'fortran_order': False, 'shape': (");
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (dict, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append (dict, n_dims == 1 ? ",), }" : "), }");

  size_t unpadded = NPY_MAGIC_LEN + 4 + dict->len + 1;
  size_t padding = (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
  for (size_t i = 0; i < padding; i++)
    g_string_append_c (dict, ' ');
  g_string_append_c (dict, '\n');
  return dict;
}

gboolean
fs_npy_write_f32 (const char *path, const float *data, int n_dims, const int64_t *shape,
                  GError **error)
{
  int64_t n_elements;
  size_t n_bytes;

  if (n_dims < 0 || n_dims > FS_TENSOR_MAX_DIMS
      || !fs_shape_product (n_dims, shape, sizeof (float), &n_elements, &n_bytes))
    return fs_fail (error, FS_ERROR_INVALID, path, "cannot write an array of this shape");

  g_autoptr(GString) header = npy_header_f32 (n_dims, shape);
  if (header->len > G_MAXUINT16 || n_bytes > G_MAXSSIZE - NPY_ALIGN - header->len)
    return fs_fail (error, FS_ERROR_INVALID, path, "array too large to write");

  g_autoptr(GString) out = g_string_sized_new (NPY_MAGIC_LEN + 4 + header->len + n_bytes);
  uint8_t preamble[NPY_MAGIC_LEN + 4] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                          header->len & 0xFF, header->len >> 8 };
  g_string_append_len (out, (const char *) preamble, sizeof preamble);
  g_string_append_len (out, header->str, header->len);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  if (n_bytes > 0)
    g_string_append_len (out, (const char *) data, n_bytes);
#else
  for (int64_t i = 0; i < n_elements; i++)
    {
      uint32_t bits;
      memcpy (&bits, &data[i], 4);
      bits = GUINT32_TO_LE (bits);
      g_string_append_len (out, (const char *) &bits, 4);
    }
#endif

  g_autoptr(GError) local_error = NULL;
  if (!g_file_set_contents (path, out->str, out->len, &local_error))
    return fs_fail (error, FS_ERROR_IO, path, "%s", local_error->message);
  return TRUE;
}
