/* flowscope-cli causal: the deactivation test of a feature's matched
 * predecessors on a text (METHOD.md section 5, causal.h). */
#include "cli-prompt.h"

#include <math.h>
#include <stdio.h>

#include "causal.h"
#include "flow-graph.h"
#include "fs-error.h"
#include "json-util.h"
#include "match.h"

static const double sweep_values[] = { -2, -1, 0, 1, 2, 3 };

static gboolean
parse_rs (const char *text, GArray *rs)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      char *end = NULL;
      g_strstrip (*p);
      double r = g_ascii_strtod (*p, &end);
      if (**p == '\0' || *end != '\0' || !isfinite (r))
        return FALSE;
      g_array_append_val (rs, r);
    }
  return rs->len > 0;
}

typedef struct {
  FsSite  kind;     /* where the predecessor sits: res (L-1), mlp or att (L) */
  int     layer;
  FsSae  *sae;
  FsMatch match;
} Predecessor;

/* The target's top-1 match at each predecessor position that has an SAE;
 * positions skipped are described in `skipped`. */
static GArray *
find_predecessors (FsSaeSet *set, FsSae *target, int layer, int64_t index, cJSON *skipped)
{
  GArray *preds = g_array_new (FALSE, FALSE, sizeof (Predecessor));
  const Predecessor where[] = {
    { FS_SITE_RES, layer == 0 ? FS_LAYER_EMBED : layer - 1 },
    { FS_SITE_MLP, layer },
    { FS_SITE_ATT, layer },
  };

  for (size_t k = 0; k < G_N_ELEMENTS (where); k++)
    {
      Predecessor p = where[k];
      g_autofree char *position = fs_position_id (p.layer, p.kind);
      g_autoptr(GError) match_error = NULL;
      const char *why = NULL;

      p.sae = fs_sae_set_lookup (set, p.layer, p.kind);
      if (p.sae == NULL)
        why = "no SAE there";
      else
        {
          int n = fs_match_feature (target, index, p.sae, 1, &p.match, &match_error);
          if (n < 0)
            why = match_error->message;
          else if (n == 0)
            why = "no feature with a positive cosine";
        }
      if (why != NULL)
        {
          cJSON *item = cJSON_CreateObject ();
          cJSON_AddStringToObject (item, "position", position);
          cJSON_AddStringToObject (item, "reason", why);
          cJSON_AddItemToArray (skipped, item);
          continue;
        }
      g_array_append_val (preds, p);
    }
  return preds;
}

static cJSON *
number_or_null (double value)
{
  return isfinite (value) ? cJSON_CreateNumber (value) : cJSON_CreateNull ();
}

int
cli_causal (int argc, char **argv)
{
  g_autofree char *model = NULL, *feature = NULL, *text_file = NULL, *r_text = NULL;
  gboolean json = FALSE, sweep = FALSE;
  g_auto(CliSaeSetArgs) sae_args = { 0 };
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder", "DIR" },
    { "feature", 0, 0, G_OPTION_ARG_STRING, &feature, "Target feature", "L/res/i" },
    { "text-file", 0, 0, G_OPTION_ARG_FILENAME, &text_file, "Text to run", "FILE" },
    { "r", 0, 0, G_OPTION_ARG_STRING, &r_text, "Rescale factors of the predecessor (0)",
      "R,R,..." },
    { "sweep", 0, 0, G_OPTION_ARG_NONE, &sweep, "r from -2 to 3 in steps of 1", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- deactivate a feature's "
                                                            "predecessors and measure it");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) rs = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto(CliPrompt) prompt = { NULL };
  g_autofree char *text = NULL;
  int layer, rc;
  FsSite site;
  int64_t index;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &sae_args);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&sae_args.paths, argc, argv))
    return CLI_USAGE;
  if (model == NULL || feature == NULL || text_file == NULL)
    {
      g_printerr ("flowscope-cli: causal needs --saes, --model, --feature and --text-file\n");
      return CLI_USAGE;
    }
  if (!fs_feature_id_parse (feature, &layer, &site, &index, &error) || site != FS_SITE_RES
      || layer < 0)
    {
      g_printerr ("flowscope-cli: --feature: %s\n",
                  error != NULL ? error->message : "the target must be a residual feature L/res/i");
      return CLI_USAGE;
    }
  if (sweep && r_text != NULL)
    {
      g_printerr ("flowscope-cli: --r and --sweep contradict each other\n");
      return CLI_USAGE;
    }
  if (sweep)
    g_array_append_vals (rs, sweep_values, G_N_ELEMENTS (sweep_values));
  else if (r_text == NULL)
    g_array_append_val (rs, (double) { 0 });
  else if (!parse_rs (r_text, rs))
    {
      g_printerr ("flowscope-cli: --r takes finite numbers separated by commas\n");
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
  FsSae *target = fs_sae_set_lookup (set, layer, site);
  if (target == NULL || index >= fs_sae_get_d_sae (target))
    {
      g_set_error (&error, FS_ERROR, FS_ERROR_NOT_FOUND, "%s: %s", feature,
                   target == NULL ? "no SAE at its position among --saes"
                                  : "index out of range");
      return cli_fail (error);
    }

  g_autoptr(cJSON) root = cJSON_CreateObject ();
  cJSON *skipped = cJSON_CreateArray ();
  g_autoptr(GArray) preds = find_predecessors (set, target, layer, index, skipped);
  g_autoptr(GArray) trials = g_array_new (FALSE, TRUE, sizeof (FsCausalTrial));
  for (guint p = 0; p < preds->len; p++)
    for (guint k = 0; k < rs->len; k++)
      {
        Predecessor *pred = &g_array_index (preds, Predecessor, p);
        FsCausalTrial trial = { pred->sae, pred->match.index, g_array_index (rs, double, k) };
        g_array_append_val (trials, trial);
      }
  FsCausalBaseline baseline;
  if (!fs_causal_test (prompt.model, NULL, target, index, (FsCausalTrial *) trials->data,
                       trials->len, prompt.tokens, (int64_t) prompt.n_tokens, &baseline, NULL,
                       &error))
    {
      cJSON_Delete (skipped);
      return cli_fail (error);
    }

  cJSON_AddStringToObject (root, "feature", feature);
  cJSON_AddStringToObject (root, "text_file", text_file);
  cJSON_AddNumberToObject (root, "tokens", (double) baseline.n_tokens);
  cJSON_AddNumberToObject (root, "target_active", (double) baseline.target_active);
  cJSON_AddItemToObject (root, "loss", number_or_null (baseline.loss));
  cJSON *list = cJSON_AddArrayToObject (root, "predecessors");
  for (guint p = 0; p < preds->len; p++)
    {
      Predecessor *pred = &g_array_index (preds, Predecessor, p);
      g_autofree char *id = fs_feature_id (pred->layer, pred->kind, pred->match.index);
      cJSON *item = cJSON_CreateObject ();
      cJSON *sweep_json = cJSON_AddArrayToObject (item, "trials");
      cJSON_AddStringToObject (item, "feature", id);
      cJSON_AddStringToObject (item, "kind", fs_site_name (pred->kind));
      cJSON_AddNumberToObject (item, "score", pred->match.score);
      for (guint k = 0; k < rs->len; k++)
        {
          const FsCausalTrial *t = &g_array_index (trials, FsCausalTrial, p * rs->len + k);
          cJSON *row = cJSON_CreateObject ();
          cJSON_AddNumberToObject (row, "r", t->r);
          cJSON_AddNumberToObject (row, "co_active", (double) t->co_active);
          cJSON_AddItemToObject (row, "activation_change", number_or_null (t->activation_change));
          cJSON_AddItemToObject (row, "success", number_or_null (t->success));
          cJSON_AddItemToObject (row, "loss", number_or_null (t->loss));
          cJSON_AddItemToObject (row, "loss_change", number_or_null (t->loss_change));
          cJSON_AddItemToArray (sweep_json, row);
        }
      cJSON_AddItemToArray (list, item);
    }
  cJSON_AddItemToObject (root, "skipped", skipped);

  if (json)
    {
      cli_print_json (g_steal_pointer (&root));
      return CLI_OK;
    }
  printf ("%s on %s: %" G_GINT64_FORMAT " tokens, active on %" G_GINT64_FORMAT ", loss %.4f\n",
          feature, text_file, baseline.n_tokens, baseline.target_active, baseline.loss);
  printf ("%-16s %-5s %7s %6s %9s %12s %9s %12s\n", "predecessor", "kind", "cosine", "r",
          "co-active", "act. change", "success", "loss change");
  for (guint p = 0; p < preds->len; p++)
    for (guint k = 0; k < rs->len; k++)
      {
        Predecessor *pred = &g_array_index (preds, Predecessor, p);
        const FsCausalTrial *t = &g_array_index (trials, FsCausalTrial, p * rs->len + k);
        g_autofree char *id = fs_feature_id (pred->layer, pred->kind, pred->match.index);
        printf ("%-16s %-5s %7.3f %6g %9" G_GINT64_FORMAT " %12.3f %9.3f %+12.4f\n", id,
                fs_site_name (pred->kind), pred->match.score, t->r, t->co_active,
                t->activation_change, t->success, t->loss_change);
      }
  const cJSON *item;
  cJSON_ArrayForEach (item, skipped)
    printf ("skipped %s: %s\n", cJSON_GetObjectItem (item, "position")->valuestring,
            cJSON_GetObjectItem (item, "reason")->valuestring);
  return CLI_OK;
}
