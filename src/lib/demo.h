/* demo.h: where the bundled demo world (data/demo: a small model, its SAEs,
 * labels and theme classifier) is, so that the app and the CLI open it when
 * nothing else is named.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* $FLOWSCOPE_DEMO_DIR, else the installed copy (DATADIR/flowscope/demo),
 * else the source tree this binary was built from; the first that holds a
 * saes folder. NULL when there is none. */
char *fs_demo_find (void);

/* A path inside the demo found by fs_demo_find ("model", "saes",
 * "theme-classifier.json"...), or NULL when there is no demo. */
char *fs_demo_path (const char *part);

G_END_DECLS
