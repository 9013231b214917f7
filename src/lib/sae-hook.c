/* sae-hook.c: hooks where SAEs read a model run (sae-hook.h). */
#include "sae-hook.h"

#include "fs-error.h"
#include "steer.h"

guint
fs_sae_hook_add (FsModelRun *run, FsSae *sae, FsHookFunc func, gpointer user_data,
                 GDestroyNotify destroy, GError **error)
{
  FsModel *model = fs_model_run_get_model (run);
  int layer;
  FsHookPoint point;

  if (!fs_steer_site_hook (sae, &layer, &point, error))
    return 0;
  if (layer >= fs_model_get_config (model)->n_layers
      || fs_sae_get_d_in (sae) != fs_model_get_hook_width (model, point))
    {
      fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (sae),
               "the SAE does not fit the model's blocks.%d.%s", layer,
               fs_hook_point_name (point));
      return 0;
    }
  return fs_model_run_add_hook (run, layer, point, func, user_data, destroy);
}
