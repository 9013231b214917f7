/* test-sae.c: FsSae's decode, decoder norms and unit rows on every fixture
 * of make-sae-fixtures.py, against its NumPy reference; SAE sets' lookup. */
#include <cjson/cJSON.h>
#include <math.h>

#include "npz.h"
#include "sae-set.h"
#include "test-util.h"

static cJSON *expected;
static const char *root;

static float *
load_f32 (const char *relative, int64_t *n_elements)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_npy_open (path, &error);
  g_assert_no_error (error);
  const FsTensor *t = fs_tensor_file_get_nth (file, 0);
  float *out = g_new (float, (size_t) t->n_elements);
  fs_dtype_to_f32 (t->dtype, t->data, (size_t) t->n_elements, out);
  *n_elements = t->n_elements;
  return out;
}

static FsSae *
load_case (const cJSON *c)
{
  g_autofree char *folder = g_build_filename (root, cJSON_GetObjectItem (c, "path")->valuestring,
                                              NULL);
  const cJSON *convention = cJSON_GetObjectItem (c, "llamascope_threshold");
  FsSaeLoadOptions options = { FS_LLAMASCOPE_THRESHOLD_REFERENCE };
  g_autoptr(GError) error = NULL;

  if (cJSON_IsString (convention) && g_str_equal (convention->valuestring, "saelens"))
    options.llamascope_threshold = FS_LLAMASCOPE_THRESHOLD_SAELENS;
  FsSae *sae = fs_sae_load (folder, &options, &error);
  g_assert_no_error (error);
  return sae;
}

static void
test_decode (void)
{
  const cJSON *c;
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (expected, "saes"))
    {
      g_autoptr(FsSae) sae = load_case (c);
      int64_t n_x, n_z, n_hat, d_in = fs_sae_get_d_in (sae);
      g_autofree float *x = load_f32 (cJSON_GetObjectItem (c, "input")->valuestring, &n_x);
      g_autofree float *z = load_f32 (cJSON_GetObjectItem (c, "z")->valuestring, &n_z);
      g_autofree float *want = load_f32 (cJSON_GetObjectItem (c, "xhat")->valuestring, &n_hat);
      int64_t n = n_x / d_in;
      g_autofree float *got = g_new (float, (size_t) n_hat);

      fs_sae_decode (sae, z, x, n, got);
      double error = test_relative_error (got, want, n_hat);
      if (error > 1e-5)
        g_error ("%s: decode relative error %.2e", cJSON_GetObjectItem (c, "name")->valuestring,
                 error);
    }
}

static void
test_unit_rows (void)
{
  const cJSON *c;
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (expected, "saes"))
    {
      g_autoptr(FsSae) sae = load_case (c);
      int64_t n_norms, d_in = fs_sae_get_d_in (sae);
      g_autofree float *want = load_f32 (cJSON_GetObjectItem (c, "norms")->valuestring, &n_norms);
      const float *norms = fs_sae_get_decoder_norms (sae);
      g_autofree float *row = g_new (float, (size_t) d_in);

      g_assert_cmpint (n_norms, ==, fs_sae_get_d_sae (sae));
      g_assert_cmpfloat (test_relative_error (norms, want, n_norms), <=, 1e-5);
      for (int64_t i = 0; i < fs_sae_get_d_sae (sae); i += 7)
        {
          double sum = 0;
          fs_sae_get_unit_decoder_row (sae, i, row);
          for (int64_t j = 0; j < d_in; j++)
            sum += (double) row[j] * row[j];
          g_assert_cmpfloat (fabs (sqrt (sum) - 1.0), <, 1e-5);
        }
    }
}

static void
test_set_lookup (void)
{
  g_autofree char *gemmascope = g_build_filename (root, "gemmascope", NULL);
  const char *paths[] = { gemmascope, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(FsSaeSet) set = fs_sae_set_open (paths, NULL, NULL, &error);
  int first, last;

  g_assert_no_error (error);
  g_assert_cmpuint (fs_sae_set_get_n_saes (set), ==, 7);
  g_assert_true (fs_sae_set_get_layer_range (set, &first, &last));
  g_assert_cmpint (first, ==, FS_LAYER_EMBED);
  g_assert_cmpint (last, ==, 4);
  FsSae *canonical = fs_sae_set_lookup (set, 3, FS_SITE_RES);
  g_assert_nonnull (canonical);
  g_assert_cmpint (fs_sae_get_average_l0 (canonical), ==, 59);
  g_assert_null (fs_sae_set_lookup (set, 3, FS_SITE_MLP));
  g_assert_true (fs_sae_is_hook_z (fs_sae_set_lookup (set, 2, FS_SITE_ATT)));
}

static void
test_hook_names (void)
{
  int layer;
  FsSite site;
  gboolean z;

  g_assert_true (fs_hook_name_to_position ("blocks.8.hook_resid_pre", &layer, &site, &z));
  g_assert_cmpint (layer, ==, 7);
  g_assert_true (fs_hook_name_to_position ("blocks.0.hook_resid_pre", &layer, &site, &z));
  g_assert_cmpint (layer, ==, FS_LAYER_EMBED);
  g_assert_true (fs_hook_name_to_position ("blocks.12.attn.hook_z", &layer, &site, &z));
  g_assert_true (z && site == FS_SITE_ATT && layer == 12);
  g_assert_false (fs_hook_name_to_position ("blocks.x.hook_mlp_out", &layer, &site, &z));
  g_assert_false (fs_hook_name_to_position ("blocks.3.hook_mlp_out.extra", &layer, &site, &z));
  g_assert_false (fs_hook_name_to_position ("hook_embed", &layer, &site, &z));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  root = g_build_filename (g_getenv ("FLOWSCOPE_FIXTURES"), "sae", NULL);
  g_autofree char *path = g_build_filename (root, "expected.json", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  expected = cJSON_Parse (text);
  g_assert_nonnull (expected);

  g_test_add_func ("/sae/decode", test_decode);
  g_test_add_func ("/sae/unit-rows", test_unit_rows);
  g_test_add_func ("/sae/set-lookup", test_set_lookup);
  g_test_add_func ("/sae/hook-names", test_hook_names);
  int status = g_test_run ();
  cJSON_Delete (expected);
  return status;
}
