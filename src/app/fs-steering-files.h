/* fs-steering-files.h: what steering reads beside the SAEs, found next
 * to or above their folders as the bundled demo ships them: a theme
 * classifier (theme-classifier.json, see theme.h) for the texts' theme
 * scores, and feature statistics (feature-stats.json, see steer-typical.h)
 * whose mean activations are the "typical" steering unit of SAEs without
 * thresholds.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Immutable once loaded; readable from any thread.
 */

#pragma once

#include <glib.h>

#include "sae-set.h"
#include "theme.h"

G_BEGIN_DECLS

typedef struct _FsSteeringFiles FsSteeringFiles;

/* Blocking. Files that are missing leave their part empty; files that
 * cannot be used are reported by fs_steering_files_get_warnings. */
FsSteeringFiles    *fs_steering_files_load            (FsSaeSet           *set,
                                                       const char * const *sae_paths);
FsSteeringFiles    *fs_steering_files_ref             (FsSteeringFiles    *self);
void                fs_steering_files_unref           (FsSteeringFiles    *self);

/* NULL when there is none. */
FsThemeClassifier  *fs_steering_files_get_classifier  (FsSteeringFiles    *self);
/* The mean activation of feature @index of @sae (an SAE of the set), or
 * NaN when unknown. */
double              fs_steering_files_get_typical     (FsSteeringFiles    *self,
                                                       FsSae              *sae,
                                                       gint64              index);
/* Whether any typical activation is known. */
gboolean            fs_steering_files_has_typical     (FsSteeringFiles    *self);
const char * const *fs_steering_files_get_warnings    (FsSteeringFiles    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSteeringFiles, fs_steering_files_unref)

G_END_DECLS
