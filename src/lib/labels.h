/* labels.h: feature labels from Neuronpedia explanation exports.
 *
 * An export holds explanations
 *   {"modelId": "gemma-2-2b", "layer": "12-gemmascope-res-16k",
 *    "index": "4230", "description": "...", ...}
 * as a JSON array, as an object with an "explanations" array, or as JSON
 * Lines; any of them may be gzipped (FORMATS.md). "index" may be a string
 * or a number. Where a feature has several explanations, the first in the
 * file is its label.
 *
 * A feature's Neuronpedia source id is "modelId/layer", which is what an
 * SAE's neuronpedia_id holds; an SAE without one is matched by its folder
 * name against "layer" alone (the demo, SAEs trained locally).
 *
 * Immutable once loaded, readable from any thread.
 */
#pragma once

#include "sae-set.h"

G_BEGIN_DECLS

typedef struct _FsLabels FsLabels;

typedef struct {
  int64_t     index;
  const char *description;
} FsLabel;

FsLabels      *fs_labels_load (const char *path, GCancellable *cancellable, GError **error);
/* Parses an export held in memory; `where` names it in errors and is its path. */
FsLabels      *fs_labels_new_from_data (const char *where, const void *data, gsize size,
                                        GCancellable *cancellable, GError **error);
FsLabels      *fs_labels_ref (FsLabels *labels);
void           fs_labels_unref (FsLabels *labels);

const char    *fs_labels_get_path (FsLabels *labels);
/* Features labelled (one label each). */
guint          fs_labels_get_n_labels (FsLabels *labels);

/* By Neuronpedia source id ("modelId/layer"), or NULL. */
const char    *fs_labels_lookup (FsLabels *labels, const char *source, int64_t index);
/* By "layer" alone, whatever the model id, or NULL. */
const char    *fs_labels_lookup_layer (FsLabels *labels, const char *layer, int64_t index);
/* Feature `index` of `sae`: by its Neuronpedia id, else by its folder name;
 * or NULL. */
const char    *fs_labels_lookup_sae (FsLabels *labels, FsSae *sae, int64_t index);

/* The labels of `sae`'s features that contain `text`, ignoring ASCII case
 * (labels are English), in index order: at most `max_hits`, into `hits`.
 * Returns how many; stops early when `cancellable` is cancelled. */
guint          fs_labels_search (FsLabels *labels, FsSae *sae, const char *text,
                                 const FsLabel **hits, guint max_hits,
                                 GCancellable *cancellable);

/* FALSE, with an error naming the file and whom it labels, when it has no
 * label for any selected SAE of `set` (an export for other SAEs). */
gboolean       fs_labels_check_set (FsLabels *labels, FsSaeSet *set, GError **error);

/* Where labels for SAE folders are looked for by default: labels.json in
 * one of `sae_paths` or in the folder above it, the first found; or NULL. */
char          *fs_labels_find (const char * const *sae_paths);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsLabels, fs_labels_unref)

G_END_DECLS
