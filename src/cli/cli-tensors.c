/* flowscope-cli tensors: names, dtypes and shapes of the tensors in files,
 * after every validation the loaders do. Handy for users and for tests of
 * bad input. */
#include "cli.h"

#include <stdio.h>

#include "npz.h"
#include "safetensors.h"

static FsTensorFile *
open_any (const char *path, GError **error)
{
  if (g_str_has_suffix (path, ".json"))
    return fs_safetensors_open_index (path, error);
  if (g_str_has_suffix (path, ".npz"))
    return fs_npz_open (path, error);
  if (g_str_has_suffix (path, ".npy"))
    return fs_npy_open (path, error);
  return fs_safetensors_open (path, error);
}

static cJSON *
file_to_json (FsTensorFile *file)
{
  cJSON *item = cJSON_CreateObject ();
  cJSON *tensors = cJSON_AddArrayToObject (item, "tensors");

  cJSON_AddStringToObject (item, "path", fs_tensor_file_get_path (file));
  for (guint i = 0; i < fs_tensor_file_get_n_tensors (file); i++)
    {
      const FsTensor *t = fs_tensor_file_get_nth (file, i);
      cJSON *entry = cJSON_CreateObject ();
      cJSON *shape = cJSON_AddArrayToObject (entry, "shape");
      cJSON_AddStringToObject (entry, "name", t->name);
      cJSON_AddStringToObject (entry, "dtype", fs_dtype_name (t->dtype));
      for (int d = 0; d < t->n_dims; d++)
        cJSON_AddItemToArray (shape, cJSON_CreateNumber ((double) t->shape[d]));
      cJSON_AddItemToArray (tensors, entry);
    }
  return item;
}

int
cli_tensors (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FILE... - list tensors");
  cJSON *files = cJSON_CreateArray ();

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return CLI_USAGE;
  if (argc < 2)
    {
      g_printerr ("flowscope-cli: tensors needs at least one file\n");
      cJSON_Delete (files);
      return CLI_USAGE;
    }
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FsTensorFile) file = open_any (argv[i], &error);
      if (file == NULL)
        {
          cJSON_Delete (files);
          return cli_fail (error);
        }
      cJSON_AddItemToArray (files, file_to_json (file));
    }

  if (json)
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON_AddItemToObject (root, "files", files);
      cli_print_json (root);
      return CLI_OK;
    }
  for (cJSON *file = files->child; file != NULL; file = file->next)
    {
      printf ("%s\n", cJSON_GetObjectItem (file, "path")->valuestring);
      for (cJSON *t = cJSON_GetObjectItem (file, "tensors")->child; t != NULL; t = t->next)
        {
          g_autofree char *shape = cJSON_PrintUnformatted (cJSON_GetObjectItem (t, "shape"));
          printf ("  %-32s %-5s %s\n", cJSON_GetObjectItem (t, "name")->valuestring,
                  cJSON_GetObjectItem (t, "dtype")->valuestring, shape);
        }
    }
  cJSON_Delete (files);
  return CLI_OK;
}
