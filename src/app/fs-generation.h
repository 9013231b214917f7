/* fs-generation.h: one request for a baseline and a steered continuation
 * of the same prompt. The two runs go at once, each in a background
 * worker, and every token is handed to the main loop as it is chosen.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "fs-workspace.h"
#include "steer-report.h"
#include "steer.h"
#include "theme.h"

G_BEGIN_DECLS

typedef struct _FsGeneration FsGeneration;

/* Called on the main loop until the generation completes or is cancelled. */
typedef struct {
  /* A token of one run; each run's tokens come in order. */
  void (*token)    (gboolean                steered,
                    int32_t                 token,
                    gpointer                user_data);
  /* One run is done, its tokens all handed over: @run is its part of the
   * report. */
  void (*finished) (gboolean                steered,
                    const FsSteerReportRun *run,
                    gpointer                user_data);
  /* A run failed; the generation is cancelled, nothing more is called. */
  void (*failed)   (const GError           *error,
                    gpointer                user_data);
} FsGenerationCallbacks;

/* Starts both runs of @workspace's model on @prompt (n_prompt ids, taken),
 * the steered one with @steering (taken) attached, sampled as @params and
 * @options say. @report (taken) describes the request; the runs fill in
 * its baseline and steered parts. @classifier (may be NULL; the
 * workspace keeps it) scores each run's text. */
FsGeneration  *fs_generation_start       (FsWorkspace                 *workspace,
                                          FsSteering                  *steering,
                                          int32_t                     *prompt,
                                          gsize                        n_prompt,
                                          const FsSamplerParams       *params,
                                          const FsGenerateOptions     *options,
                                          FsThemeClassifier           *classifier,
                                          FsSteerReport               *report,
                                          const FsGenerationCallbacks *callbacks,
                                          gpointer                     user_data);
/* Stops both runs; their workers finish on their own and nothing more is
 * called. */
void           fs_generation_cancel      (FsGeneration                *self);
/* Both runs finished and the generation was not cancelled. */
gboolean       fs_generation_is_complete (FsGeneration                *self);
FsSteerReport *fs_generation_get_report  (FsGeneration                *self);

FsGeneration  *fs_generation_ref         (FsGeneration                *self);
void           fs_generation_unref       (FsGeneration                *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsGeneration, fs_generation_unref)

G_END_DECLS
