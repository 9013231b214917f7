/* fs-text-comparison.h: a baseline and a steered continuation of one
 * prompt, side by side, filled token by token as they are generated.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Where the two token lists part, the rest of both texts is highlighted
 * (as soon as it is known: a differing token, or one side ending first).
 */

#pragma once

#include <adwaita.h>

#include "tokenizer.h"

G_BEGIN_DECLS

#define FS_TYPE_TEXT_COMPARISON (fs_text_comparison_get_type ())

G_DECLARE_FINAL_TYPE (FsTextComparison, fs_text_comparison, FS, TEXT_COMPARISON, AdwBin)

GtkWidget     *fs_text_comparison_new             (void);
/* Starts afresh: both sides show @prompt and wait for tokens, decoded
 * with @tokenizer. */
void           fs_text_comparison_reset           (FsTextComparison *self,
                                                   const char       *prompt,
                                                   FsTokenizer      *tokenizer);
/* Appends the next token of one side. */
void           fs_text_comparison_append          (FsTextComparison *self,
                                                   gboolean          steered,
                                                   int32_t           token);
/* One side has all its tokens; @summary (perplexity, theme...) goes under
 * its text. */
void           fs_text_comparison_finish          (FsTextComparison *self,
                                                   gboolean          steered,
                                                   const char       *summary);
/* Shows @message under both sides (an error, or why nothing runs). */
void           fs_text_comparison_set_message     (FsTextComparison *self,
                                                   const char       *message);

/* The generated text of one side, without the prompt. */
char          *fs_text_comparison_dup_text        (FsTextComparison *self,
                                                   gboolean          steered);
const char    *fs_text_comparison_get_summary     (FsTextComparison *self,
                                                   gboolean          steered);
/* The first generated token that differs, or -1 while none is known. */
gint64         fs_text_comparison_get_divergence  (FsTextComparison *self);
GtkTextBuffer *fs_text_comparison_get_buffer      (FsTextComparison *self,
                                                   gboolean          steered);

G_END_DECLS
