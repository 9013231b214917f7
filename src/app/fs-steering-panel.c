/* fs-steering-panel.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-steering-panel"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "fs-error.h"
#include "fs-export.h"
#include "fs-generation.h"
#include "fs-steering-panel.h"
#include "prompt.h"
#include "steer-report.h"
#include "theme.h"

/* The activation prompt of the paper's steering experiments. */
#define DEFAULT_PROMPT "I think "

struct _FsSteeringPanel
{
  AdwBin            parent_instance;

  FsWorkspace      *workspace;
  char             *prompt;
  FsGeneration     *generation;   /* the latest request, finished or not */
  gboolean          generating;

  /* Template widgets */
  GtkEntry         *prompt_entry;
  GtkSpinButton    *max_tokens_spin;
  GtkSpinButton    *temperature_spin;
  GtkSpinButton    *top_p_spin;
  GtkSpinButton    *seed_spin;
  GtkDropDown      *units_dropdown;
  GtkListBox       *rows_list;
  GtkWidget        *spinner;
  GtkLabel         *status_label;
  GtkWidget        *export_button;
  FsTextComparison *comparison;
};

G_DEFINE_FINAL_TYPE (FsSteeringPanel, fs_steering_panel, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PROMPT,
  PROP_GENERATING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

GtkWidget *
fs_steering_panel_new (void)
{
  return g_object_new (FS_TYPE_STEERING_PANEL, NULL);
}

static void
set_status (FsSteeringPanel *self,
            const char      *status)
{
  gtk_label_set_text (self->status_label, status != NULL ? status : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_label), status);
}

static FsThemeClassifier *
workspace_classifier (FsWorkspace *workspace)
{
  FsSteeringFiles *files = fs_workspace_get_steering_files (workspace);

  return files != NULL ? fs_steering_files_get_classifier (files) : NULL;
}

/* NaN when unknown, as fs_steer_unit takes it. */
static double
workspace_typical (FsWorkspace *workspace,
                   FsSae       *sae,
                   gint64       index)
{
  FsSteeringFiles *files = fs_workspace_get_steering_files (workspace);

  return files != NULL ? fs_steering_files_get_typical (files, sae, index) : NAN;
}

/* ------------------------------------------------------------ generations */

static void
set_generating (FsSteeringPanel *self,
                gboolean         generating)
{
  if (self->generating == generating)
    return;
  self->generating = generating;
  gtk_widget_set_visible (self->spinner, generating);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GENERATING]);
}

gboolean
fs_steering_panel_has_result (FsSteeringPanel *self)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), FALSE);

  return self->generation != NULL && fs_generation_is_complete (self->generation);
}

static void
update_actions (FsSteeringPanel *self)
{
  gboolean has_result = fs_steering_panel_has_result (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "steering.export", has_result);
  gtk_widget_set_sensitive (self->export_button, has_result);
}

/* Cancels the request in flight; its workers finish on their own and
 * their results are dropped. */
static void
cancel_generation (FsSteeringPanel *self)
{
  if (self->generation == NULL)
    return;
  fs_generation_cancel (self->generation);
  g_clear_pointer (&self->generation, fs_generation_unref);
  set_generating (self, FALSE);
  update_actions (self);
}

/* "Perplexity 41.20 · KL 0.113 · scripture 93%" */
static char *
run_summary (FsSteeringPanel        *self,
             const FsSteerReportRun *run)
{
  FsThemeClassifier *classifier = workspace_classifier (self->workspace);
  GString *summary = g_string_new (NULL);

  if (isfinite (run->perplexity))
    g_string_append_printf (summary, _("Perplexity %.2f"), run->perplexity);
  else
    g_string_append (summary, _("No perplexity: nothing was generated"));
  if (isfinite (run->kl_mean))
    {
      g_string_append (summary, " · ");
      /* Translators: the mean per-token KL divergence of the steered model from the unsteered one */
      g_string_append_printf (summary, _("KL %.3f"), run->kl_mean);
    }
  if (classifier != NULL && run->theme_probabilities != NULL)
    {
      guint best = 0;

      for (guint c = 1; c < fs_theme_classifier_get_n_classes (classifier); c++)
        if (run->theme_probabilities[c] > run->theme_probabilities[best])
          best = c;
      g_string_append (summary, " · ");
      /* Translators: a theme class and how probable it is, "scripture 93%" */
      g_string_append_printf (summary, _("%s %.0f%%"), fs_theme_classifier_get_class (classifier, best),
                              100 * run->theme_probabilities[best]);
    }
  return g_string_free (summary, FALSE);
}

static void
generation_token_cb (gboolean steered,
                     int32_t  token,
                     gpointer user_data)
{
  FsSteeringPanel *self = user_data;

  fs_text_comparison_append (self->comparison, steered, token);
}

static void
generation_finished_cb (gboolean                steered,
                        const FsSteerReportRun *run,
                        gpointer                user_data)
{
  FsSteeringPanel *self = user_data;
  g_autofree char *summary = run_summary (self, run);

  fs_text_comparison_finish (self->comparison, steered, summary);
  if (fs_generation_is_complete (self->generation))
    {
      set_generating (self, FALSE);
      set_status (self, NULL);
      update_actions (self);
    }
}

static void
generation_failed_cb (const GError *error,
                      gpointer      user_data)
{
  FsSteeringPanel *self = user_data;

  fs_text_comparison_set_message (self->comparison, error->message);
  cancel_generation (self);
}

static const FsGenerationCallbacks generation_callbacks = {
  generation_token_cb, generation_finished_cb, generation_failed_cb,
};

/* ------------------------------------------------------------ building */

static FsSteerUnits
get_units (FsSteeringPanel *self)
{
  return gtk_drop_down_get_selected (self->units_dropdown) == 1 ? FS_STEER_UNITS_TYPICAL
                                                                : FS_STEER_UNITS_RAW;
}

static const char *
unit_name (FsUnitKind kind)
{
  switch (kind)
    {
    case FS_UNIT_THRESHOLD:
      return _("thresholds");
    case FS_UNIT_MEASURED:
      return _("typical activations");
    case FS_UNIT_UNIT_NORM:
      return _("decoder lengths");
    case FS_UNIT_RAW:
    case FS_UNIT_RATIO:
    default:
      return _("raw activation units");
    }
}

/* Tells @row what its value counts, for the line under its slider. */
static void
update_row_unit (FsSteeringPanel *self,
                 FsSteeringRow   *row)
{
  FsSaeSet *set = self->workspace != NULL ? fs_workspace_get_set (self->workspace) : NULL;
  FsSteerUnits units = get_units (self);
  FsUnitKind kind = FS_UNIT_RAW;
  double factor = 1;
  FsSae *sae = NULL;
  FsSite site;
  gint64 index;
  int layer;

  fs_steering_row_get_feature (row, &layer, &site, &index);
  if (fs_steering_row_get_graph (row) != NULL)
    {
      fs_steering_row_set_unit (row, units == FS_STEER_UNITS_TYPICAL ? _("typical activations of each feature")
                                                                     : _("raw activation units"),
                                NAN);
      return;
    }

  if (set != NULL)
    sae = fs_sae_set_lookup (set, layer, site);
  if (sae != NULL && index < fs_sae_get_d_sae (sae))
    factor = fs_steer_unit (sae, index, fs_steering_row_get_op (row), units,
                            workspace_typical (self->workspace, sae, index), &kind);
  fs_steering_row_set_unit (row, unit_name (kind), kind == FS_UNIT_RAW ? NAN : factor);
}

static gboolean
add_intervention (FsSteeringPanel *self,
                  FsSteering      *steering,
                  FsSteerReport   *report,
                  int              layer,
                  FsSite           site,
                  gint64           index,
                  FsSteerOp        op,
                  double           value,
                  GError         **error)
{
  FsSae *sae = fs_sae_set_lookup (fs_workspace_get_set (self->workspace), layer, site);
  g_autofree char *id = fs_feature_id (layer, site, index);
  FsUnitKind kind;
  double factor;

  if (!fs_workspace_check_feature (self->workspace, layer, site, index, error)
      || !fs_steering_add_in_units (steering, sae, index, op, value, get_units (self),
                                    workspace_typical (self->workspace, sae, index), &kind, &factor,
                                    error))
    return FALSE;
  fs_steer_report_add_intervention (report, id, fs_workspace_get_label (self->workspace, layer, site, index),
                                    op, value, kind, factor);
  return TRUE;
}

/* The rows as interventions, in raw units, described in @report. */
static FsSteering *
build_steering (FsSteeringPanel *self,
                FsSteerReport   *report,
                GError         **error)
{
  g_autoptr(FsSteering) steering = fs_steering_new ();
  guint n = fs_steering_panel_get_n_rows (self);

  for (guint i = 0; i < n; i++)
    {
      FsSteeringRow *row = fs_steering_panel_get_row (self, i);
      FsFlowGraph *graph = fs_steering_row_get_graph (row);
      FsSteerOp op = fs_steering_row_get_op (row);
      double value = fs_steering_row_get_value (row);
      g_autoptr(GArray) features = NULL;
      g_autoptr(GArray) targets = NULL;
      FsStrategyParams params;
      int seed_layer;
      FsSite site;
      gint64 index;
      int layer;

      fs_steering_row_get_feature (row, &layer, &site, &index);
      if (graph == NULL)
        {
          if (!add_intervention (self, steering, report, layer, site, index, op, value, error))
            return NULL;
          continue;
        }

      fs_steering_row_get_strategy (row, &params);
      features = fs_strategy_graph_features (graph, &seed_layer);
      targets = fs_strategy_select (&params, (const FsSteerTarget *) features->data, features->len,
                                    seed_layer, value, error);
      if (targets == NULL)
        return NULL;
      g_free (report->graph);
      report->graph = fs_feature_id (layer, site, index);
      report->strategy = params;
      for (guint t = 0; t < targets->len; t++)
        {
          const FsSteerTarget *target = &g_array_index (targets, FsSteerTarget, t);

          if (!add_intervention (self, steering, report, target->layer, target->site, target->index,
                                 op, target->coefficient, error))
            return NULL;
        }
    }

  return g_steal_pointer (&steering);
}

/* The request the panel's settings describe, for the report. */
static FsSteerReport *
report_new (FsSteeringPanel       *self,
            const FsSamplerParams *params,
            int64_t                max_tokens)
{
  FsSteerReport *report = fs_steer_report_new ();
  FsThemeClassifier *classifier = workspace_classifier (self->workspace);

  report->model = g_strdup (fs_workspace_get_model_path (self->workspace));
  report->prompt = g_strdup (self->prompt);
  report->sampler = *params;
  report->max_tokens = max_tokens;
  report->units = get_units (self);
  if (classifier != NULL)
    {
      g_autoptr(GStrvBuilder) classes = g_strv_builder_new ();

      for (guint c = 0; c < fs_theme_classifier_get_n_classes (classifier); c++)
        g_strv_builder_add (classes, fs_theme_classifier_get_class (classifier, c));
      report->theme_classes = g_strv_builder_end (classes);
    }
  return report;
}

void
fs_steering_panel_generate (FsSteeringPanel *self)
{
  g_autoptr(FsSteerReport) report = NULL;
  g_autoptr(FsSteering) steering = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree int32_t *prompt = NULL;
  FsSamplerParams params;
  FsGenerateOptions options;
  FsTokenizer *tokenizer;
  gsize n_prompt = 0;

  g_return_if_fail (FS_IS_STEERING_PANEL (self));

  cancel_generation (self);

  if (self->workspace == NULL || fs_workspace_get_model (self->workspace) == NULL
      || fs_workspace_get_set (self->workspace) == NULL)
    {
      set_status (self, _("Open a model and its SAEs to generate text"));
      return;
    }
  tokenizer = fs_workspace_get_tokenizer (self->workspace);
  if (tokenizer == NULL)
    {
      set_status (self, _("The model folder has no tokenizer"));
      return;
    }
  if (fs_steering_panel_get_n_rows (self) == 0)
    {
      set_status (self, _("Add a feature to steer first"));
      return;
    }

  params = (FsSamplerParams) {
    .temperature = gtk_spin_button_get_value (self->temperature_spin),
    .top_p = gtk_spin_button_get_value (self->top_p_spin),
    .seed = gtk_spin_button_get_value_as_int (self->seed_spin),
  };
  params.greedy = params.temperature <= 0;
  options = (FsGenerateOptions) { .max_tokens = gtk_spin_button_get_value_as_int (self->max_tokens_spin) };
  report = report_new (self, &params, options.max_tokens);
  steering = build_steering (self, report, &error);
  if (steering != NULL)
    prompt = fs_prompt_encode (fs_workspace_get_model (self->workspace), tokenizer, self->prompt,
                               FS_PROMPT_BOS_AUTO, &n_prompt, &error);
  if (prompt == NULL)
    {
      set_status (self, error->message);
      return;
    }

  set_status (self, _("Generating…"));
  fs_text_comparison_reset (self->comparison, self->prompt, tokenizer);
  self->generation = fs_generation_start (self->workspace, g_steal_pointer (&steering),
                                          g_steal_pointer (&prompt), n_prompt, &params, &options,
                                          workspace_classifier (self->workspace),
                                          g_steal_pointer (&report), &generation_callbacks, self);
  set_generating (self, TRUE);
  update_actions (self);
}

gboolean
fs_steering_panel_get_generating (FsSteeringPanel *self)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), FALSE);

  return self->generating;
}

FsTextComparison *
fs_steering_panel_get_comparison (FsSteeringPanel *self)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), NULL);

  return self->comparison;
}

/* ------------------------------------------------------------ rows */

guint
fs_steering_panel_get_n_rows (FsSteeringPanel *self)
{
  guint n = 0;

  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), 0);

  while (gtk_list_box_get_row_at_index (self->rows_list, n) != NULL)
    n++;
  return n;
}

FsSteeringRow *
fs_steering_panel_get_row (FsSteeringPanel *self,
                           guint            index)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), NULL);

  return FS_STEERING_ROW (gtk_list_box_get_row_at_index (self->rows_list, index));
}

static gboolean
can_generate (FsSteeringPanel *self)
{
  return self->workspace != NULL && fs_workspace_get_model (self->workspace) != NULL
         && fs_steering_panel_get_n_rows (self) > 0;
}

static void
row_committed_cb (FsSteeringPanel *self,
                  FsSteeringRow   *row)
{
  update_row_unit (self, row);
  if (can_generate (self))
    fs_steering_panel_generate (self);
}

static void
row_remove_cb (FsSteeringPanel *self,
               FsSteeringRow   *row)
{
  gtk_list_box_remove (self->rows_list, GTK_WIDGET (row));
  if (can_generate (self))
    fs_steering_panel_generate (self);
  else
    cancel_generation (self);
}

static void
append_row (FsSteeringPanel *self,
            FsSteeringRow   *row)
{
  g_signal_connect_object (row, "committed", G_CALLBACK (row_committed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "remove", G_CALLBACK (row_remove_cb), self, G_CONNECT_SWAPPED);
  gtk_list_box_append (self->rows_list, GTK_WIDGET (row));
  update_row_unit (self, row);
}

FsSteeringRow *
fs_steering_panel_add_feature (FsSteeringPanel *self,
                               int              layer,
                               FsSite           site,
                               gint64           index)
{
  const char *label = NULL;
  GtkWidget *row;

  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), NULL);

  for (guint i = 0; i < fs_steering_panel_get_n_rows (self); i++)
    {
      FsSteeringRow *existing = fs_steering_panel_get_row (self, i);
      int other_layer;
      FsSite other_site;
      gint64 other_index;

      fs_steering_row_get_feature (existing, &other_layer, &other_site, &other_index);
      if (fs_steering_row_get_graph (existing) == NULL && other_layer == layer
          && other_site == site && other_index == index)
        return existing;
    }

  if (self->workspace != NULL)
    label = fs_workspace_get_label (self->workspace, layer, site, index);
  row = fs_steering_row_new_feature (layer, site, index, label);
  append_row (self, FS_STEERING_ROW (row));
  return FS_STEERING_ROW (row);
}

FsSteeringRow *
fs_steering_panel_add_graph (FsSteeringPanel *self,
                             FsFlowGraph     *graph)
{
  const FsFlowNode *seed;
  const char *label;
  GtkWidget *row;

  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), NULL);
  g_return_val_if_fail (graph != NULL && fs_flow_graph_get_n_nodes (graph) > 0, NULL);

  /* One graph at a time: the strategy spreads one strength over it. */
  for (guint i = 0; i < fs_steering_panel_get_n_rows (self); i++)
    {
      FsSteeringRow *existing = fs_steering_panel_get_row (self, i);

      if (fs_steering_row_get_graph (existing) != NULL)
        {
          gtk_list_box_remove (self->rows_list, GTK_WIDGET (existing));
          break;
        }
    }

  seed = fs_flow_graph_get_node (graph, fs_flow_graph_get_seed (graph));
  label = seed->label;
  if (label == NULL && self->workspace != NULL)
    label = fs_workspace_get_label (self->workspace, seed->layer, seed->site, seed->index);
  row = fs_steering_row_new_graph (graph, label);
  append_row (self, FS_STEERING_ROW (row));
  return FS_STEERING_ROW (row);
}

static void
update_all_units (FsSteeringPanel *self)
{
  for (guint i = 0; i < fs_steering_panel_get_n_rows (self); i++)
    update_row_unit (self, fs_steering_panel_get_row (self, i));
}

static void
units_changed_cb (FsSteeringPanel *self)
{
  update_all_units (self);
  if (can_generate (self))
    fs_steering_panel_generate (self);
}

void
fs_steering_panel_set_workspace (FsSteeringPanel *self,
                                 FsWorkspace     *workspace)
{
  FsSteerUnits units = FS_STEER_UNITS_RAW;
  FsSaeSet *set;
  gboolean same_set;
  guint i = 0;

  g_return_if_fail (FS_IS_STEERING_PANEL (self));

  if (self->workspace == workspace)
    return;
  cancel_generation (self);
  set = workspace != NULL ? fs_workspace_get_set (workspace) : NULL;
  same_set = self->workspace != NULL && fs_workspace_get_set (self->workspace) == set;
  g_clear_pointer (&self->workspace, fs_workspace_unref);
  if (workspace != NULL)
    self->workspace = fs_workspace_ref (workspace);

  /* Features the new SAEs lack cannot be steered. */
  while (i < fs_steering_panel_get_n_rows (self))
    {
      FsSteeringRow *row = fs_steering_panel_get_row (self, i);
      FsSite site;
      gint64 index;
      int layer;

      fs_steering_row_get_feature (row, &layer, &site, &index);
      if (workspace == NULL || !fs_workspace_check_feature (workspace, layer, site, index, NULL))
        gtk_list_box_remove (self->rows_list, GTK_WIDGET (row));
      else
        i++;
    }

  /* New SAEs start in typical units where they say what typical is:
   * thresholds or measured activations. The same SAEs (new labels, say)
   * keep the user's choice. */
  if (set != NULL && !same_set)
    {
      if (fs_steering_files_has_typical (fs_workspace_get_steering_files (workspace)))
        units = FS_STEER_UNITS_TYPICAL;
      for (guint s = 0; s < fs_sae_set_get_n_saes (set); s++)
        if (fs_sae_get_threshold (fs_sae_set_get_nth (set, s)) != NULL)
          units = FS_STEER_UNITS_TYPICAL;
      g_signal_handlers_block_by_func (self->units_dropdown, units_changed_cb, self);
      gtk_drop_down_set_selected (self->units_dropdown, units == FS_STEER_UNITS_TYPICAL ? 1 : 0);
      g_signal_handlers_unblock_by_func (self->units_dropdown, units_changed_cb, self);
    }
  update_all_units (self);
  set_status (self, NULL);
}

/* ------------------------------------------------------------ prompt */

const char *
fs_steering_panel_get_prompt (FsSteeringPanel *self)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), NULL);

  return self->prompt;
}

void
fs_steering_panel_set_prompt (FsSteeringPanel *self,
                              const char      *prompt)
{
  g_return_if_fail (FS_IS_STEERING_PANEL (self));

  if (prompt == NULL)
    prompt = "";
  if (g_strcmp0 (self->prompt, prompt) == 0)
    return;
  g_free (self->prompt);
  self->prompt = g_strdup (prompt);
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)), prompt) != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), prompt);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROMPT]);
}

static void
prompt_changed_cb (FsSteeringPanel *self)
{
  fs_steering_panel_set_prompt (self, gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)));
}

static void
prompt_activate_cb (FsSteeringPanel *self)
{
  fs_steering_panel_generate (self);
}

/* ------------------------------------------------------------ export */

static const FsExportFormat export_formats[] = {
  { "markdown", "md", NULL, N_("Markdown") },
  { "json", "json", NULL, N_("JSON") },
};

typedef struct {
  FsGeneration        *generation;
  FsSteerReportFormat  format;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_pointer (&data->generation, fs_generation_unref);
  g_free (data);
}

static gboolean
export_write (gpointer     user_data,
              const char  *path,
              GError     **error)
{
  ExportData *data = user_data;

  return fs_steer_report_write (fs_generation_get_report (data->generation), data->format, path, error);
}

void
fs_steering_panel_export_async (FsSteeringPanel     *self,
                                const char          *format,
                                GFile               *file,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportData *data;

  g_return_if_fail (FS_IS_STEERING_PANEL (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, fs_steering_panel_export_async);

  if (!fs_steering_panel_has_result (self))
    {
      g_task_return_new_error (task, FS_ERROR, FS_ERROR_NOT_FOUND, _("There is no comparison to export"));
      return;
    }
  if (fs_export_format_find (export_formats, G_N_ELEMENTS (export_formats), format) == NULL)
    {
      g_task_return_new_error (task, FS_ERROR, FS_ERROR_UNSUPPORTED, _("Cannot export as “%s”"), format);
      return;
    }

  data = g_new0 (ExportData, 1);
  data->generation = fs_generation_ref (self->generation);
  data->format = g_str_equal (format, "json") ? FS_STEER_REPORT_JSON : FS_STEER_REPORT_MARKDOWN;
  fs_export_write_in_background (task, file, export_write, data, (GDestroyNotify) export_data_free,
                                 _("Comparisons can only be exported to local files"));
}

gboolean
fs_steering_panel_export_finish (FsSteeringPanel  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (FS_IS_STEERING_PANEL (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
export_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  FsSteeringPanel *self = FS_STEERING_PANEL (object);
  g_autoptr(GFile) file = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  fs_steering_panel_export_finish (self, result, &error);
  status = fs_export_dup_message (file, error);
  set_status (self, status);
}

static void
export_file_chosen_cb (GtkWidget *owner,
                       GFile     *file,
                       gpointer   data)
{
  const FsExportFormat *format = data;

  fs_steering_panel_export_async (FS_STEERING_PANEL (owner), format->format, file, NULL,
                                  export_done_cb, g_object_ref (file));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  const FsExportFormat *format;

  format = fs_export_format_find (export_formats, G_N_ELEMENTS (export_formats),
                                  g_variant_get_string (parameter, NULL));
  if (!fs_steering_panel_has_result (FS_STEERING_PANEL (widget)) || format == NULL)
    return;

  fs_export_dialog_show (widget, _("Export Steering Comparison"), format, "steering", export_file_chosen_cb);
}

static void
generate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  fs_steering_panel_generate (FS_STEERING_PANEL (widget));
}

/* ------------------------------------------------------------ GObject */

static void
fs_steering_panel_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  FsSteeringPanel *self = FS_STEERING_PANEL (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      g_value_set_string (value, self->prompt);
      break;
    case PROP_GENERATING:
      g_value_set_boolean (value, self->generating);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_steering_panel_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  FsSteeringPanel *self = FS_STEERING_PANEL (object);

  switch (prop_id)
    {
    case PROP_PROMPT:
      fs_steering_panel_set_prompt (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fs_steering_panel_dispose (GObject *object)
{
  FsSteeringPanel *self = FS_STEERING_PANEL (object);

  cancel_generation (self);
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_STEERING_PANEL);

  G_OBJECT_CLASS (fs_steering_panel_parent_class)->dispose (object);
}

static void
fs_steering_panel_finalize (GObject *object)
{
  FsSteeringPanel *self = FS_STEERING_PANEL (object);

  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_free (self->prompt);

  G_OBJECT_CLASS (fs_steering_panel_parent_class)->finalize (object);
}

static void
fs_steering_panel_class_init (FsSteeringPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_steering_panel_dispose;
  object_class->finalize = fs_steering_panel_finalize;
  object_class->get_property = fs_steering_panel_get_property;
  object_class->set_property = fs_steering_panel_set_property;

  properties[PROP_PROMPT] =
    g_param_spec_string ("prompt", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_GENERATING] =
    g_param_spec_boolean ("generating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (FS_TYPE_TEXT_COMPARISON);

  gtk_widget_class_install_action (widget_class, "steering.generate", NULL, generate_action);
  gtk_widget_class_install_action (widget_class, "steering.export", "s", export_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "steering.generate", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "steering.generate", NULL);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-steering-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, prompt_entry);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, max_tokens_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, temperature_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, top_p_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, units_dropdown);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, rows_list);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, spinner);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, status_label);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, export_button);
  gtk_widget_class_bind_template_child (widget_class, FsSteeringPanel, comparison);
  gtk_widget_class_bind_template_callback (widget_class, prompt_activate_cb);
}

static void
fs_steering_panel_init (FsSteeringPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->prompt_entry, "changed", G_CALLBACK (prompt_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->units_dropdown, "notify::selected", G_CALLBACK (units_changed_cb), self, G_CONNECT_SWAPPED);
  fs_steering_panel_set_prompt (self, DEFAULT_PROMPT);
  update_actions (self);
}
