/* flow-map.h: the all-pairs map of an SAE set (METHOD.md sections 2 and 6).
 *
 * For every layer L with a residual SAE, the top-K matches of every feature
 * of L/res against (L-1)/res ("prev"), L/mlp ("mlp"), L/att ("att") and
 * (L+1)/res ("next"), computed once (minutes) and then read by lookups
 * (microseconds), so that flow graphs over a whole set need no matrix work.
 *
 * File format, version 1 (docs/FLOWMAP.md says the same at more length).
 * Little-endian; every section starts at a multiple of 64 bytes, so a memory
 * mapping is read in place.
 *
 *   header, 64 bytes:
 *     0  char[8]  magic "FSFLOMAP"
 *     8  u32      version (1)
 *    12  u32      header size (64)
 *    16  u32      K, matches stored per feature (1..5)
 *    20  u32      number of SAE fingerprints (S)
 *    24  u32      number of relations (R)
 *    28  u32      0
 *    32  u64      offset of the fingerprint table
 *    40  u64      offset of the relation table
 *    48  u64      file size in bytes
 *    56  u64      0
 *   fingerprint table, S entries of 48 bytes: the set's selected SAEs, in
 *   position order (layer, then res/mlp/att):
 *     0  i32      layer (-1: the embedding)
 *     4  u32      site (0 res, 1 mlp, 2 att)
 *     8  u32      decoder dtype (0 F32, 1 F16, 2 BF16, 3 F64)
 *    12  u32      flags (bit 0: attention SAE on attn.hook_z)
 *    16  i64      d_in
 *    24  i64      d_sae
 *    32  u64      decoder size in bytes
 *    40  u8[8]    the first 8 bytes of the SHA-256 of the decoder's first
 *                 and last 4 KiB (of the bytes it spans as stored)
 *   relation table, R entries of 64 bytes, by source layer then relation:
 *     0  i32      source layer (the source site is always res)
 *     4  u32      source site (0)
 *     8  i32      target layer
 *    12  u32      target site
 *    16  u32      relation (0 prev, 1 mlp, 2 att, 3 next)
 *    20  u32      flags (bit 0: complete)
 *    24  u32      K (the header's)
 *    28  u32      0
 *    32  i64      rows: the source's d_sae
 *    40  i64      target rows: the target's d_sae (indices are below it)
 *    48  u64      offset of the indices: i32 [rows, K]
 *    56  u64      offset of the scores: f32 [rows, K]
 *   then the sections, in table order (indices, scores, indices, ...).
 *
 * Row i of a relation lists feature i's matches in match order (match.h:
 * best first, ties to the lower index, cosine > 0 only); unused slots hold
 * index -1 and score 0. A map is bound to its set by the fingerprints, not
 * by paths: moving the SAE folders keeps it valid.
 *
 * While it is computed the file is FILE.partial, laid out exactly as the
 * final file; a relation's "complete" flag is written after its data is on
 * disk. Running the computation again with the same set and K continues from
 * the complete relations; the finished file is renamed into place.
 *
 * An opened map is immutable: lookups may come from any thread.
 */
#pragma once

#include <gio/gio.h>

#include "match.h"
#include "sae-set.h"

G_BEGIN_DECLS

typedef enum {
  FS_MAP_PREV_RES,  /* L/res against (L-1)/res: backward, the residual predecessor */
  FS_MAP_MLP,       /* L/res against L/mlp */
  FS_MAP_ATT,       /* L/res against L/att */
  FS_MAP_NEXT_RES,  /* L/res against (L+1)/res: forward */
} FsMapRelation;

#define FS_MAP_N_RELATIONS 4

typedef struct {
  int            layer;         /* of the source, L/res */
  FsMapRelation  relation;
  int            target_layer;
  FsSite         target_site;
  int64_t        rows;          /* features of L/res */
  int64_t        target_rows;   /* features of the target */
} FsMapRelationInfo;

/* Called from the computing thread: `fraction` of the work done (0..1) and
 * what is being done ("3/res x 4/res"). */
typedef void (*FsMapProgress) (double fraction, const char *message, gpointer user_data);

typedef struct _FsFlowMap FsFlowMap;

/* Computes the map of `set` with `k` (1..FS_MATCH_MAX_K) matches per feature
 * and writes it to `path` (through `path`.partial, which a cancelled or
 * interrupted run leaves behind and a later run with the same set and `k`
 * resumes). Cancelling fails with G_IO_ERROR_CANCELLED. */
gboolean    fs_flow_map_compute (FsSaeSet *set, const char *path, int k,
                                 FsMapProgress progress, gpointer user_data,
                                 GCancellable *cancellable, GError **error);

/* Maps a finished map file and checks that it belongs to `set`. */
FsFlowMap  *fs_flow_map_open (const char *path, FsSaeSet *set, GError **error);
/* Validates a map held in `bytes` (named `path` in errors) without a set; for
 * fuzzing and tools. */
FsFlowMap  *fs_flow_map_parse (const char *path, GBytes *bytes, GError **error);
FsFlowMap  *fs_flow_map_ref (FsFlowMap *map);
void        fs_flow_map_unref (FsFlowMap *map);

/* K: the most matches per feature the map answers. */
int         fs_flow_map_get_k (FsFlowMap *map);
guint       fs_flow_map_get_n_relations (FsFlowMap *map);
const FsMapRelationInfo *fs_flow_map_get_relation (FsFlowMap *map, guint index);
/* Positions of the set that the map leaves out, and why (empty for maps
 * from fs_flow_map_parse). */
const char * const *fs_flow_map_get_warnings (FsFlowMap *map);

/* The top-min(k, K) matches of feature `index` of `layer`/res against the
 * relation's position, written to `out`; returns their number, or -1 when
 * the map lacks that relation. */
int         fs_flow_map_lookup (FsFlowMap *map, int layer, FsMapRelation relation,
                                int64_t index, int k, FsMatch *out);

const char *fs_map_relation_name (FsMapRelation relation);  /* "prev" "mlp" "att" "next" */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsFlowMap, fs_flow_map_unref)

G_END_DECLS
