/* npz.h: NumPy's .npy arrays and .npz archives (ZIP of .npy members).
 *
 * Stored members are viewed in place in the mapping; deflated members are
 * inflated once with GIO's raw zlib decompressor. Sizes and offsets come
 * from the central directory (ZIP64 included), never from local headers alone.
 */
#pragma once

#include "tensor.h"

G_BEGIN_DECLS

/* Reads the .npy bytes `data[0..n_bytes)` held by `storage` as tensor `name`. */
FsTensor     *fs_npy_parse (const char *path, const char *name, GBytes *storage,
                            const uint8_t *data, size_t n_bytes, GError **error);
/* A .npy file as a one-tensor file; the tensor is named after the file
 * without its directory and ".npy". */
FsTensorFile *fs_npy_open (const char *path, GError **error);
/* An .npz archive; member "W_enc.npy" becomes tensor "W_enc". */
FsTensorFile *fs_npz_open (const char *path, GError **error);
FsTensorFile *fs_npz_parse (const char *path, GBytes *bytes, GError **error);
/* Writes a little-endian float32 C-order .npy, atomically (temp file + rename). */
gboolean      fs_npy_write_f32 (const char *path, const float *data, int n_dims,
                                const int64_t *shape, GError **error);

G_END_DECLS
