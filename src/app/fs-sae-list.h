/* fs-sae-list.h: the SAEs of the open set, by position.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-workspace.h"

G_BEGIN_DECLS

#define FS_TYPE_SAE_LIST (fs_sae_list_get_type ())

G_DECLARE_FINAL_TYPE (FsSaeList, fs_sae_list, FS, SAE_LIST, AdwBin)

GtkWidget *fs_sae_list_new           (void);
void       fs_sae_list_set_workspace (FsSaeList   *self,
                                      FsWorkspace *workspace);

G_END_DECLS
