/* fs-feature-finder.h: find a feature by id or label, and list the SAEs.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_FEATURE_FINDER (fs_feature_finder_get_type ())

G_DECLARE_FINAL_TYPE (FsFeatureFinder, fs_feature_finder, FS, FEATURE_FINDER, AdwBin)

GtkWidget   *fs_feature_finder_new            (void);
void         fs_feature_finder_set_workspace  (FsFeatureFinder *self,
                                               FsWorkspace     *workspace);
/* Puts @text in the search entry (without searching) and clears errors. */
void         fs_feature_finder_set_text       (FsFeatureFinder *self,
                                               const char      *text);
/* Shows @id in the entry, unless the entry holds a label search, which
 * stays. */
void         fs_feature_finder_show_feature   (FsFeatureFinder *self,
                                               const char      *id);
/* As if the user typed @text and pressed Enter: a valid residual feature
 * id emits "feature-activated"; anything else shows an inline error or
 * searches the labels. Returns whether a feature was activated. */
gboolean     fs_feature_finder_activate_text  (FsFeatureFinder *self,
                                               const char      *text);
/* The inline error shown, or NULL. */
const char  *fs_feature_finder_get_error      (FsFeatureFinder *self);
void         fs_feature_finder_focus          (FsFeatureFinder *self);

G_END_DECLS
