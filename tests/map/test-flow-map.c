/* test-flow-map.c: the all-pairs map through its C API, on the set of
 * make-map-fixtures.py: lookups against the NumPy reference, smaller k as
 * prefixes, absent relations, cancelling and resuming, and the set check. */
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "flow-map.h"
#include "fs-error.h"
#include "npz.h"

static char *root;      /* the fixtures: FLOWSCOPE_FIXTURES/map */
static char *work;      /* a temporary folder for maps */
static cJSON *expected;

static FsSaeSet *
open_set (const char *name)
{
  g_autofree char *path = g_build_filename (root, name, NULL);
  const char *paths[] = { path, NULL };
  g_autoptr(GError) error = NULL;
  FsSaeSet *set = fs_sae_set_open (paths, NULL, NULL, &error);
  g_assert_no_error (error);
  return set;
}

static float *
load_reference (const cJSON *relation, const char *name, int64_t *n_elements)
{
  g_autofree char *path = g_build_filename (
    root, cJSON_GetObjectItem (relation, "reference")->valuestring, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTensorFile) file = fs_npz_open (path, &error);
  g_assert_no_error (error);
  const FsTensor *t = fs_tensor_file_lookup (file, name);
  g_assert_nonnull (t);
  float *out = g_new (float, (size_t) t->n_elements);
  fs_dtype_to_f32 (t->dtype, t->data, (size_t) t->n_elements, out);
  *n_elements = t->n_elements;
  return out;
}

static FsMapRelation
relation_from_name (const char *name)
{
  for (int r = 0; r < FS_MAP_N_RELATIONS; r++)
    if (g_str_equal (fs_map_relation_name (r), name))
      return r;
  g_assert_not_reached ();
}

static char *
compute (FsSaeSet *set, const char *name, int k)
{
  char *path = g_build_filename (work, name, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (fs_flow_map_compute (set, path, k, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return path;
}

/* Every lookup of every relation, for every k up to K: the first
 * min(k, n) entries of the reference list of K. */
static void
check_against_reference (FsFlowMap *map)
{
  int k_max = fs_flow_map_get_k (map);
  const cJSON *relation;

  g_assert_cmpuint (fs_flow_map_get_n_relations (map), ==,
                    cJSON_GetArraySize (cJSON_GetObjectItem (expected, "relations")));
  cJSON_ArrayForEach (relation, cJSON_GetObjectItem (expected, "relations"))
    {
      int layer = cJSON_GetObjectItem (relation, "layer")->valueint;
      int64_t rows = cJSON_GetObjectItem (relation, "rows")->valueint, n_ref;
      FsMapRelation kind = relation_from_name (
        cJSON_GetObjectItem (relation, "relation")->valuestring);
      g_autofree float *indices = load_reference (relation, "indices", &n_ref);
      g_autofree float *scores = load_reference (relation, "scores", &n_ref);
      int ref_k = (int) (n_ref / rows);

      for (int64_t i = 0; i < rows; i++)
        for (int k = 1; k <= k_max; k++)
          {
            FsMatch out[FS_MATCH_MAX_K];
            int n = fs_flow_map_lookup (map, layer, kind, i, k, out), want = 0;
            while (want < k && indices[i * ref_k + want] >= 0)
              want++;
            g_assert_cmpint (n, ==, want);
            for (int m = 0; m < n; m++)
              {
                g_assert_cmpint (out[m].index, ==, (int64_t) indices[i * ref_k + m]);
                g_assert_cmpfloat_with_epsilon (out[m].score, scores[i * ref_k + m], 1e-5);
              }
          }
    }
}

static void
test_lookup (void)
{
  g_autoptr(FsSaeSet) set = open_set ("set");
  g_autofree char *path = compute (set, "lookup.map", FS_MATCH_MAX_K);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsFlowMap) map = fs_flow_map_open (path, set, &error);
  g_assert_no_error (error);

  g_assert_cmpint (fs_flow_map_get_k (map), ==, 5);
  check_against_reference (map);

  /* Relations whose position has no SAE, or one left out, are absent. */
  FsMatch out[FS_MATCH_MAX_K];
  g_assert_cmpint (fs_flow_map_lookup (map, 3, FS_MAP_NEXT_RES, 0, 5, out), ==, -1);
  g_assert_cmpint (fs_flow_map_lookup (map, FS_LAYER_EMBED, FS_MAP_PREV_RES, 0, 5, out), ==, -1);
  g_assert_cmpint (fs_flow_map_lookup (map, 0, FS_MAP_MLP, 0, 5, out), ==, -1);
  g_assert_cmpint (fs_flow_map_lookup (map, 2, FS_MAP_ATT, 0, 5, out), ==, -1);
  g_assert_cmpint (fs_flow_map_lookup (map, 7, FS_MAP_PREV_RES, 0, 5, out), ==, -1);
  /* k = 0 asks for nothing; k above K gives K. */
  g_assert_cmpint (fs_flow_map_lookup (map, 0, FS_MAP_NEXT_RES, 5, 0, out), ==, 0);

  const char * const *warnings = fs_flow_map_get_warnings (map);
  g_assert_nonnull (warnings[0]);
  g_assert_true (g_str_has_prefix (warnings[0],
                                   cJSON_GetObjectItem (expected, "warning")->valuestring));
  g_assert_null (warnings[1]);
}

static void
test_small_k (void)
{
  g_autoptr(FsSaeSet) set = open_set ("set");
  g_autofree char *path = compute (set, "k3.map", 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsFlowMap) map = fs_flow_map_open (path, set, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fs_flow_map_get_k (map), ==, 3);
  check_against_reference (map);

  FsMatch out[FS_MATCH_MAX_K];
  g_assert_cmpint (fs_flow_map_lookup (map, 0, FS_MAP_NEXT_RES, 5, 5, out), ==, 3);
}

typedef struct {
  GCancellable *cancellable;
  int           pairs_seen;   /* distinct messages naming a pair */
  char         *last;
  gboolean      resumed;
  double        last_fraction;
} Watch;

static void
watch_progress (double fraction, const char *message, gpointer user_data)
{
  Watch *watch = user_data;

  g_assert_cmpfloat (fraction, >=, watch->last_fraction);
  g_assert_cmpfloat (fraction, <=, 1.0);
  watch->last_fraction = fraction;
  if (g_str_has_prefix (message, "resuming "))
    watch->resumed = TRUE;
  else if (g_strcmp0 (message, watch->last) != 0 && strstr (message, " x ") != NULL)
    watch->pairs_seen++;
  g_free (watch->last);
  watch->last = g_strdup (message);
  /* Cancel while the third pair runs: two are on disk by then. */
  if (watch->cancellable != NULL && watch->pairs_seen == 3)
    g_cancellable_cancel (watch->cancellable);
}

static void
test_cancel_and_resume (void)
{
  g_autoptr(FsSaeSet) set = open_set ("set");
  g_autofree char *path = g_build_filename (work, "resume.map", NULL);
  g_autofree char *partial = g_strconcat (path, ".partial", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Watch first = { cancellable, 0, NULL, FALSE, 0 };

  g_assert_false (fs_flow_map_compute (set, path, 5, watch_progress, &first, cancellable,
                                       &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_clear_error (&error);
  g_free (first.last);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (partial, G_FILE_TEST_EXISTS));

  /* An unfinished file is not a map. */
  g_assert_null (fs_flow_map_open (partial, set, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "unfinished"));
  g_clear_error (&error);

  Watch second = { NULL, 0, NULL, FALSE, 0 };
  g_assert_true (fs_flow_map_compute (set, path, 5, watch_progress, &second, NULL, &error));
  g_assert_no_error (error);
  g_free (second.last);
  g_assert_true (second.resumed);
  g_assert_cmpint (second.pairs_seen, ==, cJSON_GetObjectItem (expected, "pairs")->valueint - 2);
  g_assert_cmpfloat (second.last_fraction, ==, 1.0);
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));

  g_autoptr(FsFlowMap) map = fs_flow_map_open (path, set, &error);
  g_assert_no_error (error);
  check_against_reference (map);
}

static void
test_other_set (void)
{
  g_autoptr(FsSaeSet) set = open_set ("set");
  g_autoptr(FsSaeSet) other = open_set ("other-weights");
  g_autofree char *path = compute (set, "other.map", 2);
  g_autoptr(GError) error = NULL;

  g_assert_null (fs_flow_map_open (path, other, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_autofree char *want = g_strdup_printf ("%s: this map was computed for a different SAE set "
                                           "(1/mlp: the decoder weights differ)", path);
  g_assert_cmpstr (error->message, ==, want);
}

static void
test_parse_damaged (void)
{
  g_autoptr(FsSaeSet) set = open_set ("set");
  g_autofree char *path = compute (set, "damaged.map", 1);
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));

  /* Every proper prefix is refused, with a message naming the file. */
  for (gsize n = 0; n < length; n += 1 + n / 8)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (contents, n);
      g_autoptr(GError) error = NULL;
      g_assert_null (fs_flow_map_parse ("cut.map", bytes, &error));
      g_assert_true (g_str_has_prefix (error->message, "cut.map: "));
    }
  g_autoptr(GBytes) whole = g_bytes_new (contents, length);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsFlowMap) map = fs_flow_map_parse ("whole.map", whole, &error);
  g_assert_no_error (error);
  g_assert_null (fs_flow_map_get_warnings (map)[0]);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      g_unlink (child);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  const char *fixtures = g_getenv ("FLOWSCOPE_FIXTURES");
  g_assert_nonnull (fixtures);
  root = g_build_filename (fixtures, "map", NULL);
  g_autofree char *json_path = g_build_filename (root, "expected.json", NULL);
  g_autofree char *json = NULL;
  g_assert_true (g_file_get_contents (json_path, &json, NULL, NULL));
  expected = cJSON_Parse (json);
  work = g_dir_make_tmp ("flowscope-map-XXXXXX", NULL);
  /* Small blocks: every product crosses block edges on both sides. */
  g_setenv ("FLOWSCOPE_MAP_BLOCK", "128", TRUE);

  g_test_add_func ("/flow-map/lookup", test_lookup);
  g_test_add_func ("/flow-map/small-k", test_small_k);
  g_test_add_func ("/flow-map/cancel-and-resume", test_cancel_and_resume);
  g_test_add_func ("/flow-map/other-set", test_other_set);
  g_test_add_func ("/flow-map/parse-damaged", test_parse_damaged);
  int status = g_test_run ();

  remove_tree (work);
  cJSON_Delete (expected);
  g_free (work);
  g_free (root);
  return status;
}
