/* prompt.c: text prompts as a model's token ids (prompt.h). */
#include "prompt.h"

#include <string.h>

#include "fs-error.h"

int32_t
fs_prompt_bos_id (FsModel *model, FsTokenizer *tokenizer)
{
  int32_t id = tokenizer != NULL ? fs_tokenizer_get_bos_id (tokenizer) : -1;
  return id >= 0 ? id : (int32_t) fs_model_get_config (model)->bos_token_id;
}

gboolean
fs_prompt_wants_bos (FsModel *model, FsTokenizer *tokenizer)
{
  return fs_model_wants_bos (model) || (tokenizer != NULL && fs_tokenizer_get_adds_bos (tokenizer));
}

int32_t *
fs_prompt_encode (FsModel *model, FsTokenizer *tokenizer, const char *text, FsPromptBos with_bos,
                  gsize *n_tokens, GError **error)
{
  gboolean bos = with_bos == FS_PROMPT_BOS_ALWAYS
                 || (with_bos == FS_PROMPT_BOS_AUTO && fs_prompt_wants_bos (model, tokenizer));
  int32_t bos_id = fs_prompt_bos_id (model, tokenizer);
  gsize n = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (tokenizer, text, -1, &n);
  int32_t *out;

  if (bos && bos_id < 0)
    {
      fs_fail (error, FS_ERROR_NOT_FOUND, fs_model_get_path (model), "the model has no BOS token");
      return NULL;
    }
  if (n == 0 && !bos)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "the prompt has no tokens");
      return NULL;
    }
  out = g_new (int32_t, n + bos);
  if (bos)
    out[0] = bos_id;
  memcpy (out + bos, ids, n * sizeof (int32_t));
  *n_tokens = n + bos;
  return out;
}
