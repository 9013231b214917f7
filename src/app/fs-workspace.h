/* fs-workspace.h: what the window has open: an SAE set, a model, a flow
 * map and labels, loaded together in a worker and immutable afterwards.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Opening something new builds a new workspace (reusing what is already
 * loaded where it can) and the window swaps it in when it is complete, so a
 * failed load leaves the previous one in place. Readable from any thread.
 */

#pragma once

#include <gio/gio.h>

#include "flow-graph.h"
#include "fs-steering-files.h"
#include "labels.h"
#include "model.h"
#include "tokenizer.h"

G_BEGIN_DECLS

typedef struct _FsWorkspace FsWorkspace;

/* A residual feature found by its label. */
typedef struct {
  int         layer;
  FsSite      site;
  gint64      index;
  const char *description;
} FsLabelHit;

/* Loads SAE folders (or NULL for none) and a model folder (or NULL), then
 * labels (@labels_path, or NULL for labels.json next to or above the SAE
 * folders) and a flow map (flowscope.map in the first SAE folder). What
 * @previous already holds for the same paths (the model, the labels) is
 * reused, not reloaded. Labels that cannot be used are a warning. */
void           fs_workspace_load_async          (const char * const   *sae_paths,
                                                 const char           *model_path,
                                                 const char           *labels_path,
                                                 FsWorkspace          *previous,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
FsWorkspace   *fs_workspace_load_finish         (GAsyncResult         *result,
                                                 GError              **error);
/* The same, blocking; for workers and tests. */
FsWorkspace   *fs_workspace_load                (const char * const   *sae_paths,
                                                 const char           *model_path,
                                                 const char           *labels_path,
                                                 FsWorkspace          *previous,
                                                 GCancellable         *cancellable,
                                                 GError              **error);

/* A workspace like @self (which must have SAEs) with the labels of
 * @labels_path instead of its own. Labels that do not load or label none of
 * the SAEs are an error. */
void           fs_workspace_load_labels_async   (FsWorkspace          *self,
                                                 const char           *labels_path,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
FsWorkspace   *fs_workspace_load_labels_finish  (GAsyncResult         *result,
                                                 GError              **error);
/* The same, blocking. */
FsWorkspace   *fs_workspace_load_labels         (FsWorkspace          *self,
                                                 const char           *labels_path,
                                                 GCancellable         *cancellable,
                                                 GError              **error);

FsWorkspace   *fs_workspace_ref                 (FsWorkspace          *self);
void           fs_workspace_unref               (FsWorkspace          *self);
/* Makes *@workspace_ptr a reference to @workspace (or NULL), dropping the
 * one it held, as g_set_object does; FALSE when it was @workspace already. */
gboolean       fs_set_workspace                 (FsWorkspace         **workspace_ptr,
                                                 FsWorkspace          *workspace);

/* NULL when no SAEs are open. */
FsSaeSet      *fs_workspace_get_set             (FsWorkspace          *self);
const char * const *fs_workspace_get_sae_paths  (FsWorkspace          *self);
/* NULL when no model is open. */
FsModel       *fs_workspace_get_model           (FsWorkspace          *self);
const char    *fs_workspace_get_model_path      (FsWorkspace          *self);
/* The model folder's tokenizer; NULL without a model or when it has none. */
FsTokenizer   *fs_workspace_get_tokenizer       (FsWorkspace          *self);
/* The theme classifier and typical activations found beside the SAEs;
 * NULL when no SAEs are open. */
FsSteeringFiles *fs_workspace_get_steering_files (FsWorkspace        *self);
FsFlowMap     *fs_workspace_get_map             (FsWorkspace          *self);
FsLabels      *fs_workspace_get_labels          (FsWorkspace          *self);
/* What the user should know (an unusable map, unreadable labels...). */
const char * const *fs_workspace_get_warnings   (FsWorkspace          *self);
/* One line for the header bar: "gpt2 · 13 SAEs · layers embed–3". */
char          *fs_workspace_describe            (FsWorkspace          *self);

/* A residual feature to show first: one with a sizeable flow graph near
 * the top of the set, found within a small time budget. FALSE without SAEs. */
gboolean       fs_workspace_get_start_feature   (FsWorkspace          *self,
                                                 int                  *layer,
                                                 gint64               *index);

/* The label of a feature, or NULL. */
const char    *fs_workspace_get_label           (FsWorkspace          *self,
                                                 int                   layer,
                                                 FsSite                site,
                                                 gint64                index);
/* "gemma-2-2b/12-gemmascope-res-16k/4230", or NULL when the SAE has no
 * Neuronpedia source id. */
char          *fs_workspace_dup_neuronpedia_id  (FsWorkspace          *self,
                                                 int                   layer,
                                                 FsSite                site,
                                                 gint64                index);
/* Checks that a feature exists in the open set; errors are for people. */
gboolean       fs_workspace_check_feature       (FsWorkspace          *self,
                                                 int                   layer,
                                                 FsSite                site,
                                                 gint64                index,
                                                 GError              **error);
/* Residual features whose label contains @text (ignoring ASCII case), at
 * most @max_hits, by layer and index; blocking (labels files can be large:
 * call it from a worker), partial once @cancellable is cancelled. Free with
 * g_free. */
FsLabelHit    *fs_workspace_search_labels       (FsWorkspace          *self,
                                                 const char           *text,
                                                 guint                 max_hits,
                                                 GCancellable         *cancellable,
                                                 guint                *n_hits);

/* The flow graph of residual feature @layer/res/@index (blocking: call it
 * from a worker), its nodes labelled where labels are known. */
FsFlowGraph   *fs_workspace_build_graph         (FsWorkspace          *self,
                                                 int                   layer,
                                                 gint64                index,
                                                 const FsFlowParams   *params,
                                                 GCancellable         *cancellable,
                                                 GError              **error);
/* @graph (built from this workspace) with the top matches of its residual
 * node @node at its predecessor positions, or @forward its successors,
 * whatever their scores, labelled (blocking: call it from a worker). */
FsFlowGraph   *fs_workspace_expand_graph        (FsWorkspace          *self,
                                                 FsFlowGraph          *graph,
                                                 guint                 node,
                                                 gboolean              forward,
                                                 GError              **error);


G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsWorkspace, fs_workspace_unref)

G_END_DECLS
