/* cli-prompt.h: what `logits` and `generate` share: --model, its tokenizer,
 * and --prompt / --prompt-ids / --bos / --no-bos turned into token ids. */
#pragma once

#include "cli.h"
#include "model.h"
#include "tokenizer.h"

typedef struct {
  const char *model;   /* --model DIR */
  const char *text;    /* --prompt T */
  const char *ids;     /* --prompt-ids 1,2,3 */
  gboolean    bos;     /* --bos: always prepend BOS */
  gboolean    no_bos;  /* --no-bos: never */
} CliPromptOptions;

typedef struct {
  FsModel     *model;
  FsTokenizer *tokenizer;   /* NULL when the folder has none (ids were given) */
  int32_t     *tokens;
  gsize        n_tokens;
} CliPrompt;

/* Loads the model (and tokenizer) and builds the prompt's tokens. Returns
 * CLI_OK, or CLI_USAGE / CLI_FAILED after printing why. Text prompts get BOS
 * when the model wants it (Gemma, Llama) or the tokenizer adds it; explicit
 * ids are taken as they are. */
int    cli_prompt_open (CliPrompt *prompt, const CliPromptOptions *options);
void   cli_prompt_clear (CliPrompt *prompt);
/* Text of the ids (made valid UTF-8), or NULL without a tokenizer. */
char  *cli_prompt_decode (CliPrompt *prompt, const int32_t *ids, gsize n);
cJSON *cli_prompt_ids_to_json (const int32_t *ids, gsize n);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliPrompt, cli_prompt_clear)
