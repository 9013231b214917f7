/* flowscope-cli info: what SAEs a set holds and which one serves each position. */
#include "cli.h"

#include <stdio.h>

static cJSON *
sae_to_json (FsSaeSet *set, guint index)
{
  FsSae *sae = fs_sae_set_get_nth (set, index);
  g_autofree char *id = fs_position_id (fs_sae_get_layer (sae), fs_sae_get_site (sae));
  cJSON *item = cJSON_CreateObject ();

  cJSON_AddStringToObject (item, "id", id);
  cJSON_AddNumberToObject (item, "layer", fs_sae_get_layer (sae));
  cJSON_AddStringToObject (item, "site", fs_site_name (fs_sae_get_site (sae)));
  cJSON_AddStringToObject (item, "path", fs_sae_get_path (sae));
  cJSON_AddStringToObject (item, "format", fs_sae_format_name (fs_sae_get_format (sae)));
  cJSON_AddStringToObject (item, "architecture",
                           fs_architecture_name (fs_sae_get_architecture (sae)));
  cJSON_AddNumberToObject (item, "d_in", (double) fs_sae_get_d_in (sae));
  cJSON_AddNumberToObject (item, "d_sae", (double) fs_sae_get_d_sae (sae));
  cJSON_AddStringToObject (item, "dtype", fs_dtype_name (fs_sae_get_dtype (sae)));
  cJSON_AddStringToObject (item, "hook_name", fs_sae_get_hook_name (sae));
  cJSON_AddBoolToObject (item, "hook_z", fs_sae_is_hook_z (sae));
  if (fs_sae_get_architecture (sae) == FS_ARCH_TOPK)
    cJSON_AddNumberToObject (item, "k", fs_sae_get_k (sae));
  if (fs_sae_get_average_l0 (sae) >= 0)
    cJSON_AddNumberToObject (item, "average_l0", fs_sae_get_average_l0 (sae));
  if (fs_sae_get_neuronpedia_id (sae) != NULL)
    cJSON_AddStringToObject (item, "neuronpedia_id", fs_sae_get_neuronpedia_id (sae));
  cJSON_AddBoolToObject (item, "selected", fs_sae_set_is_selected (set, index));
  cJSON_AddStringToObject (item, "selection", fs_sae_set_get_selection_reason (set, index));
  return item;
}

static void
print_json (FsSaeSet *set)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *saes = cJSON_AddArrayToObject (root, "saes");
  cJSON *warnings = cJSON_AddArrayToObject (root, "warnings");

  for (guint i = 0; i < fs_sae_set_get_n_saes (set); i++)
    cJSON_AddItemToArray (saes, sae_to_json (set, i));
  for (const char * const *w = fs_sae_set_get_warnings (set); *w != NULL; w++)
    cJSON_AddItemToArray (warnings, cJSON_CreateString (*w));
  cli_print_json (root);
}

static void
print_human (FsSaeSet *set)
{
  guint n = fs_sae_set_get_n_saes (set);

  printf ("%u SAE%s\n", n, n == 1 ? "" : "s");
  for (guint i = 0; i < n; i++)
    {
      FsSae *sae = fs_sae_set_get_nth (set, i);
      g_autofree char *id = fs_position_id (fs_sae_get_layer (sae), fs_sae_get_site (sae));
      printf ("%c %-10s %-10s %-8s %6" G_GINT64_FORMAT " x %-7" G_GINT64_FORMAT " %-4s %s  (%s)\n",
              fs_sae_set_is_selected (set, i) ? '*' : ' ', id,
              fs_sae_format_name (fs_sae_get_format (sae)),
              fs_architecture_name (fs_sae_get_architecture (sae)), fs_sae_get_d_sae (sae),
              fs_sae_get_d_in (sae), fs_dtype_name (fs_sae_get_dtype (sae)),
              fs_sae_get_path (sae), fs_sae_set_get_selection_reason (set, i));
    }
  for (const char * const *w = fs_sae_set_get_warnings (set); *w != NULL; w++)
    printf ("warning: %s\n", *w);
}

int
cli_info (int argc, char **argv)
{
  g_auto(CliSaeSetArgs) sae_args = { 0 };
    g_autofree char *model = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder: attention SAEs on attn.hook_z are checked against it", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- list the SAEs of a set");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  cli_default_to_demo (&sae_args, NULL);

  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, model, &error);
  if (set == NULL)
    return cli_fail (error);
  if (json)
    print_json (set);
  else
    print_human (set);
  return CLI_OK;
}
