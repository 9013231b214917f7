/* prompt.h: a text prompt as the token ids a model expects: BOS first when
 * the model wants it (Gemma, Llama) or its tokenizer's template adds it;
 * GPT-2 prompts start with the text itself. */
#pragma once

#include <gio/gio.h>

#include "model.h"
#include "tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  FS_PROMPT_BOS_AUTO,     /* as fs_prompt_wants_bos says */
  FS_PROMPT_BOS_ALWAYS,
  FS_PROMPT_BOS_NEVER,
} FsPromptBos;

/* The BOS id: the tokenizer's (may be NULL), else config.json's; -1 when
 * neither has one. */
int32_t   fs_prompt_bos_id (FsModel *model, FsTokenizer *tokenizer);
/* Whether text prompts start with BOS by default. */
gboolean  fs_prompt_wants_bos (FsModel *model, FsTokenizer *tokenizer);
/* `text` encoded, BOS first as `bos` says. Fails when BOS is wanted but
 * unknown, or when there is no token at all. Returns a newly allocated
 * array of *n_tokens ids. */
int32_t  *fs_prompt_encode (FsModel *model, FsTokenizer *tokenizer, const char *text,
                            FsPromptBos bos, gsize *n_tokens, GError **error);

G_END_DECLS
