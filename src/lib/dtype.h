/* dtype.h: element types of stored tensors and their conversion to float.
 *
 * Stored data may be unaligned (older safetensors writers), so every reader
 * here goes through memcpy and never casts a pointer.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  FS_DTYPE_F32,
  FS_DTYPE_F16,
  FS_DTYPE_BF16,
  FS_DTYPE_F64,
} FsDtype;

/* Bytes per element. */
size_t       fs_dtype_size (FsDtype dtype);
/* "F32", "F16", "BF16", "F64": the safetensors spelling. */
const char  *fs_dtype_name (FsDtype dtype);
/* Parses the safetensors spelling; FALSE for anything Flowscope does not read. */
gboolean     fs_dtype_from_name (const char *name, FsDtype *out);

float        fs_f16_to_f32 (uint16_t bits);
float        fs_bf16_to_f32 (uint16_t bits);
uint16_t     fs_f32_to_f16 (float value);
uint16_t     fs_f32_to_bf16 (float value);

/* Reads element `index` of a packed little-endian array as float. */
float        fs_dtype_read (FsDtype dtype, const void *data, size_t index);
/* Converts `n` packed elements starting at `data` into `out`. */
void         fs_dtype_to_f32 (FsDtype dtype, const void *data, size_t n, float *out);
/* Converts `n` elements spaced `stride` elements apart into packed `out`. */
void         fs_dtype_to_f32_strided (FsDtype dtype, const void *data, size_t stride,
                                      size_t n, float *out);

G_END_DECLS
