/* cli-prompt.c: what `logits` and `generate` share: the model folder, its
 * tokenizer, and the prompt as token ids. */
#include "cli-prompt.h"

#include <stdlib.h>
#include <string.h>

#include "fs-error.h"
#include "prompt.h"

/* "1,2,3" (spaces allowed) into ids; FALSE on anything else. */
static gboolean
parse_ids (const char *text, GArray *ids)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      g_autofree char *word = g_strstrip (g_strdup (*p));
      guint64 id;
      if (!g_ascii_string_to_unsigned (word, 10, 0, G_MAXINT32, &id, NULL))
        return FALSE;
      int32_t value = (int32_t) id;
      g_array_append_val (ids, value);
    }
  return ids->len > 0;
}

int
cli_prompt_open (CliPrompt *prompt, const CliPromptOptions *options)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (int32_t));

  memset (prompt, 0, sizeof *prompt);
  if (options->model == NULL || (options->text == NULL) == (options->ids == NULL))
    {
      g_printerr ("flowscope-cli: needs --model and one of --prompt and --prompt-ids\n");
      return CLI_USAGE;
    }
  if (options->bos && options->no_bos)
    {
      g_printerr ("flowscope-cli: --bos and --no-bos contradict each other\n");
      return CLI_USAGE;
    }
  if (options->ids != NULL && !parse_ids (options->ids, ids))
    {
      g_printerr ("flowscope-cli: --prompt-ids takes token ids separated by commas\n");
      return CLI_USAGE;
    }

  prompt->model = fs_model_load (options->model, &error);
  if (prompt->model == NULL)
    return cli_fail (error);

  /* The tokenizer is needed for text prompts; otherwise it only names tokens. */
  prompt->tokenizer = fs_tokenizer_load (options->model, options->text != NULL ? &error : NULL);
  if (prompt->tokenizer == NULL && options->text != NULL)
    return cli_fail (error);

  /* Text prompts get BOS as prompt.h decides, unless --bos or --no-bos
   * say otherwise; explicit ids are taken as they are, unless --bos. */
  if (options->text != NULL)
    {
      FsPromptBos bos = options->bos ? FS_PROMPT_BOS_ALWAYS
                        : options->no_bos ? FS_PROMPT_BOS_NEVER : FS_PROMPT_BOS_AUTO;
      prompt->tokens = fs_prompt_encode (prompt->model, prompt->tokenizer, options->text, bos,
                                         &prompt->n_tokens, &error);
      return prompt->tokens != NULL ? CLI_OK : cli_fail (error);
    }
  if (options->bos)
    {
      int32_t bos = fs_prompt_bos_id (prompt->model, prompt->tokenizer);
      if (bos < 0)
        {
          g_set_error (&error, FS_ERROR, FS_ERROR_NOT_FOUND,
                       "%s: the model has no BOS token", options->model);
          return cli_fail (error);
        }
      g_array_prepend_val (ids, bos);
    }
  prompt->n_tokens = ids->len;
  prompt->tokens = (int32_t *) g_array_free (g_steal_pointer (&ids), FALSE);
  return CLI_OK;
}

void
cli_prompt_clear (CliPrompt *prompt)
{
  g_clear_pointer (&prompt->model, fs_model_unref);
  g_clear_pointer (&prompt->tokenizer, fs_tokenizer_unref);
  g_clear_pointer (&prompt->tokens, g_free);
}

char *
cli_prompt_decode (CliPrompt *prompt, const int32_t *ids, gsize n)
{
  if (prompt->tokenizer == NULL)
    return NULL;
  g_autofree char *bytes = fs_tokenizer_decode (prompt->tokenizer, ids, n, NULL);
  return g_utf8_make_valid (bytes, -1);
}

cJSON *
cli_prompt_ids_to_json (const int32_t *ids, gsize n)
{
  cJSON *array = cJSON_CreateArray ();
  for (gsize i = 0; i < n; i++)
    cJSON_AddItemToArray (array, cJSON_CreateNumber (ids[i]));
  return array;
}
