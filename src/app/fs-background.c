/* fs-background.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "fs-background"

#include "fs-background.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BACKGROUND_NICE 10

static GPrivate lowered;

/* Linux keeps a nice value per thread: PRIO_PROCESS with a thread id sets
 * this thread's alone. GLib's pool threads are reused, so once is enough. */
static void
lower_this_thread (void)
{
  if (g_private_get (&lowered) != NULL)
    return;
  g_private_set (&lowered, GINT_TO_POINTER (1));
  if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), BACKGROUND_NICE) != 0)
    g_debug ("could not lower a worker's priority");
}

static void
background_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GTaskThreadFunc func = (GTaskThreadFunc) g_object_get_data (G_OBJECT (task), "fs-background-func");

  lower_this_thread ();
  func (task, source_object, task_data, cancellable);
}

void
fs_task_run_in_background (GTask           *task,
                           GTaskThreadFunc  func)
{
  g_object_set_data (G_OBJECT (task), "fs-background-func", (gpointer) func);
  g_task_run_in_thread (task, background_thread);
}
