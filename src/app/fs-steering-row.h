/* fs-steering-row.h: one item of the steering panel: a feature, or a
 * whole flow graph spread over layers by a strategy, with what is done to
 * it and how strongly.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Dragging the slider changes the value at once but commits it (the
 * "committed" signal, on which the panel regenerates) only when the
 * pointer lets go; keyboard and typed edits commit after a short pause.
 */

#pragma once

#include <gtk/gtk.h>

#include "flow-graph.h"
#include "steer-strategy.h"

G_BEGIN_DECLS

#define FS_TYPE_STEERING_ROW (fs_steering_row_get_type ())

G_DECLARE_FINAL_TYPE (FsSteeringRow, fs_steering_row, FS, STEERING_ROW, GtkListBoxRow)

GtkWidget   *fs_steering_row_new_feature  (int                      layer,
                                           FsSite                   site,
                                           gint64                   index,
                                           const char              *label);
/* Steers every feature of @graph, its seed labelled @label (may be NULL). */
GtkWidget   *fs_steering_row_new_graph    (FsFlowGraph             *graph,
                                           const char              *label);

/* The feature (for a graph, its seed). */
void         fs_steering_row_get_feature  (FsSteeringRow           *self,
                                           int                     *layer,
                                           FsSite                  *site,
                                           gint64                  *index);
/* The graph, or NULL for a single feature. */
FsFlowGraph *fs_steering_row_get_graph    (FsSteeringRow           *self);

FsSteerOp    fs_steering_row_get_op       (FsSteeringRow           *self);
void         fs_steering_row_set_op       (FsSteeringRow           *self,
                                           FsSteerOp                op);
/* r for rescale, s for add, c for clamp; for a graph, the coefficient the
 * strategy spreads. */
double       fs_steering_row_get_value    (FsSteeringRow           *self);
void         fs_steering_row_set_value    (FsSteeringRow           *self,
                                           double                   value);
/* A graph's strategy, with an explicit layer. */
void         fs_steering_row_get_strategy (FsSteeringRow           *self,
                                           FsStrategyParams        *params);
void         fs_steering_row_set_strategy (FsSteeringRow           *self,
                                           const FsStrategyParams  *params);

/* What one unit of the value is (e.g. "typical activations") and its size
 * in raw activation units (NaN: not one size), shown under the slider;
 * rescaling has no unit. */
void         fs_steering_row_set_unit     (FsSteeringRow           *self,
                                           const char              *unit,
                                           double                   raw_factor);
/* The range and unit line under the slider. */
const char  *fs_steering_row_get_range_text (FsSteeringRow         *self);
GtkRange    *fs_steering_row_get_slider   (FsSteeringRow           *self);

G_END_DECLS
