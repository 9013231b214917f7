/* groups.c: data-dependent groups per layer (groups.h). */
#include "groups.h"

#include <string.h>

#include "match.h"
#include "sae-hook.h"

/* Index not matched yet (hook_z predecessors are matched when first needed). */
#define NOT_MATCHED (-2)

const char *
fs_group_name (guint group)
{
  static const char *names[FS_N_GROUPS] = {
    "From nowhere", "From RES", "From MLP", "From RES & MLP", "From ATT", "From RES & ATT",
    "From MLP & ATT", "From RES & MLP & ATT",
  };
  g_return_val_if_fail (group < FS_N_GROUPS, "?");
  return names[group];
}

/* One SAE's activity on the block last run: a bit per (row, feature). */
typedef struct {
  FsSae   *sae;
  int64_t  pos0, n, words;   /* words per row */
  guint64 *bits;
} Site;

static gboolean
site_active (const Site *site, int64_t row, int64_t feature)
{
  return (site->bits[row * site->words + feature / 64] >> (feature % 64)) & 1;
}

static void
site_free (Site *site)
{
  g_free (site->bits);
  g_free (site);
}

static void
site_hook (const FsHookBlock *block, gpointer user_data)
{
  Site *site = user_data;
  int64_t d_sae = fs_sae_get_d_sae (site->sae), n = block->n_tokens;
  g_autofree float *z = g_new (float, (size_t) (n * d_sae));

  fs_sae_encode (site->sae, block->data, n, z);
  site->pos0 = block->pos0;
  site->n = n;
  site->words = (d_sae + 63) / 64;
  site->bits = g_renew (guint64, site->bits, (size_t) (n * site->words));
  memset (site->bits, 0, (size_t) (n * site->words) * sizeof (guint64));
  for (int64_t t = 0; t < n; t++)
    for (int64_t i = 0; i < d_sae; i++)
      if (z[t * d_sae + i] > 0)
        site->bits[t * site->words + i / 64] |= G_GUINT64_CONSTANT (1) << (i % 64);
}

/* A residual layer: its target site, predecessors and their matches. */
typedef struct {
  FsGroupLayer *out;
  Site         *target;
  Site         *preds[3];     /* res, mlp, att; NULL when absent */
  int64_t      *matches[3];   /* [d_sae]: predecessor index, -1 none, NOT_MATCHED */
  GError       *error;        /* from a lazy match */
} Layer;

static void
layer_free (Layer *layer)
{
  for (int k = 0; k < 3; k++)
    g_free (layer->matches[k]);
  g_clear_error (&layer->error);
  g_free (layer);
}

static int64_t
layer_match (Layer *layer, int k, int64_t feature)
{
  int64_t *slot = &layer->matches[k][feature];
  FsMatch match;

  if (*slot == NOT_MATCHED)
    {
      int n = layer->error != NULL ? -1
              : fs_match_feature (layer->target->sae, feature, layer->preds[k]->sae, 1,
                                  &match, &layer->error);
      *slot = n > 0 ? match.index : -1;
    }
  return *slot;
}

static void
layer_hook (const FsHookBlock *block, gpointer user_data)
{
  Layer *layer = user_data;
  Site *target = layer->target;
  int64_t d_sae = fs_sae_get_d_sae (target->sae);

  for (int k = 0; k < 3; k++)
    g_assert (layer->preds[k] == NULL
              || (layer->preds[k]->pos0 == target->pos0 && layer->preds[k]->n == target->n));
  for (int64_t t = 0; t < target->n; t++)
    for (int64_t f = 0; f < d_sae; f++)
      {
        guint group = 0;
        if (!site_active (target, t, f))
          continue;
        for (int k = 0; k < 3; k++)
          {
            int64_t p = layer->preds[k] != NULL ? layer_match (layer, k, f) : -1;
            if (p >= 0 && site_active (layer->preds[k], t, p))
              group |= 1u << k;
          }
        layer->out->counts[group]++;
        layer->out->occurrences++;
      }
}

/* The site of `sae` among `sites`, hooked into `run` on first use. */
static Site *
site_for (GPtrArray *sites, FsModelRun *run, FsSae *sae, GError **error)
{
  for (guint i = 0; i < sites->len; i++)
    if (((Site *) sites->pdata[i])->sae == sae)
      return sites->pdata[i];
  Site *site = g_new0 (Site, 1);
  site->sae = sae;
  if (fs_sae_hook_add (run, sae, site_hook, site, (GDestroyNotify) site_free, error) == 0)
    {
      site_free (site);
      return NULL;
    }
  g_ptr_array_add (sites, site);
  return site;
}

/* Top-1 matches of every target feature at a predecessor position. */
static int64_t *
match_all (FsSae *target, FsSae *pred, GCancellable *cancellable, GError **error)
{
  int64_t d_sae = fs_sae_get_d_sae (target);
  int64_t *out = g_new (int64_t, (size_t) d_sae);

  if (fs_sae_is_hook_z (pred))
    {
      if (!fs_match_check_compatible (target, pred, error))
        {
          g_free (out);
          return NULL;
        }
      for (int64_t f = 0; f < d_sae; f++)
        out[f] = NOT_MATCHED;
      return out;
    }
  g_autofree FsMatch *matches = g_new (FsMatch, (size_t) d_sae);
  g_autofree int *counts = g_new (int, (size_t) d_sae);
  if (!fs_match_all (target, pred, 1, matches, counts, cancellable, error))
    {
      g_free (out);
      return NULL;
    }
  for (int64_t f = 0; f < d_sae; f++)
    out[f] = counts[f] > 0 ? matches[f].index : -1;
  return out;
}

GArray *
fs_groups_compute (FsSaeSet *set, FsModel *model, const FsModelRunOptions *run_options,
                   const int32_t *tokens, int64_t n_tokens, GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (model, run_options);
  g_autoptr(GPtrArray) sites = g_ptr_array_new ();
  g_autoptr(GPtrArray) layers = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_free);
  int n_layers = (int) fs_model_get_config (model)->n_layers;
  GArray *out = g_array_sized_new (FALSE, TRUE, sizeof (FsGroupLayer), (guint) n_layers);

  /* The FsGroupLayer records must not move once hooks point at them. */
  for (int l = 0; l < n_layers; l++)
    if (fs_sae_set_lookup (set, l, FS_SITE_RES) != NULL)
      {
        FsGroupLayer record = { .layer = l };
        g_array_append_val (out, record);
      }
  for (guint i = 0; i < out->len; i++)
    {
      FsGroupLayer *record = &g_array_index (out, FsGroupLayer, i);
      int l = record->layer;
      FsSae *preds[3] = {
        fs_sae_set_lookup (set, l == 0 ? FS_LAYER_EMBED : l - 1, FS_SITE_RES),
        fs_sae_set_lookup (set, l, FS_SITE_MLP),
        fs_sae_set_lookup (set, l, FS_SITE_ATT),
      };
      Layer *layer = g_new0 (Layer, 1);
      g_ptr_array_add (layers, layer);
      layer->out = record;
      if (!(layer->target = site_for (sites, run, fs_sae_set_lookup (set, l, FS_SITE_RES),
                                      error)))
        goto fail;
      for (int k = 0; k < 3; k++)
        if (preds[k] != NULL)
          {
            if (!(layer->preds[k] = site_for (sites, run, preds[k], error))
                || !(layer->matches[k] = match_all (layer->target->sae, preds[k], cancellable,
                                                    error)))
              goto fail;
          }
      record->has_res = preds[0] != NULL;
      record->has_mlp = preds[1] != NULL;
      record->has_att = preds[2] != NULL;
    }
  /* After every site's hook: a layer reads its sites' activity of the block. */
  for (guint i = 0; i < layers->len; i++)
    {
      Layer *layer = layers->pdata[i];
      fs_model_run_add_hook (run, layer->out->layer, FS_HOOK_RESID_POST, layer_hook, layer,
                             NULL);
    }

  int64_t window = fs_model_run_get_max_context (run);
  for (int64_t w0 = 0; w0 < n_tokens; w0 += window)
    {
      fs_model_run_truncate (run, 0);
      if (!fs_model_run_forward (run, tokens + w0, MIN (window, n_tokens - w0), FS_LOGITS_NONE,
                                 NULL, cancellable, error))
        goto fail;
      for (guint i = 0; i < layers->len; i++)
        {
          Layer *layer = layers->pdata[i];
          if (layer->error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&layer->error));
              goto fail;
            }
        }
    }
  return out;

fail:
  g_array_unref (out);
  return NULL;
}
