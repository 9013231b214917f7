/* demo.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "demo.h"

static gboolean
has_saes (const char *dir)
{
  g_autofree char *saes = g_build_filename (dir, "saes", NULL);

  return g_file_test (saes, G_FILE_TEST_IS_DIR);
}

char *
fs_demo_find (void)
{
  const char *env = g_getenv ("FLOWSCOPE_DEMO_DIR");
  /* The source tree comes last: it serves uninstalled builds, and an
   * installed binary whose source tree is gone simply skips it. */
  const char *candidates[] = { FS_DEMO_INSTALLED_DIR, FS_DEMO_SOURCE_DIR };

  /* A set variable is the user's choice: no fallback behind it. */
  if (env != NULL)
    return has_saes (env) ? g_strdup (env) : NULL;
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (has_saes (candidates[i]))
      return g_strdup (candidates[i]);
  return NULL;
}

char *
fs_demo_path (const char *part)
{
  g_autofree char *dir = fs_demo_find ();

  return dir != NULL ? g_build_filename (dir, part, NULL) : NULL;
}
