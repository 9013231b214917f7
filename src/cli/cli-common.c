#include "cli.h"

#include <stdio.h>

#include "fs-error.h"
#include "model.h"

int
cli_fail (const GError *error)
{
  g_printerr ("flowscope-cli: error: %s\n", error->message);
  return CLI_FAILED;
}

gboolean
cli_parse (GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;
  if (g_option_context_parse (context, argc, argv, &error))
    return TRUE;
  g_printerr ("flowscope-cli: %s\n", error->message);
  return FALSE;
}

gboolean
cli_take_paths (char ***paths, int argc, char **argv)
{
  if (argc <= 1)
    return TRUE;
  if (*paths == NULL)
    {
      g_printerr ("flowscope-cli: unexpected argument “%s”\n", argv[1]);
      return FALSE;
    }
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) *paths);
  for (int i = 1; i < argc; i++)
    g_strv_builder_add (builder, argv[i]);
  g_strfreev (*paths);
  *paths = g_strv_builder_end (builder);
  return TRUE;
}

void
cli_add_sae_set_options (GOptionContext *context, CliSaeSetArgs *args)
{
  /* GOption copies the entries, not what they point at: `args` must outlive
   * the parse. */
  const GOptionEntry entries[] = {
    { "saes", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args->paths,
      "SAE folders or folders to scan", "PATH..." },
    { "choose", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->choices,
      "Pick the SAE at a position whose path contains TEXT", "L/site=TEXT" },
    { "llamascope-threshold", 0, 0, G_OPTION_ARG_STRING, &args->llamascope,
      "Llama Scope threshold convention: reference (default) or saelens", "MODE" },
    { NULL }
  };
  g_option_context_add_main_entries (context, entries, NULL);
}

void
cli_sae_set_args_clear (CliSaeSetArgs *args)
{
  g_clear_pointer (&args->paths, g_strfreev);
  g_clear_pointer (&args->choices, g_strfreev);
  g_clear_pointer (&args->llamascope, g_free);
}

FsSaeSet *
cli_open_sae_set (CliSaeSetArgs *args, const char *model_path, GError **error)
{
  FsSaeSetOptions options = { .choices = (const char * const *) args->choices };
  g_autoptr(FsModel) model = NULL;

  if (args->paths == NULL || args->paths[0] == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "--saes: no path given");
      return NULL;
    }
  if (args->llamascope == NULL || g_str_equal (args->llamascope, "reference"))
    options.load.llamascope_threshold = FS_LLAMASCOPE_THRESHOLD_REFERENCE;
  else if (g_str_equal (args->llamascope, "saelens"))
    options.load.llamascope_threshold = FS_LLAMASCOPE_THRESHOLD_SAELENS;
  else
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "--llamascope-threshold: “%s” is neither reference nor saelens",
                   args->llamascope);
      return NULL;
    }
  if (model_path != NULL && !(model = fs_model_load (model_path, error)))
    return NULL;
  options.model = model;
  return fs_sae_set_open ((const char * const *) args->paths, &options, NULL, error);
}

void
cli_print_json (cJSON *document)
{
  char *text = cJSON_Print (document);
  puts (text);
  cJSON_free (text);
  cJSON_Delete (document);
}
