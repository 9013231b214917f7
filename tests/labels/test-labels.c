/* test-labels.c: Neuronpedia explanation exports in every form FORMATS.md
 * lists, corrupt ones (each refused with an error naming the file and the
 * problem), lookups and search through SAEs, and flow graphs labelled in
 * place, truncated ones included. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "flow-graph.h"
#include "fs-error.h"
#include "json-util.h"
#include "labels.h"

static const char *fixtures;
static char *tmp_dir;

/* An export with two sources: a Neuronpedia one (by model and layer) and
 * one matched by folder name; index as string and number, a second
 * explanation of feature 7 (the first wins), and one without a
 * description (skipped). */
static const char array_export[] =
  "[{\"modelId\": \"tiny\", \"layer\": \"3-res\", \"index\": \"7\", \"description\": \"Bible verses\","
  "  \"explanationModelName\": \"gpt-4o-mini\", \"typeName\": \"oai_token-act-pair\"},\n"
  " {\"modelId\": \"tiny\", \"layer\": \"3-res\", \"index\": 2, \"description\": \"chemistry TERMS\"},\n"
  " {\"modelId\": \"tiny\", \"layer\": \"3-res\", \"index\": \"7\", \"description\": \"a later explanation\"},\n"
  " {\"modelId\": \"tiny\", \"layer\": \"3-res\", \"index\": \"9\"},\n"
  " {\"layer\": \"5-res\", \"index\": \"10\", \"description\": \"planted chain top\"},\n"
  " {\"layer\": \"standard-f32\", \"index\": \"7\", \"description\": \"by folder name\"}]\n";

static char *
write_file (const char *name, const void *data, gsize size)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (tmp_dir, name, NULL);

  g_file_set_contents (path, data, (gssize) size, &error);
  g_assert_no_error (error);
  return path;
}

static GBytes *
gzip (const char *text)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static FsLabels *
load_text (const char *name, const char *text)
{
  g_autofree char *path = write_file (name, text, strlen (text));
  g_autoptr(GError) error = NULL;
  FsLabels *labels = fs_labels_load (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (labels);
  g_assert_cmpstr (fs_labels_get_path (labels), ==, path);
  return labels;
}

static FsSae *
load_sae (const char *relative)
{
  g_autofree char *folder = g_build_filename (fixtures, relative, NULL);
  g_autoptr(GError) error = NULL;
  FsSae *sae = fs_sae_load (folder, NULL, &error);

  g_assert_no_error (error);
  return sae;
}

static FsSaeSet *
open_planted (void)
{
  g_autofree char *folder = g_build_filename (fixtures, "flow", "planted-F32", NULL);
  const char *paths[] = { folder, NULL };
  g_autoptr(GError) error = NULL;
  FsSaeSet *set = fs_sae_set_open (paths, NULL, NULL, &error);

  g_assert_no_error (error);
  return set;
}

static void
check_array_export (FsLabels *labels)
{
  g_assert_cmpuint (fs_labels_get_n_labels (labels), ==, 4);
  g_assert_cmpstr (fs_labels_lookup (labels, "tiny/3-res", 7), ==, "Bible verses");
  g_assert_cmpstr (fs_labels_lookup (labels, "tiny/3-res", 2), ==, "chemistry TERMS");
  g_assert_null (fs_labels_lookup (labels, "tiny/3-res", 9));
  g_assert_null (fs_labels_lookup (labels, "tiny/3-res", 8));
  g_assert_null (fs_labels_lookup (labels, "other/3-res", 7));
  g_assert_cmpstr (fs_labels_lookup_layer (labels, "3-res", 7), ==, "Bible verses");
  g_assert_cmpstr (fs_labels_lookup_layer (labels, "5-res", 10), ==, "planted chain top");
  g_assert_null (fs_labels_lookup_layer (labels, "5-res", 11));
}

static void
test_array (void)
{
  g_autoptr(FsLabels) labels = load_text ("array.json", array_export);

  check_array_export (labels);
}

/* The same explanations in the other forms. */
static void
test_forms (void)
{
  g_autofree char *object = g_strdup_printf ("{\"explanations\": %s}", array_export);
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(cJSON) parsed = cJSON_Parse (array_export);
  const cJSON *item;

  /* JSON Lines, with a blank line and Windows line ends. */
  cJSON_ArrayForEach (item, parsed)
    {
      char *line = cJSON_PrintUnformatted (item);
      g_string_append_printf (lines, "%s\r\n\n", line);
      cJSON_free (line);
    }

  {
    g_autoptr(FsLabels) labels = load_text ("object.json", object);
    check_array_export (labels);
  }
  {
    g_autoptr(FsLabels) labels = load_text ("lines.jsonl", lines->str);
    check_array_export (labels);
  }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GBytes) packed = gzip (i == 0 ? lines->str : array_export);
      g_autofree char *path = write_file (i == 0 ? "batch-0.jsonl.gz" : "all.json.gz",
                                          g_bytes_get_data (packed, NULL), g_bytes_get_size (packed));
      g_autoptr(GError) error = NULL;
      g_autoptr(FsLabels) labels = fs_labels_load (path, NULL, &error);

      g_assert_no_error (error);
      check_array_export (labels);
    }
  {
    /* One explanation alone is JSON Lines of one line. */
    g_autoptr(FsLabels) labels =
      load_text ("one.jsonl", "{\"modelId\": \"m\", \"layer\": \"l\", \"index\": \"3\", \"description\": \"only\"}\n");
    g_assert_cmpuint (fs_labels_get_n_labels (labels), ==, 1);
    g_assert_cmpstr (fs_labels_lookup (labels, "m/l", 3), ==, "only");
  }
}

/* Every corrupt file is refused, with its path and what is wrong. */
static void
test_corrupt (void)
{
  static const char valid_line[] = "{\"layer\": \"l\", \"index\": \"1\", \"description\": \"d\"}";
  g_autoptr(GBytes) packed = gzip (array_export);
  gsize packed_size = g_bytes_get_size (packed);
  g_autofree guint8 *bad_crc = g_memdup2 (g_bytes_get_data (packed, NULL), packed_size);
  g_autofree char *two_values = g_strdup_printf ("%s %s\n%s\n", valid_line, valid_line, valid_line);
  g_autofree char *bad_line = g_strdup_printf ("%s\n%s\n{\"layer\": \n", valid_line, valid_line);
  const struct {
    const char *name;
    const char *data;
    gsize       size;    /* 0: the text's length */
    const char *problem;
  } cases[] = {
    { "empty.json", "", 0, "empty" },
    { "spaces.json", " \n\t", 0, "empty" },
    { "binary.json", "[\"\xff\xfe\"]", 0, "not UTF-8" },
    { "text.json", "hello", 0, "not a Neuronpedia explanations export" },
    { "cut.json", "[\n{\"layer\": \"l\",\n \"index\": ", 0, "not valid JSON (line 3)" },
    { "numbers.json", "[1, 2]", 0, "explanation 1 is not a JSON object" },
    { "negative.json", "[{\"layer\": \"l\", \"index\": \"1\", \"description\": \"d\"},"
                       " {\"layer\": \"l\", \"index\": \"-3\", \"description\": \"d\"}]", 0,
      "explanation 2: “index” is not a feature index" },
    { "fraction.json", "[{\"layer\": \"l\", \"index\": 1.5, \"description\": \"d\"}]", 0,
      "explanation 1: “index” is not a feature index" },
    { "none.json", "[]", 0, "holds no explanations" },
    { "graph.json", "[{\"id\": \"3/res/1\", \"label\": null}]", 0,
      "no explanation has a “layer”, an “index” and a “description”" },
    { "object.json", "{\"explanations\": 3}", 0, "“explanations” is not an array" },
    { "after.json", "[] []", 0, "text follows the JSON array" },
    { "lines.jsonl", bad_line, 0, "line 3: not valid JSON" },
    { "two.jsonl", two_values, 0, "line 1: more than one JSON value" },
    { "array-line.jsonl", "{\"layer\": \"l\", \"index\": \"1\", \"description\": \"d\"}\n[1]\n", 0,
      "line 2 is not a JSON object" },
    { "cut.json.gz", g_bytes_get_data (packed, NULL), packed_size / 2, "gzip data ends early" },
    { "crc.json.gz", (const char *) bad_crc, packed_size, "gzip data is corrupt" },
  };

  bad_crc[packed_size - 6] ^= 0x55;  /* the CRC-32 before the length */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize size = cases[i].size > 0 ? cases[i].size : strlen (cases[i].data);
      g_autofree char *path = write_file (cases[i].name, cases[i].data, size);
      g_autofree char *prefix = g_strconcat (path, ": ", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(FsLabels) labels = fs_labels_load (path, NULL, &error);

      g_test_message ("%s", error != NULL ? error->message : "(no error)");
      g_assert_null (labels);
      g_assert_nonnull (error);
      g_assert_true (error->domain == FS_ERROR);
      if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, cases[i].problem) == NULL)
        g_error ("%s: “%s” does not say “%s”", cases[i].name, error->message, cases[i].problem);
    }

  {
    g_autofree char *path = g_build_filename (tmp_dir, "missing.json", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(FsLabels) labels = fs_labels_load (path, NULL, &error);

    g_assert_null (labels);
    g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);
    g_assert_true (g_str_has_prefix (error->message, path));
  }
}

static void
test_cancel (void)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(FsLabels) labels = NULL;

  for (guint i = 0; i < 10000; i++)
    g_string_append_printf (lines, "{\"layer\": \"l\", \"index\": \"%u\", \"description\": \"d\"}\n", i);
  g_cancellable_cancel (cancellable);
  labels = fs_labels_new_from_data ("big.jsonl", lines->str, lines->len, cancellable, &error);
  g_assert_null (labels);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* SAEs find their labels by Neuronpedia id first, else by folder name. */
static void
test_sae_lookup_and_search (void)
{
  g_autoptr(FsLabels) labels = load_text ("array.json", array_export);
  g_autoptr(FsSae) np_sae = load_sae ("sae/saelens/standard-f32");     /* tiny/3-res */
  g_autoptr(FsSae) folder_sae = load_sae ("flow/planted-F32/5-res");
  g_autoptr(FsSae) unlabelled = load_sae ("flow/planted-F32/4-res");
  const FsLabel *hits[4];

  g_assert_cmpstr (fs_sae_get_neuronpedia_id (np_sae), ==, "tiny/3-res");
  g_assert_cmpstr (fs_labels_lookup_sae (labels, np_sae, 7), ==, "Bible verses");
  g_assert_cmpstr (fs_labels_lookup_sae (labels, folder_sae, 10), ==, "planted chain top");
  g_assert_null (fs_labels_lookup_sae (labels, unlabelled, 10));

  /* ASCII case ignored, in index order, at most max_hits. */
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "e", hits, 4, NULL), ==, 2);
  g_assert_cmpint (hits[0]->index, ==, 2);
  g_assert_cmpint (hits[1]->index, ==, 7);
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "terms", hits, 4, NULL), ==, 1);
  g_assert_cmpstr (hits[0]->description, ==, "chemistry TERMS");
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "BIBLE", hits, 4, NULL), ==, 1);
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "e", hits, 1, NULL), ==, 1);
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "later", hits, 4, NULL), ==, 0);
  g_assert_cmpuint (fs_labels_search (labels, np_sae, "", hits, 4, NULL), ==, 0);
  g_assert_cmpuint (fs_labels_search (labels, unlabelled, "e", hits, 4, NULL), ==, 0);
}

static void
test_check_set (void)
{
  g_autoptr(FsSaeSet) set = open_planted ();
  g_autoptr(FsLabels) good = load_text ("array.json", array_export);
  g_autoptr(FsLabels) other = load_text ("other.json",
    "[{\"modelId\": \"gemma-2-2b\", \"layer\": \"12-gemmascope-res-16k\", \"index\": \"1\", \"description\": \"d\"}]");
  g_autoptr(GError) error = NULL;

  g_assert_true (fs_labels_check_set (good, set, &error));
  g_assert_no_error (error);

  g_assert_false (fs_labels_check_set (other, set, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, fs_labels_get_path (other)));
  g_assert_nonnull (strstr (error->message, "gemma-2-2b/12-gemmascope-res-16k"));
  g_assert_nonnull (strstr (error->message, "0-res"));
}

static void
test_find (void)
{
  g_autofree char *set = g_build_filename (tmp_dir, "set", NULL);
  g_autofree char *sae = g_build_filename (set, "3-res", NULL);
  g_autofree char *above = g_build_filename (set, "labels.json", NULL);
  g_autofree char *here = g_build_filename (sae, "labels.json", NULL);
  const char *paths[] = { sae, NULL };
  g_autofree char *found_above = NULL;
  g_autofree char *found_here = NULL;

  g_assert_cmpint (g_mkdir_with_parents (sae, 0755), ==, 0);
  g_assert_null (fs_labels_find (paths));
  g_assert_true (g_file_set_contents (above, "[]", -1, NULL));
  found_above = fs_labels_find (paths);
  g_assert_cmpstr (found_above, ==, above);
  g_assert_true (g_file_set_contents (here, "[]", -1, NULL));
  found_here = fs_labels_find (paths);
  g_assert_cmpstr (found_here, ==, here);
  g_assert_null (fs_labels_find (NULL));
}

/* A graph cut short by its node cap is labelled like any other. */
static void
test_truncated_graph (void)
{
  g_autoptr(FsSaeSet) set = open_planted ();
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(FsLabels) labels = NULL;
  g_autoptr(FsFlowGraph) graph = NULL;
  g_autoptr(GError) error = NULL;
  FsFlowParams params;
  guint n_labelled = 0;

  for (guint i = 0; i < fs_sae_set_get_n_saes (set); i++)
    {
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (fs_sae_set_get_nth (set, i)));

      for (guint f = 0; f < 96; f++)
        g_string_append_printf (text, "%s{\"layer\": \"%s\", \"index\": %u, \"description\": \"%s #%u\"}",
                                text->len > 1 ? "," : "", folder, f, folder, f);
    }
  g_string_append (text, "]");
  labels = load_text ("planted.json", text->str);

  fs_flow_params_init (&params);
  params.max_nodes = 3;
  graph = fs_flow_graph_build (set, NULL, 5, 10, &params, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (fs_flow_graph_is_truncated (graph));
  g_assert_cmpuint (fs_flow_graph_get_n_nodes (graph), ==, 3);

  fs_flow_graph_set_labels (graph, set, labels);
  g_assert_true (fs_flow_graph_is_truncated (graph));
  for (guint i = 0; i < fs_flow_graph_get_n_nodes (graph); i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      FsSae *sae = fs_sae_set_lookup (set, node->layer, node->site);
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));
      g_autofree char *want = g_strdup_printf ("%s #%" G_GINT64_FORMAT, folder, node->index);

      g_assert_cmpstr (node->label, ==, want);
      n_labelled++;
    }
  g_assert_cmpuint (n_labelled, ==, 3);

  /* The JSON export carries them, with the truncation. */
  {
    g_autofree char *json = fs_flow_graph_to_json (graph);
    g_assert_nonnull (strstr (json, "\"5-res #10\""));
    g_assert_nonnull (strstr (json, "\"truncated\":\ttrue"));
  }
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  g_remove (path);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  fixtures = g_getenv ("FLOWSCOPE_FIXTURES");
  if (fixtures == NULL)
    g_error ("FLOWSCOPE_FIXTURES is not set");
  tmp_dir = g_dir_make_tmp ("flowscope-labels-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/labels/array", test_array);
  g_test_add_func ("/labels/forms", test_forms);
  g_test_add_func ("/labels/corrupt", test_corrupt);
  g_test_add_func ("/labels/cancel", test_cancel);
  g_test_add_func ("/labels/sae-lookup-and-search", test_sae_lookup_and_search);
  g_test_add_func ("/labels/check-set", test_check_set);
  g_test_add_func ("/labels/find", test_find);
  g_test_add_func ("/labels/truncated-graph", test_truncated_graph);
  ret = g_test_run ();

  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
