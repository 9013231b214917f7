/* fuzz-safetensors.c: any bytes given to the safetensors parser either fail
 * with an error or yield tensors whose every element can be read. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static volatile float sink;

/* Reads each element, so ASan sees any view that reaches past the input. */
static void
read_tensor (const FsTensor *tensor)
{
  float sum = 0.0f;
  for (int64_t i = 0; i < tensor->n_elements; i++)
    sum += fs_dtype_read (tensor->dtype, tensor->data, (size_t) i);
  g_assert (tensor->n_bytes == (size_t) tensor->n_elements * fs_dtype_size (tensor->dtype));
  sink = sum;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A private copy: GBytes keeps no reference to the fuzzer's buffer, and
   * ASan knows the copy's exact bounds. */
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_safetensors_parse ("fuzz.safetensors", bytes, &error);

  if (file == NULL)
    {
      g_assert (error != NULL && g_str_has_prefix (error->message, "fuzz.safetensors: "));
      return 0;
    }
  g_assert (error == NULL);
  for (guint i = 0; i < fs_tensor_file_get_n_tensors (file); i++)
    read_tensor (fs_tensor_file_get_nth (file, i));
  return 0;
}
