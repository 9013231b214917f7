/* test-steer.c: interventions (steer.h) on the tiny models of
 * make-tiny-models.py through the SAEs of make-steer-fixtures.py:
 *
 *  - steered logits against the independent PyTorch reference, for every
 *    architecture, by prefill and by token-by-token decoding;
 *  - scale 1 and add 0 leave the logits bit for bit as without steering;
 *  - scale 0 brings the feature's re-encoded activation at its site to
 *    zero on every token, add s > 0 raises it;
 *  - the same steering twice gives the same bits;
 *  - fs_sae_encode_features against fs_sae_encode, and against the NumPy
 *    encodings of make-sae-fixtures.py for every SAE format; decoder
 *    directions and input gains against fs_sae_decode;
 *  - fs_steer_score's perplexity and KL against the reference logits;
 *  - typical activations measured against encodings of captured blocks;
 *  - spec parsing and attach errors.
 *
 * Errors are max |got - want| / max |want| over each case's logits. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "model.h"
#include "npz.h"
#include "steer-compare.h"
#include "steer-typical.h"
#include "steer.h"
#include "test-util.h"

#define TOLERANCE 1e-4

static cJSON *expected;
static char *fixtures;

typedef struct {
  const cJSON *spec;
  const char  *name;
  char        *dir;
  int32_t     *tokens;
  int64_t      n_tokens, vocab;
  FsModel     *model;
  GHashTable  *saes;     /* name -> FsSae */
} Model;

static Model *
model_new (const cJSON *spec)
{
  Model *m = g_new0 (Model, 1);
  const cJSON *tokens = cJSON_GetObjectItem (spec, "tokens"), *item;
  g_autoptr(GError) error = NULL;

  m->spec = spec;
  m->name = cJSON_GetObjectItem (spec, "name")->valuestring;
  m->dir = g_build_filename (fixtures, "steer", m->name, NULL);
  m->n_tokens = cJSON_GetArraySize (tokens);
  m->tokens = g_new (int32_t, (size_t) m->n_tokens);
  int64_t i = 0;
  cJSON_ArrayForEach (item, tokens)
    m->tokens[i++] = (int32_t) item->valueint;
  g_autofree char *model_dir = g_build_filename (fixtures, cJSON_GetObjectItem (spec, "model")
                                                 ->valuestring, NULL);
  m->model = fs_model_load (model_dir, &error);
  g_assert_no_error (error);
  m->vocab = fs_model_get_config (m->model)->vocab_size;
  m->saes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) fs_sae_unref);
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (spec, "saes"))
    {
      const char *name = cJSON_GetObjectItem (item, "name")->valuestring;
      g_autofree char *path = g_build_filename (m->dir, "saes", name, NULL);
      FsSae *sae = fs_sae_load (path, NULL, &error);
      g_assert_no_error (error);
      g_hash_table_insert (m->saes, g_strdup (name), sae);
    }
  return m;
}

static void
model_free (Model *m)
{
  g_hash_table_unref (m->saes);
  fs_model_unref (m->model);
  g_free (m->tokens);
  g_free (m->dir);
  g_free (m);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Model, model_free)

static float *
load_npy (Model *m, const char *file, int64_t n)
{
  g_autofree char *path = g_build_filename (m->dir, file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) f = fs_npy_open (path, &error);
  g_assert_no_error (error);
  const FsTensor *t = fs_tensor_file_get_nth (f, 0);
  g_assert_cmpint (t->n_elements, ==, n);
  float *out = g_new (float, (size_t) n);
  fs_dtype_to_f32 (t->dtype, t->data, (size_t) n, out);
  return out;
}

static FsSteering *
case_steering (Model *m, const cJSON *c)
{
  FsSteering *steering = fs_steering_new ();
  const cJSON *item;
  FsSteerTokens tokens;
  g_autoptr(GError) error = NULL;

  g_assert_true (fs_steer_tokens_from_name (cJSON_GetObjectItem (c, "tokens")->valuestring,
                                            &tokens));
  fs_steering_set_tokens (steering, tokens, cJSON_GetObjectItem (c, "n_prompt")->valueint);
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (c, "interventions"))
    {
      FsSae *sae = g_hash_table_lookup (m->saes, cJSON_GetObjectItem (item, "sae")->valuestring);
      FsSteerOp op;
      g_assert_nonnull (sae);
      g_assert_true (fs_steer_op_from_name (cJSON_GetObjectItem (item, "op")->valuestring, &op));
      g_assert_true (fs_steering_add (steering, sae, cJSON_GetObjectItem (item, "index")->valueint,
                                      op, cJSON_GetObjectItem (item, "value")->valuedouble,
                                      &error));
      g_assert_no_error (error);
    }
  return steering;
}

/* Logits of every position, by one prefill or token by token. */
static float *
run_logits (Model *m, FsSteering *steering, gboolean decode)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (m->model, NULL);
  g_autoptr(GError) error = NULL;
  float *logits = g_new (float, (size_t) (m->n_tokens * m->vocab));

  if (steering != NULL)
    {
      g_assert_true (fs_steering_attach (steering, run, &error));
      g_assert_no_error (error);
    }
  if (!decode)
    g_assert_true (fs_model_run_forward (run, m->tokens, m->n_tokens, FS_LOGITS_ALL, logits,
                                         NULL, &error));
  else
    for (int64_t t = 0; t < m->n_tokens; t++)
      g_assert_true (fs_model_run_forward (run, m->tokens + t, 1, FS_LOGITS_LAST,
                                           logits + t * m->vocab, NULL, &error));
  g_assert_no_error (error);
  return logits;
}

static void
test_reference (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  const cJSON *c;
  double worst = 0;

  cJSON_ArrayForEach (c, cJSON_GetObjectItem (m->spec, "cases"))
    {
      const char *name = cJSON_GetObjectItem (c, "name")->valuestring;
      g_autoptr(FsSteering) steering = case_steering (m, c);
      int64_t n = m->n_tokens * m->vocab;
      g_autofree float *want = load_npy (m, cJSON_GetObjectItem (c, "logits")->valuestring, n);
      for (int decode = 0; decode <= 1; decode++)
        {
          g_autofree float *got = run_logits (m, steering, decode);
          double err = test_relative_error (got, want, n);
          if (err > TOLERANCE)
            g_error ("%s %s (%s): relative error %.3g exceeds %.0e", m->name, name,
                     decode ? "decode" : "prefill", err, TOLERANCE);
          worst = fmax (worst, err);
        }
    }
  g_print ("# %-12s steered logits, every case, prefill and decode: max relative error %.2e\n",
           m->name, worst);
}

/* scale 1 and add 0 on every SAE: no edit at all, so the very same bits. */
static void
test_noop (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  g_autoptr(FsSteering) steering = fs_steering_new ();
  g_autoptr(GError) error = NULL;
  const cJSON *item;
  int64_t n = m->n_tokens * m->vocab;

  cJSON_ArrayForEach (item, cJSON_GetObjectItem (m->spec, "saes"))
    {
      FsSae *sae = g_hash_table_lookup (m->saes, cJSON_GetObjectItem (item, "name")->valuestring);
      int64_t index = cJSON_GetObjectItem (item, "index")->valueint;
      g_assert_true (fs_steering_add (steering, sae, index, FS_STEER_SCALE, 1.0, &error));
      g_assert_true (fs_steering_add (steering, sae, (index + 1) % fs_sae_get_d_sae (sae),
                                      FS_STEER_ADD, 0.0, &error));
      g_assert_no_error (error);
    }
  for (int decode = 0; decode <= 1; decode++)
    {
      g_autofree float *plain = run_logits (m, NULL, decode);
      g_autofree float *steered = run_logits (m, steering, decode);
      g_assert_true (memcmp (plain, steered, (size_t) n * sizeof (float)) == 0);
    }
}

/* Repeats give the same bits (the thread counts are checked through the CLI). */
static void
test_repeat (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  const cJSON *c;
  int64_t n = m->n_tokens * m->vocab;

  cJSON_ArrayForEach (c, cJSON_GetObjectItem (m->spec, "cases"))
    {
      g_autoptr(FsSteering) steering = case_steering (m, c);
      g_autofree float *first = run_logits (m, steering, FALSE);
      g_autofree float *second = run_logits (m, steering, FALSE);
      g_assert_true (memcmp (first, second, (size_t) n * sizeof (float)) == 0);
    }
}

/* ---------------------------------------------------------------- re-encoding */

typedef struct {
  FsSae   *sae;
  int64_t  index;
  float   *z;       /* [n_tokens]: the feature's activation at each position */
} Probe;

static void
probe_hook (const FsHookBlock *block, gpointer user_data)
{
  Probe *probe = user_data;
  int64_t d_sae = fs_sae_get_d_sae (probe->sae);
  g_autofree float *z = g_new (float, (size_t) (block->n_tokens * d_sae));

  fs_sae_encode (probe->sae, block->data, block->n_tokens, z);
  for (int64_t t = 0; t < block->n_tokens; t++)
    probe->z[block->pos0 + t] = z[t * d_sae + probe->index];
}

/* The feature's activation at its site before and after the steering's
 * edit, by hooks added before and after it. */
static void
encode_around (Model *m, FsSae *sae, int64_t index, FsSteerOp op, double value,
               float *before, float *after)
{
  g_autoptr(FsModelRun) run = fs_model_run_new (m->model, NULL);
  g_autoptr(FsSteering) steering = fs_steering_new ();
  g_autoptr(GError) error = NULL;
  Probe first = { sae, index, before }, second = { sae, index, after };
  int layer;
  FsHookPoint point;

  g_assert_true (fs_steer_site_hook (sae, &layer, &point, &error));
  g_assert_true (fs_steering_add (steering, sae, index, op, value, &error));
  fs_model_run_add_hook (run, layer, point, probe_hook, &first, NULL);
  g_assert_true (fs_steering_attach (steering, run, &error));
  fs_model_run_add_hook (run, layer, point, probe_hook, &second, NULL);
  g_assert_true (fs_model_run_forward (run, m->tokens, m->n_tokens, FS_LOGITS_NONE, NULL,
                                       NULL, &error));
  g_assert_no_error (error);
}

static void
test_reencode (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  const cJSON *item;
  g_autofree float *before = g_new (float, (size_t) m->n_tokens);
  g_autofree float *after = g_new (float, (size_t) m->n_tokens);

  cJSON_ArrayForEach (item, cJSON_GetObjectItem (m->spec, "saes"))
    {
      const char *name = cJSON_GetObjectItem (item, "name")->valuestring;
      FsSae *sae = g_hash_table_lookup (m->saes, name);
      int64_t index = cJSON_GetObjectItem (item, "index")->valueint;
      gboolean topk = fs_sae_get_architecture (sae) == FS_ARCH_TOPK;
      double largest = 0, residue = 0, sum_before = 0, sum_after = 0;
      int active = 0;

      /* Removal needs w_i . v_i = 1 exactly (F32, no input normalisation). */
      if (cJSON_IsTrue (cJSON_GetObjectItem (item, "tied")))
        {
          encode_around (m, sae, index, FS_STEER_SCALE, 0.0, before, after);
          for (int64_t t = 0; t < m->n_tokens; t++)
            {
              largest = fmax (largest, fabs (before[t]));
              residue = fmax (residue, fabs (after[t]));
              active += before[t] > 0;
            }
          g_assert_cmpint (active, >, 0);
          if (residue > 1e-5 * largest)
            g_error ("%s %s: activation %.3g left after scale 0 (largest before %.3g)",
                     m->name, name, residue, largest);
        }

      encode_around (m, sae, index, FS_STEER_ADD, 2.0, before, after);
      for (int64_t t = 0; t < m->n_tokens; t++)
        {
          sum_before += before[t];
          sum_after += after[t];
          /* TopK: other latents move too and may push it out; others: never lower. */
          if (!topk && after[t] < before[t] - 1e-4)
            g_error ("%s %s: add 2 lowered the activation at %" G_GINT64_FORMAT
                     " from %g to %g", m->name, name, t, before[t], after[t]);
        }
      g_assert_cmpfloat (sum_after, >, sum_before);
    }
}

static void
test_encode_features (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, m->saes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      FsSae *sae = value;
      int64_t d_in = fs_sae_get_d_in (sae), d_sae = fs_sae_get_d_sae (sae), n = 5;
      int64_t indices[] = { 3, 0, d_sae - 1, 17 };
      g_autofree float *x = g_new (float, (size_t) (n * d_in));
      g_autofree float *z = g_new (float, (size_t) (n * d_sae));
      g_autofree float *some = g_new (float, (size_t) (n * 4));
      g_autofree float *columns = g_new (float, (size_t) (4 * d_in));

      for (int64_t i = 0; i < n * d_in; i++)
        x[i] = (float) sin (0.7 * i + 0.3) * 2.0f;
      fs_sae_encode (sae, x, n, z);
      fs_sae_read_encoder_columns (sae, indices, 4, columns);
      for (int pass = 0; pass < 2; pass++)
        {
          fs_sae_encode_features (sae, x, n, indices, 4, pass ? columns : NULL, some);
          for (int64_t t = 0; t < n; t++)
            for (int k = 0; k < 4; k++)
              g_assert_cmpfloat (fabs (some[t * 4 + k] - z[t * d_sae + indices[k]]), <=,
                                 1e-5 * (1 + fabs (z[t * d_sae + indices[k]])));
        }
    }
}

/* The mean positive activation of each feature of `sae` over positions 1..,
 * by capturing its site and encoding it whole. */
static void
test_typical (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  const char *names[] = { "1-mlp", "1-res", "emb-res", "0-res" };
  FsTypicalActivation items[G_N_ELEMENTS (names) * 3];
  g_autoptr(GError) error = NULL;
  guint n = 0;

  for (size_t s = 0; s < G_N_ELEMENTS (names); s++)
    for (int64_t k = 0; k < 3; k++)
      items[n++] = (FsTypicalActivation) { g_hash_table_lookup (m->saes, names[s]), k * 11,
                                           NAN, 0 };
  g_assert_true (fs_typical_measure (m->model, NULL, items, n, m->tokens, m->n_tokens, NULL,
                                     &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree float *before = g_new (float, (size_t) m->n_tokens);
      g_autofree float *after = g_new (float, (size_t) m->n_tokens);
      double sum = 0;
      int64_t count = 0;
      /* scale 1: no edit, so `before` is the plain activation. */
      encode_around (m, items[i].sae, items[i].index, FS_STEER_SCALE, 1.0, before, after);
      for (int64_t t = 1; t < m->n_tokens; t++)
        if (before[t] > 0)
          {
            sum += before[t];
            count++;
          }
      g_assert_cmpint (items[i].count, ==, count);
      if (count == 0)
        g_assert_true (isnan (items[i].mean));
      else
        g_assert_cmpfloat (fabs (items[i].mean - sum / count), <=, 1e-5 * sum / count);
    }
}

/* ---------------------------------------------------------------- scoring */

/* log softmax of a row, in double. */
static void
log_softmax (const float *logits, int64_t n, double *out)
{
  double top = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; i++)
    top = fmax (top, logits[i]);
  for (int64_t i = 0; i < n; i++)
    sum += exp (logits[i] - top);
  for (int64_t i = 0; i < n; i++)
    out[i] = logits[i] - top - log (sum);
}

/* The case's tokens as prompt (6) and continuation: perplexity from the
 * reference's unsteered logits, KL from its steered and unsteered ones. */
static void
test_score (gconstpointer data)
{
  g_autoptr(Model) m = model_new (data);
  const cJSON *c;
  int64_t n_prompt = 6, n = m->n_tokens - n_prompt, v = m->vocab;
  g_autofree float *plain = load_npy (m, "logits.npy", m->n_tokens * v);
  g_autofree double *p = g_new (double, (size_t) v);
  g_autofree double *q = g_new (double, (size_t) v);
  double worst = 0;

  cJSON_ArrayForEach (c, cJSON_GetObjectItem (m->spec, "cases"))
    {
      g_autoptr(FsSteering) steering = case_steering (m, c);
      g_autofree float *steered = load_npy (m, cJSON_GetObjectItem (c, "logits")->valuestring,
                                            m->n_tokens * v);
      g_autoptr(GArray) kl = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr(GError) error = NULL;
      double perplexity, nll = 0;

      g_assert_true (fs_steer_score (m->model, NULL, steering, m->tokens, n_prompt,
                                     m->tokens + n_prompt, n, &perplexity, kl, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (kl->len, ==, n);
      for (int64_t t = 0; t < n; t++)
        {
          int64_t row = n_prompt - 1 + t;
          double want = 0;
          log_softmax (steered + row * v, v, p);
          log_softmax (plain + row * v, v, q);
          for (int64_t i = 0; i < v; i++)
            want += exp (p[i]) * (p[i] - q[i]);
          nll -= q[m->tokens[n_prompt + t]];
          double got = g_array_index (kl, double, t);
          worst = fmax (worst, fabs (got - want) / (want + 1e-3));
          g_assert_cmpfloat (fabs (got - want), <=, 1e-4 + 1e-3 * want);
        }
      g_assert_cmpfloat (fabs (perplexity - exp (nll / n)), <=, 1e-4 * exp (nll / n));
    }
  g_print ("# %-12s KL per step against the reference: max relative error %.2e\n", m->name,
           worst);
}

/* Every SAE of make-sae-fixtures.py (all formats, architectures,
 * normalisations): selected latents against its NumPy encodings, and
 * x_hat(z + d e_i) - x_hat(z) = d * gain * direction_i. */
static void
test_sae_formats (void)
{
  g_autofree char *path = g_build_filename (fixtures, "sae", "expected.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(cJSON) doc = fs_json_load (path, &error);
  const cJSON *item;
  double worst_z = 0, worst_dir = 0;

  g_assert_no_error (error);
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (doc, "saes"))
    {
      const char *rel = cJSON_GetObjectItem (item, "path")->valuestring;
      const cJSON *convention = cJSON_GetObjectItem (item, "llamascope_threshold");
      FsSaeLoadOptions options = { FS_LLAMASCOPE_THRESHOLD_REFERENCE };
      if (cJSON_IsString (convention) && g_str_equal (convention->valuestring, "saelens"))
        options.llamascope_threshold = FS_LLAMASCOPE_THRESHOLD_SAELENS;
      g_autofree char *folder = g_build_filename (fixtures, "sae", rel, NULL);
      g_autoptr(FsSae) sae = fs_sae_load (folder, &options, &error);
      g_assert_no_error (error);

      int64_t d_in = fs_sae_get_d_in (sae), d_sae = fs_sae_get_d_sae (sae);
      g_autofree char *x_path = g_build_filename (fixtures, "sae",
                                                  cJSON_GetObjectItem (item, "input")->valuestring,
                                                  NULL);
      g_autofree char *z_path = g_build_filename (fixtures, "sae",
                                                  cJSON_GetObjectItem (item, "z")->valuestring,
                                                  NULL);
      g_autoptr(FsTensorFile) xf = fs_npy_open (x_path, &error);
      g_autoptr(FsTensorFile) zf = fs_npy_open (z_path, &error);
      g_assert_no_error (error);
      const FsTensor *xt = fs_tensor_file_get_nth (xf, 0), *zt = fs_tensor_file_get_nth (zf, 0);
      int64_t n = MAX (xt->shape[0], 1);
      const float *x = (const float *) xt->data, *want = (const float *) zt->data;
      int64_t indices[] = { 0, 5, d_sae / 2, d_sae - 1, 17 };
      int64_t m = G_N_ELEMENTS (indices);
      g_autofree float *got = g_new (float, (size_t) (n * m));

      fs_sae_encode_features (sae, x, n, indices, m, NULL, got);
      double scale = 1e-30, err = 0;
      for (int64_t i = 0; i < n * d_sae; i++)
        scale = fmax (scale, fabs (want[i]));
      for (int64_t t = 0; t < n; t++)
        for (int64_t k = 0; k < m; k++)
          err = fmax (err, fabs (got[t * m + k] - want[t * d_sae + indices[k]]) / scale);
      if (err > 1e-5)
        g_error ("%s: selected latents differ from NumPy by %.3g", rel, err);
      worst_z = fmax (worst_z, err);

      /* Moving one latent moves x_hat along gain * direction. */
      g_autofree float *z = g_new (float, (size_t) (n * d_sae));
      g_autofree float *x0 = g_new (float, (size_t) (n * d_in));
      g_autofree float *x1 = g_new (float, (size_t) (n * d_in));
      g_autofree float *gain = g_new (float, (size_t) MAX (n, 1));
      g_autofree float *direction = g_new (float, (size_t) d_in);
      fs_sae_encode (sae, x, n, z);
      fs_sae_decode (sae, z, x, n, x0);
      for (int64_t t = 0; t < n; t++)
        z[t * d_sae + 5] += 1.5f;
      fs_sae_decode (sae, z, x, n, x1);
      fs_sae_input_gain (sae, x, n, gain);
      fs_sae_get_decoder_direction (sae, 5, direction);
      double size = 1e-30, diff = 0;
      for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < d_in; j++)
          {
            double moved = (double) x1[t * d_in + j] - x0[t * d_in + j];
            size = fmax (size, fabs (moved));
            diff = fmax (diff, fabs (moved - 1.5 * gain[t] * direction[j]));
          }
      if (diff > 1e-4 * size)
        g_error ("%s: decoding moved by %.3g off gain * direction (size %.3g)", rel, diff, size);
      worst_dir = fmax (worst_dir, diff / size);
    }
  g_print ("# every SAE format: selected latents %.2e, decoder directions %.2e\n", worst_z,
           worst_dir);
}

/* ---------------------------------------------------------------- errors */

static void
test_spec_parse (void)
{
  FsSteerSpec spec;
  g_autoptr(GError) error = NULL;
  const char *bad[] = {
    "3/res/7", "3/res/7:add", "3/res/7:add=", "3/res/7:add=x", "3/res/7:add=1x",
    "3/res/7:push=1", "3/resid/7:add=1", "3/res/-1:add=1", "a/res/1:add=1",
    "3/res/7:scale=nan", "3/res/7:scale=inf", "3/res/7:add= 1", ":add=1",
  };

  g_assert_true (fs_steer_spec_parse ("12/res/345:add=4", &spec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (spec.layer, ==, 12);
  g_assert_cmpint (spec.site, ==, FS_SITE_RES);
  g_assert_cmpint (spec.index, ==, 345);
  g_assert_cmpint (spec.op, ==, FS_STEER_ADD);
  g_assert_cmpfloat (spec.value, ==, 4.0);
  g_assert_true (fs_steer_spec_parse ("embed/res/9:clamp=-0.5", &spec, &error));
  g_assert_cmpint (spec.layer, ==, FS_LAYER_EMBED);
  g_assert_cmpint (spec.op, ==, FS_STEER_CLAMP);
  g_assert_cmpfloat (spec.value, ==, -0.5);
  g_assert_true (fs_steer_spec_parse ("3/att/0:scale=-1e1", &spec, &error));
  g_assert_cmpfloat (spec.value, ==, -10.0);
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (fs_steer_spec_parse (bad[i], &spec, &error));
      g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_clear_error (&error);
    }
}

static void
test_errors (void)
{
  g_autoptr(Model) gpt2 = model_new (cJSON_GetArrayItem (cJSON_GetObjectItem (expected,
                                                                              "models"), 0));
  g_autoptr(Model) llama = model_new (cJSON_GetArrayItem (cJSON_GetObjectItem (expected,
                                                                               "models"), 2));
  FsSae *sae = g_hash_table_lookup (gpt2->saes, "1-mlp");
  g_autoptr(FsSteering) steering = fs_steering_new ();
  g_autoptr(FsModelRun) run = fs_model_run_new (llama->model, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (fs_steering_add (steering, sae, fs_sae_get_d_sae (sae), FS_STEER_ADD, 1,
                                   &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "out of range"));
  g_clear_error (&error);
  g_assert_false (fs_steering_add (steering, sae, 0, FS_STEER_SCALE, NAN, &error));
  g_assert_nonnull (strstr (error->message, "finite"));
  g_clear_error (&error);
  g_assert_false (fs_steering_add (steering, sae, 0, FS_STEER_ADD, INFINITY, &error));
  g_clear_error (&error);
  g_assert_cmpuint (fs_steering_get_n_interventions (steering), ==, 0);

  /* A GPT-2 SAE (d 32) on the Llama model (d 64): refused, no hook left. */
  g_assert_true (fs_steering_add (steering, sae, 0, FS_STEER_ADD, 1, &error));
  g_assert_false (fs_steering_attach (steering, run, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "hook_mlp_out"));
  g_clear_error (&error);
  fs_steering_detach (steering, run);

  /* Attach and detach: the logits are those of no steering again. */
  g_autoptr(FsSteering) add = fs_steering_new ();
  FsSae *mlp = g_hash_table_lookup (gpt2->saes, "1-mlp");
  g_autoptr(FsModelRun) run2 = fs_model_run_new (gpt2->model, NULL);
  g_autofree float *plain = run_logits (gpt2, NULL, FALSE);
  g_autofree float *logits = g_new (float, (size_t) (gpt2->n_tokens * gpt2->vocab));
  g_assert_true (fs_steering_add (add, mlp, 5, FS_STEER_ADD, 3, &error));
  g_assert_true (fs_steering_attach (add, run2, &error));
  g_assert_true (fs_steering_attach (add, run2, &error));
  fs_steering_detach (add, run2);
  g_assert_true (fs_model_run_forward (run2, gpt2->tokens, gpt2->n_tokens, FS_LOGITS_ALL,
                                       logits, NULL, &error));
  g_assert_true (memcmp (plain, logits, (size_t) (gpt2->n_tokens * gpt2->vocab)
                         * sizeof (float)) == 0);
  /* Freeing a run still attached is fine too. */
  g_autoptr(FsModelRun) run3 = fs_model_run_new (gpt2->model, NULL);
  g_assert_true (fs_steering_attach (add, run3, &error));
  g_clear_pointer (&run3, fs_model_run_free);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  const cJSON *spec;
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  fixtures = g_strdup (g_getenv ("FLOWSCOPE_FIXTURES"));
  if (fixtures == NULL)
    {
      g_printerr ("FLOWSCOPE_FIXTURES is not set\n");
      return 1;
    }
  g_autofree char *path = g_build_filename (fixtures, "steer", "expected.json", NULL);
  expected = fs_json_load (path, &error);
  g_assert_no_error (error);

  cJSON_ArrayForEach (spec, cJSON_GetObjectItem (expected, "models"))
    {
      const char *name = cJSON_GetObjectItem (spec, "name")->valuestring;
      static const struct { const char *what; GTestDataFunc func; } tests[] = {
        { "reference", test_reference },
        { "noop", test_noop },
        { "repeat", test_repeat },
        { "reencode", test_reencode },
        { "encode-features", test_encode_features },
        { "score", test_score },
        { "typical", test_typical },
      };
      for (size_t i = 0; i < G_N_ELEMENTS (tests); i++)
        {
          g_autofree char *test_path = g_strdup_printf ("/steer/%s/%s", tests[i].what, name);
          g_test_add_data_func (test_path, spec, tests[i].func);
        }
    }
  g_test_add_func ("/steer/spec-parse", test_spec_parse);
  g_test_add_func ("/steer/sae-formats", test_sae_formats);
  g_test_add_func ("/steer/errors", test_errors);
  int rc = g_test_run ();
  cJSON_Delete (expected);
  g_free (fixtures);
  return rc;
}
