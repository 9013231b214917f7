/* flowscope-cli match: the top-k matches of every feature of one position
 * among the features of another. */
#include "cli.h"

#include <stdio.h>

#include "fs-error.h"
#include "flow-graph.h"
#include "match.h"

static FsSae *
position (FsSaeSet *set, const char *text, const char *option, GError **error)
{
  g_autofree char *with_index = g_strconcat (text, "/0", NULL);
  int layer;
  FsSite site;
  int64_t unused;

  if (!fs_feature_id_parse (with_index, &layer, &site, &unused, NULL))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: “%s” is not a position (LAYER/SITE, e.g. 12/res)", option, text);
      return NULL;
    }
  FsSae *sae = fs_sae_set_lookup (set, layer, site);
  if (sae == NULL)
    g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "%s: no SAE at %s in this set", option,
                 text);
  return sae;
}

static cJSON *
matches_to_json (const char *from, const char *to, int k, int64_t rows, const FsMatch *matches,
                 const int *counts)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *list = cJSON_CreateArray ();

  cJSON_AddStringToObject (root, "from", from);
  cJSON_AddStringToObject (root, "to", to);
  cJSON_AddNumberToObject (root, "top_k", k);
  for (int64_t i = 0; i < rows; i++)
    {
      cJSON *row = cJSON_CreateObject ();
      cJSON *best = cJSON_AddArrayToObject (row, "matches");
      cJSON_AddNumberToObject (row, "index", (double) i);
      for (int j = 0; j < counts[i]; j++)
        {
          cJSON *m = cJSON_CreateObject ();
          cJSON_AddNumberToObject (m, "index", (double) matches[i * k + j].index);
          cJSON_AddNumberToObject (m, "score", matches[i * k + j].score);
          cJSON_AddItemToArray (best, m);
        }
      cJSON_AddItemToArray (list, row);
    }
  cJSON_AddItemToObject (root, "features", list);
  return root;
}

int
cli_match (int argc, char **argv)
{
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  g_autofree char *from = NULL, *to = NULL, *output = NULL;
  int k = 1;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "from", 0, 0, G_OPTION_ARG_STRING, &from, "Position whose features are matched", "L/site" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to, "Position they are matched against", "L/site" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &k, "Matches per feature (1-5)", "K" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the JSON here", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- match the features of two positions");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (from == NULL || to == NULL)
    {
      g_printerr ("flowscope-cli: match needs --from and --to\n");
      return CLI_USAGE;
    }
  if (k < 1 || k > FS_MATCH_MAX_K)
    {
      g_printerr ("flowscope-cli: --top-k must be 1 to %d\n", FS_MATCH_MAX_K);
      return CLI_USAGE;
    }

  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, NULL, &error);
  FsSae *source = set ? position (set, from, "--from", &error) : NULL;
  FsSae *target = source ? position (set, to, "--to", &error) : NULL;
  if (target == NULL)
    return cli_fail (error);

  int64_t rows = fs_sae_get_d_sae (source);
  g_autofree FsMatch *matches = g_new (FsMatch, (size_t) (rows * k));
  g_autofree int *counts = g_new (int, (size_t) rows);
  if (!fs_match_all (source, target, k, matches, counts, NULL, &error))
    return cli_fail (error);

  cJSON *document = matches_to_json (from, to, k, rows, matches, counts);
  if (output != NULL)
    {
      g_autofree char *text = cJSON_Print (document);
      cJSON_Delete (document);
      if (!g_file_set_contents (output, text, -1, &error))
        return cli_fail (error);
      return CLI_OK;
    }
  if (json)
    {
      cli_print_json (document);
      return CLI_OK;
    }
  for (cJSON *row = cJSON_GetObjectItem (document, "features")->child; row; row = row->next)
    {
      printf ("%s/%d", from, cJSON_GetObjectItem (row, "index")->valueint);
      for (cJSON *m = cJSON_GetObjectItem (row, "matches")->child; m; m = m->next)
        printf ("  %s/%d (%.4f)", to, cJSON_GetObjectItem (m, "index")->valueint,
                cJSON_GetObjectItem (m, "score")->valuedouble);
      putchar ('\n');
    }
  cJSON_Delete (document);
  return CLI_OK;
}
