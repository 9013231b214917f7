#include "cli.h"

#include <stdio.h>

#include "demo.h"
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

gboolean
cli_default_to_demo (CliSaeSetArgs *saes, char **model)
{
  g_autofree char *demo = NULL;

  if ((saes != NULL && saes->paths != NULL && saes->paths[0] != NULL)
      || (model != NULL && *model != NULL))
    return FALSE;
  demo = fs_demo_find ();
  if (demo == NULL)
    return FALSE;
  if (saes != NULL)
    {
      g_strfreev (saes->paths);
      saes->paths = g_new0 (char *, 2);
      saes->paths[0] = g_build_filename (demo, "saes", NULL);
    }
  if (model != NULL)
    *model = g_build_filename (demo, "model", NULL);
  return TRUE;
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

FsSae *
cli_lookup_feature (FsSaeSet *set, const char *id, int layer, FsSite site, int64_t index,
                    GError **error)
{
  FsSae *sae = fs_sae_set_lookup (set, layer, site);

  if (sae == NULL || index >= fs_sae_get_d_sae (sae))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "%s: %s", id,
                   sae == NULL ? "no SAE at its position among --saes" : "index out of range");
      return NULL;
    }
  return sae;
}

void
cli_print_json (cJSON *document)
{
  char *text = cJSON_Print (document);
  puts (text);
  cJSON_free (text);
  cJSON_Delete (document);
}
