/* export.h: a flow graph as an image file (PNG, SVG or PDF), laid out and
 * drawn on a light background, for the CLI's `graph --format` and the app's
 * export action. */
#pragma once

#include <gio/gio.h>

#include "flow-graph.h"
#include "layout.h"

G_BEGIN_DECLS

/* Page size, in pixels (PNG) or points (SVG, PDF), for a layout: in
 * proportion to the graph, within 480 x 240 and 4096 x 4096. */
void     fs_graph_export_page_size (FsGraphLayout *layout, int *width, int *height);

/* Writes the graph to `path` as `format` ("png", "svg" or "pdf"), through a
 * temporary file in the same folder renamed into place, so that `path` is
 * either the whole image or untouched. Errors are FS_ERROR and name `path`. */
gboolean fs_graph_render_to_file (FsFlowGraph *graph, const char *format, const char *path,
                                  GError **error);

G_END_DECLS
