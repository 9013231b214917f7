/* fs-inspector.h: everything known about the selected feature.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "flow-graph.h"
#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_INSPECTOR (fs_inspector_get_type ())

G_DECLARE_FINAL_TYPE (FsInspector, fs_inspector, FS, INSPECTOR, AdwBin)

GtkWidget  *fs_inspector_new             (void);
/* Shows @node of @graph (labels and Neuronpedia ids from @workspace, which
 * may be NULL); @node -1 or @graph NULL shows the empty state. */
void        fs_inspector_show_node       (FsInspector  *self,
                                          FsWorkspace  *workspace,
                                          FsFlowGraph  *graph,
                                          int           node);
/* The feature id shown, or NULL in the empty state. */
const char *fs_inspector_get_feature_id  (FsInspector  *self);
/* The Neuronpedia page linked, or NULL. */
const char *fs_inspector_get_neuronpedia_uri (FsInspector *self);
/* The prompt the feature shown is run on in a worker, its activation shown
 * at each token (property "prompt"); NULL or empty for none. */
const char *fs_inspector_get_prompt      (FsInspector  *self);
void        fs_inspector_set_prompt      (FsInspector  *self,
                                          const char   *prompt);
/* Whether the logit lens or the prompt's activations are being computed
 * (property "computing"). */
gboolean    fs_inspector_get_computing   (FsInspector  *self);

G_END_DECLS
