#include "tensor.h"

#include "fs-error.h"

struct _FsTensorFile {
  gatomicrefcount ref_count;
  char *path;
  GPtrArray *tensors;     /* FsTensor*, owned */
  GHashTable *by_name;    /* name -> FsTensor*, borrowed */
  GHashTable *metadata;   /* char* -> char*, owned */
};

FsTensorFile *
fs_tensor_file_new (const char *path)
{
  FsTensorFile *file = g_new0 (FsTensorFile, 1);
  g_atomic_ref_count_init (&file->ref_count);
  file->path = g_strdup (path);
  file->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) fs_tensor_free);
  file->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return file;
}

FsTensorFile *
fs_tensor_file_ref (FsTensorFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_atomic_ref_count_inc (&file->ref_count);
  return file;
}

void
fs_tensor_file_unref (FsTensorFile *file)
{
  if (file == NULL || !g_atomic_ref_count_dec (&file->ref_count))
    return;
  g_hash_table_unref (file->by_name);
  g_ptr_array_unref (file->tensors);
  g_hash_table_unref (file->metadata);
  g_free (file->path);
  g_free (file);
}

const char *
fs_tensor_file_get_path (FsTensorFile *file)
{
  return file->path;
}

void
fs_tensor_file_add (FsTensorFile *file, FsTensor *tensor)
{
  g_return_if_fail (!g_hash_table_contains (file->by_name, tensor->name));
  g_ptr_array_add (file->tensors, tensor);
  g_hash_table_insert (file->by_name, tensor->name, tensor);
}

guint
fs_tensor_file_get_n_tensors (FsTensorFile *file)
{
  return file->tensors->len;
}

const FsTensor *
fs_tensor_file_get_nth (FsTensorFile *file, guint index)
{
  g_return_val_if_fail (index < file->tensors->len, NULL);
  return g_ptr_array_index (file->tensors, index);
}

const FsTensor *
fs_tensor_file_lookup (FsTensorFile *file, const char *name)
{
  return g_hash_table_lookup (file->by_name, name);
}

GHashTable *
fs_tensor_file_get_metadata (FsTensorFile *file)
{
  return file->metadata;
}

gboolean
fs_shape_product (int n_dims, const int64_t *shape, size_t element_size,
                  int64_t *n_elements, size_t *n_bytes)
{
  uint64_t product = 1;
  for (int i = 0; i < n_dims; i++)
    {
      if (shape[i] < 0)
        return FALSE;
      if (shape[i] != 0 && product > (uint64_t) INT64_MAX / (uint64_t) shape[i])
        return FALSE;
      product *= (uint64_t) shape[i];
    }
  if (product > SIZE_MAX / element_size)
    return FALSE;
  *n_elements = (int64_t) product;
  *n_bytes = (size_t) product * element_size;
  return TRUE;
}

char *
fs_shape_to_string (int n_dims, const int64_t *shape)
{
  GString *out = g_string_new ("[");
  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (out, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

FsTensor *
fs_tensor_new_view (const char *path, const char *name, FsDtype dtype, int n_dims,
                    const int64_t *shape, GBytes *storage, const uint8_t *data,
                    size_t n_bytes, GError **error)
{
  int64_t n_elements;
  size_t expected;

  if (n_dims < 0 || n_dims > FS_TENSOR_MAX_DIMS)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_UNSUPPORTED,
                   "%s: tensor “%s” has %d dimensions (at most %d are supported)",
                   path, name, n_dims, FS_TENSOR_MAX_DIMS);
      return NULL;
    }
  if (!fs_shape_product (n_dims, shape, fs_dtype_size (dtype), &n_elements, &expected))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: tensor “%s”: shape size overflows", path, name);
      return NULL;
    }
  if (expected != n_bytes)
    {
      g_autofree char *shape_text = fs_shape_to_string (n_dims, shape);
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: tensor “%s”: %zu bytes stored but %s %s needs %zu",
                   path, name, n_bytes, fs_dtype_name (dtype), shape_text, expected);
      return NULL;
    }

  FsTensor *tensor = g_new0 (FsTensor, 1);
  tensor->name = g_strdup (name);
  tensor->dtype = dtype;
  tensor->n_dims = n_dims;
  for (int i = 0; i < n_dims; i++)
    tensor->shape[i] = shape[i];
  tensor->n_elements = n_elements;
  tensor->data = data;
  tensor->n_bytes = n_bytes;
  tensor->storage = g_bytes_ref (storage);
  return tensor;
}

void
fs_tensor_free (FsTensor *tensor)
{
  if (tensor == NULL)
    return;
  g_bytes_unref (tensor->storage);
  g_free (tensor->name);
  g_free (tensor);
}

GBytes *
fs_map_file (const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &local_error);

  if (mapped == NULL)
    {
      g_set_error (error, FS_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? FS_ERROR_NOT_FOUND : FS_ERROR_IO,
                   "%s: %s", path, local_error->message);
      return NULL;
    }
  GBytes *bytes = g_mapped_file_get_bytes (mapped);
  g_mapped_file_unref (mapped);
  return bytes;
}
