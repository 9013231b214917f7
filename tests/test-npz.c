/* test-npz.c: the .npy/.npz reader against the fixtures written by
 * make-npz-fixtures.py (described in expected.json), plus a write/read
 * round trip of fs_npy_write_f32 and a few in-memory cases. */
#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "npz.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (cJSON, cJSON_Delete)

static char *fixture_dir;   /* $FLOWSCOPE_FIXTURES/npz */

/* Helpers */

static const char *
json_string (const cJSON *object, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (object, key);
  g_assert_true (cJSON_IsString (item));
  return item->valuestring;
}

static char *
fixture_path (const cJSON *fixture)
{
  return g_build_filename (fixture_dir, json_string (fixture, "file"), NULL);
}

static FsTensorFile *
open_fixture (const cJSON *fixture, const char *path, GError **error)
{
  if (strcmp (json_string (fixture, "kind"), "npz") == 0)
    return fs_npz_open (path, error);
  return fs_npy_open (path, error);
}

static double
element (const FsTensor *tensor, size_t index)
{
  if (tensor->dtype == FS_DTYPE_F64)
    {
      double value;
      memcpy (&value, tensor->data + index * sizeof value, sizeof value);
      return value;
    }
  return fs_dtype_read (tensor->dtype, tensor->data, index);
}

static void
assert_close (double actual, double expected)
{
  g_assert_cmpfloat_with_epsilon (actual, expected, 1e-6 * fabs (expected) + 1e-30);
}

/* Reads every element, so a sanitizer sees any view past its storage. */
static double
element_sum (const FsTensor *tensor)
{
  double sum = 0;
  for (int64_t i = 0; i < tensor->n_elements; i++)
    sum += element (tensor, (size_t) i);
  return sum;
}

static void
check_values (const FsTensor *tensor, const cJSON *expected)
{
  const cJSON *values = cJSON_GetObjectItemCaseSensitive (expected, "values");
  double sum = element_sum (tensor);

  if (values != NULL)
    {
      g_assert_cmpint (cJSON_GetArraySize (values), ==, tensor->n_elements);
      size_t i = 0;
      const cJSON *value;
      cJSON_ArrayForEach (value, values)
        assert_close (element (tensor, i++), value->valuedouble);
      return;
    }

  assert_close (sum, cJSON_GetObjectItemCaseSensitive (expected, "sum")->valuedouble);
  const cJSON *sample;
  cJSON_ArrayForEach (sample, cJSON_GetObjectItemCaseSensitive (expected, "samples"))
    {
      int64_t index = (int64_t) cJSON_GetArrayItem (sample, 0)->valuedouble;
      g_assert_cmpint (index, <, tensor->n_elements);
      assert_close (element (tensor, (size_t) index), cJSON_GetArrayItem (sample, 1)->valuedouble);
    }
}

/* Zero copy: the storage is the whole file (its mapping) and the data lies
 * inside it. Otherwise the storage is the inflated member, not the file. */
static void
check_storage (const FsTensor *tensor, gboolean zero_copy, GBytes *contents)
{
  gsize size, file_size;
  const uint8_t *base = g_bytes_get_data (tensor->storage, &size);
  const uint8_t *file = g_bytes_get_data (contents, &file_size);

  g_assert_cmpuint (tensor->n_bytes, <=, size);
  if (tensor->n_bytes > 0)
    {
      g_assert_true (tensor->data >= base);
      g_assert_cmpuint ((size_t) (tensor->data - base), <=, size - tensor->n_bytes);
    }
  gboolean is_file = size == file_size && (size == 0 || memcmp (base, file, size) == 0);
  g_assert_cmpint (is_file, ==, zero_copy);
}

static void
check_tensor (const FsTensor *tensor, const cJSON *expected, GBytes *contents)
{
  g_assert_cmpstr (tensor->name, ==, json_string (expected, "name"));
  g_assert_cmpstr (fs_dtype_name (tensor->dtype), ==, json_string (expected, "dtype"));

  const cJSON *shape = cJSON_GetObjectItemCaseSensitive (expected, "shape");
  g_assert_cmpint (tensor->n_dims, ==, cJSON_GetArraySize (shape));
  int64_t n_elements = 1;
  for (int i = 0; i < tensor->n_dims; i++)
    {
      g_assert_cmpint (tensor->shape[i], ==, (int64_t) cJSON_GetArrayItem (shape, i)->valuedouble);
      n_elements *= tensor->shape[i];
    }
  g_assert_cmpint (tensor->n_elements, ==, n_elements);
  g_assert_cmpuint (tensor->n_bytes, ==, (size_t) n_elements * fs_dtype_size (tensor->dtype));

  check_values (tensor, expected);
  check_storage (tensor, cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (expected, "zero_copy")),
                 contents);
}

/* Fixture tests */

static void
test_valid (gconstpointer data)
{
  const cJSON *fixture = data;
  g_autofree char *path = fixture_path (fixture);
  g_autoptr(GError) error = NULL;
  g_autofree char *raw = NULL;
  gsize raw_size;

  g_assert_true (g_file_get_contents (path, &raw, &raw_size, NULL));
  g_autoptr(GBytes) contents = g_bytes_new_take (g_steal_pointer (&raw), raw_size);

  g_autoptr(FsTensorFile) file = open_fixture (fixture, path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fs_tensor_file_get_path (file), ==, path);

  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive (fixture, "tensors");
  g_assert_cmpint (fs_tensor_file_get_n_tensors (file), ==, cJSON_GetArraySize (tensors));
  guint index = 0;
  const cJSON *expected;
  cJSON_ArrayForEach (expected, tensors)
    {
      const FsTensor *tensor = fs_tensor_file_get_nth (file, index++);
      g_assert_true (fs_tensor_file_lookup (file, json_string (expected, "name")) == tensor);
      check_tensor (tensor, expected, contents);
    }
}

static void
test_invalid (gconstpointer data)
{
  const cJSON *fixture = data;
  g_autofree char *path = fixture_path (fixture);
  g_autoptr(GError) error = NULL;
  int code = strcmp (json_string (fixture, "code"), "UNSUPPORTED") == 0
                   ? FS_ERROR_UNSUPPORTED : FS_ERROR_INVALID;

  g_autoptr(FsTensorFile) file = open_fixture (fixture, path, &error);
  g_assert_null (file);
  g_assert_error (error, FS_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, json_string (fixture, "error")));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

/* The same archive parsed from a heap copy: stored members view that copy. */
static void
test_parse_heap_copy (void)
{
  g_autofree char *path = g_build_filename (fixture_dir, "params.npz", NULL);
  g_autofree char *raw = NULL;
  gsize size;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &raw, &size, NULL));
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&raw), size);
  const uint8_t *base = g_bytes_get_data (bytes, NULL);
  g_autoptr(FsTensorFile) file = fs_npz_parse ("memory.npz", bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fs_tensor_file_get_n_tensors (file), ==, 5);
  for (guint i = 0; i < fs_tensor_file_get_n_tensors (file); i++)
    {
      const FsTensor *tensor = fs_tensor_file_get_nth (file, i);
      g_assert_true (tensor->storage == bytes);
      g_assert_true (tensor->data > base && tensor->data + tensor->n_bytes <= base + size);
    }
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_npz_open ("/nonexistent/params.npz", &error);
  g_assert_null (file);
  g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/params.npz"));
}

static void
skip_without_fixtures (void)
{
  g_test_skip ("FLOWSCOPE_FIXTURES is not set");
}

/* Writing */

static void
round_trip (const char *dir, int n_dims, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < n_dims; i++)
    n *= shape[i];
  g_autofree float *values = g_new (float, MAX (n, 1));
  for (int64_t i = 0; i < n; i++)
    values[i] = (float) i * 0.5f - 3.0f;

  g_autofree char *path = g_strdup_printf ("%s/w%d.npy", dir, n_dims);
  g_autoptr(GError) error = NULL;
  g_assert_true (fs_npy_write_f32 (path, values, n_dims, shape, &error));
  g_assert_no_error (error);

  g_autoptr(FsTensorFile) file = fs_npy_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fs_tensor_file_get_n_tensors (file), ==, 1);
  const FsTensor *tensor = fs_tensor_file_get_nth (file, 0);
  g_autofree char *name = g_strdup_printf ("w%d", n_dims);
  g_assert_cmpstr (tensor->name, ==, name);
  g_assert_cmpint (tensor->dtype, ==, FS_DTYPE_F32);
  g_assert_cmpint (tensor->n_dims, ==, n_dims);
  for (int i = 0; i < n_dims; i++)
    g_assert_cmpint (tensor->shape[i], ==, shape[i]);
  g_assert_cmpint (tensor->n_elements, ==, n);

  /* numpy's layout: version 1.0, data 64-aligned, the file ends with it. */
  gsize size;
  const uint8_t *base = g_bytes_get_data (tensor->storage, &size);
  g_assert_cmpmem (base, 8, "\x93NUMPY\x01\x00", 8);
  g_assert_cmpuint ((size_t) (tensor->data - base) % 64, ==, 0);
  g_assert_cmpuint ((size_t) (tensor->data - base) + tensor->n_bytes, ==, size);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat (fs_dtype_read (FS_DTYPE_F32, tensor->data, (size_t) i), ==, values[i]);
}

static void
test_write_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("flowscope-npz-XXXXXX", &error);
  g_assert_no_error (error);

  const int64_t matrix[] = { 3, 5 };
  const int64_t vector[] = { 7 };
  const int64_t empty[] = { 0, 4, 2 };
  const int64_t deep[] = { 1, 2, 1, 3, 1, 1, 2, 1 };
  round_trip (dir, 2, matrix);
  round_trip (dir, 1, vector);
  round_trip (dir, 0, NULL);
  round_trip (dir, 3, empty);
  round_trip (dir, 8, deep);

  /* Overwriting replaces the file whole. */
  const int64_t smaller[] = { 2 };
  round_trip (dir, 1, smaller);

  const char *names[] = { "w0.npy", "w1.npy", "w2.npy", "w3.npy", "w8.npy" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_write_errors (void)
{
  const float values[] = { 1, 2 };
  const int64_t shape[] = { 2 };
  const int64_t too_deep[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 2 };
  const int64_t negative[] = { -2 };
  g_autoptr(GError) error = NULL;

  g_assert_false (fs_npy_write_f32 ("/nonexistent/dir/x.npy", values, 1, shape, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/dir/x.npy"));
  g_clear_error (&error);

  g_assert_false (fs_npy_write_f32 ("x.npy", values, 9, too_deep, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_false (fs_npy_write_f32 ("x.npy", values, 1, negative, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
}

/* fs_npy_parse names the tensor as told and views the given bytes. */
static void
test_parse_npy_in_memory (void)
{
  static const char npy[] =
    "\x93NUMPY\x01\x00\x3c\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }  \n"
    "\x00\x3c\x00\xc0";
  g_autoptr(GBytes) bytes = g_bytes_new_static (npy, sizeof npy - 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensor) tensor = fs_npy_parse ("mem", "x", bytes, (const uint8_t *) npy,
                                             sizeof npy - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tensor->name, ==, "x");
  g_assert_true (tensor->data == (const uint8_t *) npy + 70);
  g_assert_cmpfloat (fs_dtype_read (tensor->dtype, tensor->data, 0), ==, 1.0f);
  g_assert_cmpfloat (fs_dtype_read (tensor->dtype, tensor->data, 1), ==, -2.0f);

  /* Every proper prefix is refused, never read past. */
  for (size_t n = 0; n < sizeof npy - 1; n++)
    {
      g_autoptr(GError) prefix_error = NULL;
      g_autoptr(FsTensor) partial = fs_npy_parse ("mem", "x", bytes, (const uint8_t *) npy,
                                                  n, &prefix_error);
      g_assert_null (partial);
      g_assert_error (prefix_error, FS_ERROR, FS_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (prefix_error->message, "mem: "));
    }
}

static void
add_fixture_tests (const cJSON *expected, const char *group, GTestDataFunc func)
{
  const cJSON *fixture;
  cJSON_ArrayForEach (fixture, cJSON_GetObjectItemCaseSensitive (expected, group))
    {
      g_autofree char *name = g_strdup_printf ("/npz/%s/%s", group, json_string (fixture, "file"));
      g_test_add_data_func (name, fixture, func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/npz/write/round-trip", test_write_round_trip);
  g_test_add_func ("/npz/write/errors", test_write_errors);
  g_test_add_func ("/npz/parse/npy-in-memory", test_parse_npy_in_memory);
  g_test_add_func ("/npz/open/missing", test_missing_file);

  g_autoptr(cJSON) expected = NULL;
  const char *root = g_getenv ("FLOWSCOPE_FIXTURES");
  if (root == NULL)
    g_test_add_func ("/npz/fixtures", skip_without_fixtures);
  else
    {
      fixture_dir = g_build_filename (root, "npz", NULL);
      g_autofree char *json_path = g_build_filename (fixture_dir, "expected.json", NULL);
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;
      if (!g_file_get_contents (json_path, &text, NULL, &error))
        g_error ("%s", error->message);
      expected = cJSON_Parse (text);
      if (expected == NULL)
        g_error ("%s: not valid JSON", json_path);
      add_fixture_tests (expected, "valid", test_valid);
      add_fixture_tests (expected, "invalid", test_invalid);
      g_test_add_func ("/npz/parse/heap-copy", test_parse_heap_copy);
    }

  int status = g_test_run ();
  g_free (fixture_dir);
  return status;
}
