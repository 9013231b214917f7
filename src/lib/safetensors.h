/* safetensors.h: the safetensors format, read in place from a mapping.
 *
 * Every rule of the reference reader is enforced before any tensor is
 * trusted (see ../shared/docs/FORMATS.md): header size and encoding, dtype,
 * shape overflow, byte counts, tensors that abut from offset 0 with no holes
 * or overlaps, and no trailing bytes.
 */
#pragma once

#include "tensor.h"

G_BEGIN_DECLS

FsTensorFile *fs_safetensors_open (const char *path, GError **error);
/* Parses `bytes` (the whole file) as if read from `path`; for fuzzing and tests. */
FsTensorFile *fs_safetensors_parse (const char *path, GBytes *bytes, GError **error);
/* Opens a sharded checkpoint from its `*.safetensors.index.json`: every tensor
 * of `weight_map` from its shard, each shard mapped once. */
FsTensorFile *fs_safetensors_open_index (const char *index_path, GError **error);

G_END_DECLS
