/* sae-set.h: every SAE found under some paths, keyed by position `L/site`.
 *
 * Paths are SAE folders or parents scanned recursively (SAELens, Gemma Scope,
 * Llama Scope, mixed). When several SAEs sit at one position, all are
 * listed and one is selected, by the first rule that applies:
 *   1. the user's choice (`L/site=TEXT`: the SAE whose path contains TEXT);
 *   2. Gemma Scope's canonical L0 (the SAEs Neuronpedia labels);
 *   3. the first by path.
 */
#pragma once

#include "sae.h"

G_BEGIN_DECLS

typedef struct _FsSaeSet FsSaeSet;

typedef struct {
  /* "L/site=TEXT" entries, NULL-terminated; may be NULL. */
  const char * const   *choices;
  FsSaeLoadOptions      load;
  /* The model the SAEs were trained on, or NULL: with it, attention SAEs on
   * attn.hook_z are matched through its output projection. */
  struct _FsModel      *model;
} FsSaeSetOptions;

FsSaeSet      *fs_sae_set_open (const char * const *paths, const FsSaeSetOptions *options,
                                GCancellable *cancellable, GError **error);
FsSaeSet      *fs_sae_set_ref (FsSaeSet *set);
void           fs_sae_set_unref (FsSaeSet *set);

/* All SAEs found, sorted by position (layer, then res/mlp/att), then path. */
guint          fs_sae_set_get_n_saes (FsSaeSet *set);
FsSae         *fs_sae_set_get_nth (FsSaeSet *set, guint index);
gboolean       fs_sae_set_is_selected (FsSaeSet *set, guint index);
/* Why this SAE was (or was not) chosen for its position, for `info`. */
const char    *fs_sae_set_get_selection_reason (FsSaeSet *set, guint index);
/* The selected SAE at a position, or NULL. */
FsSae         *fs_sae_set_lookup (FsSaeSet *set, int layer, FsSite site);
/* Lowest and highest layer with any SAE; FALSE when the set is empty. */
gboolean       fs_sae_set_get_layer_range (FsSaeSet *set, int *first, int *last);
const char * const *fs_sae_set_get_warnings (FsSaeSet *set);

/* A file that comes with SAE folders (labels, statistics...): `name` in
 * one of `paths` or in the folder above it, the first found; or NULL. */
char          *fs_sae_set_find_file (const char * const *paths, const char *name);

/* Gemma Scope 2B residual 16k canonical average L0 at `layer`, or -1. */
int            fs_gemmascope_canonical_l0 (int layer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSaeSet, fs_sae_set_unref)

G_END_DECLS
