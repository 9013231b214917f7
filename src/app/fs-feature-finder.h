/* fs-feature-finder.h: find a feature by id or label, and list the SAEs.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-prompt-features.h"
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
 * searches the labels. Returns whether a feature was activated, or a label
 * search is under way that will activate its first hit. */
gboolean     fs_feature_finder_activate_text  (FsFeatureFinder *self,
                                               const char      *text);
/* Whether a label search is under way. */
gboolean     fs_feature_finder_get_searching  (FsFeatureFinder *self);
/* The inline error shown, or NULL. */
const char  *fs_feature_finder_get_error      (FsFeatureFinder *self);
void         fs_feature_finder_focus          (FsFeatureFinder *self);
/* The "Active on Prompt" mode's list; its prompt is set by the window.
 * Activating a residual feature there emits "feature-activated", another
 * "feature-selected" (layer, site, index). */
FsPromptFeatures *fs_feature_finder_get_prompt_features (FsFeatureFinder *self);
/* Shows the "Active on Prompt" mode (the features most active on the
 * prompt) in place of label results, or leaves it. */
void         fs_feature_finder_set_prompt_mode (FsFeatureFinder *self,
                                                gboolean         prompt_mode);

G_END_DECLS
