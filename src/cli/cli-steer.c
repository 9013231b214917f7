/* cli-steer.c: generate --steer / --steer-graph (cli-steer.h).
 *
 * Exit codes: a request that cannot be parsed (a SPEC without ':' or '=', a
 * bad feature id, an unknown op, strategy, unit or position set, a value
 * that is not a finite number) is a usage error, 2. A request that parses
 * but does not fit the files (no SAE at the feature's position, an index
 * beyond the SAE, an SAE that does not fit the model, an unreadable graph
 * or classifier) fails with 1. Both are reported before anything is
 * generated. */
#include "cli-steer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "fs-error.h"
#include "json-util.h"
#include "steer-compare.h"
#include "steer-strategy.h"
#include "steer-typical.h"
#include "theme.h"

void
cli_steer_options_clear (CliSteerOptions *options)
{
  cli_sae_set_args_clear (&options->sae);
  g_clear_pointer (&options->specs, g_strfreev);
  g_clear_pointer (&options->graph, g_free);
  g_clear_pointer (&options->strategy, g_free);
  g_clear_pointer (&options->layer, g_free);
  g_clear_pointer (&options->alpha, g_free);
  g_clear_pointer (&options->s_end, g_free);
  g_clear_pointer (&options->tokens, g_free);
  g_clear_pointer (&options->units, g_free);
  g_clear_pointer (&options->keywords, g_free);
  g_clear_pointer (&options->classifier, g_free);
  g_clear_pointer (&options->typical_text, g_free);
  g_clear_pointer (&options->feature_stats, g_free);
}

void
cli_steer_default_to_demo (CliSteerOptions *options)
{
  if (options->classifier == NULL)
    options->classifier = fs_demo_path ("theme-classifier.json");
  if (g_strcmp0 (options->units, "typical") == 0 && options->feature_stats == NULL
      && options->typical_text == NULL)
    options->feature_stats = fs_demo_path ("feature-stats.json");
}

gboolean
cli_steer_requested (const CliSteerOptions *options)
{
  return (options->specs != NULL && options->specs[0] != NULL) || options->graph != NULL;
}

/* ---------------------------------------------------------------- parsing */

static gboolean
parse_number (const char *text, double *out)
{
  char *end = NULL;
  if (text == NULL || *text == '\0' || g_ascii_isspace (*text))
    return FALSE;
  *out = g_ascii_strtod (text, &end);
  return *end == '\0' && isfinite (*out);
}

/* "GRAPH.json:op=V": the file, and what to do to its features. */
static gboolean
parse_graph_spec (const char *text, char **path, FsSteerOp *op, double *value)
{
  const char *colon = strrchr (text, ':');
  const char *equals = colon != NULL ? strchr (colon, '=') : NULL;
  if (colon == NULL || colon == text || equals == NULL)
    return FALSE;
  g_autofree char *op_name = g_strndup (colon + 1, (gsize) (equals - colon - 1));
  if (!fs_steer_op_from_name (op_name, op) || !parse_number (equals + 1, value))
    return FALSE;
  *path = g_strndup (text, (gsize) (colon - text));
  return TRUE;
}

static gboolean
parse_layer (const char *text, int *layer)
{
  guint64 value;
  if (g_strcmp0 (text, "embed") == 0)
    {
      *layer = FS_LAYER_EMBED;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (text, 10, 0, 100000, &value, NULL))
    return FALSE;
  *layer = (int) value;
  return TRUE;
}

/* The parsed request, with defaults filled in. */
typedef struct {
  FsSteerTokens    tokens;
  FsSteerUnits     units;
  FsStrategyParams strategy;
  char            *graph_path;
  FsSteerOp        graph_op;
  double           graph_value;
} Request;

static void
request_clear (Request *request)
{
  g_clear_pointer (&request->graph_path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Request, request_clear)

static int
usage (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
usage (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("flowscope-cli: %s\n", message);
  return CLI_USAGE;
}

static int
parse_request (const CliSteerOptions *o, Request *r)
{
  fs_strategy_params_init (&r->strategy);
  r->tokens = FS_STEER_TOKENS_ALL;
  r->units = FS_STEER_UNITS_RAW;

  for (char **spec = o->specs; spec != NULL && *spec != NULL; spec++)
    {
      FsSteerSpec parsed;
      g_autoptr(GError) error = NULL;
      if (!fs_steer_spec_parse (*spec, &parsed, &error))
        return usage ("--steer: %s", error->message);
    }
  if (o->graph != NULL
      && !parse_graph_spec (o->graph, &r->graph_path, &r->graph_op, &r->graph_value))
    return usage ("--steer-graph takes GRAPH.json:OP=VALUE with OP scale, add or clamp and a "
                  "finite VALUE, not “%s”", o->graph);
  if (o->graph == NULL && (o->strategy || o->layer || o->alpha || o->s_end))
    return usage ("--strategy, --steer-layer, --alpha and --s-end apply to --steer-graph");
  if (o->strategy != NULL && !fs_strategy_from_name (o->strategy, &r->strategy.strategy))
    return usage ("--strategy is single, constant, linear or exponential, not “%s”",
                  o->strategy);
  if (o->layer != NULL && !parse_layer (o->layer, &r->strategy.layer))
    return usage ("--steer-layer takes a layer number or “embed”, not “%s”", o->layer);
  if (o->alpha != NULL && !parse_number (o->alpha, &r->strategy.alpha))
    return usage ("--alpha takes a finite number, not “%s”", o->alpha);
  if (o->s_end != NULL && !parse_number (o->s_end, &r->strategy.s_end))
    return usage ("--s-end takes a finite number, not “%s”", o->s_end);
  if (o->tokens != NULL && !fs_steer_tokens_from_name (o->tokens, &r->tokens))
    return usage ("--steer-tokens is all, prompt or generated, not “%s”", o->tokens);
  if (o->units != NULL && !fs_steer_units_from_name (o->units, &r->units))
    return usage ("--units is raw or typical, not “%s”", o->units);
  if ((o->typical_text != NULL || o->feature_stats != NULL)
      && r->units != FS_STEER_UNITS_TYPICAL)
    return usage ("--typical-text and --feature-stats apply to --units typical");
  if (o->sae.paths == NULL || o->sae.paths[0] == NULL)
    return usage ("--steer and --steer-graph need --saes");
  return CLI_OK;
}

int
cli_steer_check (const CliSteerOptions *options)
{
  g_auto(Request) request = { 0 };
  return parse_request (options, &request);
}

/* ---------------------------------------------------------------- building */

/* One intervention asked for, in the user's units, before it is added. */
typedef struct {
  int         layer;
  FsSite      site;
  int64_t     index;
  FsSteerOp   op;
  double      value;
  const char *source;   /* "steer" or "graph" */
  FsSae      *sae;      /* the set's */
  double      typical;  /* measured typical activation, NaN when none */
  int         item;     /* its slot in measure_typical's list, or -1 */
} Pending;

static gboolean
add_pending (GArray *pending, FsSaeSet *set, int layer, FsSite site, int64_t index,
             FsSteerOp op, double value, const char *source, GError **error)
{
  g_autofree char *id = fs_feature_id (layer, site, index);
  g_autofree char *position = fs_position_id (layer, site);
  Pending p = { layer, site, index, op, value, source, fs_sae_set_lookup (set, layer, site),
                NAN, -1 };

  if (p.sae == NULL)
    return fs_fail (error, FS_ERROR_NOT_FOUND, id, "no SAE at %s among --saes", position);
  if (index >= fs_sae_get_d_sae (p.sae))
    return fs_fail (error, FS_ERROR_INVALID, id,
                    "index out of range: the SAE at %s (%s) has %" G_GINT64_FORMAT " features",
                    position, fs_sae_get_path (p.sae), fs_sae_get_d_sae (p.sae));
  g_array_append_val (pending, p);
  return TRUE;
}

/* The graph's features as the strategy picks them; describes the choice. */
static gboolean
add_graph (GArray *pending, FsSaeSet *set, const Request *r, cJSON *strategy, GError **error)
{
  int seed_layer;
  g_autoptr(GArray) features = fs_strategy_graph_features_load (r->graph_path, &seed_layer,
                                                                error);
  if (features == NULL)
    return FALSE;
  g_autoptr(GArray) targets = fs_strategy_select (&r->strategy,
                                                  (const FsSteerTarget *) features->data,
                                                  features->len, seed_layer, r->graph_value,
                                                  error);
  if (targets == NULL)
    return FALSE;

  const FsSteerTarget *first = &g_array_index (features, FsSteerTarget, 0);
  const FsSteerTarget *last = &g_array_index (features, FsSteerTarget, features->len - 1);
  cJSON_AddStringToObject (strategy, "graph", r->graph_path);
  cJSON_AddStringToObject (strategy, "name", fs_strategy_name (r->strategy.strategy));
  cJSON_AddStringToObject (strategy, "op", fs_steer_op_name (r->graph_op));
  cJSON_AddNumberToObject (strategy, "value", r->graph_value);
  cJSON_AddItemToObject (strategy, "span", cJSON_CreateIntArray ((const int[]) {
                           first->layer, last->layer }, 2));
  if (r->strategy.layer != FS_STRATEGY_LAYER_DEFAULT)
    cJSON_AddNumberToObject (strategy, "layer", r->strategy.layer);
  if (r->strategy.strategy == FS_STRATEGY_LINEAR)
    cJSON_AddNumberToObject (strategy, "s_end", r->strategy.s_end);
  if (r->strategy.strategy == FS_STRATEGY_EXPONENTIAL)
    cJSON_AddNumberToObject (strategy, "alpha", r->strategy.alpha);

  for (guint i = 0; i < targets->len; i++)
    {
      const FsSteerTarget *t = &g_array_index (targets, FsSteerTarget, i);
      if (!add_pending (pending, set, t->layer, t->site, t->index, r->graph_op,
                        t->coefficient, "graph", error))
        return FALSE;
    }
  return TRUE;
}

/* Typical activations for the features whose unit needs one (typical
 * units, an add or clamp, an SAE without threshold): from --feature-stats,
 * else measured on --typical-text (cached); the others fall back to the
 * unit-norm factor. */
static gboolean
measure_typical (GArray *pending, CliPrompt *prompt, const CliSteerOptions *o,
                 GError **error)
{
  g_autoptr(GArray) items = g_array_new (FALSE, FALSE, sizeof (FsTypicalActivation));

  for (guint i = 0; i < pending->len; i++)
    {
      Pending *p = &g_array_index (pending, Pending, i);
      if (!fs_steer_unit_needs_measured (p->sae, p->index, p->op))
        continue;
      FsTypicalActivation item = { p->sae, p->index, NAN, 0 };
      p->item = (int) items->len;
      g_array_append_val (items, item);
    }
  if (items->len == 0)
    return TRUE;
  FsTypicalActivation *all = (FsTypicalActivation *) items->data;
  if (o->feature_stats != NULL
      && !fs_typical_from_feature_stats (o->feature_stats, all, items->len, error))
    return FALSE;
  if (o->typical_text != NULL)
    {
      g_autofree char *text = NULL;
      gsize n = 0;
      g_autoptr(GError) io_error = NULL;
      if (prompt->tokenizer == NULL)
        return fs_fail (error, FS_ERROR_NOT_FOUND, o->typical_text,
                        "measuring typical activations needs the model's tokenizer");
      if (!g_file_get_contents (o->typical_text, &text, NULL, &io_error))
        return fs_fail (error, FS_ERROR_IO, o->typical_text, "%s", io_error->message);
      g_autofree int32_t *tokens = fs_tokenizer_encode (prompt->tokenizer, text, -1, &n);
      g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "flowscope",
                                                 "typical-activations.json", NULL);
      if (!fs_typical_measure_cached (cache, prompt->model, NULL, all, items->len, tokens,
                                      (int64_t) n, NULL, error))
        return FALSE;
    }
  for (guint i = 0; i < pending->len; i++)
    {
      Pending *p = &g_array_index (pending, Pending, i);
      if (p->item >= 0)
        p->typical = all[p->item].mean;
    }
  return TRUE;
}

/* Adds one pending intervention, converted to raw units; describes it in
 * `list`. */
static gboolean
add_intervention (FsSteering *steering, const Request *r, const Pending *p, cJSON *list,
                  GError **error)
{
  g_autofree char *id = fs_feature_id (p->layer, p->site, p->index);
  FsUnitKind kind;
  double factor;
  int layer;
  FsHookPoint point;

  if (!fs_steering_add_in_units (steering, p->sae, p->index, p->op, p->value, r->units,
                                 p->typical, &kind, &factor, error)
      || !fs_steer_site_hook (p->sae, &layer, &point, error))
    return FALSE;
  double raw = p->value * factor;

  g_autofree char *hook = g_strdup_printf ("blocks.%d.%s", layer, fs_hook_point_name (point));
  cJSON *item = cJSON_CreateObject ();
  cJSON_AddStringToObject (item, "feature", id);
  cJSON_AddStringToObject (item, "op", fs_steer_op_name (p->op));
  cJSON_AddNumberToObject (item, "value", p->value);
  cJSON_AddStringToObject (item, "unit", fs_unit_kind_name (kind));
  cJSON_AddNumberToObject (item, "unit_factor", factor);
  cJSON_AddNumberToObject (item, "raw_value", raw);
  cJSON_AddStringToObject (item, "hook", hook);
  cJSON_AddStringToObject (item, "sae", fs_sae_get_path (p->sae));
  cJSON_AddStringToObject (item, "source", p->source);
  cJSON_AddItemToArray (list, item);
  return TRUE;
}

/* Every check that needs the files, before anything is generated. */
static gboolean
build_steering (FsSteering *steering, CliPrompt *prompt, CliSteerOptions *o, const Request *r,
                cJSON *interventions, cJSON *strategy, GError **error)
{
  g_autoptr(FsSaeSet) set = cli_open_sae_set (&o->sae, NULL, error);
  g_autoptr(GArray) pending = g_array_new (FALSE, FALSE, sizeof (Pending));

  if (set == NULL)
    return FALSE;
  for (char **spec = o->specs; spec != NULL && *spec != NULL; spec++)
    {
      FsSteerSpec s;
      if (!fs_steer_spec_parse (*spec, &s, error)
          || !add_pending (pending, set, s.layer, s.site, s.index, s.op, s.value, "steer",
                           error))
        return FALSE;
    }
  if (r->graph_path != NULL && !add_graph (pending, set, r, strategy, error))
    return FALSE;
  if (r->units == FS_STEER_UNITS_TYPICAL && !measure_typical (pending, prompt, o, error))
    return FALSE;
  for (guint i = 0; i < pending->len; i++)
    if (!add_intervention (steering, r, &g_array_index (pending, Pending, i), interventions,
                           error))
      return FALSE;

  /* The SAEs must fit the model: attaching checks layers and widths. */
  g_autoptr(FsModelRun) run = fs_model_run_new (prompt->model, NULL);
  return fs_steering_attach (steering, run, error);
}

/* ---------------------------------------------------------------- output */

typedef struct {
  CliPrompt         *prompt;
  char             **keywords;
  FsThemeClassifier *classifier;
  const char        *classifier_path;
} Scoring;

static cJSON *
json_number_or_null (double value)
{
  return isfinite (value) ? cJSON_CreateNumber (value) : cJSON_CreateNull ();
}

static cJSON *
theme_json (Scoring *scoring, const char *text, GArray *tokens)
{
  cJSON *theme = cJSON_CreateObject ();

  if (scoring->keywords != NULL && text != NULL)
    {
      int64_t words = 0;
      int64_t hits = fs_keyword_count (text, (const char * const *) scoring->keywords, &words);
      cJSON *kw = cJSON_AddObjectToObject (theme, "keywords");
      cJSON_AddNumberToObject (kw, "hits", (double) hits);
      cJSON_AddNumberToObject (kw, "words", (double) words);
      cJSON_AddItemToObject (kw, "rate", json_number_or_null (words > 0 ? (double) hits / words
                                                                         : NAN));
    }
  if (scoring->classifier != NULL)
    {
      FsThemeClassifier *c = scoring->classifier;
      g_autoptr(FsThemeScores) s = fs_theme_classifier_score (c, (const int32_t *) tokens->data,
                                                              tokens->len);
      cJSON *cl = cJSON_AddObjectToObject (theme, "classifier");
      cJSON *classes = cJSON_CreateArray ();
      cJSON_AddStringToObject (cl, "file", scoring->classifier_path);
      cJSON_AddNumberToObject (cl, "tokens", (double) s->n_tokens);
      cJSON_AddStringToObject (cl, "class", fs_theme_classifier_get_class (c, s->best));
      for (guint k = 0; k < fs_theme_classifier_get_n_classes (c); k++)
        {
          cJSON *item = cJSON_CreateObject ();
          cJSON_AddStringToObject (item, "name", fs_theme_classifier_get_class (c, k));
          cJSON_AddNumberToObject (item, "probability", s->probabilities[k]);
          cJSON_AddNumberToObject (item, "log_odds_per_token", s->log_odds[k]);
          cJSON_AddNumberToObject (item, "score", s->scores[k]);
          cJSON_AddItemToArray (classes, item);
        }
      cJSON_AddItemToObject (cl, "classes", classes);
    }
  return theme;
}

static cJSON *
run_json (Scoring *scoring, const FsSteerRun *run)
{
  cJSON *item = cJSON_CreateObject ();
  cJSON *kl = cJSON_CreateArray ();
  const int32_t *ids = (const int32_t *) run->tokens->data;
  g_autofree char *text = cli_prompt_decode (scoring->prompt, ids, run->tokens->len);

  if (text != NULL)
    cJSON_AddStringToObject (item, "text", text);
  else
    cJSON_AddNullToObject (item, "text");
  cJSON_AddItemToObject (item, "tokens", cli_prompt_ids_to_json (ids, run->tokens->len));
  cJSON_AddStringToObject (item, "stop_reason", fs_stop_reason_name (run->stop));
  cJSON_AddItemToObject (item, "perplexity", json_number_or_null (run->perplexity));
  for (guint i = 0; i < run->kl->len; i++)
    cJSON_AddItemToArray (kl, cJSON_CreateNumber (g_array_index (run->kl, double, i)));
  cJSON_AddItemToObject (item, "kl", kl);
  cJSON_AddItemToObject (item, "kl_mean", json_number_or_null (run->kl_mean));
  if (scoring->keywords != NULL || scoring->classifier != NULL)
    cJSON_AddItemToObject (item, "theme", theme_json (scoring, text, run->tokens));
  return item;
}

static void
print_text_run (Scoring *scoring, const char *name, const FsSteerRun *run, cJSON *json)
{
  const int32_t *ids = (const int32_t *) run->tokens->data;
  g_autofree char *text = cli_prompt_decode (scoring->prompt, ids, run->tokens->len);
  const cJSON *theme = cJSON_GetObjectItem (json, "theme");

  printf ("--- %s: perplexity %.4g, KL(steered || unsteered) mean %.4g over %u steps\n", name,
          run->perplexity, run->kl_mean, run->kl->len);
  if (theme != NULL)
    {
      const cJSON *kw = cJSON_GetObjectItem (theme, "keywords");
      const cJSON *cl = cJSON_GetObjectItem (theme, "classifier");
      if (kw != NULL)
        printf ("    keywords: %d of %d words\n",
                cJSON_GetObjectItem (kw, "hits")->valueint,
                cJSON_GetObjectItem (kw, "words")->valueint);
      if (cl != NULL)
        printf ("    classifier: %s\n", cJSON_GetObjectItem (cl, "class")->valuestring);
    }
  if (text != NULL)
    printf ("%s\n", text);
  else
    {
      for (guint i = 0; i < run->tokens->len; i++)
        printf ("%s%d", i ? " " : "", ids[i]);
      putchar ('\n');
    }
}

/* ---------------------------------------------------------------- run */

static char **
split_keywords (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  for (char **p = parts; *p != NULL; p++)
    {
      g_strstrip (*p);
      if (**p != '\0')
        g_strv_builder_add (builder, *p);
    }
  return g_strv_builder_end (builder);
}

int
cli_steer_run (CliPrompt *prompt, CliSteerOptions *o, const FsSamplerParams *params,
               const FsGenerateOptions *generate, gboolean json)
{
  g_auto(Request) r = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(FsSteering) steering = fs_steering_new ();
  g_autoptr(FsThemeClassifier) classifier = NULL;
  g_auto(GStrv) keywords = o->keywords != NULL ? split_keywords (o->keywords) : NULL;
  g_autoptr(cJSON) root = cJSON_CreateObject ();
  cJSON *interventions = cJSON_AddArrayToObject (root, "interventions");
  g_autoptr(cJSON) strategy = cJSON_CreateObject ();
  int rc;

  if ((rc = parse_request (o, &r)) != CLI_OK)
    return rc;
  fs_steering_set_tokens (steering, r.tokens, (int64_t) prompt->n_tokens);
  if (!build_steering (steering, prompt, o, &r, interventions, strategy, &error))
    return cli_fail (error);
  if (r.graph_path != NULL)
    cJSON_AddItemToObject (root, "strategy", g_steal_pointer (&strategy));
  if (o->classifier != NULL && !(classifier = fs_theme_classifier_load (o->classifier, &error)))
    return cli_fail (error);

  g_autoptr(FsSteerComparison) comparison = fs_steer_compare (prompt->model, NULL, steering,
                                                              params, prompt->tokens,
                                                              (int64_t) prompt->n_tokens,
                                                              generate, NULL, NULL, NULL,
                                                              &error);
  if (comparison == NULL)
    return cli_fail (error);

  Scoring scoring = { prompt, keywords, classifier, o->classifier };
  g_autofree char *prompt_text = cli_prompt_decode (prompt, prompt->tokens, prompt->n_tokens);
  cJSON *baseline = run_json (&scoring, &comparison->baseline);
  cJSON *steered = run_json (&scoring, &comparison->steered);

  cJSON_AddStringToObject (root, "model", fs_model_get_path (prompt->model));
  cJSON_AddItemToObject (root, "prompt_tokens", cli_prompt_ids_to_json (prompt->tokens,
                                                                         prompt->n_tokens));
  if (prompt_text != NULL)
    cJSON_AddStringToObject (root, "prompt_text", prompt_text);
  cJSON_AddNumberToObject (root, "seed", (double) params->seed);
  cJSON_AddStringToObject (root, "steer_tokens", fs_steer_tokens_name (r.tokens));
  cJSON_AddStringToObject (root, "units", fs_steer_units_name (r.units));
  cJSON_AddItemToObject (root, "baseline", baseline);
  cJSON_AddItemToObject (root, "steered", steered);

  if (json)
    {
      cli_print_json (g_steal_pointer (&root));
      return CLI_OK;
    }
  if (prompt_text != NULL)
    printf ("prompt: %s\n", prompt_text);
  print_text_run (&scoring, "baseline", &comparison->baseline, baseline);
  print_text_run (&scoring, "steered", &comparison->steered, steered);
  printf ("--- interventions (%s units, %s positions)\n", fs_steer_units_name (r.units),
          fs_steer_tokens_name (r.tokens));
  const cJSON *item;
  cJSON_ArrayForEach (item, interventions)
    printf ("    %s %s=%g (%s, raw %g) at %s\n",
            cJSON_GetObjectItem (item, "feature")->valuestring,
            cJSON_GetObjectItem (item, "op")->valuestring,
            cJSON_GetObjectItem (item, "value")->valuedouble,
            cJSON_GetObjectItem (item, "unit")->valuestring,
            cJSON_GetObjectItem (item, "raw_value")->valuedouble,
            cJSON_GetObjectItem (item, "hook")->valuestring);
  return CLI_OK;
}
