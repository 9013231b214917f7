/* fs-labels.h: feature labels from Neuronpedia explanation exports.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A labels file is a JSON array of explanations, each
 *   {"modelId": "gemma-2-2b", "layer": "12-gemmascope-res-16k",
 *    "index": "4230", "description": "..."}
 * (Neuronpedia's export; "index" may be a string or a number). A feature's
 * Neuronpedia source id is "modelId/layer", which is what an SAE's
 * neuronpedia_id holds, so labels are looked up by source id and index.
 *
 * Small and app-side until src/lib grows labels.c; immutable once loaded,
 * readable from any thread.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _FsLabels FsLabels;

typedef struct {
  const char *model_id;
  const char *layer;        /* Neuronpedia's "layer": the source without the model */
  gint64      index;
  const char *description;
} FsLabel;

FsLabels      *fs_labels_load         (const char    *path,
                                       GCancellable  *cancellable,
                                       GError       **error);
FsLabels      *fs_labels_ref          (FsLabels      *labels);
void           fs_labels_unref        (FsLabels      *labels);

const char    *fs_labels_get_path     (FsLabels      *labels);
guint          fs_labels_get_n_labels (FsLabels      *labels);
const FsLabel *fs_labels_get_nth      (FsLabels      *labels,
                                       guint          index);
/* By Neuronpedia source id ("modelId/layer"), or NULL. */
const char    *fs_labels_lookup       (FsLabels      *labels,
                                       const char    *source,
                                       gint64         index);
/* By "layer" alone, ignoring the model id (for SAEs that do not carry a
 * Neuronpedia id: their folder name), or NULL. */
const char    *fs_labels_lookup_layer (FsLabels      *labels,
                                       const char    *layer,
                                       gint64         index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsLabels, fs_labels_unref)

G_END_DECLS
