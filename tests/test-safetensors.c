/* test-safetensors.c: the safetensors reader against the fixtures written by
 * make-safetensors-fixtures.py (described in expected.json), plus in-memory
 * cases for what files on disk cannot easily hold. */
#include <cjson/cJSON.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "safetensors.h"


static char *fixture_dir;   /* $FLOWSCOPE_FIXTURES/safetensors */

/* Fixtures */

static char *
fixture_path (const cJSON *fixture)
{
  const cJSON *file = cJSON_GetObjectItemCaseSensitive (fixture, "file");
  g_assert_true (cJSON_IsString (file));
  return g_build_filename (fixture_dir, file->valuestring, NULL);
}

static FsTensorFile *
open_fixture (const cJSON *fixture, const char *path, GError **error)
{
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (fixture, "kind");
  if (cJSON_IsString (kind) && strcmp (kind->valuestring, "index") == 0)
    return fs_safetensors_open_index (path, error);
  return fs_safetensors_open (path, error);
}

static void
check_values (const FsTensor *tensor, const cJSON *values)
{
  g_assert_cmpint (cJSON_GetArraySize (values), ==, tensor->n_elements);
  int64_t i = 0;
  const cJSON *value;
  cJSON_ArrayForEach (value, values)
    {
      double expected = value->valuedouble;
      float actual = fs_dtype_read (tensor->dtype, tensor->data, (size_t) i);
      if (tensor->dtype == FS_DTYPE_F64)
        g_assert_cmpfloat_with_epsilon (actual, expected, 1e-6 * fabs (expected) + 1e-30);
      else
        /* F32, F16 and BF16 values are all exact floats. */
        g_assert_cmpfloat (actual, ==, (float) expected);
      i++;
    }
}

static void
check_tensor (FsTensorFile *file, const cJSON *expected)
{
  const char *name = cJSON_GetObjectItemCaseSensitive (expected, "name")->valuestring;
  const char *dtype = cJSON_GetObjectItemCaseSensitive (expected, "dtype")->valuestring;
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive (expected, "shape");
  const FsTensor *tensor = fs_tensor_file_lookup (file, name);

  g_test_message ("tensor %s", name);
  g_assert_nonnull (tensor);
  g_assert_cmpstr (tensor->name, ==, name);
  g_assert_cmpstr (fs_dtype_name (tensor->dtype), ==, dtype);
  g_assert_cmpint (tensor->n_dims, ==, cJSON_GetArraySize (shape));
  int64_t n_elements = 1;
  for (int d = 0; d < tensor->n_dims; d++)
    {
      g_assert_cmpint (tensor->shape[d], ==, cJSON_GetArrayItem (shape, d)->valueint);
      n_elements *= tensor->shape[d];
    }
  g_assert_cmpint (tensor->n_elements, ==, n_elements);
  g_assert_cmpuint (tensor->n_bytes, ==, (size_t) n_elements * fs_dtype_size (tensor->dtype));
  g_assert_nonnull (tensor->storage);
  check_values (tensor, cJSON_GetObjectItemCaseSensitive (expected, "values"));
}

static void
check_metadata (FsTensorFile *file, const cJSON *expected)
{
  GHashTable *metadata = fs_tensor_file_get_metadata (file);
  g_assert_nonnull (metadata);
  g_assert_cmpint (g_hash_table_size (metadata), ==, cJSON_GetArraySize (expected));
  const cJSON *item;
  cJSON_ArrayForEach (item, expected)
    g_assert_cmpstr (g_hash_table_lookup (metadata, item->string), ==, item->valuestring);
}

static void
test_valid_fixture (gconstpointer data)
{
  const cJSON *fixture = data;
  g_autofree char *path = fixture_path (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = open_fixture (fixture, path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  g_assert_cmpstr (fs_tensor_file_get_path (file), ==, path);

  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (fixture, "tensors");
  g_assert_cmpuint (fs_tensor_file_get_n_tensors (file), ==, cJSON_GetArraySize (tensors));
  const cJSON *expected;
  cJSON_ArrayForEach (expected, tensors)
    check_tensor (file, expected);
  check_metadata (file, cJSON_GetObjectItemCaseSensitive (fixture, "metadata"));
}

static void
test_corrupt_fixture (gconstpointer data)
{
  const cJSON *fixture = data;
  const char *substring = cJSON_GetObjectItemCaseSensitive (fixture, "error")->valuestring;
  g_autofree char *path = fixture_path (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = open_fixture (fixture, path, &error);

  g_assert_null (file);
  g_assert_nonnull (error);
  g_assert_true (error->domain == FS_ERROR);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, substring));
}

static void
test_no_fixtures (void)
{
  g_test_skip ("FLOWSCOPE_FIXTURES is not set");
}

/* Adds one test per fixture; `root` must outlive g_test_run (). */
static cJSON *
add_fixture_tests (void)
{
  g_autofree char *expected_path = g_build_filename (fixture_dir, "expected.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (expected_path, &text, NULL, &error))
    g_error ("%s", error->message);
  cJSON *root = cJSON_Parse (text);
  if (root == NULL)
    g_error ("%s: not valid JSON", expected_path);

  const char *groups[] = { "valid", "corrupt" };
  for (size_t g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      const cJSON *fixture;
      cJSON_ArrayForEach (fixture, cJSON_GetObjectItemCaseSensitive (root, groups[g]))
        {
          const char *file = cJSON_GetObjectItemCaseSensitive (fixture, "file")->valuestring;
          g_autofree char *test_path = g_strdup_printf ("/safetensors/%s/%s", groups[g], file);
          g_test_add_data_func (test_path, fixture,
                                g == 0 ? test_valid_fixture : test_corrupt_fixture);
        }
    }
  return root;
}

/* In-memory files */

static GBytes *
make_file (uint64_t header_length, const char *header, const void *data, size_t data_length)
{
  GByteArray *array = g_byte_array_new ();
  uint8_t prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (uint8_t) (header_length >> (8 * i));
  g_byte_array_append (array, prefix, 8);
  g_byte_array_append (array, (const guint8 *) header, strlen (header));
  if (data_length > 0)
    g_byte_array_append (array, data, data_length);
  return g_byte_array_free_to_bytes (array);
}

/* Parses `bytes`, expects failure whose message names "mem" and holds `substring`. */
static void
expect_error (GBytes *bytes, FsError code, const char *substring)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_parse ("mem.safetensors", bytes, &error);

  g_assert_null (file);
  g_assert_error (error, FS_ERROR, (int) code);
  g_assert_true (g_str_has_prefix (error->message, "mem.safetensors: "));
  if (substring != NULL && strstr (error->message, substring) == NULL)
    g_error ("“%s” lacks “%s”", error->message, substring);
}

static void
test_header_length_limits (void)
{
  const uint64_t lengths[] = {
    G_GUINT64_CONSTANT (1) << 63, G_MAXUINT64, G_GUINT64_CONSTANT (100000001),
  };
  for (size_t i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autoptr(GBytes) bytes = make_file (lengths[i], "{}", NULL, 0);
      expect_error (bytes, FS_ERROR_INVALID, "exceeds the limit of 100000000");
    }
  /* At the limit, the length is allowed but runs past this small file. */
  g_autoptr(GBytes) at_limit = make_file (100000000, "{}", NULL, 0);
  expect_error (at_limit, FS_ERROR_INVALID, "runs past the end of the file");
  g_autoptr(GBytes) one_over = make_file (3, "{}", NULL, 0);
  expect_error (one_over, FS_ERROR_INVALID, "runs past the end of the file");
}

static const char valid_header[] =
  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
  "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}";

static void
test_truncated_json (void)
{
  /* Every proper prefix of a valid header, declared with its own length. */
  for (size_t n = 0; n < strlen (valid_header); n++)
    {
      g_autofree char *prefix = g_strndup (valid_header, n);
      g_autoptr(GBytes) bytes = make_file (n, prefix, NULL, 0);
      expect_error (bytes, FS_ERROR_INVALID, "header is not valid JSON");
    }
}

static void
test_truncated_file (void)
{
  const uint8_t data[12] = { 0 };
  g_autoptr(GBytes) whole = make_file (strlen (valid_header), valid_header, data, sizeof data);
  size_t size = g_bytes_get_size (whole);

  for (size_t n = 0; n < size; n++)
    {
      /* A separate allocation so ASan would catch a read past `n`. */
      g_autoptr(GBytes) part = g_bytes_new (g_bytes_get_data (whole, NULL), n);
      expect_error (part, FS_ERROR_INVALID, NULL);
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_parse ("mem.safetensors", whole, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fs_tensor_file_get_n_tensors (file), ==, 2);
}

static void
test_unaligned_views (void)
{
  /* Padded so that the data buffer starts at an odd offset. */
  const char header[] = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}    ";
  g_assert_cmpuint ((8 + strlen (header)) % 2, ==, 1);
  const float values[3] = { 1.5f, -2.25f, 1e-3f };
  g_autoptr(GBytes) bytes = make_file (strlen (header), header, values, sizeof values);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_parse ("mem.safetensors", bytes, &error);

  g_assert_no_error (error);
  const FsTensor *x = fs_tensor_file_lookup (file, "x");
  g_assert_nonnull (x);
  g_assert_true (x->storage == bytes);
  g_assert_true (x->data == (const uint8_t *) g_bytes_get_data (bytes, NULL) + 8 + strlen (header));
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (fs_dtype_read (x->dtype, x->data, i), ==, values[i]);
}

static void
test_zero_size_views (void)
{
  /* Zero-size tensors may sit anywhere the layout allows, even at the end. */
  const char header[] =
    "{\"s\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,2]},"
    "\"e\":{\"dtype\":\"F64\",\"shape\":[4,0],\"data_offsets\":[2,2]},"
    "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
    "\"__metadata__\":null}";
  const uint8_t data[2] = { 0x80, 0x3f };  /* BF16 1.0 */
  g_autoptr(GBytes) bytes = make_file (strlen (header), header, data, sizeof data);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_parse ("mem.safetensors", bytes, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (fs_tensor_file_get_n_tensors (file), ==, 3);
  g_assert_cmpuint (g_hash_table_size (fs_tensor_file_get_metadata (file)), ==, 0);
  const FsTensor *s = fs_tensor_file_lookup (file, "s");
  g_assert_cmpint (s->n_dims, ==, 0);
  g_assert_cmpint (s->n_elements, ==, 1);
  g_assert_cmpfloat (fs_dtype_read (s->dtype, s->data, 0), ==, 1.0f);
  const FsTensor *e = fs_tensor_file_lookup (file, "e");
  g_assert_cmpint (e->n_elements, ==, 0);
  g_assert_cmpuint (e->n_bytes, ==, 0);
  const uint8_t *end = (const uint8_t *) g_bytes_get_data (bytes, NULL) + g_bytes_get_size (bytes);
  g_assert_true (e->data == end);
}

static void
test_inexact_integers (void)
{
  /* 2^53 + 1 is not a double: cJSON would silently round it. */
  const char *header =
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,9007199254740993]}}";
  g_autoptr(GBytes) bytes = make_file (strlen (header), header, NULL, 0);
  expect_error (bytes, FS_ERROR_INVALID, "data_offsets is missing or not two non-negative");
}

static void
test_error_codes (void)
{
  const char *header = "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
  g_autoptr(GBytes) bytes = make_file (strlen (header), header, "\0\0\0\0\0\0\0\0", 8);
  expect_error (bytes, FS_ERROR_UNSUPPORTED, "tensor “a”: unsupported dtype I64");

  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_open ("/nonexistent/x.safetensors", &error);
  g_assert_null (file);
  g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/x.safetensors"));

  g_clear_error (&error);
  file = fs_safetensors_open_index ("/nonexistent/model.safetensors.index.json", &error);
  g_assert_null (file);
  g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/safetensors/parse/header-length-limits", test_header_length_limits);
  g_test_add_func ("/safetensors/parse/truncated-json", test_truncated_json);
  g_test_add_func ("/safetensors/parse/truncated-file", test_truncated_file);
  g_test_add_func ("/safetensors/parse/unaligned-views", test_unaligned_views);
  g_test_add_func ("/safetensors/parse/zero-size-views", test_zero_size_views);
  g_test_add_func ("/safetensors/parse/inexact-integers", test_inexact_integers);
  g_test_add_func ("/safetensors/parse/error-codes", test_error_codes);

  g_autoptr(cJSON) root = NULL;
  const char *fixtures = g_getenv ("FLOWSCOPE_FIXTURES");
  if (fixtures != NULL)
    {
      fixture_dir = g_build_filename (fixtures, "safetensors", NULL);
      root = add_fixture_tests ();
    }
  else
    g_test_add_func ("/safetensors/fixtures", test_no_fixtures);

  int status = g_test_run ();
  g_free (fixture_dir);
  return status;
}
