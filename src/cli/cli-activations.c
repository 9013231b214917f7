/* flowscope-cli activations: a feature's activation at every token of a
 * prompt, or the features most active on it per SAE
 * (prompt-activations.h). */
#include "cli-prompt.h"

#include <stdio.h>

#include "flow-graph.h"
#include "prompt-activations.h"

static int
print_feature (CliPrompt *prompt, FsSae *sae, const char *feature, int64_t index, gboolean json)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *z = g_new (float, prompt->n_tokens);

  if (!fs_prompt_feature_activations (prompt->model, NULL, sae, index, prompt->tokens,
                                      (int64_t) prompt->n_tokens, z, NULL, &error))
    return cli_fail (error);
  if (json)
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON *list;
      cJSON_AddStringToObject (root, "feature", feature);
      cJSON_AddItemToObject (root, "tokens", cli_prompt_ids_to_json (prompt->tokens,
                                                                      prompt->n_tokens));
      list = cJSON_AddArrayToObject (root, "activations");
      for (gsize t = 0; t < prompt->n_tokens; t++)
        cJSON_AddItemToArray (list, cJSON_CreateNumber (z[t]));
      cli_print_json (root);
      return CLI_OK;
    }
  for (gsize t = 0; t < prompt->n_tokens; t++)
    {
      g_autofree char *text = cli_prompt_decode (prompt, &prompt->tokens[t], 1);
      g_autofree char *shown = text != NULL ? g_strescape (text, NULL) : NULL;
      printf ("%5zu %8d %10.4f  %s\n", (size_t) t, prompt->tokens[t], z[t],
              shown != NULL ? shown : "");
    }
  return CLI_OK;
}

static int
print_active (CliPrompt *prompt, FsSaeSet *set, guint top_n, gboolean json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) active = fs_prompt_active_features (set, prompt->model, NULL,
                                                        prompt->tokens,
                                                        (int64_t) prompt->n_tokens, top_n,
                                                        NULL, &error);
  cJSON *root, *list;

  if (active == NULL)
    return cli_fail (error);
  root = cJSON_CreateObject ();
  cJSON_AddItemToObject (root, "tokens", cli_prompt_ids_to_json (prompt->tokens,
                                                                  prompt->n_tokens));
  cJSON_AddNumberToObject (root, "top", top_n);
  list = cJSON_AddArrayToObject (root, "features");
  for (guint i = 0; i < active->len; i++)
    {
      const FsActiveFeature *f = &g_array_index (active, FsActiveFeature, i);
      g_autofree char *id = fs_feature_id (f->layer, f->site, f->index);
      if (json)
        {
          cJSON *item = cJSON_CreateObject ();
          cJSON_AddStringToObject (item, "id", id);
          cJSON_AddNumberToObject (item, "activation", f->activation);
          cJSON_AddNumberToObject (item, "position", (double) f->position);
          cJSON_AddItemToArray (list, item);
        }
      else
        {
          g_autofree char *text = cli_prompt_decode (prompt, &prompt->tokens[f->position], 1);
          g_autofree char *shown = text != NULL ? g_strescape (text, NULL) : NULL;
          printf ("%-16s %10.4f  at %" G_GINT64_FORMAT " %s\n", id, f->activation, f->position,
                  shown != NULL ? shown : "");
        }
    }
  if (json)
    cli_print_json (root);
  else
    cJSON_Delete (root);
  return CLI_OK;
}

int
cli_activations (int argc, char **argv)
{
  g_autofree char *model = NULL, *text = NULL, *ids = NULL, *feature = NULL;
  gboolean json = FALSE, bos = FALSE, no_bos = FALSE;
  int top_n = 5;
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder", "DIR" },
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &text, "Prompt text (needs the tokenizer)", "T" },
    { "prompt-ids", 0, 0, G_OPTION_ARG_STRING, &ids, "Prompt token ids, taken as they are",
      "1,2,3" },
    { "bos", 0, 0, G_OPTION_ARG_NONE, &bos, "Prepend the BOS token", NULL },
    { "no-bos", 0, 0, G_OPTION_ARG_NONE, &no_bos, "Never prepend the BOS token", NULL },
    { "feature", 0, 0, G_OPTION_ARG_STRING, &feature,
      "This feature at every token (else the most active features)", "L/site/i" },
    { "top", 0, 0, G_OPTION_ARG_INT, &top_n, "Most active features per SAE (5)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- SAE features on a prompt");
  g_autoptr(GError) error = NULL;
  g_auto(CliPrompt) prompt = { NULL };
  int layer = 0, rc;
  FsSite site = FS_SITE_RES;
  int64_t index = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (top_n < 1)
    {
      g_printerr ("flowscope-cli: --top N needs N >= 1\n");
      return CLI_USAGE;
    }
  if (feature != NULL && !fs_feature_id_parse (feature, &layer, &site, &index, &error))
    {
      g_printerr ("flowscope-cli: --feature: %s\n", error->message);
      return CLI_USAGE;
    }
  rc = cli_prompt_open (&prompt, &(CliPromptOptions) { model, text, ids, bos, no_bos });
  if (rc != CLI_OK)
    return rc;
  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, model, &error);
  if (set == NULL)
    return cli_fail (error);

  if (feature == NULL)
    return print_active (&prompt, set, (guint) top_n, json);
  FsSae *sae = cli_lookup_feature (set, feature, layer, site, index, &error);
  if (sae == NULL)
    return cli_fail (error);
  return print_feature (&prompt, sae, feature, index, json);
}
