/* fuzz-model-config.c: config.json parsing of model folders (gpt2, gemma2,
 * llama) on arbitrary bytes. */
#include <stdint.h>

#include "model.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  FsModelConfig config;
  gboolean ok = fs_model_config_parse ("fuzz/config.json", (const char *) data, size, &config,
                                       &error);

  g_assert (ok == (error == NULL));
  if (ok)
    {
      g_assert (config.n_layers >= 1 && config.d_model >= 1 && config.vocab_size >= 1);
      g_assert (config.n_heads % config.n_kv_heads == 0);
      g_assert (config.d_head >= 1 && config.d_mlp >= 1 && config.max_positions >= 1);
      g_assert (config.type == FS_MODEL_GPT2 || config.d_head % 2 == 0);
      g_assert (config.bos_token_id < config.vocab_size);
      g_assert (config.n_eos_token_ids >= 0 && config.n_eos_token_ids <= FS_MODEL_MAX_EOS);
      g_assert (fs_model_type_name (config.type) != NULL);
    }
  return 0;
}
