/* gui-test-util.h: starting the app, waiting on the main loop and on the
 * window, finding widgets, pointer input, stall checks and pictures for
 * the GUI tests (Xvfb).
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "fs-application.h"
#include "fs-window.h"

G_BEGIN_DECLS

/* Long enough for a cold start of software GL; a hang fails, not blocks. */
#define GUI_WAIT_TIMEOUT_S 30
/* Main-loop stall budget of gui_check_stall. */
#define GUI_MAX_TICK_GAP_MS 50

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
/* A GuiPredicate: @widget is not mapped. */
gboolean    gui_widget_unmapped      (gpointer      widget);
/* A GAsyncReadyCallback that keeps a reference to the result in
 * *(GAsyncResult **) @user_data, which gui_wait_for_result waits for. */
void        gui_store_result         (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data);
void        gui_wait_for_result      (GAsyncResult **result,
                                      const char   *what);

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
/* Waits until a label under @root shows @text. */
void        gui_wait_for_label       (GtkWidget    *root,
                                      const char   *text,
                                      const char   *what);

/* Starts the application as the tests run it: settings in memory (fails
 * otherwise), the demo opened at start or not, never handing the work to a
 * Flowscope already on the session bus; waits until its window, which it
 * returns, is painted at @width x @height (unless 0: the window's own). */
FsWindow   *gui_app_start            (FsApplication **app,
                                      gboolean       open_demo,
                                      int            width,
                                      int            height);
/* Destroys @window (unless NULL: closed by a test) and releases @app. */
void        gui_app_stop             (FsApplication *app,
                                      FsWindow      *window);
/* GuiPredicates on @window: nothing loads; no label search runs. */
gboolean    gui_load_finished        (gpointer      window);
gboolean    gui_search_finished      (gpointer      window);
/* A graph is shown, seeded at @seed_id (a feature id; NULL: any), and
 * nothing loads or builds. */
gboolean    gui_graph_shown          (FsWindow     *window,
                                      const char   *seed_id);
/* Waits until gui_graph_shown and the graph is painted; returns its seed. */
const FsFlowNode *gui_wait_for_graph (FsWindow     *window,
                                      const char   *seed_id);

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

/* Starts request @k (of three) of stall round @round. */
typedef void (*GuiRequestFunc) (guint    round,
                                guint    k,
                                gpointer data);

/* Runs @n_rounds rounds of three requests that supersede each other, the
 * last awaited until @done and @widget is painted, and reports the main
 * loop's longest gap in each while @doing; their median must stay under
 * GUI_MAX_TICK_GAP_MS unless FLOWSCOPE_GUI_STALL_LENIENT is set. @data
 * goes to @request and @done. */
void        gui_check_stall          (GtkWidget      *widget,
                                      guint           n_rounds,
                                      GuiRequestFunc  request,
                                      GuiPredicate    done,
                                      gpointer        data,
                                      const char     *doing);

/* Renders @widget's window through its renderer into @name (a PNG) in
 * $FLOWSCOPE_SCREENSHOT_DIR; returns the path, or NULL when the variable is
 * not set. */
char       *gui_screenshot           (GtkWidget    *widget,
                                      const char   *name);
/* Moves the pointer off the window's content and closes its toasts, so
 * that a picture shows the window itself. */
void        gui_clear_for_screenshot (GtkWidget    *window);
/* gui_screenshot in the dark style, which is then given up again. */
void        gui_screenshot_dark      (GtkWidget    *widget,
                                      const char   *name);

/* Removes @path and, when it is a folder, all that is in it. */
void        gui_remove_tree          (const char   *path);

G_END_DECLS
