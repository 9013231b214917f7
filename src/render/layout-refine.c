/* layout-refine.c: straightening the x coordinates of a layered layout.
 *
 * igraph's Sugiyama layout orders each row well (few crossings) but its
 * horizontal placement (Brandes-Koepf as in igraph 0.10) can zig-zag the
 * residual spine and, on larger graphs, put two vertices of a row on the same
 * spot. We keep igraph's order and dummy vertices and place x ourselves:
 * pull linked vertices into line, keeping each row's vertices apart (nodes
 * by two units, the bends of edges by less).
 *
 * Each row step is exact: with the other rows fixed, a vertex's cost is
 * W_v (x_v - t_v)^2 with t_v the weighted mean of its neighbours; with
 * y_k = x_k - offset_k (offset_k: the k-th vertex's place in the packed
 * row) the order and spacing constraints become y non-decreasing,
 * which pool-adjacent-violators solves in linear time. The total cost never
 * increases, so the sweeps converge.
 */
#include "layout-private.h"

#include <math.h>
#include <stdlib.h>

#define MAX_SWEEPS    100
#define SETTLED       1e-4  /* graph units: a sweep that moves nothing more has converged */
#define LONE_WEIGHT   1e-3  /* a vertex without links stays where it is unless pushed */

typedef struct {
  guint  row;
  double x;
  guint  vertex;
} Slot;

typedef struct {
  double weight, weighted_sum;
  guint  start, end;  /* positions in the row */
} Block;

typedef struct {
  guint   n_vertices, n_rows;
  double *x;
  const double *half_width;
  /* Links of each vertex: neighbour[offsets[v]..offsets[v + 1]]. */
  guint  *offsets, *neighbour;
  double *weight;
  /* Vertices of each row, left to right: members[row_start[r]..row_start[r + 1]]. */
  guint  *row_start, *members;
  /* Scratch, as long as the longest row. */
  double *target, *target_weight, *offset;
  Block  *blocks;
} Refiner;

static int
compare_slots (const void *a, const void *b)
{
  const Slot *p = a, *q = b;
  if (p->row != q->row)
    return p->row < q->row ? -1 : 1;
  if (p->x != q->x)
    return p->x < q->x ? -1 : 1;
  return p->vertex < q->vertex ? -1 : p->vertex > q->vertex;
}

static void
build_links (Refiner *r, guint n_links, const guint *ends, const double *weights)
{
  r->offsets = g_new0 (guint, r->n_vertices + 1);
  r->neighbour = g_new (guint, MAX (2 * n_links, 1));
  r->weight = g_new (double, MAX (2 * n_links, 1));
  for (guint k = 0; k < 2 * n_links; k++)
    r->offsets[ends[k] + 1]++;
  for (guint v = 0; v < r->n_vertices; v++)
    r->offsets[v + 1] += r->offsets[v];
  g_autofree guint *fill = g_memdup2 (r->offsets, sizeof (guint) * (r->n_vertices + 1));
  for (guint k = 0; k < n_links; k++)
    {
      guint a = ends[2 * k], b = ends[2 * k + 1];
      r->neighbour[fill[a]] = b;
      r->weight[fill[a]++] = weights[k];
      r->neighbour[fill[b]] = a;
      r->weight[fill[b]++] = weights[k];
    }
}

static guint
build_rows (Refiner *r, const guint *row)
{
  g_autofree Slot *slots = g_new (Slot, MAX (r->n_vertices, 1));
  guint longest = 0;

  for (guint v = 0; v < r->n_vertices; v++)
    slots[v] = (Slot) { row[v], r->x[v], v };
  qsort (slots, r->n_vertices, sizeof (Slot), compare_slots);

  r->row_start = g_new0 (guint, r->n_rows + 1);
  r->members = g_new (guint, MAX (r->n_vertices, 1));
  for (guint k = 0; k < r->n_vertices; k++)
    {
      r->members[k] = slots[k].vertex;
      r->row_start[slots[k].row + 1]++;
    }
  for (guint i = 0; i < r->n_rows; i++)
    {
      longest = MAX (longest, r->row_start[i + 1]);
      r->row_start[i + 1] += r->row_start[i];
    }
  return longest;
}

/* offset[k]: where the k-th vertex of row `i` sits when the row is packed
 * from 0, each vertex its half-width clear of its neighbours. */
static void
pack_row (Refiner *r, guint i)
{
  const guint *members = r->members + r->row_start[i];
  guint m = r->row_start[i + 1] - r->row_start[i];

  for (guint k = 0; k < m; k++)
    r->offset[k] = k == 0 ? 0
                   : r->offset[k - 1] + r->half_width[members[k - 1]] + r->half_width[members[k]];
}

/* Places row `i` as close to the targets as order and spacing allow;
 * returns the largest move. */
static double
place_row (Refiner *r, guint i)
{
  const guint *members = r->members + r->row_start[i];
  guint m = r->row_start[i + 1] - r->row_start[i];
  guint n_blocks = 0;
  double moved = 0;

  pack_row (r, i);
  for (guint k = 0; k < m; k++)
    {
      Block block = { r->target_weight[k], r->target_weight[k] * (r->target[k] - r->offset[k]),
                      k, k + 1 };
      r->blocks[n_blocks++] = block;
      /* Merge while the previous block would sit right of this one. */
      while (n_blocks > 1)
        {
          Block *prev = &r->blocks[n_blocks - 2], *last = &r->blocks[n_blocks - 1];
          if (prev->weighted_sum * last->weight <= last->weighted_sum * prev->weight)
            break;
          prev->weight += last->weight;
          prev->weighted_sum += last->weighted_sum;
          prev->end = last->end;
          n_blocks--;
        }
    }
  for (guint b = 0; b < n_blocks; b++)
    {
      double y = r->blocks[b].weighted_sum / r->blocks[b].weight;
      for (guint k = r->blocks[b].start; k < r->blocks[b].end; k++)
        {
          double x = y + r->offset[k];
          moved = MAX (moved, fabs (x - r->x[members[k]]));
          r->x[members[k]] = x;
        }
    }
  return moved;
}

/* Targets: the weighted mean of each vertex's neighbours. */
static double
pull_row (Refiner *r, guint i)
{
  const guint *members = r->members + r->row_start[i];
  guint m = r->row_start[i + 1] - r->row_start[i];

  for (guint k = 0; k < m; k++)
    {
      guint v = members[k];
      double w = 0, sum = 0;
      for (guint j = r->offsets[v]; j < r->offsets[v + 1]; j++)
        {
          w += r->weight[j];
          sum += r->weight[j] * r->x[r->neighbour[j]];
        }
      r->target_weight[k] = w > 0 ? w : LONE_WEIGHT;
      r->target[k] = w > 0 ? sum / w : r->x[v];
    }
  return place_row (r, i);
}

void
fs_layout_refine_x (guint n_vertices, double *x, const double *half_width, const guint *row,
                    guint n_rows, guint n_links, const guint *link_ends,
                    const double *link_weight)
{
  Refiner r = { .n_vertices = n_vertices, .n_rows = n_rows, .x = x, .half_width = half_width };

  if (n_vertices == 0)
    return;
  build_links (&r, n_links, link_ends, link_weight);
  guint longest = build_rows (&r, row);
  r.target = g_new (double, longest);
  r.target_weight = g_new (double, longest);
  r.offset = g_new (double, longest);
  r.blocks = g_new (Block, longest);

  /* Start from every row packed and centred on x = 0: the sweeps settle
   * local shapes in a few passes, but would need thousands to undo a drift
   * of whole rows, such as igraph's own x can have. */
  for (guint i = 0; i < n_rows; i++)
    {
      guint m = r.row_start[i + 1] - r.row_start[i];
      if (m == 0)
        continue;
      pack_row (&r, i);
      for (guint k = 0; k < m; k++)
        x[r.members[r.row_start[i] + k]] = r.offset[k] - r.offset[m - 1] / 2;
    }

  for (guint sweep = 0; sweep < MAX_SWEEPS; sweep++)
    {
      double moved = 0;
      for (guint k = 0; k < n_rows; k++)
        {
          double row_moved = pull_row (&r, sweep % 2 == 0 ? k : n_rows - 1 - k);
          moved = MAX (moved, row_moved);
        }
      if (moved < SETTLED)
        break;
    }

  g_free (r.offsets);
  g_free (r.neighbour);
  g_free (r.weight);
  g_free (r.row_start);
  g_free (r.members);
  g_free (r.target);
  g_free (r.target_weight);
  g_free (r.offset);
  g_free (r.blocks);
}
