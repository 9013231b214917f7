/* sae-hook.h: an SAE reading a model as it runs: a hook at the SAE's site
 * (fs_steer_site_hook), added once the SAE is known to fit the model. */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

/* Adds `func` to `run` at the hook where `sae` reads. Fails, adding
 * nothing and not calling `destroy`, when the site has no hook (an MLP or
 * attention SAE on the embedding), the SAE's layer is beyond the model's or
 * its d_in is not the hook's width. Returns the hook id, or 0. */
guint fs_sae_hook_add (FsModelRun *run, FsSae *sae, FsHookFunc func, gpointer user_data,
                       GDestroyNotify destroy, GError **error);

G_END_DECLS
