/* groups.h: data-dependent groups (METHOD.md section 2, the paper's
 * Appendix A). At every token where a residual feature f at L/res is
 * active (z > 0), which of its top-1 predecessors at (L-1)/res, L/mlp and
 * L/att are active at that token too: eight groups, from "From RES" to
 * "From nowhere". Counted per layer over the (token, active feature) pairs
 * of a text.
 *
 * A predecessor position without an SAE, or a feature without a positive
 * match there, counts as inactive (each layer says which positions it had).
 * Matches come from the all-pairs product (fs_match_all); attention SAEs on
 * attn.hook_z need the model's projection (an SAE set opened with the
 * model) and are matched one feature at a time, for the features that are
 * active on the text only.
 */
#pragma once

#include "model.h"
#include "sae-set.h"

G_BEGIN_DECLS

/* Bits of a group: which predecessors were active. */
enum {
  FS_GROUP_RES = 1 << 0,
  FS_GROUP_MLP = 1 << 1,
  FS_GROUP_ATT = 1 << 2,
};
#define FS_N_GROUPS 8

/* "From RES", "From MLP", "From RES & MLP", "From ATT", ..., "From nowhere" (0). */
const char *fs_group_name (guint group);

typedef struct {
  int      layer;
  int64_t  occurrences;            /* (token, active feature) pairs */
  int64_t  counts[FS_N_GROUPS];    /* by group bits */
  gboolean has_res, has_mlp, has_att;   /* predecessor positions with an SAE */
} FsGroupLayer;

/* Every layer with an SAE at L/res, in order, as FsGroupLayer. */
GArray *fs_groups_compute (FsSaeSet *set, FsModel *model, const FsModelRunOptions *run_options,
                           const int32_t *tokens, int64_t n_tokens, GCancellable *cancellable,
                           GError **error);

G_END_DECLS
