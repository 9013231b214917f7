/* steer-report.c: steering comparisons as Markdown and JSON
 * (steer-report.h). */
#include "steer-report.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"
#include "steer-compare.h"

FsSteerReport *
fs_steer_report_new (void)
{
  FsSteerReport *report = g_new0 (FsSteerReport, 1);

  fs_strategy_params_init (&report->strategy);
  report->sampler = FS_SAMPLER_PARAMS_DEFAULT;
  report->interventions = g_array_new (FALSE, TRUE, sizeof (FsSteerReportIntervention));
  report->baseline.tokens = g_array_new (FALSE, FALSE, sizeof (int32_t));
  report->steered.tokens = g_array_new (FALSE, FALSE, sizeof (int32_t));
  report->baseline.perplexity = report->baseline.kl_mean = NAN;
  report->steered.perplexity = report->steered.kl_mean = NAN;
  return report;
}

static void
run_clear (FsSteerReportRun *run)
{
  g_clear_pointer (&run->text, g_free);
  g_clear_pointer (&run->tokens, g_array_unref);
  g_clear_pointer (&run->theme_probabilities, g_free);
}

void
fs_steer_report_free (FsSteerReport *report)
{
  if (report == NULL)
    return;
  g_free (report->model);
  g_free (report->prompt);
  g_free (report->graph);
  for (guint i = 0; i < report->interventions->len; i++)
    {
      FsSteerReportIntervention *item = &g_array_index (report->interventions,
                                                        FsSteerReportIntervention, i);
      g_free (item->feature);
      g_free (item->label);
    }
  g_array_unref (report->interventions);
  g_strfreev (report->theme_classes);
  run_clear (&report->baseline);
  run_clear (&report->steered);
  g_free (report);
}

void
fs_steer_report_add_intervention (FsSteerReport *report, const char *feature, const char *label,
                                  FsSteerOp op, double value, FsUnitKind unit,
                                  double unit_factor)
{
  FsSteerReportIntervention item = { g_strdup (feature), g_strdup (label), op, value, unit,
                                     unit_factor };

  g_return_if_fail (report != NULL && feature != NULL);
  g_array_append_val (report->interventions, item);
}

static int64_t
first_difference (const FsSteerReport *report)
{
  return fs_steer_first_difference ((const int32_t *) report->baseline.tokens->data,
                                    report->baseline.tokens->len,
                                    (const int32_t *) report->steered.tokens->data,
                                    report->steered.tokens->len);
}

/* The most probable class of a run; 0 when there are no classes. */
static guint
best_class (const FsSteerReport *report, const FsSteerReportRun *run)
{
  guint best = 0;

  for (guint c = 1; report->theme_classes[c] != NULL; c++)
    if (run->theme_probabilities[c] > run->theme_probabilities[best])
      best = c;
  return best;
}

static gboolean
has_themes (const FsSteerReport *report)
{
  return report->theme_classes != NULL && report->theme_classes[0] != NULL
         && report->baseline.theme_probabilities != NULL
         && report->steered.theme_probabilities != NULL;
}

/* ---------------------------------------------------------------- Markdown */

/* Table cells hold one line, and a '|' would end the cell. */
static void
append_cell (GString *out, const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '|')
        g_string_append (out, "\\|");
      else if (*p == '\n' || *p == '\r')
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, *p);
    }
}

static void
append_number (GString *out, const char *format, double value)
{
  if (isfinite (value))
    g_string_append_printf (out, format, value);
  else
    g_string_append (out, "–");
}

/* A fenced block longer than any run of backticks in `text`, so that the
 * text cannot close it. */
static void
append_fenced (GString *out, const char *text)
{
  guint longest = 0, run = 0;

  for (const char *p = text; *p != '\0'; p++)
    {
      run = *p == '`' ? run + 1 : 0;
      longest = MAX (longest, run);
    }
  for (guint i = 0; i < MAX (3, longest + 1); i++)
    g_string_append_c (out, '`');
  g_string_append (out, "text\n");
  g_string_append (out, text);
  if (*text == '\0' || text[strlen (text) - 1] != '\n')
    g_string_append_c (out, '\n');
  for (guint i = 0; i < MAX (3, longest + 1); i++)
    g_string_append_c (out, '`');
  g_string_append (out, "\n");
}

static void
append_result_row (GString *out, const char *name, const char *format, double baseline,
                   double steered)
{
  g_string_append_printf (out, "| %s | ", name);
  append_number (out, format, baseline);
  g_string_append (out, " | ");
  append_number (out, format, steered);
  g_string_append (out, " |\n");
}

char *
fs_steer_report_to_markdown (const FsSteerReport *report)
{
  GString *out = g_string_new ("# Steering comparison\n\n");
  const FsSteerReportRun *runs[] = { &report->baseline, &report->steered };
  int64_t difference = first_difference (report);

  g_return_val_if_fail (report != NULL, NULL);

  g_string_append (out, "| Setting | Value |\n|---|---|\n");
  g_string_append (out, "| Model | ");
  append_cell (out, report->model != NULL ? report->model : "–");
  g_string_append (out, " |\n| Prompt | ");
  append_cell (out, report->prompt != NULL ? report->prompt : "");
  if (report->sampler.greedy || report->sampler.temperature <= 0)
    g_string_append (out, " |\n| Sampling | greedy |\n");
  else
    g_string_append_printf (out, " |\n| Sampling | temperature %g, top-p %g, seed %" G_GUINT64_FORMAT " |\n",
                            report->sampler.temperature, report->sampler.top_p,
                            report->sampler.seed);
  g_string_append_printf (out, "| New tokens | at most %" G_GINT64_FORMAT " |\n",
                          report->max_tokens);
  g_string_append_printf (out, "| Units | %s |\n", fs_steer_units_name (report->units));
  if (report->graph != NULL)
    {
      g_string_append_printf (out, "| Graph | %s, %s strategy", report->graph,
                              fs_strategy_name (report->strategy.strategy));
      if (report->strategy.layer != FS_STRATEGY_LAYER_DEFAULT)
        g_string_append_printf (out, ", layer %d", report->strategy.layer);
      if (report->strategy.strategy == FS_STRATEGY_LINEAR)
        g_string_append_printf (out, ", s* = %g", report->strategy.s_end);
      if (report->strategy.strategy == FS_STRATEGY_EXPONENTIAL)
        g_string_append_printf (out, ", alpha = %g", report->strategy.alpha);
      g_string_append (out, " |\n");
    }

  g_string_append (out, "\n## Interventions\n\n"
                   "| Feature | Label | Operation | Value | Unit | Raw value |\n"
                   "|---|---|---|---|---|---|\n");
  for (guint i = 0; i < report->interventions->len; i++)
    {
      const FsSteerReportIntervention *item = &g_array_index (report->interventions,
                                                              FsSteerReportIntervention, i);

      g_string_append_printf (out, "| %s | ", item->feature);
      append_cell (out, item->label != NULL ? item->label : "");
      g_string_append_printf (out, " | %s | %g | %s × %.4g | %.4g |\n",
                              fs_steer_op_name (item->op), item->value,
                              fs_unit_kind_name (item->unit), item->unit_factor,
                              item->value * item->unit_factor);
    }

  g_string_append (out, "\n## Results\n\n| | Baseline | Steered |\n|---|---|---|\n");
  append_result_row (out, "Perplexity (unsteered model)", "%.2f", report->baseline.perplexity,
                     report->steered.perplexity);
  append_result_row (out, "KL(steered ‖ unsteered), mean", "%.4f", report->baseline.kl_mean,
                     report->steered.kl_mean);
  if (has_themes (report))
    {
      g_string_append_printf (out, "| Theme | %s | %s |\n",
                              report->theme_classes[best_class (report, &report->baseline)],
                              report->theme_classes[best_class (report, &report->steered)]);
      for (guint c = 0; report->theme_classes[c] != NULL; c++)
        {
          g_autofree char *name = g_strdup_printf ("P(%s)", report->theme_classes[c]);

          append_result_row (out, name, "%.3f", report->baseline.theme_probabilities[c],
                             report->steered.theme_probabilities[c]);
        }
    }
  g_string_append_printf (out, "| Generated tokens | %u | %u |\n", report->baseline.tokens->len,
                          report->steered.tokens->len);
  g_string_append_printf (out, "| Stop reason | %s | %s |\n",
                          fs_stop_reason_name (report->baseline.stop),
                          fs_stop_reason_name (report->steered.stop));
  if (difference < 0)
    g_string_append (out, "\nThe two runs generated the same tokens.\n");
  else
    g_string_append_printf (out, "\nThe steered run departs from the baseline at generated "
                            "token %" G_GINT64_FORMAT ".\n", difference + 1);

  for (guint r = 0; r < G_N_ELEMENTS (runs); r++)
    {
      g_string_append (out, r == 0 ? "\n## Baseline\n\n" : "\n## Steered\n\n");
      append_fenced (out, runs[r]->text != NULL ? runs[r]->text : "");
    }
  return g_string_free (out, FALSE);
}

/* ---------------------------------------------------------------- JSON */

static cJSON *
number_or_null (double value)
{
  return isfinite (value) ? cJSON_CreateNumber (value) : cJSON_CreateNull ();
}

static cJSON *
run_json (const FsSteerReport *report, const FsSteerReportRun *run)
{
  cJSON *item = cJSON_CreateObject ();
  cJSON *tokens = cJSON_AddArrayToObject (item, "tokens");

  cJSON_AddStringToObject (item, "text", run->text != NULL ? run->text : "");
  for (guint i = 0; i < run->tokens->len; i++)
    cJSON_AddItemToArray (tokens, cJSON_CreateNumber (g_array_index (run->tokens, int32_t, i)));
  cJSON_AddNumberToObject (item, "n_tokens", run->tokens->len);
  cJSON_AddStringToObject (item, "stop_reason", fs_stop_reason_name (run->stop));
  cJSON_AddItemToObject (item, "perplexity", number_or_null (run->perplexity));
  cJSON_AddItemToObject (item, "kl_mean", number_or_null (run->kl_mean));
  if (has_themes (report))
    {
      cJSON *theme = cJSON_AddObjectToObject (item, "theme");
      cJSON *probabilities = cJSON_AddObjectToObject (theme, "probabilities");

      cJSON_AddStringToObject (theme, "class", report->theme_classes[best_class (report, run)]);
      for (guint c = 0; report->theme_classes[c] != NULL; c++)
        cJSON_AddItemToObject (probabilities, report->theme_classes[c],
                               number_or_null (run->theme_probabilities[c]));
    }
  return item;
}

char *
fs_steer_report_to_json (const FsSteerReport *report)
{
  g_autoptr(cJSON) root = cJSON_CreateObject ();
  cJSON *sampler, *interventions;
  int64_t difference;
  char *printed;
  char *text;

  g_return_val_if_fail (report != NULL, NULL);

  cJSON_AddStringToObject (root, "format", "flowscope-steering-comparison");
  cJSON_AddNumberToObject (root, "version", 1);
  if (report->model != NULL)
    cJSON_AddStringToObject (root, "model", report->model);
  else
    cJSON_AddNullToObject (root, "model");
  cJSON_AddStringToObject (root, "prompt", report->prompt != NULL ? report->prompt : "");

  sampler = cJSON_AddObjectToObject (root, "sampler");
  cJSON_AddBoolToObject (sampler, "greedy", report->sampler.greedy);
  cJSON_AddNumberToObject (sampler, "temperature", report->sampler.temperature);
  cJSON_AddNumberToObject (sampler, "top_k", (double) report->sampler.top_k);
  cJSON_AddNumberToObject (sampler, "top_p", report->sampler.top_p);
  cJSON_AddNumberToObject (sampler, "seed", (double) report->sampler.seed);
  cJSON_AddNumberToObject (sampler, "max_tokens", (double) report->max_tokens);
  cJSON_AddStringToObject (root, "units", fs_steer_units_name (report->units));

  if (report->graph != NULL)
    {
      cJSON *graph = cJSON_AddObjectToObject (root, "graph");

      cJSON_AddStringToObject (graph, "seed", report->graph);
      cJSON_AddStringToObject (graph, "strategy", fs_strategy_name (report->strategy.strategy));
      if (report->strategy.layer != FS_STRATEGY_LAYER_DEFAULT)
        cJSON_AddNumberToObject (graph, "layer", report->strategy.layer);
      if (report->strategy.strategy == FS_STRATEGY_LINEAR)
        cJSON_AddNumberToObject (graph, "s_end", report->strategy.s_end);
      if (report->strategy.strategy == FS_STRATEGY_EXPONENTIAL)
        cJSON_AddNumberToObject (graph, "alpha", report->strategy.alpha);
    }

  interventions = cJSON_AddArrayToObject (root, "interventions");
  for (guint i = 0; i < report->interventions->len; i++)
    {
      const FsSteerReportIntervention *item = &g_array_index (report->interventions,
                                                              FsSteerReportIntervention, i);
      cJSON *json = cJSON_CreateObject ();

      cJSON_AddStringToObject (json, "feature", item->feature);
      if (item->label != NULL)
        cJSON_AddStringToObject (json, "label", item->label);
      else
        cJSON_AddNullToObject (json, "label");
      cJSON_AddStringToObject (json, "op", fs_steer_op_name (item->op));
      cJSON_AddItemToObject (json, "value", number_or_null (item->value));
      cJSON_AddStringToObject (json, "unit", fs_unit_kind_name (item->unit));
      cJSON_AddItemToObject (json, "unit_factor", number_or_null (item->unit_factor));
      cJSON_AddItemToObject (json, "raw_value", number_or_null (item->value * item->unit_factor));
      cJSON_AddItemToArray (interventions, json);
    }

  difference = first_difference (report);
  cJSON_AddItemToObject (root, "first_difference",
                         difference >= 0 ? cJSON_CreateNumber ((double) difference)
                                         : cJSON_CreateNull ());
  cJSON_AddItemToObject (root, "baseline", run_json (report, &report->baseline));
  cJSON_AddItemToObject (root, "steered", run_json (report, &report->steered));

  printed = cJSON_Print (root);
  text = g_strconcat (printed, "\n", NULL);
  cJSON_free (printed);
  return text;
}

gboolean
fs_steer_report_write (const FsSteerReport *report, FsSteerReportFormat format,
                       const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) io_error = NULL;

  g_return_val_if_fail (report != NULL && path != NULL, FALSE);

  text = format == FS_STEER_REPORT_JSON ? fs_steer_report_to_json (report)
                                        : fs_steer_report_to_markdown (report);
  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, text, -1, &io_error))
    return fs_fail (error, FS_ERROR_IO, path, "%s", io_error->message);
  return TRUE;
}
