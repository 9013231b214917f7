/* replay-main.c: runs a fuzz target over every file of the folders given,
 * so kept corpus and crash inputs are checked by every ordinary test run. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_path (const char *path)
{
  int count = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *entry;
      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, entry, NULL);
          count += replay_path (child);
        }
      return count;
    }

  g_autofree char *contents = NULL;
  gsize length = 0;
  if (!g_file_get_contents (path, &contents, &length, NULL))
    {
      fprintf (stderr, "cannot read %s\n", path);
      return 0;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
  return 1;
}

int
main (int argc, char **argv)
{
  int count = 0;
  for (int i = 1; i < argc; i++)
    count += replay_path (argv[i]);
  printf ("replayed %d inputs\n", count);
  return count > 0 ? 0 : 1;
}
