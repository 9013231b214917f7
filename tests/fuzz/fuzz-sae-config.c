/* fuzz-sae-config.c: SAELens cfg.json parsing (both the version 6 and the
 * flat form) on arbitrary bytes. */
#include <stdint.h>

#include "sae.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FsSae) sae = fs_sae_new_from_saelens_config ("fuzz/cfg.json", (const char *) data,
                                                         size, &error);
  g_assert ((sae == NULL) == (error != NULL));
  if (sae != NULL)
    {
      g_autofree char *id = fs_position_id (fs_sae_get_layer (sae), fs_sae_get_site (sae));
      g_assert (fs_sae_get_d_in (sae) > 0 && fs_sae_get_d_sae (sae) > 0);
      g_assert (fs_sae_get_hook_name (sae) != NULL && id != NULL);
    }
  return 0;
}
