/* fs-window.h
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-application.h"
#include "fs-feature-finder.h"
#include "fs-graph-controls.h"
#include "fs-graph-widget.h"
#include "fs-inspector.h"
#include "fs-steering-panel.h"
#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_WINDOW (fs_window_get_type ())

G_DECLARE_FINAL_TYPE (FsWindow, fs_window, FS, WINDOW, AdwApplicationWindow)

FsWindow        *fs_window_new               (FsApplication  *application);
/* Loads in a worker, keeping what is open until the new set is ready;
 * failures show in a toast. Successful opens are remembered as recent. */
void             fs_window_open_model        (FsWindow       *self,
                                              GFile          *folder);
void             fs_window_open_sae_sets     (FsWindow       *self,
                                              GFile * const  *folders,
                                              guint           n_folders);
/* Loads labels for the SAEs open (see the function's documentation). */
void             fs_window_load_labels       (FsWindow       *self,
                                              GFile          *file);
/* Opens the bundled demo (model, SAEs, labels); FALSE when there is none. */
gboolean         fs_window_open_demo         (FsWindow       *self);
/* Whether a load is in flight. */
gboolean         fs_window_get_loading       (FsWindow       *self);
/* What is open, or NULL. */
FsWorkspace     *fs_window_get_workspace     (FsWindow       *self);

/* Shows the flow graph of residual feature @layer/res/@index. */
void             fs_window_show_feature      (FsWindow       *self,
                                              int             layer,
                                              gint64          index);

/* Writes the graph shown as @format ("png", "svg", "pdf", "json",
 * "graphml" or "dot") to @file in a worker, atomically. */
void             fs_window_export_async      (FsWindow            *self,
                                              const char          *format,
                                              GFile               *file,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean         fs_window_export_finish     (FsWindow            *self,
                                              GAsyncResult        *result,
                                              GError             **error);

/* The prompt shared by the steering panel and the inspector (property
 * "prompt"); NULL until one is set. */
const char      *fs_window_get_prompt        (FsWindow       *self);
void             fs_window_set_prompt        (FsWindow       *self,
                                              const char     *prompt);

FsGraphWidget   *fs_window_get_graph_widget  (FsWindow       *self);
FsInspector     *fs_window_get_inspector     (FsWindow       *self);
FsFeatureFinder *fs_window_get_finder        (FsWindow       *self);
FsGraphControls *fs_window_get_controls      (FsWindow       *self);
FsSteeringPanel *fs_window_get_steering_panel (FsWindow      *self);

G_END_DECLS
