/* flowscope-cli groups: data-dependent groups per layer on a text
 * (METHOD.md section 2, groups.h). */
#include "cli-prompt.h"

#include <stdio.h>

#include "groups.h"

int
cli_groups (int argc, char **argv)
{
  g_autofree char *model = NULL, *text_file = NULL;
  gboolean json = FALSE;
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder", "DIR" },
    { "text-file", 0, 0, G_OPTION_ARG_FILENAME, &text_file, "Text to run", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- where active residual features "
                                                            "come from, per layer");
  g_autoptr(GError) error = NULL;
  g_auto(CliPrompt) prompt = { NULL };
  g_autofree char *text = NULL;
  int rc;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (model == NULL || text_file == NULL)
    {
      g_printerr ("flowscope-cli: groups needs --saes, --model and --text-file\n");
      return CLI_USAGE;
    }
  if (!g_file_get_contents (text_file, &text, NULL, &error))
    return cli_fail (error);
  rc = cli_prompt_open (&prompt, &(CliPromptOptions) { model, text, NULL, FALSE, FALSE });
  if (rc != CLI_OK)
    return rc;
  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, model, &error);
  if (set == NULL)
    return cli_fail (error);
  g_autoptr(GArray) layers = fs_groups_compute (set, prompt.model, NULL, prompt.tokens,
                                                (int64_t) prompt.n_tokens, NULL, &error);
  if (layers == NULL)
    return cli_fail (error);

  if (json)
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON *names = cJSON_AddArrayToObject (root, "groups");
      cJSON *list = cJSON_AddArrayToObject (root, "layers");
      cJSON_AddStringToObject (root, "text_file", text_file);
      cJSON_AddNumberToObject (root, "tokens", (double) prompt.n_tokens);
      for (guint g = 0; g < FS_N_GROUPS; g++)
        cJSON_AddItemToArray (names, cJSON_CreateString (fs_group_name (g)));
      for (guint i = 0; i < layers->len; i++)
        {
          const FsGroupLayer *l = &g_array_index (layers, FsGroupLayer, i);
          cJSON *item = cJSON_CreateObject ();
          cJSON *counts = cJSON_AddObjectToObject (item, "counts");
          cJSON *shares = cJSON_AddObjectToObject (item, "shares");
          cJSON *has = cJSON_AddObjectToObject (item, "predecessor_saes");
          cJSON_AddNumberToObject (item, "layer", l->layer);
          cJSON_AddNumberToObject (item, "occurrences", (double) l->occurrences);
          for (guint g = 0; g < FS_N_GROUPS; g++)
            {
              cJSON_AddNumberToObject (counts, fs_group_name (g), (double) l->counts[g]);
              cJSON_AddNumberToObject (shares, fs_group_name (g),
                                       l->occurrences > 0
                                       ? (double) l->counts[g] / l->occurrences : 0.0);
            }
          cJSON_AddBoolToObject (has, "res", l->has_res);
          cJSON_AddBoolToObject (has, "mlp", l->has_mlp);
          cJSON_AddBoolToObject (has, "att", l->has_att);
          cJSON_AddItemToArray (list, item);
        }
      cli_print_json (root);
      return CLI_OK;
    }

  printf ("%s: %zu tokens; share of (token, active feature) pairs per group\n", text_file,
          (size_t) prompt.n_tokens);
  printf ("%5s %11s", "layer", "active");
  for (guint g = 1; g <= FS_N_GROUPS; g++)
    printf (" %8s", fs_group_name (g % FS_N_GROUPS) + 5);   /* without "From " */
  putchar ('\n');
  for (guint i = 0; i < layers->len; i++)
    {
      const FsGroupLayer *l = &g_array_index (layers, FsGroupLayer, i);
      printf ("%5d %11" G_GINT64_FORMAT, l->layer, l->occurrences);
      for (guint g = 1; g <= FS_N_GROUPS; g++)
        printf (" %8.3f", l->occurrences > 0
                          ? (double) l->counts[g % FS_N_GROUPS] / l->occurrences : 0.0);
      putchar ('\n');
    }
  return CLI_OK;
}
