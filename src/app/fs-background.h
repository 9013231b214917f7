/* fs-background.h: running the window's work off the main thread without
 * taking the CPU from it.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* g_task_run_in_thread, on a thread of lower CPU priority (nice 10): on a
 * laptop's few cores, generation and graph building would otherwise take
 * time slices the main loop needs to draw the next frame. Threads that the
 * work starts (the kernels' pool) inherit the priority. */
void fs_task_run_in_background (GTask           *task,
                                GTaskThreadFunc  func);

G_END_DECLS
