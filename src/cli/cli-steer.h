/* cli-steer.h: `flowscope-cli generate --steer ...`: steering requests from
 * the command line turned into an FsSteering, a baseline and a steered
 * generation compared, and the result printed (at the end, not streamed).
 * Options left unset (zero) take their defaults when parsed. */
#pragma once

#include "cli-prompt.h"
#include "generate.h"

typedef struct {
  CliSaeSetArgs sae;     /* --saes PATH..., --choose, --llamascope-threshold */
  char   **specs;        /* --steer L/site/i:op=V, repeatable */
  char    *graph;        /* --steer-graph GRAPH.json:op=V */
  char    *strategy;     /* --strategy single|constant|linear|exponential */
  char    *layer;        /* --steer-layer L (or "embed") */
  char    *alpha;        /* --alpha A (default -0.05) */
  char    *s_end;        /* --s-end S (default 1) */
  char    *tokens;       /* --steer-tokens all|prompt|generated */
  char    *units;        /* --units raw|typical */
  char    *typical_text; /* --typical-text FILE: measure typical activations on it */
  char    *feature_stats;/* --feature-stats FILE: typical activations (mean_act) */
  char    *keywords;     /* --keywords w1,w2,... */
  char    *classifier;   /* --classifier FILE */
} CliSteerOptions;

void     cli_steer_options_clear (CliSteerOptions *options);
/* For the bundled demo: its theme classifier and feature statistics
 * (typical units), unless files were named. */
void     cli_steer_default_to_demo (CliSteerOptions *options);
/* Whether any steering was asked for (--steer or --steer-graph). */
gboolean cli_steer_requested (const CliSteerOptions *options);
/* Checks what can be checked without files: every SPEC's syntax, names of
 * strategies, units and positions, finite numbers. Returns CLI_OK, or
 * CLI_USAGE after printing why. */
int      cli_steer_check (const CliSteerOptions *options);
/* Builds the steering (CLI_FAILED, before generating anything, when a
 * feature has no SAE, is out of range or does not fit the model), then
 * generates baseline and steered text and prints them: one JSON document
 * with `json`, else text for people. */
int      cli_steer_run (CliPrompt *prompt, CliSteerOptions *options,
                        const FsSamplerParams *params, const FsGenerateOptions *generate,
                        gboolean json);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliSteerOptions, cli_steer_options_clear)
