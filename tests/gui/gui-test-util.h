/* gui-test-util.h: waiting on the main loop, finding widgets and pointer
 * input for the GUI tests (Xvfb).
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Long enough for a cold start of software GL; a hang fails, not blocks. */
#define GUI_WAIT_TIMEOUT_S 30

typedef gboolean (*GuiPredicate) (gpointer data);

/* Iterates the default main context until @done (@data) is TRUE; fails the
 * test after GUI_WAIT_TIMEOUT_S. */
void        gui_wait_until           (GuiPredicate  done,
                                      gpointer      data,
                                      const char   *what);
/* Iterates for @ms milliseconds. */
void        gui_spin                 (guint         ms);
/* Waits until the frame clock has painted @widget once more. */
void        gui_wait_for_paint       (GtkWidget    *widget);

GtkWidget  *gui_find_widget          (GtkWidget    *root,
                                      GType         type);
/* A mapped GtkLabel under @root whose text contains @text, or NULL. */
GtkWidget  *gui_find_label           (GtkWidget    *root,
                                      const char   *text);
/* The first widget under @root whose name (gtk_widget_set_name, the
 * "name" property in .ui files) is @name, or NULL. */
GtkWidget  *gui_find_named           (GtkWidget    *root,
                                      const char   *name);
GtkWindow  *gui_find_toplevel        (GType         type);

/* Pointer input through the X server (XTest, loaded at run time), so that
 * events go through GTK's own event handling; FALSE when XTest is not
 * there. Coordinates are @widget's. */
gboolean    gui_pointer_available    (void);
void        gui_pointer_move         (GtkWidget    *widget,
                                      double        x,
                                      double        y);
void        gui_pointer_click        (GtkWidget    *widget,
                                      double        x,
                                      double        y,
                                      guint         button,
                                      guint         n_clicks);
/* A key press and release (X keysym) to whatever has the focus. */
void        gui_key_press            (guint         keysym,
                                      gboolean      control);

/* Closes the toasts shown in @window's toast overlay (one shows at a time,
 * the next after it), and waits for the transitions. */
void        gui_dismiss_toasts       (GtkWidget    *window);

/* How well the main loop keeps up: a 10 ms timeout records the longest
 * gap between its ticks, and the frame clock of a widget's window the
 * longest frame and layout phase (all in microseconds). Reset the maxima
 * between rounds as needed. */
typedef struct {
  gint64         last;
  gint64         max_gap;
  gint64         paint_start;
  gint64         max_paint;
  gint64         layout_start;
  gint64         max_layout;
  guint          source;
  GdkFrameClock *clock;
} GuiTicker;

void        gui_ticker_start         (GuiTicker    *ticker,
                                      GtkWidget    *widget);
void        gui_ticker_stop          (GuiTicker    *ticker);
/* The median of @n values (sorted in place). */
gint64      gui_median               (gint64       *values,
                                      guint         n);

/* Renders @widget's window through its renderer into @name (a PNG) in
 * $FLOWSCOPE_SCREENSHOT_DIR; returns the path, or NULL when the variable is
 * not set. */
char       *gui_screenshot           (GtkWidget    *widget,
                                      const char   *name);

G_END_DECLS
