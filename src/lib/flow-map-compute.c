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
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-error.h"

/* Rows per block on each side. sgemm runs near its peak from about a
 * thousand rows on; at d_in = 2304, F32 blocks of 2048 rows and their
 * 2048 x 2048 product hold about 55 MB. FLOWSCOPE_MAP_BLOCK overrides it
 * (tests use small blocks to cross block edges). */
#define DEFAULT_BLOCK_ROWS 2048
#define MAX_BLOCK_ROWS     8192

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

/* Rows row0 + i (unit rows a, [n_rows, d]) against candidates col0 + j (unit
 * rows b, [n_cols, d]), c = a b^T. The gate almost always holds a score
 * back: per score, a load, a compare and a predictable branch. */
static void
scan_rows (TopK *top, int64_t row0, const float *c, int64_t n_rows, int64_t n_cols,
           int64_t col0, const float *a, const float *b, int64_t d)
{
  for (int64_t i = 0; i < n_rows; i++)
    {
      const float *ci = c + i * n_cols;
      float gate = top->gate[row0 + i];
      for (int64_t j = 0; j < n_cols; j++)
        if (G_UNLIKELY (ci[j] > gate))
          {
            top_k_offer (top, row0 + i, col0 + j, unit_dot (a + i * d, b + j * d, d));
            gate = top->gate[row0 + i];
          }
    }
}

/* The same block read by columns: the lists of col0 + j against candidates
 * row0 + i, walked in memory order with a gate per column. */
static void
scan_columns (TopK *top, int64_t col0, const float *c, int64_t n_rows, int64_t n_cols,
              int64_t row0, const float *a, const float *b, int64_t d)
{
  float *gate = top->gate + col0;
  for (int64_t i = 0; i < n_rows; i++)
    {
      const float *ci = c + i * n_cols;
      for (int64_t j = 0; j < n_cols; j++)
        if (G_UNLIKELY (ci[j] > gate[j]))
          top_k_offer (top, col0 + j, row0 + i, unit_dot (a + i * d, b + j * d, d));
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

/* Scratch for one block product: row blocks of a and b, and their scores. */
typedef struct {
  int    block;
  float *a, *b, *c;
} Blocks;


static gboolean
compute_product (const Product *product, Blocks *blocks, TopK *rows, TopK *columns,
                 Progress *progress, const char *name, GCancellable *cancellable,
                 GError **error)
{
  int64_t n_a = fs_sae_get_d_sae (product->a), n_b = fs_sae_get_d_sae (product->b);
  int64_t d = fs_sae_get_d_in (product->a), block = blocks->block;

  /* b's blocks arrive in index order within each pass over a, and a's blocks
   * in index order across passes: both scans see candidates in order. */
  for (int64_t a0 = 0; a0 < n_a; a0 += block)
    {
      int64_t na = MIN (block, n_a - a0);
      fs_sae_read_unit_decoder_rows (product->a, a0, na, blocks->a);
      for (int64_t b0 = 0; b0 < n_b; b0 += block)
        {
          int64_t nb = MIN (block, n_b - b0);
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          fs_sae_read_unit_decoder_rows (product->b, b0, nb, blocks->b);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (blasint) na, (blasint) nb,
                       (blasint) d, 1.0f, blocks->a, (blasint) d, blocks->b, (blasint) d,
                       0.0f, blocks->c, (blasint) nb);
          scan_rows (rows, a0, blocks->c, na, nb, b0, blocks->a, blocks->b, d);
          if (columns != NULL)
            scan_columns (columns, b0, blocks->c, na, nb, a0, blocks->a, blocks->b, d);
          progress->done += (double) na * (double) nb * (double) d;
          report (progress, name);
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------ the partial file */

static gboolean
io_fail (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", path, g_strerror (saved_errno));
  return FALSE;
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
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID, "%s: top-k is %d, not between 1 and %d",
                   path, k, FS_MATCH_MAX_K);
      return FALSE;
    }

  g_autoptr(FsMapPlan) plan = fs_map_plan_new (set, k);
  g_autoptr(GArray) products = plan_products (plan);
  g_autofree char *partial = g_strconcat (path, ".partial", NULL);
  g_autofree gboolean *complete = g_new0 (gboolean, MAX (plan->relations->len, 1));
  Progress state = { progress, user_data, 0, 0 };
  Blocks blocks = { block_rows (), NULL, NULL, NULL };
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

  blocks.a = g_new (float, (size_t) blocks.block * (size_t) d_max);
  blocks.b = g_new (float, (size_t) blocks.block * (size_t) d_max);
  blocks.c = g_new (float, (size_t) blocks.block * (size_t) blocks.block);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < products->len; i++)
    {
      const Product *product = &g_array_index (products, Product, i);
      if (!is_complete (product, complete))
        ok = run_product (product, plan, fd, partial, &blocks, &state, cancellable,
                          &local_error);
    }
  g_free (blocks.a);
  g_free (blocks.b);
  g_free (blocks.c);

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
                 "%s: cancelled; %s keeps the finished pairs and the same run resumes "
                 "from it", path, partial);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}
