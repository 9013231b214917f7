/* test-steer-report.c: steering comparisons written as Markdown and JSON
 * (steer-report.h), checked against what the test works out on its own
 * from the data it puts in: where the token lists part, raw values, the
 * most probable theme, the numbers as printed, Markdown escaping, and the
 * file written in place of an old one. */
#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "steer-report.h"

static const int32_t baseline_ids[] = { 11, 12, 13, 14, 15, 16 };
static const int32_t steered_ids[] = { 11, 12, 13, 40, 41 };
static const char *classes[] = { "scripture", "computing", "chemistry", NULL };
static const double baseline_p[] = { 0.7, 0.2, 0.1 };
static const double steered_p[] = { 0.05, 0.9, 0.05 };

static void
set_run (FsSteerReportRun *run, const int32_t *ids, guint n, const char *text, double ppl,
         double kl, const double *probabilities)
{
  g_array_set_size (run->tokens, 0);
  g_array_append_vals (run->tokens, ids, n);
  run->text = g_strdup (text);
  run->stop = FS_STOP_LENGTH;
  run->perplexity = ppl;
  run->kl_mean = kl;
  run->theme_probabilities = g_memdup2 (probabilities, 3 * sizeof (double));
}

static FsSteerReport *
make_report (void)
{
  FsSteerReport *report = fs_steer_report_new ();

  report->model = g_strdup ("/models/demo");
  report->prompt = g_strdup ("I think | therefore");
  report->sampler = (FsSamplerParams) { FALSE, 1.25f, 0, 0.75f, 7 };
  report->max_tokens = 6;
  report->units = FS_STEER_UNITS_TYPICAL;
  report->graph = g_strdup ("3/res/42");
  fs_strategy_params_init (&report->strategy);
  report->strategy.strategy = FS_STRATEGY_LINEAR;
  report->strategy.s_end = 0.5;
  report->theme_classes = g_strdupv ((char **) classes);
  fs_steer_report_add_intervention (report, "3/res/42", "computing: 'x' | 'y'", FS_STEER_ADD,
                                    20, FS_UNIT_MEASURED, 0.875);
  fs_steer_report_add_intervention (report, "2/mlp/7", NULL, FS_STEER_SCALE, -2,
                                    FS_UNIT_RATIO, 1);
  set_run (&report->baseline, baseline_ids, G_N_ELEMENTS (baseline_ids),
           " And the LORD said", 252.0417, 0.17024, baseline_p);
  set_run (&report->steered, steered_ids, G_N_ELEMENTS (steered_ids),
           " ```code``` and ````more````", 619.9251, NAN, steered_p);
  report->steered.stop = FS_STOP_EOS;
  return report;
}

/* The test's own reckoning of where two lists part. */
static int
expected_difference (const int32_t *a, guint n_a, const int32_t *b, guint n_b)
{
  guint i = 0;

  while (i < n_a && i < n_b && a[i] == b[i])
    i++;
  return i == n_a && i == n_b ? -1 : (int) i;
}

static guint
argmax (const double *p, guint n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    best = p[i] > p[best] ? i : best;
  return best;
}

static void
assert_contains (const char *text, const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_error ("“%s” is not in:\n%s", needle, text);
}

static void
test_json (void)
{
  g_autoptr(FsSteerReport) report = make_report ();
  g_autofree char *text = fs_steer_report_to_json (report);
  cJSON *root = cJSON_Parse (text);
  const cJSON *list, *item, *run;
  int difference = expected_difference (baseline_ids, G_N_ELEMENTS (baseline_ids), steered_ids,
                                        G_N_ELEMENTS (steered_ids));
  int i = 0;

  g_assert_nonnull (root);
  g_assert_cmpstr (cJSON_GetObjectItem (root, "format")->valuestring, ==,
                   "flowscope-steering-comparison");
  g_assert_cmpstr (cJSON_GetObjectItem (root, "prompt")->valuestring, ==, "I think | therefore");
  g_assert_cmpstr (cJSON_GetObjectItem (root, "units")->valuestring, ==, "typical");
  item = cJSON_GetObjectItem (root, "sampler");
  g_assert_cmpfloat_with_epsilon (cJSON_GetObjectItem (item, "temperature")->valuedouble, 1.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (cJSON_GetObjectItem (item, "top_p")->valuedouble, 0.75, 1e-6);
  g_assert_cmpint (cJSON_GetObjectItem (item, "seed")->valueint, ==, 7);
  g_assert_cmpint (cJSON_GetObjectItem (item, "max_tokens")->valueint, ==, 6);
  item = cJSON_GetObjectItem (root, "graph");
  g_assert_cmpstr (cJSON_GetObjectItem (item, "seed")->valuestring, ==, "3/res/42");
  g_assert_cmpstr (cJSON_GetObjectItem (item, "strategy")->valuestring, ==, "linear");
  g_assert_cmpfloat (cJSON_GetObjectItem (item, "s_end")->valuedouble, ==, 0.5);
  g_assert_null (cJSON_GetObjectItem (item, "alpha"));
  g_assert_null (cJSON_GetObjectItem (item, "layer"));

  list = cJSON_GetObjectItem (root, "interventions");
  g_assert_cmpint (cJSON_GetArraySize (list), ==, 2);
  cJSON_ArrayForEach (item, list)
    {
      const FsSteerReportIntervention *want = &g_array_index (report->interventions,
                                                              FsSteerReportIntervention, i++);

      g_assert_cmpstr (cJSON_GetObjectItem (item, "feature")->valuestring, ==, want->feature);
      g_assert_cmpstr (cJSON_GetObjectItem (item, "op")->valuestring, ==,
                       fs_steer_op_name (want->op));
      g_assert_cmpfloat (cJSON_GetObjectItem (item, "raw_value")->valuedouble, ==,
                         want->value * want->unit_factor);
    }
  item = cJSON_GetArrayItem (list, 0);
  g_assert_cmpfloat (cJSON_GetObjectItem (item, "raw_value")->valuedouble, ==, 17.5);
  g_assert_cmpstr (cJSON_GetObjectItem (item, "unit")->valuestring, ==, "measured");
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (cJSON_GetArrayItem (list, 1), "label")));

  g_assert_cmpint (difference, ==, 3);
  g_assert_cmpint (cJSON_GetObjectItem (root, "first_difference")->valueint, ==, difference);

  run = cJSON_GetObjectItem (root, "baseline");
  g_assert_cmpint (cJSON_GetObjectItem (run, "n_tokens")->valueint, ==, G_N_ELEMENTS (baseline_ids));
  g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (run, "tokens")), ==,
                   G_N_ELEMENTS (baseline_ids));
  g_assert_cmpfloat (cJSON_GetObjectItem (run, "perplexity")->valuedouble, ==, 252.0417);
  g_assert_cmpstr (cJSON_GetObjectItem (run, "stop_reason")->valuestring, ==, "length");
  g_assert_cmpstr (cJSON_GetObjectItem (cJSON_GetObjectItem (run, "theme"), "class")->valuestring,
                   ==, classes[argmax (baseline_p, 3)]);

  run = cJSON_GetObjectItem (root, "steered");
  g_assert_cmpstr (cJSON_GetObjectItem (run, "text")->valuestring, ==, report->steered.text);
  g_assert_cmpint (cJSON_GetArrayItem (cJSON_GetObjectItem (run, "tokens"), 3)->valueint, ==,
                   steered_ids[3]);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (run, "kl_mean")));
  g_assert_cmpstr (cJSON_GetObjectItem (run, "stop_reason")->valuestring, ==, "eos");
  item = cJSON_GetObjectItem (cJSON_GetObjectItem (run, "theme"), "probabilities");
  g_assert_cmpstr (cJSON_GetObjectItem (cJSON_GetObjectItem (run, "theme"), "class")->valuestring,
                   ==, classes[argmax (steered_p, 3)]);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpfloat (cJSON_GetObjectItem (item, classes[c])->valuedouble, ==, steered_p[c]);

  cJSON_Delete (root);
}

static void
test_markdown (void)
{
  g_autoptr(FsSteerReport) report = make_report ();
  g_autofree char *text = fs_steer_report_to_markdown (report);
  g_autofree char *ppl = g_strdup_printf ("| Perplexity (unsteered model) | %.2f | %.2f |",
                                          report->baseline.perplexity,
                                          report->steered.perplexity);
  g_autofree char *theme = g_strdup_printf ("| Theme | %s | %s |", classes[argmax (baseline_p, 3)],
                                            classes[argmax (steered_p, 3)]);
  g_autofree char *tokens = g_strdup_printf ("| Generated tokens | %u | %u |",
                                             (guint) G_N_ELEMENTS (baseline_ids),
                                             (guint) G_N_ELEMENTS (steered_ids));
  g_autofree char *departs = g_strdup_printf ("at generated token %d.",
                                              expected_difference (baseline_ids,
                                                                   G_N_ELEMENTS (baseline_ids),
                                                                   steered_ids,
                                                                   G_N_ELEMENTS (steered_ids)) + 1);
  const char *steered_section;

  g_assert_true (g_str_has_prefix (text, "# Steering comparison\n"));
  /* '|' inside a cell is escaped, so the table keeps its columns. */
  assert_contains (text, "| Prompt | I think \\| therefore |");
  assert_contains (text, "| 3/res/42 | computing: 'x' \\| 'y' | add | 20 | measured × 0.875 | 17.5 |");
  assert_contains (text, "| 2/mlp/7 |  | scale | -2 | ratio × 1 | -2 |");
  assert_contains (text, "| Sampling | temperature 1.25, top-p 0.75, seed 7 |");
  assert_contains (text, "| Graph | 3/res/42, linear strategy, s* = 0.5 |");
  assert_contains (text, ppl);
  assert_contains (text, "| KL(steered ‖ unsteered), mean | 0.1702 | – |");
  assert_contains (text, theme);
  assert_contains (text, "| P(computing) | 0.200 | 0.900 |");
  assert_contains (text, tokens);
  assert_contains (text, "| Stop reason | length | eos |");
  assert_contains (text, departs);
  assert_contains (text, "## Baseline\n\n```text\n And the LORD said\n```\n");
  /* The steered text holds runs of three and four backticks: its fence
   * takes five. */
  steered_section = strstr (text, "## Steered\n\n");
  g_assert_nonnull (steered_section);
  assert_contains (steered_section, "`````text\n ```code``` and ````more````\n`````\n");
}

static void
test_same_runs (void)
{
  g_autoptr(FsSteerReport) report = make_report ();
  g_autofree char *markdown = NULL;
  g_autofree char *json = NULL;
  cJSON *root;

  g_array_set_size (report->steered.tokens, 0);
  g_array_append_vals (report->steered.tokens, baseline_ids, G_N_ELEMENTS (baseline_ids));
  markdown = fs_steer_report_to_markdown (report);
  json = fs_steer_report_to_json (report);
  assert_contains (markdown, "The two runs generated the same tokens.");
  root = cJSON_Parse (json);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (root, "first_difference")));
  cJSON_Delete (root);

  /* A run that stops early parts where it stops. */
  g_array_set_size (report->steered.tokens, 2);
  g_clear_pointer (&json, g_free);
  json = fs_steer_report_to_json (report);
  root = cJSON_Parse (json);
  g_assert_cmpint (cJSON_GetObjectItem (root, "first_difference")->valueint, ==,
                   expected_difference (baseline_ids, G_N_ELEMENTS (baseline_ids),
                                        baseline_ids, 2));
  cJSON_Delete (root);
}

static void
test_write (void)
{
  g_autoptr(FsSteerReport) report = make_report ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("steer-report-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "comparison.json", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-folder", "comparison.md", NULL);
  g_autofree char *json = fs_steer_report_to_json (report);
  g_autofree char *markdown = fs_steer_report_to_markdown (report);
  g_autofree char *read = NULL;
  g_autoptr(GDir) listing = NULL;

  g_assert_no_error (error);
  /* An old file is replaced whole. */
  g_assert_true (g_file_set_contents (path, "old contents that are longer than nothing", -1, NULL));
  g_assert_true (fs_steer_report_write (report, FS_STEER_REPORT_JSON, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &read, NULL, NULL));
  g_assert_cmpstr (read, ==, json);
  g_clear_pointer (&read, g_free);

  g_assert_true (fs_steer_report_write (report, FS_STEER_REPORT_MARKDOWN, path, &error));
  g_assert_true (g_file_get_contents (path, &read, NULL, NULL));
  g_assert_cmpstr (read, ==, markdown);

  g_assert_false (fs_steer_report_write (report, FS_STEER_REPORT_MARKDOWN, missing, &error));
  g_assert_error (error, FS_ERROR, FS_ERROR_IO);
  g_assert_true (strstr (error->message, missing) != NULL);

  /* Nothing but the one file is left behind. */
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "comparison.json");
  g_assert_null (g_dir_read_name (listing));
  g_remove (path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/steer-report/json", test_json);
  g_test_add_func ("/steer-report/markdown", test_markdown);
  g_test_add_func ("/steer-report/same-runs", test_same_runs);
  g_test_add_func ("/steer-report/write", test_write);
  return g_test_run ();
}
