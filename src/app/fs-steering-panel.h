/* fs-steering-panel.h: the features chosen for steering, the prompt and
 * sampling settings, and a baseline against a steered generation.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Generating runs the baseline and the steered model at once, in two
 * workers, and streams both into the comparison as tokens come; a new
 * request cancels the one in flight. Letting go of a slider generates
 * again.
 */

#pragma once

#include <adwaita.h>

#include "fs-steering-row.h"
#include "fs-text-comparison.h"
#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_STEERING_PANEL (fs_steering_panel_get_type ())

G_DECLARE_FINAL_TYPE (FsSteeringPanel, fs_steering_panel, FS, STEERING_PANEL, AdwBin)

GtkWidget        *fs_steering_panel_new             (void);

/* What features are steered in and generation runs on; rows whose
 * features the new workspace lacks are dropped. */
void              fs_steering_panel_set_workspace   (FsSteeringPanel      *self,
                                                     FsWorkspace          *workspace);

/* Adds a feature (or returns the row that has it), adding it with its
 * default operation and strength. */
FsSteeringRow    *fs_steering_panel_add_feature     (FsSteeringPanel      *self,
                                                     int                   layer,
                                                     FsSite                site,
                                                     gint64                index);
/* Steers @graph as a whole, replacing the graph steered before. */
FsSteeringRow    *fs_steering_panel_add_graph       (FsSteeringPanel      *self,
                                                     FsFlowGraph          *graph);
guint             fs_steering_panel_get_n_rows      (FsSteeringPanel      *self);
FsSteeringRow    *fs_steering_panel_get_row         (FsSteeringPanel      *self,
                                                     guint                 index);

/* The text generated from (property "prompt"). */
const char       *fs_steering_panel_get_prompt      (FsSteeringPanel      *self);
void              fs_steering_panel_set_prompt      (FsSteeringPanel      *self,
                                                     const char           *prompt);

/* Starts a baseline and a steered generation, cancelling any in flight;
 * what stops it (no model, no feature) is said in the panel. */
void              fs_steering_panel_generate        (FsSteeringPanel      *self);
/* Whether a generation is in flight (property "generating"). */
gboolean          fs_steering_panel_get_generating  (FsSteeringPanel      *self);
/* Whether a finished comparison can be exported. */
gboolean          fs_steering_panel_has_result      (FsSteeringPanel      *self);
FsTextComparison *fs_steering_panel_get_comparison  (FsSteeringPanel      *self);

/* Writes the last finished comparison as @format ("markdown" or "json")
 * to @file in a worker, atomically. */
void              fs_steering_panel_export_async    (FsSteeringPanel      *self,
                                                     const char           *format,
                                                     GFile                *file,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean          fs_steering_panel_export_finish   (FsSteeringPanel      *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

G_END_DECLS
