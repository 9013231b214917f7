/* fs-feature-row.h: how the app's lists show features and SAE positions:
 * a site's title and coloured dot, and a row per feature.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "sae.h"

G_BEGIN_DECLS

/* "Residual stream", "MLP output" or "Attention output", translated. */
const char *fs_site_title      (FsSite      site);
/* A dot in the site's colour, for a row's prefix. */
GtkWidget  *fs_site_dot_new    (FsSite      site);
/* An activatable row titled with the feature's @id, its @label (or none)
 * below on at most two lines. */
GtkWidget  *fs_feature_row_new (const char *id,
                                const char *label);

G_END_DECLS
