/* match.h: matching features across positions by the cosine similarity of
 * their unit decoder rows (METHOD.md section 2): no data, no model.
 *
 * A feature's top-k matches at a position are its k most similar features
 * there, best first, ties broken by the lower index, matches with a
 * non-positive cosine dropped.
 */
#pragma once

#include <gio/gio.h>

#include "sae.h"

G_BEGIN_DECLS

#define FS_MATCH_MAX_K 5

typedef struct {
  int64_t index;
  float   score;
} FsMatch;

/* Inserts (index, score) into `list` [n of at most k], kept in match order.
 * Non-positive scores are ignored. Returns the new n. */
int  fs_top_k_insert (FsMatch *list, int n, int k, int64_t index, float score);

/* Top-k matches of `query` (a unit vector [d_in] of F32) among the features
 * of `target`; streams the stored decoder once, on all cores. Returns the
 * number of matches written to `out` (at most k). */
int  fs_match_query (FsSae *target, const float *query, int k, FsMatch *out);

/* Top-k matches of feature `index` of `source` among those of `target`,
 * or -1 (with `error` set) when the positions cannot be compared:
 * different d_in, or an
 * attention SAE on attn.hook_z (its space is the heads' until projected by
 * the model's W_O, which needs the model). */
int  fs_match_feature (FsSae *source, int64_t index, FsSae *target, int k, FsMatch *out,
                       GError **error);
/* Top-k matches of every feature of `source` among those of `target`, in
 * blocks with sgemm (flow-map-compute.c): `matches` [d_sae(source), k] and
 * `counts` [d_sae(source)] matches per feature. */
gboolean fs_match_all (FsSae *source, FsSae *target, int k, FsMatch *matches, int *counts,
                       GCancellable *cancellable, GError **error);
/* Checks that `source` and `target` can be compared (see above). */
gboolean fs_match_check_compatible (FsSae *source, FsSae *target, GError **error);

G_END_DECLS
