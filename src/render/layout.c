/* layout.c: layered layout of a flow graph with igraph's Sugiyama layout.
 *
 * We choose the rows ourselves (band per layer, sub-row per site) and let
 * igraph order the vertices within each row (crossing minimisation) and
 * insert the dummy vertices that long edges bend through. igraph's x
 * coordinates are only the starting point of our own horizontal placement
 * (layout-refine.c); y comes from our row table.
 */
#include "layout.h"
#include "layout-private.h"

#include <igraph.h>
#include <math.h>
#include <stdlib.h>

#define NODE_RADIUS      0.22  /* rows are 0.6 apart and more */
#define SUB_ROW_GAP      0.6   /* att / mlp / res rows inside a band */
#define BAND_GAP         1.0   /* residual row to the next band's top row */
#define LABEL_ROOM_MAX   4.0   /* right of the last node on a row */
#define SWEEP_BUDGET     2000  /* igraph sweeps times nodes, see run_sugiyama () */
#define SPINE_WEIGHT     32.0  /* see link_weight () */
#define LONG_EDGE_WEIGHT 2.0
#define NODE_HALF_WIDTH  1.0   /* nodes on a row 2 apart: room for "12/res/345" */
#define DUMMY_HALF_WIDTH 0.15  /* edges pass each other closer than nodes do */

struct _FsGraphLayout {
  gatomicrefcount ref_count;
  FsFlowGraph  *graph;
  guint         n_nodes, n_edges;
  FsGraphPoint *nodes;         /* n_nodes */
  double       *label_room;    /* n_nodes */
  guint        *edge_offsets;  /* n_edges + 1, into points */
  FsGraphPoint *points;
  GArray       *bands;         /* FsGraphBand */
  double        row_gap;
  double        x0, y0, x1, y1;
  /* Incident edges of each node, for lineages: in_edges[in_offsets[v]..]. */
  guint        *in_offsets, *in_edges;
  guint        *out_offsets, *out_edges;
};

/* Debian builds igraph without thread-local state (IGRAPH_THREAD_SAFE 0):
 * its error and cleanup stacks are global, so one layout at a time. */
static GMutex igraph_lock;

/* Rows */

typedef struct {
  guint   n_rows;
  guint  *node_row;  /* n_nodes: compact row of each node, top to bottom */
  double *row_y;     /* n_rows */
} Rows;

static void
rows_clear (Rows *rows)
{
  g_free (rows->node_row);
  g_free (rows->row_y);
}

/* Sub-rows exist for a site only if some node of the graph uses it, so a
 * purely residual chain gets one row per band. Nodes are sorted by (layer,
 * att < mlp < res), which is exactly the row order. */
static void
assign_rows (FsGraphLayout *layout, Rows *rows)
{
  FsFlowGraph *graph = layout->graph;
  gboolean has_att = FALSE, has_mlp = FALSE;

  for (guint i = 0; i < layout->n_nodes; i++)
    {
      FsSite site = fs_flow_graph_get_node (graph, i)->site;
      has_att |= site == FS_SITE_ATT;
      has_mlp |= site == FS_SITE_MLP;
    }
  guint n_sub = 1 + has_att + has_mlp;
  double band_height = (n_sub - 1) * SUB_ROW_GAP + BAND_GAP;
  layout->row_gap = n_sub > 1 ? SUB_ROW_GAP : BAND_GAP;

  rows->node_row = g_new (guint, MAX (layout->n_nodes, 1));
  rows->row_y = g_new (double, MAX (layout->n_nodes, 1));
  rows->n_rows = 0;

  guint64 last_key = G_MAXUINT64;
  for (guint i = 0; i < layout->n_nodes; i++)
    {
      const FsFlowNode *node = fs_flow_graph_get_node (graph, i);
      if (layout->bands->len == 0
          || g_array_index (layout->bands, FsGraphBand, layout->bands->len - 1).layer != node->layer)
        {
          double y = layout->bands->len * band_height;
          FsGraphBand band = { node->layer, y, y - (n_sub - 1) * SUB_ROW_GAP };
          g_array_append_val (layout->bands, band);
        }
      guint band = layout->bands->len - 1;
      guint sub = node->site == FS_SITE_RES ? n_sub - 1
                  : node->site == FS_SITE_MLP ? n_sub - 2
                  : 0;
      guint64 key = (guint64) band * n_sub + sub;
      if (key != last_key)
        {
          rows->row_y[rows->n_rows++] =
            g_array_index (layout->bands, FsGraphBand, band).y - (n_sub - 1 - sub) * SUB_ROW_GAP;
          last_key = key;
        }
      rows->node_row[i] = rows->n_rows - 1;
    }
}

/* Sugiyama */

/* Every vertex of igraph's extended graph (nodes, then dummies): where it
 * ended up. */
typedef struct {
  guint   n;
  double *x;
  guint  *row;
} Vertices;

static FsGraphPoint
vertex_position (const Vertices *vertices, const Rows *rows, igraph_integer_t v)
{
  return (FsGraphPoint) { vertices->x[v], rows->row_y[vertices->row[v]] };
}

/* Follows the chain of extended-graph edges that igraph made for one
 * original edge, from its source, through the dummies, to its target. */
static void
trace_edge (const Vertices *vertices, const Rows *rows, const igraph_t *extd,
            const igraph_integer_t *chain, guint chain_len, const FsFlowEdge *edge,
            GArray *points)
{
  g_autofree gboolean *used = g_new0 (gboolean, MAX (chain_len, 1));
  igraph_integer_t current = edge->source;
  guint start = points->len;

  FsGraphPoint p = vertex_position (vertices, rows, current);
  g_array_append_val (points, p);
  for (guint step = 0; step < chain_len && current != (igraph_integer_t) edge->target; step++)
    {
      igraph_integer_t next = -1;
      for (guint k = 0; k < chain_len && next < 0; k++)
        {
          igraph_integer_t from = IGRAPH_FROM (extd, chain[k]), to = IGRAPH_TO (extd, chain[k]);
          if (used[k] || (from != current && to != current))
            continue;
          used[k] = TRUE;
          next = from == current ? to : from;
        }
      if (next < 0)
        break;
      current = next;
      p = vertex_position (vertices, rows, current);
      g_array_append_val (points, p);
    }

  if (current != (igraph_integer_t) edge->target)
    {
      /* Not expected from igraph; a straight edge is still a true drawing. */
      g_array_set_size (points, start + 1);
      p = vertex_position (vertices, rows, edge->target);
      g_array_append_val (points, p);
    }
  else if (points->len - start == 1)
    g_array_append_val (points, p);  /* self loop: a zero-length segment */
}

/* How hard a piece of an edge pulls its ends into line: the residual spine
 * (res -> res of the next layer) most, so that it runs straight and
 * modules step aside; long edges a little more than module edges. */
static double
link_weight (FsFlowGraph *graph, const FsFlowEdge *edge)
{
  const FsFlowNode *source = fs_flow_graph_get_node (graph, edge->source);
  const FsFlowNode *target = fs_flow_graph_get_node (graph, edge->target);

  if (source->site == FS_SITE_RES && target->site == FS_SITE_RES)
    return target->layer - source->layer == 1 ? SPINE_WEIGHT : LONG_EDGE_WEIGHT;
  return 1.0;
}

/* igraph's order and dummies, our own x (layout-refine.c). */
static void
place_vertices (FsGraphLayout *layout, const Rows *rows, const igraph_matrix_t *coords,
                const igraph_t *extd, const igraph_vector_int_t *extd_to_orig,
                Vertices *vertices)
{
  guint n_links = igraph_ecount (extd);
  g_autofree guint *ends = g_new (guint, MAX (2 * n_links, 1));
  g_autofree double *weights = g_new (double, MAX (n_links, 1));

  vertices->n = igraph_matrix_nrow (coords);
  vertices->x = g_new (double, MAX (vertices->n, 1));
  vertices->row = g_new (guint, MAX (vertices->n, 1));
  for (guint v = 0; v < vertices->n; v++)
    {
      vertices->x[v] = MATRIX (*coords, v, 0);
      /* A dummy's igraph y is its row: our rows are compact and vgap is 1. */
      long row = v < layout->n_nodes ? (long) rows->node_row[v] : lround (MATRIX (*coords, v, 1));
      vertices->row[v] = CLAMP (row, 0, (long) rows->n_rows - 1);
    }
  for (guint k = 0; k < n_links; k++)
    {
      ends[2 * k] = IGRAPH_FROM (extd, k);
      ends[2 * k + 1] = IGRAPH_TO (extd, k);
      weights[k] = link_weight (layout->graph,
                                fs_flow_graph_get_edge (layout->graph, VECTOR (*extd_to_orig)[k]));
    }
  g_autofree double *half_width = g_new (double, MAX (vertices->n, 1));
  for (guint v = 0; v < vertices->n; v++)
    half_width[v] = v < layout->n_nodes ? NODE_HALF_WIDTH : DUMMY_HALF_WIDTH;
  fs_layout_refine_x (vertices->n, vertices->x, half_width, vertices->row, rows->n_rows,
                      n_links, ends, weights);

  double min_x = INFINITY;
  for (guint v = 0; v < vertices->n; v++)
    min_x = MIN (min_x, vertices->x[v]);
  for (guint v = 0; v < vertices->n; v++)
    vertices->x[v] -= min_x;
  for (guint i = 0; i < layout->n_nodes; i++)
    layout->nodes[i] = vertex_position (vertices, rows, i);
}

static void
trace_edges (FsGraphLayout *layout, const Rows *rows, const Vertices *vertices,
             const igraph_t *extd, const igraph_vector_int_t *extd_to_orig)
{
  /* Group the extended graph's edges by original edge (counting sort). */
  igraph_integer_t n_extd = igraph_ecount (extd);
  g_autofree guint *group_offsets = g_new0 (guint, layout->n_edges + 1);
  g_autofree igraph_integer_t *grouped = g_new (igraph_integer_t, MAX (n_extd, 1));
  for (igraph_integer_t k = 0; k < n_extd; k++)
    group_offsets[VECTOR (*extd_to_orig)[k] + 1]++;
  for (guint e = 0; e < layout->n_edges; e++)
    group_offsets[e + 1] += group_offsets[e];
  g_autofree guint *fill = g_memdup2 (group_offsets, sizeof (guint) * (layout->n_edges + 1));
  for (igraph_integer_t k = 0; k < n_extd; k++)
    grouped[fill[VECTOR (*extd_to_orig)[k]]++] = k;

  GArray *points = g_array_sized_new (FALSE, FALSE, sizeof (FsGraphPoint), n_extd + layout->n_edges);
  layout->edge_offsets = g_new (guint, layout->n_edges + 1);
  for (guint e = 0; e < layout->n_edges; e++)
    {
      layout->edge_offsets[e] = points->len;
      trace_edge (vertices, rows, extd, grouped + group_offsets[e],
                  group_offsets[e + 1] - group_offsets[e],
                  fs_flow_graph_get_edge (layout->graph, e), points);
    }
  layout->edge_offsets[layout->n_edges] = points->len;
  layout->points = (FsGraphPoint *) g_array_free (points, FALSE);
}

static void
run_sugiyama (FsGraphLayout *layout, const Rows *rows)
{
  FsFlowGraph *graph = layout->graph;
  igraph_vector_int_t edge_list, row_of, extd_to_orig;
  igraph_matrix_t coords;
  igraph_t input, extd;
  Vertices vertices = { 0 };

  g_mutex_lock (&igraph_lock);

  igraph_vector_int_init (&edge_list, 2 * layout->n_edges);
  for (guint e = 0; e < layout->n_edges; e++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, e);
      VECTOR (edge_list)[2 * e] = edge->source;
      VECTOR (edge_list)[2 * e + 1] = edge->target;
    }
  igraph_vector_int_init (&row_of, layout->n_nodes);
  for (guint i = 0; i < layout->n_nodes; i++)
    VECTOR (row_of)[i] = rows->node_row[i];
  igraph_vector_int_init (&extd_to_orig, 0);
  igraph_matrix_init (&coords, 0, 0);
  igraph_create (&input, &edge_list, layout->n_nodes, IGRAPH_DIRECTED);

  /* igraph's crossing minimisation gains little after its first sweeps
   * (measured on tests/render's 500-node graph: 4 sweeps leave as many
   * crossings as 100, at a tenth of the time): small graphs get igraph's
   * default of 100, large ones a few. */
  igraph_integer_t sweeps = CLAMP (SWEEP_BUDGET / layout->n_nodes, 4, 100);
  igraph_layout_sugiyama (&input, &coords, &extd, &extd_to_orig, &row_of,
                          1.0, 1.0, sweeps, NULL);

  place_vertices (layout, rows, &coords, &extd, &extd_to_orig, &vertices);
  trace_edges (layout, rows, &vertices, &extd, &extd_to_orig);

  g_free (vertices.x);
  g_free (vertices.row);
  igraph_destroy (&extd);
  igraph_destroy (&input);
  igraph_matrix_destroy (&coords);
  igraph_vector_int_destroy (&extd_to_orig);
  igraph_vector_int_destroy (&row_of);
  igraph_vector_int_destroy (&edge_list);

  g_mutex_unlock (&igraph_lock);
}

/* Label room */

typedef struct {
  guint  row;
  double x;
  guint  node;
} RowSlot;

static int
compare_slots (const void *a, const void *b)
{
  const RowSlot *p = a, *q = b;
  if (p->row != q->row)
    return p->row < q->row ? -1 : 1;
  if (p->x != q->x)
    return p->x < q->x ? -1 : 1;
  return p->node < q->node ? -1 : p->node > q->node;
}

static void
compute_label_room (FsGraphLayout *layout, const Rows *rows)
{
  g_autofree RowSlot *slots = g_new (RowSlot, MAX (layout->n_nodes, 1));

  for (guint i = 0; i < layout->n_nodes; i++)
    slots[i] = (RowSlot) { rows->node_row[i], layout->nodes[i].x, i };
  qsort (slots, layout->n_nodes, sizeof (RowSlot), compare_slots);

  layout->label_room = g_new (double, MAX (layout->n_nodes, 1));
  for (guint k = 0; k < layout->n_nodes; k++)
    {
      double room = LABEL_ROOM_MAX;
      if (k + 1 < layout->n_nodes && slots[k + 1].row == slots[k].row)
        room = MIN (room, slots[k + 1].x - slots[k].x - 2 * NODE_RADIUS);
      layout->label_room[slots[k].node] = MAX (room, 0.0);
    }
}

/* Adjacency and bounds */

static void
build_incidence (FsFlowGraph *graph, guint n_nodes, guint n_edges, gboolean incoming,
                 guint **offsets_out, guint **edges_out)
{
  guint *offsets = g_new0 (guint, n_nodes + 1);
  guint *edges = g_new (guint, MAX (n_edges, 1));

  for (guint e = 0; e < n_edges; e++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, e);
      offsets[(incoming ? edge->target : edge->source) + 1]++;
    }
  for (guint v = 0; v < n_nodes; v++)
    offsets[v + 1] += offsets[v];
  g_autofree guint *fill = g_memdup2 (offsets, sizeof (guint) * (n_nodes + 1));
  for (guint e = 0; e < n_edges; e++)
    {
      const FsFlowEdge *edge = fs_flow_graph_get_edge (graph, e);
      edges[fill[incoming ? edge->target : edge->source]++] = e;
    }
  *offsets_out = offsets;
  *edges_out = edges;
}

static void
compute_bounds (FsGraphLayout *layout)
{
  guint n_points = layout->edge_offsets[layout->n_edges];

  if (layout->n_nodes == 0)
    return;
  layout->x0 = layout->y0 = INFINITY;
  layout->x1 = layout->y1 = -INFINITY;
  for (guint i = 0; i < layout->n_nodes; i++)
    {
      layout->x0 = MIN (layout->x0, layout->nodes[i].x - NODE_RADIUS);
      layout->x1 = MAX (layout->x1, layout->nodes[i].x + NODE_RADIUS);
      layout->y0 = MIN (layout->y0, layout->nodes[i].y - NODE_RADIUS);
      layout->y1 = MAX (layout->y1, layout->nodes[i].y + NODE_RADIUS);
    }
  for (guint k = 0; k < n_points; k++)
    {
      layout->x0 = MIN (layout->x0, layout->points[k].x);
      layout->x1 = MAX (layout->x1, layout->points[k].x);
      layout->y0 = MIN (layout->y0, layout->points[k].y);
      layout->y1 = MAX (layout->y1, layout->points[k].y);
    }
}

/* Public API */

FsGraphLayout *
fs_graph_layout_new (FsFlowGraph *graph)
{
  g_return_val_if_fail (graph != NULL, NULL);

  FsGraphLayout *layout = g_new0 (FsGraphLayout, 1);
  g_atomic_ref_count_init (&layout->ref_count);
  layout->graph = fs_flow_graph_ref (graph);
  layout->n_nodes = fs_flow_graph_get_n_nodes (graph);
  layout->n_edges = fs_flow_graph_get_n_edges (graph);
  layout->nodes = g_new0 (FsGraphPoint, MAX (layout->n_nodes, 1));
  layout->bands = g_array_new (FALSE, FALSE, sizeof (FsGraphBand));

  Rows rows = { 0 };
  assign_rows (layout, &rows);
  if (layout->n_nodes > 0)
    run_sugiyama (layout, &rows);
  else
    layout->edge_offsets = g_new0 (guint, 1);
  compute_label_room (layout, &rows);
  rows_clear (&rows);

  build_incidence (graph, layout->n_nodes, layout->n_edges, TRUE,
                   &layout->in_offsets, &layout->in_edges);
  build_incidence (graph, layout->n_nodes, layout->n_edges, FALSE,
                   &layout->out_offsets, &layout->out_edges);
  compute_bounds (layout);
  return layout;
}

FsGraphLayout *
fs_graph_layout_ref (FsGraphLayout *layout)
{
  g_return_val_if_fail (layout != NULL, NULL);
  g_atomic_ref_count_inc (&layout->ref_count);
  return layout;
}

void
fs_graph_layout_unref (FsGraphLayout *layout)
{
  if (layout == NULL || !g_atomic_ref_count_dec (&layout->ref_count))
    return;
  fs_flow_graph_unref (layout->graph);
  g_free (layout->nodes);
  g_free (layout->label_room);
  g_free (layout->edge_offsets);
  g_free (layout->points);
  g_array_unref (layout->bands);
  g_free (layout->in_offsets);
  g_free (layout->in_edges);
  g_free (layout->out_offsets);
  g_free (layout->out_edges);
  g_free (layout);
}

FsFlowGraph *
fs_graph_layout_get_graph (FsGraphLayout *layout)
{
  return layout->graph;
}

guint
fs_graph_layout_get_n_nodes (FsGraphLayout *layout)
{
  return layout->n_nodes;
}

guint
fs_graph_layout_get_n_edges (FsGraphLayout *layout)
{
  return layout->n_edges;
}

FsGraphPoint
fs_graph_layout_get_node_position (FsGraphLayout *layout, guint node)
{
  g_return_val_if_fail (node < layout->n_nodes, (FsGraphPoint) { 0 });
  return layout->nodes[node];
}

const FsGraphPoint *
fs_graph_layout_get_edge_points (FsGraphLayout *layout, guint edge, guint *n_points)
{
  g_return_val_if_fail (edge < layout->n_edges, NULL);
  *n_points = layout->edge_offsets[edge + 1] - layout->edge_offsets[edge];
  return layout->points + layout->edge_offsets[edge];
}

double
fs_graph_layout_get_node_radius (FsGraphLayout *layout)
{
  return NODE_RADIUS;
}

double
fs_graph_layout_get_label_room (FsGraphLayout *layout, guint node)
{
  g_return_val_if_fail (node < layout->n_nodes, 0);
  return layout->label_room[node];
}

double
fs_graph_layout_get_row_gap (FsGraphLayout *layout)
{
  return layout->row_gap;
}

guint
fs_graph_layout_get_n_bands (FsGraphLayout *layout)
{
  return layout->bands->len;
}

const FsGraphBand *
fs_graph_layout_get_band (FsGraphLayout *layout, guint band)
{
  g_return_val_if_fail (band < layout->bands->len, NULL);
  return &g_array_index (layout->bands, FsGraphBand, band);
}

void
fs_graph_layout_get_bounds (FsGraphLayout *layout, double *x, double *y,
                            double *width, double *height)
{
  *x = layout->x0;
  *y = layout->y0;
  *width = layout->x1 - layout->x0;
  *height = layout->y1 - layout->y0;
}

static void
mark_reachable (FsGraphLayout *layout, guint start, gboolean upwards, guint8 flag,
                guint8 *lineage)
{
  const guint *offsets = upwards ? layout->in_offsets : layout->out_offsets;
  const guint *edges = upwards ? layout->in_edges : layout->out_edges;
  g_autofree guint *stack = g_new (guint, layout->n_nodes);
  guint depth = 0;

  lineage[start] |= flag;
  stack[depth++] = start;
  while (depth > 0)
    {
      guint v = stack[--depth];
      for (guint k = offsets[v]; k < offsets[v + 1]; k++)
        {
          const FsFlowEdge *edge = fs_flow_graph_get_edge (layout->graph, edges[k]);
          guint next = upwards ? edge->source : edge->target;
          if (lineage[next] & flag)
            continue;
          lineage[next] |= flag;
          stack[depth++] = next;
        }
    }
}

guint8 *
fs_graph_layout_get_lineage (FsGraphLayout *layout, guint node)
{
  g_return_val_if_fail (node < layout->n_nodes, NULL);

  guint8 *lineage = g_new0 (guint8, layout->n_nodes);
  mark_reachable (layout, node, TRUE, FS_GRAPH_LINEAGE_ANCESTOR, lineage);
  mark_reachable (layout, node, FALSE, FS_GRAPH_LINEAGE_DESCENDANT, lineage);
  return lineage;
}

gboolean
fs_graph_layout_edge_in_lineage (FsGraphLayout *layout, const guint8 *lineage, guint edge)
{
  g_return_val_if_fail (edge < layout->n_edges, FALSE);

  const FsFlowEdge *e = fs_flow_graph_get_edge (layout->graph, edge);
  return (lineage[e->target] & FS_GRAPH_LINEAGE_ANCESTOR)
         || (lineage[e->source] & FS_GRAPH_LINEAGE_DESCENDANT);
}
