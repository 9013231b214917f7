/* flowscope-cli lens: the tokens a feature promotes and suppresses through
 * the model's unembedding (logit-lens.h). */
#include "cli.h"

#include <stdio.h>

#include "flow-graph.h"
#include "logit-lens.h"
#include "tokenizer.h"

/* The token's text (made valid UTF-8), or NULL without a tokenizer. */
static char *
token_text (FsTokenizer *tokenizer, int32_t id)
{
  if (tokenizer == NULL)
    return NULL;
  g_autofree char *bytes = fs_tokenizer_decode (tokenizer, &id, 1, NULL);
  return g_utf8_make_valid (bytes, -1);
}

static cJSON *
tokens_json (FsTokenizer *tokenizer, const FsLensToken *tokens, int n)
{
  cJSON *list = cJSON_CreateArray ();
  for (int k = 0; k < n; k++)
    {
      g_autofree char *text = token_text (tokenizer, tokens[k].token);
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddNumberToObject (item, "id", tokens[k].token);
      cJSON_AddNumberToObject (item, "score", tokens[k].score);
      if (text != NULL)
        cJSON_AddStringToObject (item, "text", text);
      cJSON_AddItemToArray (list, item);
    }
  return list;
}

static void
print_tokens (const char *title, FsTokenizer *tokenizer, const FsLensToken *tokens, int n)
{
  printf ("%s:\n", title);
  for (int k = 0; k < n; k++)
    {
      g_autofree char *text = token_text (tokenizer, tokens[k].token);
      g_autofree char *shown = text != NULL ? g_strescape (text, NULL) : NULL;
      printf ("%4d %8d %10.4f  %s\n", k + 1, tokens[k].token, tokens[k].score,
              shown != NULL ? shown : "");
    }
}

int
cli_lens (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *feature = NULL;
  gboolean json = FALSE;
  int n_top = 10;
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_path, "Model folder", "DIR" },
    { "feature", 0, 0, G_OPTION_ARG_STRING, &feature, "Feature", "L/site/i" },
    { "top", 0, 0, G_OPTION_ARG_INT, &n_top, "Tokens listed each way (10)", "K" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- tokens a feature promotes and "
                                                            "suppresses");
  g_autoptr(GError) error = NULL;
  int layer;
  FsSite site;
  int64_t index;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (model_path == NULL || feature == NULL || n_top < 1)
    {
      g_printerr ("flowscope-cli: lens needs --saes, --model and --feature, and --top K "
                  "with K >= 1\n");
      return CLI_USAGE;
    }
  if (!fs_feature_id_parse (feature, &layer, &site, &index, &error))
    {
      g_printerr ("flowscope-cli: --feature: %s\n", error->message);
      return CLI_USAGE;
    }

  g_autoptr(FsModel) model = fs_model_load (model_path, &error);
  if (model == NULL)
    return cli_fail (error);
  g_autoptr(FsTokenizer) tokenizer = fs_tokenizer_load (model_path, NULL);
  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, model_path, &error);
  if (set == NULL)
    return cli_fail (error);
  FsSae *sae = cli_lookup_feature (set, feature, layer, site, index, &error);
  if (sae == NULL)
    return cli_fail (error);

  g_autofree FsLensToken *top = g_new (FsLensToken, n_top);
  g_autofree FsLensToken *bottom = g_new (FsLensToken, n_top);
  int n = fs_logit_lens (model, sae, index, n_top, top, bottom, &error);
  if (n < 0)
    return cli_fail (error);

  if (json)
    {
      cJSON *root = cJSON_CreateObject ();
      cJSON_AddStringToObject (root, "feature", feature);
      cJSON_AddStringToObject (root, "model", model_path);
      cJSON_AddItemToObject (root, "promoted", tokens_json (tokenizer, top, n));
      cJSON_AddItemToObject (root, "suppressed", tokens_json (tokenizer, bottom, n));
      cli_print_json (root);
      return CLI_OK;
    }
  print_tokens ("Promoted", tokenizer, top, n);
  print_tokens ("Suppressed", tokenizer, bottom, n);
  return CLI_OK;
}
