/* flowscope-cli generate: a continuation of a prompt, streamed as it comes;
 * with --steer or --steer-graph, a baseline and a steered continuation
 * compared (cli-steer.c). */
#include "cli-prompt.h"
#include "cli-steer.h"

#include <stdio.h>

#include "generate.h"

typedef struct {
  FsTokenDecoder *decoder;   /* NULL: print ids */
  gboolean        quiet;     /* --json: print nothing while generating */
} Stream;

static gboolean
print_token (int32_t token, gpointer user_data)
{
  Stream *stream = user_data;

  if (stream->quiet)
    return TRUE;
  if (stream->decoder != NULL)
    {
      g_autofree char *text = fs_token_decoder_push (stream->decoder, token, NULL);
      fputs (text, stdout);
    }
  else
    printf (" %d", token);
  fflush (stdout);
  return TRUE;
}

static void
print_json (CliPrompt *prompt, const char *text, GArray *tokens, FsStopReason reason)
{
  cJSON *root = cJSON_CreateObject ();
  const int32_t *ids = (const int32_t *) tokens->data;
  g_autofree char *prompt_text = cli_prompt_decode (prompt, prompt->tokens, prompt->n_tokens);
  g_autofree char *generated = cli_prompt_decode (prompt, ids, tokens->len);

  cJSON_AddStringToObject (root, "model", fs_model_get_path (prompt->model));
  if (text != NULL)
    cJSON_AddStringToObject (root, "prompt", text);
  cJSON_AddItemToObject (root, "prompt_tokens", cli_prompt_ids_to_json (prompt->tokens,
                                                                         prompt->n_tokens));
  cJSON_AddItemToObject (root, "generated_tokens", cli_prompt_ids_to_json (ids, tokens->len));
  if (prompt_text != NULL)
    cJSON_AddStringToObject (root, "prompt_text", prompt_text);
  if (generated != NULL)
    cJSON_AddStringToObject (root, "text", generated);
  else
    cJSON_AddNullToObject (root, "text");
  cJSON_AddStringToObject (root, "stop_reason", fs_stop_reason_name (reason));
  cli_print_json (root);
}

int
cli_generate (int argc, char **argv)
{
  g_autofree char *model = NULL, *text = NULL, *ids = NULL;
  gboolean json = FALSE, bos = FALSE, no_bos = FALSE, greedy = FALSE, ignore_eos = FALSE;
  int max_tokens = 32;
  double temperature = 1, top_p = 1;
  gint64 seed = 0;
  int top_k = 0;
  g_auto(CliSteerOptions) steer = { 0 };
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder", "DIR" },
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &text, "Prompt text (needs the tokenizer)", "T" },
    { "prompt-ids", 0, 0, G_OPTION_ARG_STRING, &ids, "Prompt token ids, taken as they are",
      "1,2,3" },
    { "bos", 0, 0, G_OPTION_ARG_NONE, &bos, "Prepend the BOS token", NULL },
    { "no-bos", 0, 0, G_OPTION_ARG_NONE, &no_bos, "Never prepend the BOS token", NULL },
    { "max-tokens", 0, 0, G_OPTION_ARG_INT, &max_tokens, "Tokens to generate (32)", "N" },
    { "temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, "Sampling temperature (1)", "T" },
    { "top-p", 0, 0, G_OPTION_ARG_DOUBLE, &top_p, "Nucleus sampling mass (1: off)", "P" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &top_k, "Sample among the K best (0: off)", "K" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Random seed (0)", "S" },
    { "greedy", 0, 0, G_OPTION_ARG_NONE, &greedy, "Always take the most likely token", NULL },
    { "ignore-eos", 0, 0, G_OPTION_ARG_NONE, &ignore_eos, "Go on past end-of-sequence", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document at the end", NULL },
    { "steer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &steer.specs,
      "Steer a feature: scale (h += (r-1) a v), add (h += s v) or clamp (a becomes c); "
      "repeatable", "L/site/i:OP=V" },
    { "steer-graph", 0, 0, G_OPTION_ARG_FILENAME, &steer.graph,
      "Steer the features of a flow graph (JSON of “flowscope-cli graph”)", "GRAPH.json:OP=V" },
    { "strategy", 0, 0, G_OPTION_ARG_STRING, &steer.strategy,
      "Graph features steered: single (one layer), constant, linear or exponential "
      "(cumulative; default constant)", "NAME" },
    { "steer-layer", 0, 0, G_OPTION_ARG_STRING, &steer.layer,
      "single: the layer steered (default: the seed's); cumulative: the last layer "
      "(default: the graph's last)", "L" },
    { "alpha", 0, 0, G_OPTION_ARG_STRING, &steer.alpha,
      "exponential: s_l = s exp(alpha l) (-0.05)", "A" },
    { "s-end", 0, 0, G_OPTION_ARG_STRING, &steer.s_end,
      "linear: the coefficient at the graph's last layer (1)", "S" },
    { "steer-tokens", 0, 0, G_OPTION_ARG_STRING, &steer.tokens,
      "Positions steered: all (default), prompt or generated", "WHICH" },
    { "units", 0, 0, G_OPTION_ARG_STRING, &steer.units,
      "raw (default) or typical: JumpReLU thresholds, else typical activations (from "
      "--feature-stats or --typical-text), else 1/decoder norm", "UNITS" },
    { "typical-text", 0, 0, G_OPTION_ARG_FILENAME, &steer.typical_text,
      "Measure typical activations on this text (cached)", "FILE" },
    { "feature-stats", 0, 0, G_OPTION_ARG_FILENAME, &steer.feature_stats,
      "Typical activations from a feature-stats file (mean_act)", "FILE" },
    { "keywords", 0, 0, G_OPTION_ARG_STRING, &steer.keywords,
      "Theme words counted in both texts (“word*” matches prefixes)", "W1,W2" },
    { "classifier", 0, 0, G_OPTION_ARG_FILENAME, &steer.classifier,
      "Theme classifier over token ids (see theme.h)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- continue a prompt");
  g_autoptr(GError) error = NULL;
  g_auto(CliPrompt) prompt = { NULL };
  FsStopReason reason;
  int rc;

  g_option_context_add_main_entries (context, entries, NULL);
  cli_add_sae_set_options (context, &steer.sae);
  if (!cli_parse (context, &argc, &argv) || !cli_take_paths (&steer.sae.paths, argc, argv))
    return CLI_USAGE;
  if (cli_default_to_demo (&steer.sae, &model))
    cli_steer_default_to_demo (&steer);
  if (max_tokens < 0 || !(temperature >= 0) || !(top_p > 0 && top_p <= 1)
      || top_k < 0)
    {
      g_printerr ("flowscope-cli: generate takes options only, with --max-tokens >= 0, "
                  "--temperature >= 0, 0 < --top-p <= 1 and --top-k >= 0\n");
      return CLI_USAGE;
    }
  if (cli_steer_requested (&steer) && (rc = cli_steer_check (&steer)) != CLI_OK)
    return rc;
  rc = cli_prompt_open (&prompt, &(CliPromptOptions) { model, text, ids, bos, no_bos });
  if (rc != CLI_OK)
    return rc;

  FsSamplerParams params = { greedy, (float) temperature, top_k, (float) top_p,
                             (uint64_t) seed };
  FsGenerateOptions options = { max_tokens, ignore_eos };
  if (cli_steer_requested (&steer))
    return cli_steer_run (&prompt, &steer, &params, &options, json);
  g_autoptr(FsSampler) sampler = fs_sampler_new (&params);
  g_autoptr(FsModelRun) run = fs_model_run_new (prompt.model, NULL);
  g_autoptr(FsTokenDecoder) decoder = prompt.tokenizer != NULL && !json
                                      ? fs_token_decoder_new (prompt.tokenizer) : NULL;
  Stream stream = { decoder, json };

  if (!json && text != NULL)
    fputs (text, stdout);
  g_autoptr(GArray) tokens = max_tokens == 0 ? g_array_new (FALSE, FALSE, sizeof (int32_t))
    : fs_generate (run, sampler, prompt.tokens, (int64_t) prompt.n_tokens, &options,
                   print_token, &stream, &reason, NULL, &error);
  if (max_tokens == 0)
    reason = FS_STOP_LENGTH;
  if (tokens == NULL)
    {
      if (!json)
        putchar ('\n');
      return cli_fail (error);
    }
  if (json)
    print_json (&prompt, text, tokens, reason);
  else
    {
      if (decoder != NULL)
        {
          g_autofree char *rest = fs_token_decoder_flush (decoder, NULL);
          fputs (rest, stdout);
        }
      putchar ('\n');
    }
  return CLI_OK;
}
