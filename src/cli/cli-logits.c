/* flowscope-cli logits: the next-token logits at every position of a prompt. */
#include "cli-prompt.h"

#include <math.h>
#include <stdio.h>

#include "npz.h"

typedef struct {
  int32_t id;
  float   logit;
  double  prob;
} Top;

/* The n best tokens of a row (lowest id first on ties), with softmax
 * probabilities computed in double. Returns how many were found. */
static int
top_tokens (const float *row, int64_t vocab, int n, Top *out)
{
  double max = -INFINITY, sum = 0;
  int found = 0;

  for (int64_t i = 0; i < vocab; i++)
    max = fmax (max, row[i]);
  for (int64_t i = 0; i < vocab; i++)
    sum += exp ((double) row[i] - max);
  for (int64_t i = 0; i < vocab; i++)
    {
      if (found == n && !(row[i] > out[n - 1].logit))
        continue;
      int pos = found < n ? found++ : n - 1;
      while (pos > 0 && row[i] > out[pos - 1].logit)
        {
          out[pos] = out[pos - 1];
          pos--;
        }
      out[pos] = (Top) { (int32_t) i, row[i], exp ((double) row[i] - max) / sum };
    }
  return found;
}

static void
add_text (cJSON *item, CliPrompt *prompt, int32_t id)
{
  g_autofree char *text = cli_prompt_decode (prompt, &id, 1);
  if (text != NULL)
    cJSON_AddStringToObject (item, "text", text);
}

static cJSON *
position_json (CliPrompt *prompt, gsize position, const float *row, int64_t vocab, int n_top)
{
  g_autofree Top *top = g_new (Top, (size_t) n_top);
  cJSON *item = cJSON_CreateObject ();
  cJSON *list;

  cJSON_AddNumberToObject (item, "position", (double) position);
  cJSON_AddNumberToObject (item, "token", prompt->tokens[position]);
  add_text (item, prompt, prompt->tokens[position]);
  list = cJSON_AddArrayToObject (item, "top");
  for (int k = 0, n = top_tokens (row, vocab, n_top, top); k < n; k++)
    {
      cJSON *entry = cJSON_CreateObject ();
      cJSON_AddNumberToObject (entry, "id", top[k].id);
      cJSON_AddNumberToObject (entry, "logit", top[k].logit);
      cJSON_AddNumberToObject (entry, "prob", top[k].prob);
      add_text (entry, prompt, top[k].id);
      cJSON_AddItemToArray (list, entry);
    }
  return item;
}

static void
print_json (CliPrompt *prompt, const float *logits, int64_t vocab, int n_top)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *positions;

  cJSON_AddStringToObject (root, "model", fs_model_get_path (prompt->model));
  cJSON_AddStringToObject (root, "model_type",
                           fs_model_type_name (fs_model_get_config (prompt->model)->type));
  cJSON_AddNumberToObject (root, "vocab_size", (double) vocab);
  cJSON_AddItemToObject (root, "tokens", cli_prompt_ids_to_json (prompt->tokens,
                                                                  prompt->n_tokens));
  positions = cJSON_AddArrayToObject (root, "positions");
  for (gsize i = 0; i < prompt->n_tokens; i++)
    cJSON_AddItemToArray (positions, position_json (prompt, i, logits + i * vocab, vocab,
                                                    n_top));
  cli_print_json (root);
}

static void
print_human (CliPrompt *prompt, const float *last, int64_t vocab, int n_top)
{
  g_autofree Top *top = g_new (Top, (size_t) n_top);
  int n = top_tokens (last, vocab, n_top, top);

  printf ("%" G_GSIZE_FORMAT " prompt token%s; most likely next tokens:\n", prompt->n_tokens,
          prompt->n_tokens == 1 ? "" : "s");
  for (int k = 0; k < n; k++)
    {
      g_autofree char *text = cli_prompt_decode (prompt, &top[k].id, 1);
      g_autofree char *shown = text != NULL ? g_strescape (text, NULL) : NULL;
      printf ("%4d %8d %12.4f %9.5f  %s\n", k + 1, top[k].id, top[k].logit, top[k].prob,
              shown != NULL ? shown : "");
    }
}

int
cli_logits (int argc, char **argv)
{
  g_autofree char *model = NULL, *text = NULL, *ids = NULL, *output = NULL;
  gboolean json = FALSE, bos = FALSE, no_bos = FALSE;
  int n_top = 5;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder", "DIR" },
    { "prompt", 0, 0, G_OPTION_ARG_STRING, &text, "Prompt text (needs the tokenizer)", "T" },
    { "prompt-ids", 0, 0, G_OPTION_ARG_STRING, &ids, "Prompt token ids, taken as they are",
      "1,2,3" },
    { "bos", 0, 0, G_OPTION_ARG_NONE, &bos, "Prepend the BOS token", NULL },
    { "no-bos", 0, 0, G_OPTION_ARG_NONE, &no_bos, "Never prepend the BOS token", NULL },
    { "top", 0, 0, G_OPTION_ARG_INT, &n_top, "Show the N most likely tokens (5)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document (every position)", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Write the logits of every position, float32 [n_tokens, vocab]", "LOGITS.npy" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- next-token logits of a prompt");
  g_autoptr(GError) error = NULL;
  g_auto(CliPrompt) prompt = { NULL };
  int rc;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return CLI_USAGE;
  cli_default_to_demo (NULL, &model);
  if (argc > 1 || n_top < 1)
    {
      g_printerr ("flowscope-cli: logits takes options only, and --top N with N >= 1\n");
      return CLI_USAGE;
    }
  rc = cli_prompt_open (&prompt, &(CliPromptOptions) { model, text, ids, bos, no_bos });
  if (rc != CLI_OK)
    return rc;

  int64_t vocab = fs_model_get_config (prompt.model)->vocab_size;
  gboolean all = json || output != NULL;
  gsize rows = all ? prompt.n_tokens : 1;
  g_autofree float *logits = g_try_new (float, rows * (gsize) vocab);
  g_autoptr(FsModelRun) run = fs_model_run_new (prompt.model, NULL);
  if (logits == NULL)
    {
      g_printerr ("flowscope-cli: error: not enough memory for %" G_GSIZE_FORMAT " x %"
                  G_GINT64_FORMAT " logits\n", rows, vocab);
      return CLI_FAILED;
    }
  if (!fs_model_run_forward (run, prompt.tokens, (int64_t) prompt.n_tokens,
                             all ? FS_LOGITS_ALL : FS_LOGITS_LAST, logits, NULL, &error))
    return cli_fail (error);

  if (output != NULL)
    {
      int64_t shape[2] = { (int64_t) prompt.n_tokens, vocab };
      if (!fs_npy_write_f32 (output, logits, 2, shape, &error))
        return cli_fail (error);
    }
  if (json)
    print_json (&prompt, logits, vocab, (int) MIN (n_top, vocab));
  else
    print_human (&prompt, logits + (rows - 1) * vocab, vocab, (int) MIN (n_top, vocab));
  return CLI_OK;
}
