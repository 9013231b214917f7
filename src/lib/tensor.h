/* tensor.h: named, typed views of stored arrays, and files that hold them.
 *
 * A tensor never owns a copy of its data when it can help it: `data` points
 * into a memory mapping (or, for deflated npz members, into one inflated
 * buffer) that `storage` keeps alive. Views may be unaligned.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "dtype.h"

G_BEGIN_DECLS

#define FS_TENSOR_MAX_DIMS 8

typedef struct {
  char          *name;
  FsDtype        dtype;
  int            n_dims;
  int64_t        shape[FS_TENSOR_MAX_DIMS];
  int64_t        n_elements;
  const uint8_t *data;      /* row-major, little-endian, possibly unaligned */
  size_t         n_bytes;
  GBytes        *storage;   /* keeps `data` alive */
} FsTensor;

/* A set of named tensors read from one file (or several shards). */
typedef struct _FsTensorFile FsTensorFile;

FsTensorFile   *fs_tensor_file_new (const char *path);
FsTensorFile   *fs_tensor_file_ref (FsTensorFile *file);
void            fs_tensor_file_unref (FsTensorFile *file);
const char     *fs_tensor_file_get_path (FsTensorFile *file);
/* Takes ownership of `tensor`; its name must be new to the file. */
void            fs_tensor_file_add (FsTensorFile *file, FsTensor *tensor);
guint           fs_tensor_file_get_n_tensors (FsTensorFile *file);
/* Tensors in the order they were added. */
const FsTensor *fs_tensor_file_get_nth (FsTensorFile *file, guint index);
const FsTensor *fs_tensor_file_lookup (FsTensorFile *file, const char *name);
/* `__metadata__` of safetensors files: string to string; never NULL. */
GHashTable     *fs_tensor_file_get_metadata (FsTensorFile *file);

/* Builds a view; fails (naming `path`) when the shape overflows or does not
 * fit `n_bytes`. The caller has checked that `data` lies inside `storage`. */
FsTensor       *fs_tensor_new_view (const char *path, const char *name, FsDtype dtype,
                                    int n_dims, const int64_t *shape, GBytes *storage,
                                    const uint8_t *data, size_t n_bytes, GError **error);
void            fs_tensor_free (FsTensor *tensor);
/* Multiplies out a shape, FALSE on overflow of int64 or size_t bytes. */
gboolean        fs_shape_product (int n_dims, const int64_t *shape, size_t element_size,
                                  int64_t *n_elements, size_t *n_bytes);
/* "[2304, 16384]" */
char           *fs_shape_to_string (int n_dims, const int64_t *shape);

/* Maps a whole file read-only as GBytes (an empty file gives empty bytes). */
GBytes         *fs_map_file (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsTensorFile, fs_tensor_file_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsTensor, fs_tensor_free)

G_END_DECLS
