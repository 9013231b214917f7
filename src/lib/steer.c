/* steer.c: interventions on SAE features at their site hooks (steer.h). */
#include "steer.h"

#include <math.h>
#include <string.h>

#include "flow-graph.h"
#include "fs-error.h"
#include "kernels.h"

static const char *op_names[] = { "scale", "add", "clamp" };
static const char *tokens_names[] = { "all", "prompt", "generated" };

const char *
fs_steer_op_name (FsSteerOp op)
{
  g_return_val_if_fail ((size_t) op < G_N_ELEMENTS (op_names), "?");
  return op_names[op];
}

gboolean
fs_steer_op_from_name (const char *name, FsSteerOp *op)
{
  for (size_t i = 0; i < G_N_ELEMENTS (op_names); i++)
    if (g_strcmp0 (name, op_names[i]) == 0)
      {
        *op = (FsSteerOp) i;
        return TRUE;
      }
  return FALSE;
}

const char *
fs_steer_tokens_name (FsSteerTokens tokens)
{
  g_return_val_if_fail ((size_t) tokens < G_N_ELEMENTS (tokens_names), "?");
  return tokens_names[tokens];
}

gboolean
fs_steer_tokens_from_name (const char *name, FsSteerTokens *tokens)
{
  for (size_t i = 0; i < G_N_ELEMENTS (tokens_names); i++)
    if (g_strcmp0 (name, tokens_names[i]) == 0)
      {
        *tokens = (FsSteerTokens) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
fs_steer_spec_parse (const char *text, FsSteerSpec *spec, GError **error)
{
  const char *colon = strrchr (text, ':');
  const char *equals = colon != NULL ? strchr (colon, '=') : NULL;
  g_autoptr(GError) id_error = NULL;

  if (colon == NULL || equals == NULL)
    return fs_fail (error, FS_ERROR_INVALID, text,
                    "not a steering spec (LAYER/SITE/INDEX:OP=VALUE, e.g. 12/res/345:add=4)");

  g_autofree char *id = g_strndup (text, (gsize) (colon - text));
  g_autofree char *op = g_strndup (colon + 1, (gsize) (equals - colon - 1));
  const char *number = equals + 1;
  char *end = NULL;

  if (!fs_feature_id_parse (id, &spec->layer, &spec->site, &spec->index, &id_error))
    return fs_fail (error, FS_ERROR_INVALID, text, "%s", id_error->message);
  if (!fs_steer_op_from_name (op, &spec->op))
    return fs_fail (error, FS_ERROR_INVALID, text,
                    "unknown operation “%s” (scale, add or clamp)", op);
  spec->value = g_ascii_strtod (number, &end);
  if (*number == '\0' || end == NULL || *end != '\0' || g_ascii_isspace (*number))
    return fs_fail (error, FS_ERROR_INVALID, text, "“%s” is not a number", number);
  if (!isfinite (spec->value))
    return fs_fail (error, FS_ERROR_INVALID, text, "the value must be finite, not %s", number);
  return TRUE;
}

gboolean
fs_steer_site_hook (FsSae *sae, int *layer, FsHookPoint *point, GError **error)
{
  int l = fs_sae_get_layer (sae);

  switch (fs_sae_get_site (sae))
    {
    case FS_SITE_RES:
      /* The residual after block L is the one before block L + 1; the
       * embedding's is blocks.0.hook_resid_pre. */
      *layer = l == FS_LAYER_EMBED ? 0 : l;
      *point = l == FS_LAYER_EMBED ? FS_HOOK_RESID_PRE : FS_HOOK_RESID_POST;
      return TRUE;
    case FS_SITE_MLP:
      *point = FS_HOOK_MLP_OUT;
      break;
    case FS_SITE_ATT:
      *point = fs_sae_is_hook_z (sae) ? FS_HOOK_ATTN_Z : FS_HOOK_ATTN_OUT;
      break;
    }
  *layer = l;
  if (l < 0)
    return fs_fail (error, FS_ERROR_UNSUPPORTED, fs_sae_get_path (sae),
                    "an %s SAE on the embedding has no hook to steer at",
                    fs_site_name (fs_sae_get_site (sae)));
  return TRUE;
}

/* ---------------------------------------------------------------- the list */

struct _FsSteering {
  gatomicrefcount ref_count;
  GArray         *interventions;   /* FsIntervention */
  FsSteerTokens   tokens;
  int64_t         n_prompt;

  GMutex          lock;            /* guards `attached` */
  GHashTable     *attached;        /* FsModelRun * -> GArray of hook ids */
};

static void
clear_intervention (FsIntervention *intervention)
{
  g_clear_pointer (&intervention->sae, fs_sae_unref);
}

FsSteering *
fs_steering_new (void)
{
  FsSteering *steering = g_new0 (FsSteering, 1);
  g_atomic_ref_count_init (&steering->ref_count);
  steering->interventions = g_array_new (FALSE, FALSE, sizeof (FsIntervention));
  g_array_set_clear_func (steering->interventions, (GDestroyNotify) clear_intervention);
  g_mutex_init (&steering->lock);
  steering->attached = g_hash_table_new_full (NULL, NULL, NULL,
                                              (GDestroyNotify) g_array_unref);
  return steering;
}

FsSteering *
fs_steering_ref (FsSteering *steering)
{
  g_return_val_if_fail (steering != NULL, NULL);
  g_atomic_ref_count_inc (&steering->ref_count);
  return steering;
}

void
fs_steering_unref (FsSteering *steering)
{
  if (steering == NULL || !g_atomic_ref_count_dec (&steering->ref_count))
    return;
  g_array_unref (steering->interventions);
  g_hash_table_unref (steering->attached);
  g_mutex_clear (&steering->lock);
  g_free (steering);
}

gboolean
fs_steering_add (FsSteering *steering, FsSae *sae, int64_t index, FsSteerOp op,
                 double value, GError **error)
{
  int layer;
  FsHookPoint point;

  g_return_val_if_fail (steering != NULL && sae != NULL, FALSE);
  g_return_val_if_fail ((size_t) op < G_N_ELEMENTS (op_names), FALSE);

  if (index < 0 || index >= fs_sae_get_d_sae (sae))
    return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (sae),
                    "feature %" G_GINT64_FORMAT " is out of range (the SAE has %" G_GINT64_FORMAT
                    " features)", index, fs_sae_get_d_sae (sae));
  if (!isfinite (value))
    return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (sae),
                    "%s of feature %" G_GINT64_FORMAT " needs a finite value, not %g",
                    fs_steer_op_name (op), index, value);
  if (!fs_steer_site_hook (sae, &layer, &point, error))
    return FALSE;

  FsIntervention intervention = { fs_sae_ref (sae), index, op, value };
  g_array_append_val (steering->interventions, intervention);
  return TRUE;
}

guint
fs_steering_get_n_interventions (FsSteering *steering)
{
  return steering->interventions->len;
}

const FsIntervention *
fs_steering_get_nth (FsSteering *steering, guint index)
{
  g_return_val_if_fail (index < steering->interventions->len, NULL);
  return &g_array_index (steering->interventions, FsIntervention, index);
}

void
fs_steering_set_tokens (FsSteering *steering, FsSteerTokens tokens, int64_t n_prompt)
{
  g_return_if_fail ((size_t) tokens < G_N_ELEMENTS (tokens_names) && n_prompt >= 0);
  steering->tokens = tokens;
  steering->n_prompt = n_prompt;
}

FsSteerTokens
fs_steering_get_tokens (FsSteering *steering, int64_t *n_prompt)
{
  if (n_prompt != NULL)
    *n_prompt = steering->n_prompt;
  return steering->tokens;
}

/* ---------------------------------------------------------------- per-run hooks */

/* One SAE at a site: the latents whose activations the edits need. */
typedef struct {
  FsSae   *sae;
  GArray  *features;     /* int64_t, distinct */
  float   *columns;      /* their encoder columns [n, d_in]; NULL for TopK */
  gboolean needs_gain;   /* the SAE normalises its input */
} SiteInput;

typedef struct {
  guint     input;       /* into Site.inputs */
  int64_t   slot;        /* into that input's features; -1 when a is not needed */
  FsSteerOp op;
  float     value;
  float    *direction;   /* [width] */
} SiteEdit;

/* What one hook of one run needs; owned by the run (freed through the hook's
 * destroy notify). */
typedef struct {
  FsSteering   *steering;
  FsModelRun   *run;
  guint         id;
  int           layer;
  FsHookPoint   point;
  int64_t       width;
  FsSteerTokens tokens;
  int64_t       n_prompt;
  GArray       *inputs;  /* SiteInput */
  GArray       *edits;   /* SiteEdit */
} Site;

static void
clear_input (SiteInput *input)
{
  g_clear_pointer (&input->sae, fs_sae_unref);
  g_clear_pointer (&input->features, g_array_unref);
  g_clear_pointer (&input->columns, g_free);
}

static void
clear_edit (SiteEdit *edit)
{
  g_clear_pointer (&edit->direction, g_free);
}

static Site *
site_new (FsSteering *steering, int layer, FsHookPoint point, int64_t width)
{
  Site *site = g_new0 (Site, 1);
  site->steering = fs_steering_ref (steering);
  site->layer = layer;
  site->point = point;
  site->width = width;
  site->tokens = steering->tokens;
  site->n_prompt = steering->n_prompt;
  site->inputs = g_array_new (FALSE, FALSE, sizeof (SiteInput));
  g_array_set_clear_func (site->inputs, (GDestroyNotify) clear_input);
  site->edits = g_array_new (FALSE, FALSE, sizeof (SiteEdit));
  g_array_set_clear_func (site->edits, (GDestroyNotify) clear_edit);
  return site;
}

/* The run's destroy notify: also forgets the hook id, so that a run freed
 * without fs_steering_detach leaves nothing behind. */
static void
site_free (Site *site)
{
  FsSteering *steering = site->steering;

  g_mutex_lock (&steering->lock);
  GArray *ids = site->run != NULL ? g_hash_table_lookup (steering->attached, site->run) : NULL;
  for (guint i = 0; ids != NULL && i < ids->len; i++)
    if (g_array_index (ids, guint, i) == site->id)
      {
        g_array_remove_index_fast (ids, i);
        if (ids->len == 0)
          g_hash_table_remove (steering->attached, site->run);
        break;
      }
  g_mutex_unlock (&steering->lock);

  g_array_unref (site->inputs);
  g_array_unref (site->edits);
  fs_steering_unref (steering);
  g_free (site);
}

static guint
site_input (Site *site, FsSae *sae)
{
  for (guint i = 0; i < site->inputs->len; i++)
    if (g_array_index (site->inputs, SiteInput, i).sae == sae)
      return i;
  FsNormalization norm = fs_sae_get_normalization (sae);
  SiteInput input = {
    .sae = fs_sae_ref (sae),
    .features = g_array_new (FALSE, FALSE, sizeof (int64_t)),
    .needs_gain = norm == FS_NORM_CONSTANT_NORM_RESCALE || norm == FS_NORM_LAYER_NORM,
  };
  g_array_append_val (site->inputs, input);
  return site->inputs->len - 1;
}

static int64_t
input_slot (SiteInput *input, int64_t index)
{
  for (guint i = 0; i < input->features->len; i++)
    if (g_array_index (input->features, int64_t, i) == index)
      return i;
  g_array_append_val (input->features, index);
  return input->features->len - 1;
}

static void
site_add_edit (Site *site, const FsIntervention *intervention)
{
  guint input = site_input (site, intervention->sae);
  SiteInput *in = &g_array_index (site->inputs, SiteInput, input);
  SiteEdit edit = {
    .input = input,
    .slot = intervention->op == FS_STEER_ADD ? -1 : input_slot (in, intervention->index),
    .op = intervention->op,
    .value = (float) intervention->value,
    .direction = g_new (float, (size_t) site->width),
  };
  fs_sae_get_decoder_direction (intervention->sae, intervention->index, edit.direction);
  g_array_append_val (site->edits, edit);
}

/* Encoder columns once per attachment: reading a column of a big stored
 * encoder is strided, too slow to repeat at every token. */
static void
site_finish (Site *site)
{
  for (guint i = 0; i < site->inputs->len; i++)
    {
      SiteInput *in = &g_array_index (site->inputs, SiteInput, i);
      int64_t n = in->features->len, d_in = fs_sae_get_d_in (in->sae);
      if (n == 0 || fs_sae_get_architecture (in->sae) == FS_ARCH_TOPK)
        continue;
      in->columns = g_new (float, (size_t) (n * d_in));
      fs_sae_read_encoder_columns (in->sae, (const int64_t *) in->features->data, n,
                                   in->columns);
    }
}

/* The rows [*first, *first + *n) of the block that the site edits. */
static gboolean
steered_rows (const Site *site, const FsHookBlock *block, int64_t *first, int64_t *n)
{
  int64_t begin = 0, end = block->n_tokens;
  int64_t boundary = site->n_prompt - block->pos0;   /* first row at or after n_prompt */

  if (site->tokens == FS_STEER_TOKENS_PROMPT)
    end = CLAMP (boundary, 0, end);
  else if (site->tokens == FS_STEER_TOKENS_GENERATED)
    begin = CLAMP (boundary, 0, end);
  *first = begin;
  *n = end - begin;
  return *n > 0;
}

static void
site_hook (const FsHookBlock *block, gpointer user_data)
{
  Site *site = user_data;
  int64_t first, n, width = site->width;
  guint n_inputs = site->inputs->len;

  if (!steered_rows (site, block, &first, &n))
    return;
  float *x = block->data + first * width;
  g_autofree float **acts = g_new0 (float *, n_inputs);
  g_autofree float **gains = g_new0 (float *, n_inputs);

  /* Every activation and gain from the original h, before any edit. */
  for (guint i = 0; i < n_inputs; i++)
    {
      SiteInput *in = &g_array_index (site->inputs, SiteInput, i);
      int64_t m = in->features->len;
      if (m > 0)
        {
          acts[i] = g_new (float, (size_t) (n * m));
          fs_sae_encode_features (in->sae, x, n, (const int64_t *) in->features->data, m,
                                  in->columns, acts[i]);
        }
      if (in->needs_gain)
        {
          gains[i] = g_new (float, (size_t) n);
          fs_sae_input_gain (in->sae, x, n, gains[i]);
        }
    }

  for (guint e = 0; e < site->edits->len; e++)
    {
      const SiteEdit *edit = &g_array_index (site->edits, SiteEdit, e);
      int64_t m = g_array_index (site->inputs, SiteInput, edit->input).features->len;
      for (int64_t t = 0; t < n; t++)
        {
          float a = edit->slot >= 0 ? acts[edit->input][t * m + edit->slot] : 0.0f;
          float coef = 0;
          switch (edit->op)
            {
            case FS_STEER_SCALE: coef = (edit->value - 1.0f) * a; break;
            case FS_STEER_ADD: coef = edit->value; break;
            case FS_STEER_CLAMP: coef = edit->value - a; break;
            }
          if (gains[edit->input] != NULL)
            coef *= gains[edit->input][t];
          if (coef != 0.0f)
            fs_kernel_axpy (coef, edit->direction, x + t * width, width);
        }
    }

  for (guint i = 0; i < n_inputs; i++)
    {
      g_free (acts[i]);
      g_free (gains[i]);
    }
}

static int
compare_sites (gconstpointer a, gconstpointer b)
{
  const Site *x = *(Site * const *) a, *y = *(Site * const *) b;
  if (x->layer != y->layer)
    return x->layer < y->layer ? -1 : 1;
  return (int) x->point - (int) y->point;
}

gboolean
fs_steering_attach (FsSteering *steering, FsModelRun *run, GError **error)
{
  g_return_val_if_fail (steering != NULL && run != NULL, FALSE);

  FsModel *model = fs_model_run_get_model (run);
  int64_t n_layers = fs_model_get_config (model)->n_layers;
  g_autoptr(GPtrArray) sites = g_ptr_array_new_with_free_func ((GDestroyNotify) site_free);

  for (guint i = 0; i < steering->interventions->len; i++)
    {
      const FsIntervention *iv = &g_array_index (steering->interventions, FsIntervention, i);
      int layer;
      FsHookPoint point;
      Site *site = NULL;

      if (!fs_steer_site_hook (iv->sae, &layer, &point, error))
        return FALSE;
      int64_t width = fs_model_get_hook_width (model, point);
      if (layer >= n_layers)
        return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (iv->sae),
                        "the SAE is at layer %d, but the model has %" G_GINT64_FORMAT " layers",
                        layer, n_layers);
      if (fs_sae_get_d_in (iv->sae) != width)
        return fs_fail (error, FS_ERROR_INVALID, fs_sae_get_path (iv->sae),
                        "the SAE reads %" G_GINT64_FORMAT " values, but blocks.%d.%s has %"
                        G_GINT64_FORMAT, fs_sae_get_d_in (iv->sae), layer,
                        fs_hook_point_name (point), width);
      for (guint s = 0; s < sites->len && site == NULL; s++)
        {
          Site *candidate = sites->pdata[s];
          if (candidate->layer == layer && candidate->point == point)
            site = candidate;
        }
      if (site == NULL)
        {
          site = site_new (steering, layer, point, width);
          g_ptr_array_add (sites, site);
        }
      site_add_edit (site, iv);
    }
  g_ptr_array_sort (sites, compare_sites);

  g_mutex_lock (&steering->lock);
  GArray *ids = g_hash_table_lookup (steering->attached, run);
  if (ids == NULL)
    {
      ids = g_array_new (FALSE, FALSE, sizeof (guint));
      g_hash_table_insert (steering->attached, run, ids);
    }
  g_mutex_unlock (&steering->lock);

  g_ptr_array_set_free_func (sites, NULL);   /* from here on, the run owns them */
  for (guint s = 0; s < sites->len; s++)
    {
      Site *site = sites->pdata[s];
      site_finish (site);
      site->run = run;
      site->id = fs_model_run_add_hook (run, site->layer, site->point, site_hook, site,
                                        (GDestroyNotify) site_free);
      g_mutex_lock (&steering->lock);
      g_array_append_val (ids, site->id);
      g_mutex_unlock (&steering->lock);
    }
  g_mutex_lock (&steering->lock);
  if (ids->len == 0)
    g_hash_table_remove (steering->attached, run);
  g_mutex_unlock (&steering->lock);
  return TRUE;
}

void
fs_steering_detach (FsSteering *steering, FsModelRun *run)
{
  gpointer ids = NULL;

  g_return_if_fail (steering != NULL && run != NULL);
  g_mutex_lock (&steering->lock);
  gboolean found = g_hash_table_steal_extended (steering->attached, run, NULL, &ids);
  g_mutex_unlock (&steering->lock);
  if (!found)
    return;
  /* Removing a hook frees its site, which finds the id already forgotten. */
  for (guint i = 0; i < ((GArray *) ids)->len; i++)
    fs_model_run_remove_hook (run, g_array_index ((GArray *) ids, guint, i));
  g_array_unref (ids);
}
