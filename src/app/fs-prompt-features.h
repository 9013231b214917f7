/* fs-prompt-features.h: the features most active on the prompt, per layer
 * and site, computed in a worker.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_PROMPT_FEATURES (fs_prompt_features_get_type ())

G_DECLARE_FINAL_TYPE (FsPromptFeatures, fs_prompt_features, FS, PROMPT_FEATURES, AdwBin)

GtkWidget   *fs_prompt_features_new            (void);
void         fs_prompt_features_set_workspace  (FsPromptFeatures *self,
                                                FsWorkspace      *workspace);
/* The prompt run (property "prompt"); NULL or empty for none. The model
 * runs only while the widget is visible, once per workspace and prompt. */
const char  *fs_prompt_features_get_prompt     (FsPromptFeatures *self);
void         fs_prompt_features_set_prompt     (FsPromptFeatures *self,
                                                const char       *prompt);
/* Whether the model is running on the prompt (property "computing"). */
gboolean     fs_prompt_features_get_computing  (FsPromptFeatures *self);

G_END_DECLS
