/* flow-map-compute.c: computing the all-pairs map.
 *
 * Each pair of positions is one product U_a U_b^T of unit decoder rows,
 * computed a block at a time with sgemm (on all of OpenBLAS's threads) and
 * scanned into running top-k lists as it goes, so the F x F matrix is never
 * held. A pair of residuals serves two relations with one product: a's rows
 * against b ("next" of the lower layer) and b's rows against a ("prev" of
 * the upper), the same scores read by rows and by columns. Each finished
 * pair is written to FILE.partial at once, so that an interrupted run loses
 * at most the pair it was in.
 */
#include "flow-map-private.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-error.h"

/* Rows per block of b (blocks of a are twice as tall). sgemm runs near its
 * peak from about a thousand rows on; at d_in = 2304, F32 blocks of 4096
 * and 2048 rows and their product hold about 90 MB. FLOWSCOPE_MAP_BLOCK
 * overrides it (tests use small blocks to cross block edges). */
#define DEFAULT_BLOCK_ROWS 2048
#define MAX_BLOCK_ROWS     4096

/* ------------------------------------------------------------ running top-k */

/* sgemm does not give the same bits for the same two rows everywhere: its
 * kernels differ at block edges, so exact ties (duplicate features) would
 * break by position instead of by index. Its scores only select candidates;
 * each candidate is scored again by unit_dot, whose summation order is
 * fixed, and that score is the one ranked and stored. */
static float
unit_dot (const float *x, const float *y, int64_t n)
{
  float lane[8] = { 0 };
  int64_t i = 0;

  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++)
      lane[l] += x[i + l] * y[i + l];
  for (int l = 0; i < n; i++, l++)
    lane[l] += x[i] * y[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3]))
         + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Any float sum of n products of unit-vector components is within about
 * n u (u = FLT_EPSILON / 2) of the exact value, whatever its order, so two
 * such sums differ by at most 2 n u; twice that, for safety, is the margin
 * below a list's k-th score under which an sgemm score cannot enter it. */
static float
selection_margin (int64_t d_in)
{
  return 2.0f * (float) d_in * FLT_EPSILON;
}

/* Running top-k lists of many rows at once, in match order (fs_top_k_insert).
 * The gate lets the scans skip almost every sgemm score with one compare. */
typedef struct {
  int      k;
  float    margin;
  FsMatch *lists;   /* [rows, k] */
  int     *n;       /* [rows]: entries in each list */
  float   *gate;    /* [rows]: the k-th score (0 while fewer) minus the margin */
} TopK;

static void
top_k_init (TopK *top, int64_t rows, int k, float margin)
{
  top->k = k;
  top->margin = margin;
  top->lists = g_new (FsMatch, (size_t) MAX (rows * k, 1));
  top->n = g_new0 (int, (size_t) MAX (rows, 1));
  top->gate = g_new (float, (size_t) MAX (rows, 1));
  for (int64_t i = 0; i < rows; i++)
    top->gate[i] = -margin;
}

static void
top_k_clear (TopK *top)
{
  g_clear_pointer (&top->lists, g_free);
  g_clear_pointer (&top->n, g_free);
  g_clear_pointer (&top->gate, g_free);
}

static inline void
top_k_offer (TopK *top, int64_t row, int64_t index, float score)
{
  FsMatch *list = top->lists + row * top->k;
  int n = top->n[row] = fs_top_k_insert (list, top->n[row], top->k, index, score);
  if (n == top->k)
    top->gate[row] = list[n - 1].score - top->margin;
}

/* The scans read every score once or twice, so they go 8 at a time: the
 * usual answer, "none of these 8 can enter", is one vector compare. */
#define LANES 8

static inline gboolean
any_above (const float *s, float gate)
{
  int any = 0;
  for (int l = 0; l < LANES; l++)
    any |= s[l] > gate;
  return any;
}

static inline gboolean
any_above_each (const float *s, const float *gates)
{
  int any = 0;
  for (int l = 0; l < LANES; l++)
    any |= s[l] > gates[l];
  return any;
}

/* Inserts s into best[k] (sorted down, -inf when unused) if it beats the last. */
static inline void
keep_largest (float *best, int k, float s)
{
  int p = k - 1;
  if (!(s > best[p]))
    return;
  for (; p > 0 && best[p - 1] < s; p--)
    best[p] = best[p - 1];
  best[p] = s;
}

/* One block of scores c = a b^T, a [n_rows, d] and b [n_cols, d] unit rows,
 * for rows row0 + i of a against columns col0 + j of b. */
typedef struct {
  const float *c, *a, *b;
  int64_t      n_rows, n_cols, d, row0, col0;
  float       *best, *floor, *gate;   /* scan_columns' scratch: [n_cols, k], [n_cols] x 2 */
} Block;

/* A list still filling up would take, and score exactly, dozens of a
 * block's candidates; the block's own k-th best sgemm score bounds that: a
 * candidate more than the margin below it has k better ones in this very
 * block. Found only while lists fill (the first block on each side). */
static float
row_floor (const float *ci, int64_t n, int k, float margin)
{
  float best[FS_MATCH_MAX_K];
  int64_t j = 0;

  for (int m = 0; m < k; m++)
    best[m] = -INFINITY;
  for (; j + LANES <= n; j += LANES)
    if (any_above (ci + j, best[k - 1]))
      for (int l = 0; l < LANES; l++)
        keep_largest (best, k, ci[j + l]);
  for (; j < n; j++)
    keep_largest (best, k, ci[j]);
  return best[k - 1] - margin;
}

static inline void
row_candidate (TopK *top, const Block *blk, int64_t i, int64_t j, float floor, float *gate)
{
  int64_t row = blk->row0 + i;
  if (G_LIKELY (!(blk->c[i * blk->n_cols + j] > *gate)))
    return;
  top_k_offer (top, row, blk->col0 + j,
               unit_dot (blk->a + i * blk->d, blk->b + j * blk->d, blk->d));
  *gate = MAX (top->gate[row], floor);
}

/* Each row's list against the block's columns. */
static void
scan_rows (TopK *top, const Block *blk)
{
  for (int64_t i = 0; i < blk->n_rows; i++)
    {
      const float *ci = blk->c + i * blk->n_cols;
      int64_t row = blk->row0 + i, j = 0;
      float floor = top->n[row] < top->k
                    ? row_floor (ci, blk->n_cols, top->k, top->margin) : -INFINITY;
      float gate = MAX (top->gate[row], floor);

      for (; j + LANES <= blk->n_cols; j += LANES)
        if (G_UNLIKELY (any_above (ci + j, gate)))
          for (int l = 0; l < LANES; l++)
            row_candidate (top, blk, i, j + l, floor, &gate);
      for (; j < blk->n_cols; j++)
        row_candidate (top, blk, i, j, floor, &gate);
    }
}

/* Column j's k best so far in best[j * k..], its k-th also in last[j]. */
static inline void
column_keep (float *best, float *last, int k, int64_t j, float s)
{
  if (!(s > last[j]))
    return;
  keep_largest (best + j * k, k, s);
  last[j] = best[j * k + k - 1];
}

/* row_floor for every column of the block at once, into blk->floor. */
static void
column_floors (const Block *blk, int k, float margin)
{
  float *best = blk->best, *last = blk->floor;

  for (int64_t j = 0; j < blk->n_cols * k; j++)
    best[j] = -INFINITY;
  for (int64_t j = 0; j < blk->n_cols; j++)
    last[j] = -INFINITY;
  for (int64_t i = 0; i < blk->n_rows; i++)
    {
      const float *ci = blk->c + i * blk->n_cols;
      int64_t j = 0;
      for (; j + LANES <= blk->n_cols; j += LANES)
        if (any_above_each (ci + j, last + j))
          for (int l = 0; l < LANES; l++)
            column_keep (best, last, k, j + l, ci[j + l]);
      for (; j < blk->n_cols; j++)
        column_keep (best, last, k, j, ci[j]);
    }
  for (int64_t j = 0; j < blk->n_cols; j++)
    last[j] -= margin;
}

static inline void
column_candidate (TopK *top, const Block *blk, int64_t i, int64_t j)
{
  if (G_LIKELY (!(blk->c[i * blk->n_cols + j] > blk->gate[j])))
    return;
  top_k_offer (top, blk->col0 + j, blk->row0 + i,
               unit_dot (blk->a + i * blk->d, blk->b + j * blk->d, blk->d));
  blk->gate[j] = MAX (top->gate[blk->col0 + j], blk->floor[j]);
}

/* The same block read by columns, for the columns' lists against its rows,
 * walked in memory order with a floor and a gate per column. */
static void
scan_columns (TopK *top, const Block *blk)
{
  gboolean filling = FALSE;
  for (int64_t j = 0; j < blk->n_cols; j++)
    filling |= top->n[blk->col0 + j] < top->k;
  if (filling)
    column_floors (blk, top->k, top->margin);
  for (int64_t j = 0; j < blk->n_cols; j++)
    {
      if (!filling)
        blk->floor[j] = -INFINITY;
      blk->gate[j] = MAX (top->gate[blk->col0 + j], blk->floor[j]);
    }

  for (int64_t i = 0; i < blk->n_rows; i++)
    {
      const float *ci = blk->c + i * blk->n_cols;
      int64_t j = 0;
      for (; j + LANES <= blk->n_cols; j += LANES)
        if (G_UNLIKELY (any_above_each (ci + j, blk->gate + j)))
          for (int l = 0; l < LANES; l++)
            column_candidate (top, blk, i, j + l);
      for (; j < blk->n_cols; j++)
        column_candidate (top, blk, i, j);
    }
}

/* ------------------------------------------------------------ products */

/* One product U_a U_b^T: it fills the plan relation of a's rows against b,
 * and, for a pair of residuals, the one of b's rows against a. */
typedef struct {
  FsSae  *a, *b;
  int     row_relation;
  int     column_relation;   /* -1 when none */
  double  work;              /* multiply-adds */
} Product;

static GArray *
plan_products (FsMapPlan *plan)
{
  GArray *products = g_array_new (FALSE, TRUE, sizeof (Product));

  for (guint i = 0; i < plan->relations->len; i++)
    {
      const FsMapPlanRelation *rel = &g_array_index (plan->relations, FsMapPlanRelation, i);
      Product product = { rel->source, rel->target, (int) i, -1,
                          (double) rel->info.rows * (double) rel->info.target_rows
                          * (double) fs_sae_get_d_in (rel->source) };

      /* (L-1)/res x L/res was made for the "next" of the layer below. */
      if (rel->info.relation == FS_MAP_PREV_RES
          && fs_map_plan_find (plan, rel->info.target_layer, FS_MAP_NEXT_RES) >= 0)
        continue;
      if (rel->info.relation == FS_MAP_NEXT_RES)
        product.column_relation = fs_map_plan_find (plan, rel->info.target_layer,
                                                    FS_MAP_PREV_RES);
      g_array_append_val (products, product);
    }
  return products;
}

static char *
product_name (const Product *product)
{
  g_autofree char *a = fs_position_id (fs_sae_get_layer (product->a),
                                       fs_sae_get_site (product->a));
  g_autofree char *b = fs_position_id (fs_sae_get_layer (product->b),
                                       fs_sae_get_site (product->b));
  return g_strdup_printf ("%s x %s", a, b);
}

typedef struct {
  FsMapProgress  callback;
  gpointer       user_data;
  double         done, total;
} Progress;

static void
report (Progress *progress, const char *message)
{
  if (progress->callback != NULL)
    progress->callback (progress->total > 0 ? MIN (progress->done / progress->total, 1.0) : 1.0,
                        message, progress->user_data);
}

/* Scratch for the products: blocks of unit rows of a and b, their scores,
 * and scan_columns' state. */
typedef struct {
  int64_t  a_rows, b_rows;
  float   *a, *b, *c, *best, *floor, *gate;
} Blocks;

static void
blocks_init (Blocks *blocks, int64_t b_rows, int64_t d_max)
{
  /* Taller blocks of a mean fewer passes over b, each converting it again. */
  blocks->a_rows = 2 * b_rows;
  blocks->b_rows = b_rows;
  blocks->a = g_new (float, (size_t) (blocks->a_rows * d_max));
  blocks->b = g_new (float, (size_t) (b_rows * d_max));
  blocks->c = g_new (float, (size_t) (blocks->a_rows * b_rows));
  blocks->best = g_new (float, (size_t) (b_rows * FS_MATCH_MAX_K));
  blocks->floor = g_new (float, (size_t) b_rows);
  blocks->gate = g_new (float, (size_t) b_rows);
}

static void
blocks_clear (Blocks *blocks)
{
  g_clear_pointer (&blocks->a, g_free);
  g_clear_pointer (&blocks->b, g_free);
  g_clear_pointer (&blocks->c, g_free);
  g_clear_pointer (&blocks->best, g_free);
  g_clear_pointer (&blocks->floor, g_free);
  g_clear_pointer (&blocks->gate, g_free);
}

static gboolean
compute_product (const Product *product, Blocks *blocks, TopK *rows, TopK *columns,
                 Progress *progress, const char *name, GCancellable *cancellable,
                 GError **error)
{
  int64_t n_a = fs_sae_get_d_sae (product->a), n_b = fs_sae_get_d_sae (product->b);
  int64_t d = fs_sae_get_d_in (product->a);
  Block blk = { .c = blocks->c, .a = blocks->a, .b = blocks->b, .d = d,
                .best = blocks->best, .floor = blocks->floor, .gate = blocks->gate };

  for (blk.row0 = 0; blk.row0 < n_a; blk.row0 += blocks->a_rows)
    {
      blk.n_rows = MIN (blocks->a_rows, n_a - blk.row0);
      fs_sae_read_unit_decoder_rows (product->a, blk.row0, blk.n_rows, blocks->a);
      for (blk.col0 = 0; blk.col0 < n_b; blk.col0 += blocks->b_rows)
        {
          blk.n_cols = MIN (blocks->b_rows, n_b - blk.col0);
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          fs_sae_read_unit_decoder_rows (product->b, blk.col0, blk.n_cols, blocks->b);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (blasint) blk.n_rows,
                       (blasint) blk.n_cols, (blasint) d, 1.0f, blocks->a, (blasint) d,
                       blocks->b, (blasint) d, 0.0f, blocks->c, (blasint) blk.n_cols);
          scan_rows (rows, &blk);
          if (columns != NULL)
            scan_columns (columns, &blk);
          progress->done += (double) blk.n_rows * (double) blk.n_cols * (double) d;
          report (progress, name);
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------ the partial file */

static gboolean
io_fail (GError **error, const char *path, int saved_errno)
{
  return fs_fail (error, FS_ERROR_IO, path, "%s", g_strerror (saved_errno));
}

static gboolean
write_at (int fd, const void *data, size_t n, guint64 offset)
{
  const uint8_t *p = data;
  while (n > 0)
    {
      ssize_t written = pwrite (fd, p, n, (off_t) offset);
      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      p += written, n -= (size_t) written, offset += (guint64) written;
    }
  return TRUE;
}

static gboolean
read_at (int fd, void *data, size_t n, guint64 offset)
{
  uint8_t *p = data;
  while (n > 0)
    {
      ssize_t got = pread (fd, p, n, (off_t) offset);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return FALSE;
      p += got, n -= (size_t) got, offset += (guint64) got;
    }
  return TRUE;
}

/* Writes n 32-bit words little-endian. */
static gboolean
write_words_at (int fd, const void *words, size_t n, guint64 offset)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return write_at (fd, words, n * 4, offset);
#else
  g_autofree guint32 *copy = g_memdup2 (words, n * 4);
  for (size_t i = 0; i < n; i++)
    copy[i] = GUINT32_TO_LE (copy[i]);
  return write_at (fd, copy, n * 4, offset);
#endif
}

static guint64
flags_offset (FsMapPlan *plan, guint relation)
{
  return plan->relations_offset + (guint64) relation * FS_MAP_RELATION_SIZE
         + FS_MAP_RELATION_FLAGS_AT;
}

/* Whether the file open on `fd` is a partial map of this very plan (same
 * set, same K: the same bytes apart from the flags); notes which relations
 * it completed. */
static gboolean
partial_matches (int fd, FsMapPlan *plan, gboolean *complete)
{
  struct stat st;
  if (fstat (fd, &st) != 0 || (guint64) st.st_size != plan->file_size)
    return FALSE;
  g_autofree uint8_t *head = g_malloc (plan->head->len);
  if (!read_at (fd, head, plan->head->len, 0))
    return FALSE;
  for (guint i = 0; i < plan->relations->len; i++)
    {
      uint8_t *flags = head + flags_offset (plan, i);
      guint32 value = fs_map_get_u32 (flags);
      if (value & ~FS_MAP_FLAG_COMPLETE)
        return FALSE;
      complete[i] = value == FS_MAP_FLAG_COMPLETE;
      fs_map_put_u32 (flags, 0);
    }
  return memcmp (head, plan->head->data, plan->head->len) == 0;
}

/* Opens `path` to write the map of `plan`, resuming it when it is the
 * partial file of an earlier run with the same set and K. */
static int
open_partial (FsMapPlan *plan, const char *path, gboolean *complete, gboolean *resumed,
              GError **error)
{
  int fd = g_open (path, O_RDWR | O_CLOEXEC, 0);
  if (fd >= 0 && partial_matches (fd, plan, complete))
    {
      *resumed = TRUE;
      return fd;
    }
  if (fd >= 0)
    close (fd);

  *resumed = FALSE;
  memset (complete, 0, plan->relations->len * sizeof *complete);
  fd = g_open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      io_fail (error, path, errno);
      return -1;
    }
  if (!write_at (fd, plan->head->data, plan->head->len, 0)
      || ftruncate (fd, (off_t) plan->file_size) != 0)
    {
      int saved = errno;
      close (fd);
      io_fail (error, path, saved);
      return -1;
    }
  return fd;
}

/* Writes one relation's lists; it is marked complete later, once on disk. */
static gboolean
write_relation (int fd, FsMapPlan *plan, int relation, const TopK *top)
{
  const FsMapPlanRelation *rel = &g_array_index (plan->relations, FsMapPlanRelation,
                                                 relation);
  size_t n = (size_t) rel->info.rows * (size_t) plan->k;
  g_autofree int32_t *indices = g_new (int32_t, MAX (n, 1));
  g_autofree float *scores = g_new (float, MAX (n, 1));

  for (int64_t row = 0; row < rel->info.rows; row++)
    for (int m = 0; m < plan->k; m++)
      {
        size_t at = (size_t) row * (size_t) plan->k + (size_t) m;
        gboolean used = m < top->n[row];
        indices[at] = used ? (int32_t) top->lists[at].index : -1;
        scores[at] = used ? top->lists[at].score : 0.0f;
      }
  return write_words_at (fd, indices, n, rel->indices_offset)
         && write_words_at (fd, scores, n, rel->scores_offset);
}

static gboolean
mark_complete (int fd, FsMapPlan *plan, int relation)
{
  uint8_t flags[4];
  fs_map_put_u32 (flags, FS_MAP_FLAG_COMPLETE);
  return write_at (fd, flags, sizeof flags, flags_offset (plan, (guint) relation));
}

/* Computes one product and stores its relations: data, then (after fsync,
 * so that a crash can never leave a complete flag over missing data) flags. */
static gboolean
run_product (const Product *product, FsMapPlan *plan, int fd, const char *partial,
             Blocks *blocks, Progress *progress, GCancellable *cancellable, GError **error)
{
  g_autofree char *name = product_name (product);
  TopK rows, columns;
  gboolean ok;

  float margin = selection_margin (fs_sae_get_d_in (product->a));

  report (progress, name);
  top_k_init (&rows, fs_sae_get_d_sae (product->a), plan->k, margin);
  if (product->column_relation >= 0)
    top_k_init (&columns, fs_sae_get_d_sae (product->b), plan->k, margin);
  ok = compute_product (product, blocks, &rows,
                        product->column_relation >= 0 ? &columns : NULL, progress, name,
                        cancellable, error);
  if (ok)
    {
      ok = write_relation (fd, plan, product->row_relation, &rows)
           && (product->column_relation < 0
               || write_relation (fd, plan, product->column_relation, &columns))
           && fsync (fd) == 0
           && mark_complete (fd, plan, product->row_relation)
           && (product->column_relation < 0
               || mark_complete (fd, plan, product->column_relation));
      if (!ok)
        io_fail (error, partial, errno);
    }
  top_k_clear (&rows);
  if (product->column_relation >= 0)
    top_k_clear (&columns);
  return ok;
}

static int
block_rows (void)
{
  const char *text = g_getenv ("FLOWSCOPE_MAP_BLOCK");
  gint64 value = text != NULL ? g_ascii_strtoll (text, NULL, 10) : 0;
  return value >= 1 && value <= MAX_BLOCK_ROWS ? (int) value : DEFAULT_BLOCK_ROWS;
}

gboolean
fs_match_all (FsSae *source, FsSae *target, int k, FsMatch *matches, int *counts,
              GCancellable *cancellable, GError **error)
{
  Product product = { source, target, 0, -1, 0 };
  Progress progress = { 0 };
  Blocks blocks;
  TopK rows;

  g_return_val_if_fail (k >= 1 && k <= FS_MATCH_MAX_K, FALSE);
  if (!fs_match_check_compatible (source, target, error))
    return FALSE;
  if (fs_sae_is_hook_z (target))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, fs_sae_get_path (target),
                    "all-pairs matching of attention heads' SAEs is not supported: "
                    "match their features one at a time (flow graphs do)");

  g_autofree char *name = product_name (&product);
  blocks_init (&blocks, block_rows (), fs_sae_get_d_in (source));
  top_k_init (&rows, fs_sae_get_d_sae (source), k, selection_margin (fs_sae_get_d_in (source)));
  gboolean ok = compute_product (&product, &blocks, &rows, NULL, &progress, name, cancellable,
                                 error);
  if (ok)
    {
      memcpy (matches, rows.lists, (size_t) fs_sae_get_d_sae (source) * k * sizeof (FsMatch));
      memcpy (counts, rows.n, (size_t) fs_sae_get_d_sae (source) * sizeof (int));
    }
  top_k_clear (&rows);
  blocks_clear (&blocks);
  return ok;
}

static gboolean
is_complete (const Product *product, const gboolean *complete)
{
  return complete[product->row_relation]
         && (product->column_relation < 0 || complete[product->column_relation]);
}

gboolean
fs_flow_map_compute (FsSaeSet *set, const char *path, int k, FsMapProgress progress,
                     gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (set != NULL && path != NULL, FALSE);
  if (k < 1 || k > FS_MATCH_MAX_K)
    return fs_fail (error, FS_ERROR_INVALID, path, "top-k is %d, not between 1 and %d", k,
                    FS_MATCH_MAX_K);

  g_autoptr(FsMapPlan) plan = fs_map_plan_new (set, k);
  g_autoptr(GArray) products = plan_products (plan);
  g_autofree char *partial = g_strconcat (path, ".partial", NULL);
  g_autofree gboolean *complete = g_new0 (gboolean, MAX (plan->relations->len, 1));
  Progress state = { progress, user_data, 0, 0 };
  Blocks blocks = { 0 };
  int64_t d_max = 1;
  guint n_done = 0;
  gboolean resumed;
  g_autoptr(GError) local_error = NULL;

  int fd = open_partial (plan, partial, complete, &resumed, error);
  if (fd < 0)
    return FALSE;
  for (guint i = 0; i < products->len; i++)
    {
      const Product *product = &g_array_index (products, Product, i);
      state.total += product->work;
      d_max = MAX (d_max, fs_sae_get_d_in (product->a));
      if (is_complete (product, complete))
        {
          state.done += product->work;
          n_done++;
        }
    }
  if (resumed)
    {
      g_autofree char *message = g_strdup_printf ("resuming %s: %u of %u pairs done",
                                                  partial, n_done, products->len);
      report (&state, message);
    }

  if (n_done < products->len)
    blocks_init (&blocks, block_rows (), d_max);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < products->len; i++)
    {
      const Product *product = &g_array_index (products, Product, i);
      if (!is_complete (product, complete))
        ok = run_product (product, plan, fd, partial, &blocks, &state, cancellable,
                          &local_error);
    }
  blocks_clear (&blocks);

  if (ok && fsync (fd) != 0)
    ok = io_fail (&local_error, partial, errno);
  if (close (fd) != 0 && ok)
    ok = io_fail (&local_error, partial, errno);
  if (ok && g_rename (partial, path) != 0)
    ok = io_fail (&local_error, path, errno);
  if (ok)
    {
      report (&state, "done");
      return TRUE;
    }
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                 "%s: cancelled; %s keeps the finished pairs, and computing the same "
                 "map again resumes from it", path, partial);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}
