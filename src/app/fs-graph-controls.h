/* fs-graph-controls.h: the flow graph's parameters, as the user sets them.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "flow-graph.h"

G_BEGIN_DECLS

#define FS_TYPE_GRAPH_CONTROLS (fs_graph_controls_get_type ())

G_DECLARE_FINAL_TYPE (FsGraphControls, fs_graph_controls, FS, GRAPH_CONTROLS, AdwBin)

GtkWidget *fs_graph_controls_new        (void);
/* Emits nothing. */
void       fs_graph_controls_set_params (FsGraphControls    *self,
                                         const FsFlowParams *params);
void       fs_graph_controls_get_params (FsGraphControls    *self,
                                         FsFlowParams       *params);

G_END_DECLS
