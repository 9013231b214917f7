/* steer-typical.h: a feature's typical activation, the steering unit for
 * SAEs without a threshold (METHOD.md section 4, "Units"): the mean of its
 * positive activations over a text, measured with one unsteered pass of the
 * model and cached, or read from a feature-stats file (mean_act, as
 * data/demo/feature-stats.json ships it).
 *
 * Measuring skips the first position of every window: it is atypical (an
 * attention sink; often BOS), as SAE training usually leaves it out.
 */
#pragma once

#include "model.h"
#include "sae.h"

G_BEGIN_DECLS

typedef struct {
  FsSae   *sae;      /* not owned */
  int64_t  index;
  double   mean;     /* NaN until known; stays NaN for a feature never active */
  int64_t  count;    /* positions where it was active (-1: read from a stats file) */
} FsTypicalActivation;

/* Measures the mean of every item still NaN over `tokens`, in windows of
 * the model's context. */
gboolean fs_typical_measure (FsModel *model, const FsModelRunOptions *run_options,
                             FsTypicalActivation *items, guint n_items, const int32_t *tokens,
                             int64_t n_tokens, GCancellable *cancellable, GError **error);

/* The same through a JSON cache file (created if missing): entries are keyed
 * by SAE folder, model folder and a checksum of the tokens; only features
 * not in the cache are measured, then the cache is rewritten (temporary
 * file, then rename). */
gboolean fs_typical_measure_cached (const char *cache_path, FsModel *model,
                                    const FsModelRunOptions *run_options,
                                    FsTypicalActivation *items, guint n_items,
                                    const int32_t *tokens, int64_t n_tokens,
                                    GCancellable *cancellable, GError **error);

/* Fills items still NaN from a feature-stats file: {"saes": {NAME: {"hook_name",
 * "neuronpedia_id", "features": [{"mean_act": ...}, ...]}}}, matching an SAE by
 * its Neuronpedia id, else its hook name. Items without a match stay NaN. */
gboolean fs_typical_from_feature_stats (const char *path, FsTypicalActivation *items,
                                        guint n_items, GError **error);

G_END_DECLS
