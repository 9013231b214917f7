/* steer-report.h: a baseline and a steered generation, written down as
 * Markdown for people or JSON for scripts.
 *
 * A report is plain data that the caller fills in: the settings, the
 * interventions in the units the user gave, and the two runs with their
 * measurable proxies (METHOD.md section 4, "Scores"). What follows from
 * that data is computed here: each intervention's raw value (value times
 * its unit factor), where the two runs' tokens part
 * (fs_steer_first_difference) and each run's token count.
 *
 * JSON ("format": "flowscope-steering-comparison", "version": 1) uses the
 * names of `flowscope-cli generate --steer --json` where they overlap
 * (perplexity, kl_mean, stop_reason, unit_factor, raw_value); numbers that
 * are not finite are null.
 */
#pragma once

#include "generate.h"
#include "steer-strategy.h"

G_BEGIN_DECLS

typedef enum {
  FS_STEER_REPORT_MARKDOWN,
  FS_STEER_REPORT_JSON,
} FsSteerReportFormat;

typedef struct {
  char       *feature;      /* "3/res/42" */
  char       *label;        /* or NULL */
  FsSteerOp   op;
  double      value;        /* as the user gave it */
  FsUnitKind  unit;
  double      unit_factor;  /* raw value = value * unit_factor */
} FsSteerReportIntervention;

typedef struct {
  char        *text;         /* the generated text, without the prompt */
  GArray      *tokens;       /* int32_t, the generated ids */
  FsStopReason stop;
  double       perplexity;   /* NaN when unknown */
  double       kl_mean;      /* NaN when unknown */
  /* One probability per class of the report's theme_classes; NULL without
   * a classifier. */
  double      *theme_probabilities;
} FsSteerReportRun;

typedef struct {
  char            *model;          /* the model folder */
  char            *prompt;         /* as typed */
  FsSamplerParams  sampler;
  int64_t          max_tokens;
  FsSteerUnits     units;
  /* The graph steered as a whole (its seed's id) and how, or NULL. */
  char            *graph;
  FsStrategyParams strategy;
  GArray          *interventions;  /* FsSteerReportIntervention */
  char           **theme_classes;  /* NULL without a classifier */
  FsSteerReportRun baseline;
  FsSteerReportRun steered;
} FsSteerReport;

/* An empty report: no interventions, runs without tokens. */
FsSteerReport *fs_steer_report_new (void);
void           fs_steer_report_free (FsSteerReport *report);
/* Appends an intervention (copying the strings). */
void           fs_steer_report_add_intervention (FsSteerReport *report, const char *feature,
                                                 const char *label, FsSteerOp op,
                                                 double value, FsUnitKind unit,
                                                 double unit_factor);

char          *fs_steer_report_to_markdown (const FsSteerReport *report);
char          *fs_steer_report_to_json (const FsSteerReport *report);
/* Writes the report to `path`, through a temporary file renamed into
 * place, so that a failure leaves what was there. */
gboolean       fs_steer_report_write (const FsSteerReport *report, FsSteerReportFormat format,
                                      const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSteerReport, fs_steer_report_free)

G_END_DECLS
