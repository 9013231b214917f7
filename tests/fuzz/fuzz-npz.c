/* fuzz-npz.c: the same bytes as an .npz archive and as a .npy array.
 *
 * Every element of every tensor returned is read, so that AddressSanitizer
 * catches a view that reaches past its storage. */
#include <stdint.h>

#include "npz.h"

static volatile float sink;

static void
read_tensor (const FsTensor *tensor)
{
  float sum = 0;
  for (int64_t i = 0; i < tensor->n_elements; i++)
    sum += fs_dtype_read (tensor->dtype, tensor->data, (size_t) i);
  sink = sum;
}

/* Every message names the input and is valid text for the UI. */
static void
check_error (const GError *error, const char *path)
{
  g_assert (g_str_has_prefix (error->message, path));
  g_assert (g_utf8_validate (error->message, -1, NULL));
}

static void
read_file (FsTensorFile *file)
{
  for (guint i = 0; i < fs_tensor_file_get_n_tensors (file); i++)
    read_tensor (fs_tensor_file_get_nth (file, i));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A copy sized exactly to the input, so reads past it are caught. */
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  gsize n_bytes;
  const uint8_t *copy = g_bytes_get_data (bytes, &n_bytes);

  g_autoptr(GError) npz_error = NULL;
  g_autoptr(FsTensorFile) file = fs_npz_parse ("fuzz.npz", bytes, &npz_error);
  g_assert ((file == NULL) != (npz_error == NULL));
  if (file != NULL)
    read_file (file);
  else
    check_error (npz_error, "fuzz.npz: ");

  g_autoptr(GError) npy_error = NULL;
  g_autoptr(FsTensor) tensor = fs_npy_parse ("fuzz.npy", "fuzz", bytes, copy, n_bytes,
                                             &npy_error);
  g_assert ((tensor == NULL) != (npy_error == NULL));
  if (tensor != NULL)
    read_tensor (tensor);
  else
    check_error (npy_error, "fuzz.npy: ");
  return 0;
}
