/* fs-generation.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-generation"

#include "fs-background.h"
#include "fs-generation.h"
#include "steer-compare.h"

/* Tokens travel from a worker to the main loop through a queue, drained
 * by one idle callback at a time, so that they arrive in order and a
 * burst of them costs one main-loop dispatch. */
typedef struct {
  FsGeneration *generation;
  gboolean      steered;
  GMutex        lock;
  GArray       *pending;     /* int32_t, generated and not yet handed over */
  gboolean      scheduled;   /* a drain is queued */
} Stream;

/* Shared by the caller and the two workers, refcounted (g_atomic_rc_box).
 * Everything but the streams' queues is written on the main thread only;
 * the workers read what was set before they started. */
struct _FsGeneration
{
  GCancellable         *cancellable;
  FsWorkspace          *workspace;
  FsSteering           *steering;
  int32_t              *prompt;
  gsize                 n_prompt;
  FsSamplerParams       params;
  FsGenerateOptions     options;
  FsThemeClassifier    *classifier;
  FsGenerationCallbacks callbacks;
  gpointer              user_data;
  Stream                streams[2];   /* baseline, steered */
  FsSteerReport        *report;       /* the runs are filled in as they finish */
  guint                 n_finished;
};

/* What a worker hands back. */
typedef struct {
  FsSteerRun  run;
  char       *text;
  double     *theme_probabilities;
} RunResult;

static void
generation_clear (gpointer data)
{
  FsGeneration *self = data;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->workspace, fs_workspace_unref);
  g_clear_pointer (&self->steering, fs_steering_unref);
  g_clear_pointer (&self->prompt, g_free);
  g_clear_pointer (&self->report, fs_steer_report_free);
  for (guint i = 0; i < G_N_ELEMENTS (self->streams); i++)
    {
      g_mutex_clear (&self->streams[i].lock);
      g_array_unref (self->streams[i].pending);
    }
}

FsGeneration *
fs_generation_ref (FsGeneration *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
fs_generation_unref (FsGeneration *self)
{
  g_atomic_rc_box_release_full (self, generation_clear);
}

static void
stream_release (gpointer data)
{
  fs_generation_unref (((Stream *) data)->generation);
}

static gboolean
is_current (FsGeneration *self)
{
  return !g_cancellable_is_cancelled (self->cancellable);
}

void
fs_generation_cancel (FsGeneration *self)
{
  g_cancellable_cancel (self->cancellable);
}

gboolean
fs_generation_is_complete (FsGeneration *self)
{
  return self->n_finished == G_N_ELEMENTS (self->streams) && is_current (self);
}

FsSteerReport *
fs_generation_get_report (FsGeneration *self)
{
  return self->report;
}

static void
run_result_free (RunResult *result)
{
  fs_steer_run_clear (&result->run);
  g_free (result->text);
  g_free (result->theme_probabilities);
  g_free (result);
}

/* Main thread: hands over what a worker has queued. */
static void
drain (Stream *stream)
{
  FsGeneration *self = stream->generation;
  g_autoptr(GArray) tokens = NULL;

  g_mutex_lock (&stream->lock);
  tokens = g_steal_pointer (&stream->pending);
  stream->pending = g_array_new (FALSE, FALSE, sizeof (int32_t));
  stream->scheduled = FALSE;
  g_mutex_unlock (&stream->lock);

  for (guint i = 0; i < tokens->len && is_current (self); i++)
    self->callbacks.token (stream->steered, g_array_index (tokens, int32_t, i), self->user_data);
}

static gboolean
drain_cb (gpointer user_data)
{
  drain (user_data);
  return G_SOURCE_REMOVE;
}

/* Worker thread: each token as it is chosen. */
static gboolean
stream_token (int32_t  token,
              gpointer user_data)
{
  Stream *stream = user_data;
  FsGeneration *self = stream->generation;

  g_mutex_lock (&stream->lock);
  g_array_append_val (stream->pending, token);
  if (!stream->scheduled)
    {
      stream->scheduled = TRUE;
      fs_generation_ref (self);
      /* Not g_main_context_invoke: with the main loop between iterations
       * it would run the drain here, on this thread. */
      g_idle_add_full (G_PRIORITY_DEFAULT, drain_cb, stream, stream_release);
    }
  g_mutex_unlock (&stream->lock);

  return is_current (self);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Stream *stream = task_data;
  FsGeneration *self = stream->generation;
  FsTokenizer *tokenizer = fs_workspace_get_tokenizer (self->workspace);
  RunResult *result = g_new0 (RunResult, 1);
  g_autofree char *bytes = NULL;
  GError *error = NULL;
  const int32_t *ids;
  gsize length;
  guint n;

  if (!fs_steer_run_generate (fs_workspace_get_model (self->workspace), NULL, self->steering,
                              stream->steered, &self->params, self->prompt, self->n_prompt,
                              &self->options, stream_token, stream, &result->run, cancellable,
                              &error))
    {
      run_result_free (result);
      g_task_return_error (task, error);
      return;
    }

  ids = (const int32_t *) result->run.tokens->data;
  n = result->run.tokens->len;
  /* With its length: a NUL byte becomes U+FFFD, as the view shows it. */
  bytes = fs_tokenizer_decode (tokenizer, ids, n, &length);
  result->text = g_utf8_make_valid (bytes, length);
  if (self->classifier != NULL)
    {
      g_autoptr(FsThemeScores) scores = fs_theme_classifier_score (self->classifier, ids, n);

      result->theme_probabilities = g_memdup2 (scores->probabilities,
                                               fs_theme_classifier_get_n_classes (self->classifier)
                                               * sizeof (double));
    }
  g_task_return_pointer (task, result, (GDestroyNotify) run_result_free);
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Stream *stream = user_data;
  FsGeneration *self = stream->generation;
  g_autoptr(GError) error = NULL;
  RunResult *run = g_task_propagate_pointer (G_TASK (result), &error);
  FsSteerReportRun *out;

  if (!is_current (self))
    {
      g_clear_pointer (&run, run_result_free);
      return;
    }

  drain (stream);
  if (run == NULL)
    {
      /* The other run is of no use alone. */
      fs_generation_cancel (self);
      self->callbacks.failed (error, self->user_data);
      return;
    }

  out = stream->steered ? &self->report->steered : &self->report->baseline;
  g_clear_pointer (&out->tokens, g_array_unref);
  out->tokens = g_steal_pointer (&run->run.tokens);
  out->text = g_steal_pointer (&run->text);
  out->theme_probabilities = g_steal_pointer (&run->theme_probabilities);
  out->stop = run->run.stop;
  out->perplexity = run->run.perplexity;
  out->kl_mean = run->run.kl_mean;
  run_result_free (run);
  self->n_finished++;
  self->callbacks.finished (stream->steered, out, self->user_data);
}

FsGeneration *
fs_generation_start (FsWorkspace                 *workspace,
                     FsSteering                  *steering,
                     int32_t                     *prompt,
                     gsize                        n_prompt,
                     const FsSamplerParams       *params,
                     const FsGenerateOptions     *options,
                     FsThemeClassifier           *classifier,
                     FsSteerReport               *report,
                     const FsGenerationCallbacks *callbacks,
                     gpointer                     user_data)
{
  FsGeneration *self = g_atomic_rc_box_new0 (FsGeneration);

  self->cancellable = g_cancellable_new ();
  self->workspace = fs_workspace_ref (workspace);
  self->steering = steering;
  self->prompt = prompt;
  self->n_prompt = n_prompt;
  self->params = *params;
  self->options = *options;
  self->classifier = classifier;
  self->report = report;
  self->callbacks = *callbacks;
  self->user_data = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (self->streams); i++)
    {
      Stream *stream = &self->streams[i];
      g_autoptr(GTask) task = NULL;

      stream->generation = self;
      stream->steered = i == 1;
      g_mutex_init (&stream->lock);
      stream->pending = g_array_new (FALSE, FALSE, sizeof (int32_t));

      task = g_task_new (NULL, self->cancellable, run_done_cb, stream);
      g_task_set_source_tag (task, fs_generation_start);
      fs_generation_ref (self);
      g_task_set_task_data (task, stream, stream_release);
      fs_task_run_in_background (task, run_thread);
    }

  return self;
}
