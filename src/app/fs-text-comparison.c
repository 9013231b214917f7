/* fs-text-comparison.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-text-comparison"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-text-comparison.h"
#include "steer-compare.h"

typedef struct {
  GtkTextView    *view;
  GtkLabel       *summary;
  FsTokenDecoder *decoder;
  GArray         *tokens;      /* int32_t */
  GArray         *starts;      /* int: where each token's text begins, in characters */
  int             prompt_end;  /* characters of the prompt */
  gboolean        finished;
} Side;

struct _FsTextComparison
{
  AdwBin       parent_instance;

  FsTokenizer *tokenizer;
  Side         sides[2];       /* baseline, steered */
  gint64       divergence;

  /* Template widgets */
  GtkTextView *baseline_view;
  GtkTextView *steered_view;
  GtkLabel    *baseline_summary;
  GtkLabel    *steered_summary;
};

G_DEFINE_FINAL_TYPE (FsTextComparison, fs_text_comparison, ADW_TYPE_BIN)

GtkWidget *
fs_text_comparison_new (void)
{
  return g_object_new (FS_TYPE_TEXT_COMPARISON, NULL);
}

static GtkTextBuffer *
side_buffer (Side *side)
{
  return gtk_text_view_get_buffer (side->view);
}

/* Tags take colours, not style classes: pick them for the style in use.
 * The highlight is translucent so that the text keeps its own colour. */
static void
update_tag_colors (FsTextComparison *self)
{
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GdkRGBA prompt, diverged;

  gdk_rgba_parse (&prompt, dark ? "rgba(255,255,255,0.55)" : "rgba(0,0,0,0.55)");
  gdk_rgba_parse (&diverged, dark ? "rgba(205,147,9,0.40)" : "rgba(246,211,45,0.50)");
  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    {
      GtkTextTagTable *table = gtk_text_buffer_get_tag_table (side_buffer (&self->sides[i]));

      g_object_set (gtk_text_tag_table_lookup (table, "prompt"), "foreground-rgba", &prompt, NULL);
      g_object_set (gtk_text_tag_table_lookup (table, "diverged"), "background-rgba", &diverged, NULL);
    }
}

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->decoder, fs_token_decoder_free);
  g_array_set_size (side->tokens, 0);
  g_array_set_size (side->starts, 0);
  side->prompt_end = 0;
  side->finished = FALSE;
}

static void
side_insert (FsTextComparison *self,
             Side             *side,
             const char       *text,
             gsize             length)
{
  GtkTextBuffer *buffer = side_buffer (side);
  gboolean diverged = self->divergence >= 0 && (gint64) side->tokens->len > self->divergence;
  g_autofree char *valid = NULL;
  GtkTextIter end;

  if (length == 0)
    return;
  /* Tokens can decode to NUL, which text buffers refuse: it becomes
   * U+FFFD, as g_utf8_make_valid makes it in the exported text. */
  valid = g_utf8_make_valid (text, length);
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert_with_tags_by_name (buffer, &end, valid, -1,
                                            diverged ? "diverged" : NULL, NULL);
  gtk_text_view_scroll_to_mark (side->view, gtk_text_buffer_get_mark (buffer, "end"), 0, FALSE, 0, 0);
}

/* Highlights both texts from the first token that differs, once that is
 * known: a token that differs, or the shorter side having ended. */
static void
update_divergence (FsTextComparison *self)
{
  Side *baseline = &self->sides[0], *steered = &self->sides[1];
  gint64 divergence;

  if (self->divergence >= 0)
    return;
  divergence = fs_steer_first_difference ((const int32_t *) baseline->tokens->data, baseline->tokens->len,
                                          (const int32_t *) steered->tokens->data, steered->tokens->len);
  if (divergence < 0)
    return;
  if (divergence == MIN (baseline->tokens->len, steered->tokens->len)
      && !(baseline->tokens->len < steered->tokens->len ? baseline : steered)->finished)
    return;  /* the shorter side may still catch up */

  self->divergence = divergence;
  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    {
      Side *side = &self->sides[i];
      GtkTextIter start, end;

      if (divergence >= side->tokens->len)
        continue;
      gtk_text_buffer_get_iter_at_offset (side_buffer (side), &start,
                                          g_array_index (side->starts, int, divergence));
      gtk_text_buffer_get_end_iter (side_buffer (side), &end);
      gtk_text_buffer_apply_tag_by_name (side_buffer (side), "diverged", &start, &end);
    }
}

void
fs_text_comparison_reset (FsTextComparison *self,
                          const char       *prompt,
                          FsTokenizer      *tokenizer)
{
  g_return_if_fail (FS_IS_TEXT_COMPARISON (self));
  g_return_if_fail (prompt != NULL && tokenizer != NULL);

  g_clear_pointer (&self->tokenizer, fs_tokenizer_unref);
  self->tokenizer = fs_tokenizer_ref (tokenizer);
  self->divergence = -1;

  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    {
      Side *side = &self->sides[i];
      GtkTextBuffer *buffer = side_buffer (side);
      GtkTextIter start;

      side_clear (side);
      side->decoder = fs_token_decoder_new (tokenizer);
      gtk_text_buffer_set_text (buffer, "", 0);
      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_insert_with_tags_by_name (buffer, &start, prompt, -1, "prompt", NULL);
      side->prompt_end = gtk_text_buffer_get_char_count (buffer);
      gtk_label_set_text (side->summary, _("Generating…"));
    }
}

void
fs_text_comparison_append (FsTextComparison *self,
                           gboolean          steered,
                           int32_t           token)
{
  Side *side;
  g_autofree char *text = NULL;
  gsize length;
  int start;

  g_return_if_fail (FS_IS_TEXT_COMPARISON (self));

  side = &self->sides[steered ? 1 : 0];
  g_return_if_fail (side->decoder != NULL && !side->finished);

  start = gtk_text_buffer_get_char_count (side_buffer (side));
  g_array_append_val (side->tokens, token);
  g_array_append_val (side->starts, start);
  text = fs_token_decoder_push (side->decoder, token, &length);
  side_insert (self, side, text, length);
  update_divergence (self);
}

void
fs_text_comparison_finish (FsTextComparison *self,
                           gboolean          steered,
                           const char       *summary)
{
  Side *side;
  g_autofree char *rest = NULL;
  gsize length;

  g_return_if_fail (FS_IS_TEXT_COMPARISON (self));

  side = &self->sides[steered ? 1 : 0];
  g_return_if_fail (side->decoder != NULL);

  rest = fs_token_decoder_flush (side->decoder, &length);
  side_insert (self, side, rest, length);
  side->finished = TRUE;
  gtk_label_set_text (side->summary, summary != NULL ? summary : "");
  update_divergence (self);
}

void
fs_text_comparison_set_message (FsTextComparison *self,
                                const char       *message)
{
  g_return_if_fail (FS_IS_TEXT_COMPARISON (self));

  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    gtk_label_set_text (self->sides[i].summary, message != NULL ? message : "");
}

char *
fs_text_comparison_dup_text (FsTextComparison *self,
                             gboolean          steered)
{
  Side *side;
  GtkTextIter start, end;

  g_return_val_if_fail (FS_IS_TEXT_COMPARISON (self), NULL);

  side = &self->sides[steered ? 1 : 0];
  gtk_text_buffer_get_iter_at_offset (side_buffer (side), &start, side->prompt_end);
  gtk_text_buffer_get_end_iter (side_buffer (side), &end);
  return gtk_text_buffer_get_text (side_buffer (side), &start, &end, FALSE);
}

const char *
fs_text_comparison_get_summary (FsTextComparison *self,
                                gboolean          steered)
{
  g_return_val_if_fail (FS_IS_TEXT_COMPARISON (self), NULL);

  return gtk_label_get_text (self->sides[steered ? 1 : 0].summary);
}

gint64
fs_text_comparison_get_divergence (FsTextComparison *self)
{
  g_return_val_if_fail (FS_IS_TEXT_COMPARISON (self), -1);

  return self->divergence;
}

GtkTextBuffer *
fs_text_comparison_get_buffer (FsTextComparison *self,
                               gboolean          steered)
{
  g_return_val_if_fail (FS_IS_TEXT_COMPARISON (self), NULL);

  return side_buffer (&self->sides[steered ? 1 : 0]);
}

static void
fs_text_comparison_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), FS_TYPE_TEXT_COMPARISON);

  G_OBJECT_CLASS (fs_text_comparison_parent_class)->dispose (object);
}

static void
fs_text_comparison_finalize (GObject *object)
{
  FsTextComparison *self = FS_TEXT_COMPARISON (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    {
      side_clear (&self->sides[i]);
      g_array_unref (self->sides[i].tokens);
      g_array_unref (self->sides[i].starts);
    }
  g_clear_pointer (&self->tokenizer, fs_tokenizer_unref);

  G_OBJECT_CLASS (fs_text_comparison_parent_class)->finalize (object);
}

static void
fs_text_comparison_class_init (FsTextComparisonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = fs_text_comparison_dispose;
  object_class->finalize = fs_text_comparison_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/flowscope/Flowscope/ui/fs-text-comparison.ui");
  gtk_widget_class_bind_template_child (widget_class, FsTextComparison, baseline_view);
  gtk_widget_class_bind_template_child (widget_class, FsTextComparison, steered_view);
  gtk_widget_class_bind_template_child (widget_class, FsTextComparison, baseline_summary);
  gtk_widget_class_bind_template_child (widget_class, FsTextComparison, steered_summary);
}

static void
fs_text_comparison_init (FsTextComparison *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->divergence = -1;
  self->sides[0].view = self->baseline_view;
  self->sides[0].summary = self->baseline_summary;
  self->sides[1].view = self->steered_view;
  self->sides[1].summary = self->steered_summary;
  for (guint i = 0; i < G_N_ELEMENTS (self->sides); i++)
    {
      GtkTextBuffer *buffer = side_buffer (&self->sides[i]);
      GtkTextIter end;

      self->sides[i].tokens = g_array_new (FALSE, FALSE, sizeof (int32_t));
      self->sides[i].starts = g_array_new (FALSE, FALSE, sizeof (int));
      gtk_text_buffer_create_tag (buffer, "prompt", NULL);
      gtk_text_buffer_create_tag (buffer, "diverged", "underline", PANGO_UNDERLINE_SINGLE, NULL);
      /* Follows what is appended, to keep the newest text in view. */
      gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_buffer_create_mark (buffer, "end", &end, FALSE);
    }
  update_tag_colors (self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_tag_colors), self, G_CONNECT_SWAPPED);
}
