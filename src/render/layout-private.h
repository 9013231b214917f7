/* layout-private.h: internals shared by layout.c and layout-refine.c. */
#pragma once

#include <glib.h>

/* Horizontal placement of a layered graph (real and dummy vertices), given
 * each vertex's row and x[], whose only use is the left-to-right order it
 * gives within each row (ties broken by vertex index).
 *
 * Minimises the sum over links of weight * (x_a - x_b)^2, keeping every
 * row's order and neighbours on a row at least the sum of their half-widths
 * apart, by exact minimisation one row at a time (weighted isotonic
 * regression), sweeping down and up until nothing moves. Rewrites x[];
 * deterministic. */
void fs_layout_refine_x (guint n_vertices, double *x, const double *half_width, const guint *row,
                         guint n_rows, guint n_links, const guint *link_ends,
                         const double *link_weight);
