/* flowscope-cli map: precomputes every residual feature's matches against its
 * neighbouring positions (the all-pairs map), so that graphs become lookups;
 * --check opens an existing map against a set instead. */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

#include "flow-map.h"

typedef struct {
  gboolean  tty;
  char     *message;   /* the last one shown */
  int       percent;
} ProgressLine;

/* A line per pair; on a terminal, each line's percentage is updated in place
 * while its pair runs. */
static void
show_progress (double fraction, const char *message, gpointer user_data)
{
  ProgressLine *line = user_data;
  int percent = (int) (fraction * 100);
  gboolean new_message = g_strcmp0 (message, line->message) != 0;

  if (line->tty && new_message && line->message != NULL)
    fputc ('\n', stderr);
  if (line->tty && (new_message || percent != line->percent))
    fprintf (stderr, "\r\033[K[%3d%%] %s", percent, message);
  else if (!line->tty && new_message)
    fprintf (stderr, "[%3d%%] %s\n", percent, message);
  if (line->tty && g_str_equal (message, "done"))
    fputc ('\n', stderr);
  fflush (stderr);
  g_free (line->message);
  line->message = g_strdup (message);
  line->percent = percent;
}

static cJSON *
map_to_json (const char *path, FsFlowMap *map)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "path", path);
  cJSON_AddNumberToObject (root, "k", fs_flow_map_get_k (map));
  cJSON *relations = cJSON_AddArrayToObject (root, "relations");
  for (guint i = 0; i < fs_flow_map_get_n_relations (map); i++)
    {
      const FsMapRelationInfo *info = fs_flow_map_get_relation (map, i);
      g_autofree char *source = fs_position_id (info->layer, FS_SITE_RES);
      g_autofree char *target = fs_position_id (info->target_layer, info->target_site);
      cJSON *item = cJSON_CreateObject ();
      cJSON_AddStringToObject (item, "source", source);
      cJSON_AddStringToObject (item, "relation", fs_map_relation_name (info->relation));
      cJSON_AddStringToObject (item, "target", target);
      cJSON_AddNumberToObject (item, "rows", (double) info->rows);
      cJSON_AddNumberToObject (item, "target_rows", (double) info->target_rows);
      cJSON_AddItemToArray (relations, item);
    }
  cJSON *warnings = cJSON_AddArrayToObject (root, "warnings");
  for (const char * const *w = fs_flow_map_get_warnings (map); *w != NULL; w++)
    cJSON_AddItemToArray (warnings, cJSON_CreateString (*w));
  return root;
}

static void
print_human (const char *path, FsFlowMap *map, gboolean list)
{
  printf ("%s: %u relations, top-%d\n", path, fs_flow_map_get_n_relations (map),
          fs_flow_map_get_k (map));
  for (guint i = 0; list && i < fs_flow_map_get_n_relations (map); i++)
    {
      const FsMapRelationInfo *info = fs_flow_map_get_relation (map, i);
      g_autofree char *source = fs_position_id (info->layer, FS_SITE_RES);
      g_autofree char *target = fs_position_id (info->target_layer, info->target_site);
      printf ("  %-10s %-4s %-10s %7" G_GINT64_FORMAT " x %" G_GINT64_FORMAT "\n", source,
              fs_map_relation_name (info->relation), target, info->rows, info->target_rows);
    }
}

int
cli_map (int argc, char **argv)
{
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  g_autofree char *output = NULL, *check = NULL;
  int top_k = FS_MATCH_MAX_K;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "The map file to write", "FILE" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &top_k,
      "Matches kept per feature, 1 to 5 (default 5: any smaller k can be asked later)", "K" },
    { "check", 0, 0, G_OPTION_ARG_FILENAME, &check,
      "Instead of computing, check that a map file belongs to the set and list it", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "With --check: print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (
    "- precompute the matches of every residual feature against its neighbours");
  g_autoptr(GError) error = NULL;
  ProgressLine line = { isatty (STDERR_FILENO), NULL, -1 };

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (sae_args.paths == NULL || (output == NULL) == (check == NULL))
    {
      g_printerr ("flowscope-cli: map needs --saes and either -o or --check\n");
      return CLI_USAGE;
    }
  if (json && check == NULL)
    {
      g_printerr ("flowscope-cli: --json goes with --check\n");
      return CLI_USAGE;
    }
  if (top_k < 1 || top_k > FS_MATCH_MAX_K)
    {
      g_printerr ("flowscope-cli: --top-k must be between 1 and %d\n", FS_MATCH_MAX_K);
      return CLI_USAGE;
    }

  g_autoptr(FsSaeSet) set = cli_open_sae_set (&sae_args, NULL, &error);
  if (set == NULL)
    return cli_fail (error);
  for (const char * const *w = fs_sae_set_get_warnings (set); *w != NULL; w++)
    g_printerr ("flowscope-cli: warning: %s\n", *w);

  if (check != NULL)
    {
      g_autoptr(FsFlowMap) map = fs_flow_map_open (check, set, &error);
      if (map == NULL)
        return cli_fail (error);
      if (json)
        cli_print_json (map_to_json (check, map));
      else
        print_human (check, map, TRUE);
      return CLI_OK;
    }

  gboolean ok = fs_flow_map_compute (set, output, top_k, show_progress, &line, NULL, &error);
  if (!ok && line.tty && line.message != NULL)
    fputc ('\n', stderr);
  g_free (line.message);
  if (!ok)
    return cli_fail (error);

  /* Reading back what was written checks it, and says what it left out. */
  g_autoptr(FsFlowMap) map = fs_flow_map_open (output, set, &error);
  if (map == NULL)
    return cli_fail (error);
  for (const char * const *w = fs_flow_map_get_warnings (map); *w != NULL; w++)
    g_printerr ("flowscope-cli: warning: %s\n", *w);
  print_human (output, map, FALSE);
  return CLI_OK;
}
