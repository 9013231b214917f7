/* test-model.c: the transformer runtime against the independent PyTorch
 * forward passes of make-tiny-models.py, for every architecture and dtype:
 * logits of a prefill, of token-by-token decoding and of chunked prefill;
 * every hook point of every layer; ablations through hooks; GPT-2's
 * TransformerLens-style centring; the context limit.
 *
 * Errors are max |got - want| / max |want| over each tensor. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "model.h"
#include "npz.h"
#include "test-util.h"

/* F32 weights: the reference differs only in float64 arithmetic. F16/BF16
 * weights are compared with a reference on the same rounded weights, so
 * the same arithmetic error applies; the bound is the same. */
#define TOLERANCE 1e-4

static cJSON *expected;
static char *root;

typedef struct {
  float  *data;
  int64_t rows, cols;
} Array;

static void
array_clear (Array *a)
{
  g_clear_pointer (&a->data, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Array, array_clear)

static Array
tensor_array (const FsTensor *t)
{
  Array a = { g_new (float, (size_t) t->n_elements), t->shape[0],
              t->n_dims > 1 ? t->shape[1] : 1 };
  fs_dtype_to_f32 (t->dtype, t->data, (size_t) t->n_elements, a.data);
  return a;
}

static Array
load_npy (const char *model, const char *file)
{
  g_autofree char *path = g_build_filename (root, model, file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) f = fs_npy_open (path, &error);
  g_assert_no_error (error);
  return tensor_array (fs_tensor_file_get_nth (f, 0));
}

static FsTensorFile *
load_npz (const char *model, const char *file)
{
  g_autofree char *path = g_build_filename (root, model, file, NULL);
  g_autoptr(GError) error = NULL;
  FsTensorFile *f = fs_npz_open (path, &error);
  g_assert_no_error (error);
  return f;
}

static void
check_close (const char *what, const float *got, const float *want, int64_t n, double *worst)
{
  double err = test_relative_error (got, want, n);
  if (err > TOLERANCE)
    g_error ("%s: relative error %.3g exceeds %.0e", what, err, TOLERANCE);
  if (worst != NULL)
    *worst = fmax (*worst, err);
}

typedef struct {
  const cJSON *spec;
  const char  *name;
  int32_t     *tokens;
  int64_t      n_tokens;
  FsModel     *model;
} Case;

static Case *
case_new (const cJSON *spec)
{
  Case *c = g_new0 (Case, 1);
  const cJSON *tokens = cJSON_GetObjectItem (spec, "tokens"), *item;
  g_autoptr(GError) error = NULL;

  c->spec = spec;
  c->name = cJSON_GetObjectItem (spec, "name")->valuestring;
  c->n_tokens = cJSON_GetArraySize (tokens);
  c->tokens = g_new (int32_t, (size_t) c->n_tokens);
  int64_t i = 0;
  cJSON_ArrayForEach (item, tokens)
    c->tokens[i++] = (int32_t) item->valueint;
  g_autofree char *dir = g_build_filename (root, c->name, NULL);
  c->model = fs_model_load (dir, &error);
  g_assert_no_error (error);
  return c;
}

static void
case_free (Case *c)
{
  fs_model_unref (c->model);
  g_free (c->tokens);
  g_free (c);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Case, case_free)

static int64_t
vocab (Case *c)
{
  return fs_model_get_config (c->model)->vocab_size;
}

static void
report (Case *c, const char *what, double err)
{
  g_print ("# %-16s %-20s max relative error %.2e\n", c->name, what, err);
}

/* ---------------------------------------------------------------- logits */

static void
test_prefill (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree float *logits = g_new (float, (size_t) (c->n_tokens * vocab (c)));
  g_auto(Array) want = load_npy (c->name, "logits.npy");
  double worst = 0;

  g_assert_true (fs_model_run_forward (run, c->tokens, c->n_tokens, FS_LOGITS_ALL, logits,
                                       NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (want.rows * want.cols, ==, c->n_tokens * vocab (c));
  check_close ("prefill logits", logits, want.data, want.rows * want.cols, &worst);
  g_assert_cmpint (fs_model_run_get_n_past (run), ==, c->n_tokens);
  report (c, "prefill logits", worst);
}

static void
test_decode (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree float *logits = g_new (float, (size_t) vocab (c));
  g_auto(Array) want = load_npy (c->name, "logits.npy");
  double worst = 0;

  for (int64_t t = 0; t < c->n_tokens; t++)
    {
      g_assert_true (fs_model_run_forward (run, c->tokens + t, 1, FS_LOGITS_LAST, logits,
                                           NULL, &error));
      check_close ("decode logits", logits, want.data + t * vocab (c), vocab (c), &worst);
    }
  report (c, "decode logits", worst);
}

/* A prefill in two parts, the last logits only, then truncation and a redo. */
static void
test_chunked (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
  g_autoptr(GError) error = NULL;
  int64_t split = 7, v = vocab (c);
  g_autofree float *logits = g_new (float, (size_t) (c->n_tokens * v));
  g_autofree float *last = g_new (float, (size_t) v);
  g_auto(Array) want = load_npy (c->name, "logits.npy");
  double worst = 0;

  g_assert_true (fs_model_run_forward (run, c->tokens, split, FS_LOGITS_NONE, NULL, NULL,
                                       &error));
  g_assert_true (fs_model_run_forward (run, c->tokens + split, c->n_tokens - split,
                                       FS_LOGITS_ALL, logits, NULL, &error));
  check_close ("chunked logits", logits, want.data + split * v, (c->n_tokens - split) * v,
               &worst);

  fs_model_run_truncate (run, split + 2);
  g_assert_true (fs_model_run_forward (run, c->tokens + split + 2, 3, FS_LOGITS_LAST, last,
                                       NULL, &error));
  check_close ("logits after truncate", last, want.data + (split + 4) * v, v, &worst);
  g_assert_no_error (error);
  report (c, "chunked logits", worst);
}

/* ---------------------------------------------------------------- hooks */

typedef struct {
  int64_t width, n_tokens;
  float  *rows;     /* [n_tokens, width], filled at each block's positions */
  int     calls;
} Capture;

static void
capture_block (const FsHookBlock *block, gpointer user_data)
{
  Capture *cap = user_data;
  g_assert_cmpint (block->width, ==, cap->width);
  g_assert_cmpint (block->pos0 + block->n_tokens, <=, cap->n_tokens);
  memcpy (cap->rows + block->pos0 * cap->width, block->data,
          (size_t) (block->n_tokens * block->width) * sizeof (float));
  cap->calls++;
}

static void
capture_free (gpointer data)
{
  Capture *cap = data;
  g_free (cap->rows);
  g_free (cap);
}

/* Captures every (layer, point) into captures[layer * FS_N_HOOK_POINTS + point]. */
static Capture **
capture_all (FsModelRun *run, int64_t n_tokens)
{
  FsModel *model = fs_model_run_get_model (run);
  int n_layers = (int) fs_model_get_config (model)->n_layers;
  Capture **captures = g_new0 (Capture *, (size_t) n_layers * FS_N_HOOK_POINTS);

  for (int l = 0; l < n_layers; l++)
    for (int p = 0; p < FS_N_HOOK_POINTS; p++)
      {
        Capture *cap = g_new0 (Capture, 1);
        cap->width = fs_model_get_hook_width (model, p);
        cap->n_tokens = n_tokens;
        cap->rows = g_new0 (float, (size_t) (n_tokens * cap->width));
        captures[l * FS_N_HOOK_POINTS + p] = cap;
        g_assert_cmpuint (fs_model_run_add_hook (run, l, p, capture_block, cap, capture_free),
                          >, 0);
      }
  return captures;
}

static void
compare_captures (Case *c, Capture **captures, FsTensorFile *reference, const char *what)
{
  int n_layers = (int) fs_model_get_config (c->model)->n_layers;
  double worst = 0;

  for (int l = 0; l < n_layers; l++)
    for (int p = 0; p < FS_N_HOOK_POINTS; p++)
      {
        Capture *cap = captures[l * FS_N_HOOK_POINTS + p];
        g_autofree char *name = g_strdup_printf ("blocks.%d.%s", l, fs_hook_point_name (p));
        const FsTensor *t = fs_tensor_file_lookup (reference, name);
        g_assert_nonnull (t);
        g_auto(Array) want = tensor_array (t);
        g_assert_cmpint (want.rows, ==, cap->n_tokens);
        g_assert_cmpint (want.cols, ==, cap->width);
        g_assert_cmpint (cap->calls, >, 0);
        g_autofree char *label = g_strdup_printf ("%s %s", what, name);
        check_close (label, cap->rows, want.data, want.rows * want.cols, &worst);
      }
  report (c, what, worst);
}

static void
test_hooks (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(FsTensorFile) reference = load_npz (c->name, "hooks.npz");
  g_autoptr(GError) error = NULL;

  for (int decode = 0; decode <= 1; decode++)
    {
      g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
      g_autofree Capture **captures = capture_all (run, c->n_tokens);
      int64_t step = decode ? 1 : c->n_tokens;
      for (int64_t t = 0; t < c->n_tokens; t += step)
        g_assert_true (fs_model_run_forward (run, c->tokens + t, step, FS_LOGITS_NONE, NULL,
                                             NULL, &error));
      compare_captures (c, captures, reference, decode ? "decode hooks" : "prefill hooks");
    }
}

static void
zero_head_1 (const FsHookBlock *block, gpointer user_data)
{
  int64_t d_head = GPOINTER_TO_INT (user_data);
  for (int64_t i = 0; i < block->n_tokens; i++)
    memset (block->data + i * block->width + d_head, 0, (size_t) d_head * sizeof (float));
}

static void
zero_block (const FsHookBlock *block, gpointer user_data)
{
  memset (block->data, 0, (size_t) (block->n_tokens * block->width) * sizeof (float));
}

static void
test_ablation (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(GError) error = NULL;
  int64_t v = vocab (c), d_head = fs_model_get_config (c->model)->d_head;
  g_autofree float *logits = g_new (float, (size_t) (c->n_tokens * v));
  g_auto(Array) want = load_npy (c->name, "logits-ablated.npy");
  double worst = 0;

  for (int decode = 0; decode <= 1; decode++)
    {
      g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
      fs_model_run_add_hook (run, 0, FS_HOOK_ATTN_Z, zero_head_1, GINT_TO_POINTER (d_head),
                             NULL);
      fs_model_run_add_hook (run, 1, FS_HOOK_MLP_OUT, zero_block, NULL, NULL);
      if (decode)
        for (int64_t t = 0; t < c->n_tokens; t++)
          g_assert_true (fs_model_run_forward (run, c->tokens + t, 1, FS_LOGITS_LAST,
                                               logits + t * v, NULL, &error));
      else
        g_assert_true (fs_model_run_forward (run, c->tokens, c->n_tokens, FS_LOGITS_ALL,
                                             logits, NULL, &error));
      check_close ("ablated logits", logits, want.data, c->n_tokens * v, &worst);
    }
  report (c, "ablated logits", worst);

  /* Removing the hooks restores the plain model. */
  g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
  guint a = fs_model_run_add_hook (run, 1, FS_HOOK_MLP_OUT, zero_block, NULL, NULL);
  fs_model_run_remove_hook (run, a);
  g_auto(Array) plain = load_npy (c->name, "logits.npy");
  g_assert_true (fs_model_run_forward (run, c->tokens, c->n_tokens, FS_LOGITS_ALL, logits,
                                       NULL, &error));
  check_close ("logits after removing hooks", logits, plain.data, c->n_tokens * v, NULL);
}

static void
test_transformerlens (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  g_autoptr(FsTensorFile) reference = load_npz (c->name, "hooks-tl.npz");
  g_autoptr(GError) error = NULL;
  FsModelRunOptions options = { .center_writing_weights = TRUE, .fold_value_biases = TRUE };
  g_autofree float *logits = g_new (float, (size_t) (c->n_tokens * vocab (c)));
  g_auto(Array) want = load_npy (c->name, "logits.npy");

  for (int decode = 0; decode <= 1; decode++)
    {
      g_autoptr(FsModelRun) run = fs_model_run_new (c->model, &options);
      g_autofree Capture **captures = capture_all (run, c->n_tokens);
      int64_t step = decode ? 1 : c->n_tokens;
      for (int64_t t = 0; t < c->n_tokens; t += step)
        g_assert_true (fs_model_run_forward (run, c->tokens + t, step, FS_LOGITS_ALL,
                                             logits + t * vocab (c), NULL, &error));
      compare_captures (c, captures, reference, decode ? "decode TL hooks" : "prefill TL hooks");
      check_close ("TL logits", logits, want.data, c->n_tokens * vocab (c), NULL);
    }
}

/* ---------------------------------------------------------------- limits */

static void
test_limits (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  int64_t max = fs_model_get_config (c->model)->max_positions;
  g_autofree int32_t *tokens = g_new (int32_t, (size_t) max + 1);
  g_autofree float *logits = g_new (float, (size_t) vocab (c));
  g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
  g_autoptr(GError) error = NULL;

  for (int64_t i = 0; i <= max; i++)
    tokens[i] = c->tokens[i % c->n_tokens];
  g_assert_false (fs_model_run_forward (run, tokens, max + 1, FS_LOGITS_LAST, logits, NULL,
                                        &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "context"));
  g_clear_error (&error);
  g_assert_cmpint (fs_model_run_get_n_past (run), ==, 0);

  /* The whole context in one prefill, then nothing more fits. */
  g_assert_true (fs_model_run_forward (run, tokens, max, FS_LOGITS_LAST, logits, NULL, &error));
  g_assert_no_error (error);
  for (int64_t i = 0; i < vocab (c); i++)
    g_assert_true (isfinite (logits[i]));
  g_assert_false (fs_model_run_forward (run, tokens, 1, FS_LOGITS_LAST, logits, NULL, &error));
  g_clear_error (&error);

  /* Tokens outside the vocabulary are refused. */
  fs_model_run_truncate (run, 0);
  int32_t bad[2] = { 0, (int32_t) vocab (c) };
  g_assert_false (fs_model_run_forward (run, bad, 2, FS_LOGITS_LAST, logits, NULL, &error));
  g_assert_nonnull (strstr (error->message, "vocabulary"));
  g_clear_error (&error);

  /* A smaller context asked for at run creation. */
  FsModelRunOptions options = { .max_context = 5 };
  g_autoptr(FsModelRun) small = fs_model_run_new (c->model, &options);
  g_assert_cmpint (fs_model_run_get_max_context (small), ==, 5);
  g_assert_false (fs_model_run_forward (small, tokens, 6, FS_LOGITS_LAST, logits, NULL,
                                        &error));
  g_clear_error (&error);
}

/* More tokens than one chunk of the runtime (256): one prefill against
 * token-by-token decoding, logits and a hook across the chunk boundary. */
static void
test_long (gconstpointer data)
{
  g_autoptr(Case) c = case_new (data);
  const FsModelConfig *config = fs_model_get_config (c->model);
  int64_t n = 300, v = vocab (c), last = config->n_layers - 1;
  g_autofree int32_t *tokens = g_new (int32_t, (size_t) n);
  g_autofree float *prefill = g_new (float, (size_t) (n * v));
  g_autofree float *decode = g_new (float, (size_t) (n * v));
  g_autoptr(GError) error = NULL;
  Capture *caps[2];
  double worst = 0;

  for (int64_t i = 0; i < n; i++)
    tokens[i] = c->tokens[(i * 7) % c->n_tokens];
  for (int mode = 0; mode < 2; mode++)
    {
      g_autoptr(FsModelRun) run = fs_model_run_new (c->model, NULL);
      Capture *cap = caps[mode] = g_new0 (Capture, 1);
      cap->width = config->d_model;
      cap->n_tokens = n;
      cap->rows = g_new0 (float, (size_t) (n * cap->width));
      fs_model_run_add_hook (run, (int) last, FS_HOOK_RESID_POST, capture_block, cap, NULL);
      if (mode == 0)
        g_assert_true (fs_model_run_forward (run, tokens, n, FS_LOGITS_ALL, prefill, NULL,
                                             &error));
      else
        for (int64_t t = 0; t < n; t++)
          g_assert_true (fs_model_run_forward (run, tokens + t, 1, FS_LOGITS_LAST,
                                               decode + t * v, NULL, &error));
    }
  g_assert_cmpint (caps[0]->calls, ==, 2);
  check_close ("long prefill against decode", prefill, decode, n * v, &worst);
  check_close ("long resid_post", caps[0]->rows, caps[1]->rows, n * config->d_model, &worst);
  capture_free (caps[0]);
  capture_free (caps[1]);
  report (c, "300 tokens", worst);
}

/* ---------------------------------------------------------------- errors */

static void
test_errors (void)
{
  const cJSON *errors = cJSON_GetObjectItem (expected, "errors"), *item;
  cJSON_ArrayForEach (item, errors)
    {
      const char *name = cJSON_GetObjectItem (item, "name")->valuestring;
      const char *message = cJSON_GetObjectItem (item, "message")->valuestring;
      g_autofree char *dir = g_build_filename (root, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(FsModel) model = fs_model_load (dir, &error);
      g_assert_null (model);
      g_assert_nonnull (error);
      if (strstr (error->message, message) == NULL)
        g_error ("%s: “%s” does not mention “%s”", name, error->message, message);
      g_print ("# %s: %s\n", name, error->message);
    }
}

static void
test_hook_names (void)
{
  int layer;
  FsHookPoint point;
  g_assert_true (fs_hook_point_parse ("blocks.12.attn.hook_z", &layer, &point));
  g_assert_cmpint (layer, ==, 12);
  g_assert_cmpint (point, ==, FS_HOOK_ATTN_Z);
  g_assert_true (fs_hook_point_parse ("blocks.0.hook_resid_pre", &layer, &point));
  g_assert_cmpint (point, ==, FS_HOOK_RESID_PRE);
  g_assert_false (fs_hook_point_parse ("blocks.x.hook_resid_pre", &layer, &point));
  g_assert_false (fs_hook_point_parse ("blocks.3.hook_resid", &layer, &point));
  g_assert_false (fs_hook_point_parse ("blocks.3", &layer, &point));
  for (int p = 0; p < FS_N_HOOK_POINTS; p++)
    {
      g_autofree char *name = g_strdup_printf ("blocks.7.%s", fs_hook_point_name (p));
      g_assert_true (fs_hook_point_parse (name, &layer, &point));
      g_assert_cmpint (point, ==, p);
      g_assert_cmpint (layer, ==, 7);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *fixtures = g_getenv ("FLOWSCOPE_FIXTURES");
  g_assert_nonnull (fixtures);
  root = g_build_filename (fixtures, "model", NULL);
  g_autofree char *expected_path = g_build_filename (root, "expected.json", NULL);
  g_autoptr(GError) error = NULL;
  expected = fs_json_load (expected_path, &error);
  g_assert_no_error (error);

  const cJSON *spec;
  cJSON_ArrayForEach (spec, cJSON_GetObjectItem (expected, "models"))
    {
      const char *name = cJSON_GetObjectItem (spec, "name")->valuestring;
#define ADD(what, func) \
      { g_autofree char *path = g_strdup_printf ("/model/%s/" what, name); \
        g_test_add_data_func (path, spec, func); }
      ADD ("prefill", test_prefill);
      ADD ("decode", test_decode);
      ADD ("chunked", test_chunked);
      ADD ("hooks", test_hooks);
      ADD ("ablation", test_ablation);
      ADD ("limits", test_limits);
      if (cJSON_GetObjectItem (spec, "max_positions")->valueint >= 300)
        ADD ("long", test_long);
      if (cJSON_IsTrue (cJSON_GetObjectItem (spec, "transformerlens")))
        ADD ("transformerlens", test_transformerlens);
#undef ADD
    }
  g_test_add_func ("/model/errors", test_errors);
  g_test_add_func ("/model/hook-names", test_hook_names);
  int status = g_test_run ();
  cJSON_Delete (expected);
  g_free (root);
  return status;
}
