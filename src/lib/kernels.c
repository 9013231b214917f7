#include "kernels.h"

#include <cblas.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86 1
#define AVX2 __attribute__ ((target ("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__ ((target ("avx2,fma,f16c"), always_inline)) static inline
#endif

/* Rows converted per block for the general path (strided or F64 views). */
#define ROW_BLOCK 64
/* Matmul tiles: MR rows of the input times NR columns of the weights,
 * summed over KB weights rows at a time (a packed panel of KB x NR floats
 * stays in the L1 cache). */
#define MR 6
#define NR 16
#define KB 256
/* Columns one thread accumulates at a time in the transposed matvec: the
 * partial sums stay in the L1 cache while the weight rows stream past. */
#define COLUMN_TILE 1024
/* Below this many multiply-adds a parallel region costs more than it saves. */
#define PARALLEL_MIN (64 * 1024)

/* Every loop below gives each output element to one thread and sums it in
 * a fixed order, so results do not depend on the number of threads. */

static inline float
load_f32 (FsDtype dtype, const uint8_t *data, int64_t j)
{
  uint16_t h;
  float v;
  switch (dtype)
    {
    case FS_DTYPE_F32:
      memcpy (&v, data + 4 * j, 4);
      return v;
    case FS_DTYPE_BF16:
      memcpy (&h, data + 2 * j, 2);
      return fs_bf16_to_f32 (h);
    case FS_DTYPE_F16:
      memcpy (&h, data + 2 * j, 2);
      return fs_f16_to_f32 (h);
    default:
      return fs_dtype_read (dtype, data, (size_t) j);
    }
}

/* ---------------------------------------------------------------- portable */

static float
dot_portable (FsDtype dtype, const uint8_t *row, const float *x, int64_t n)
{
  float sum = 0;
  for (int64_t j = 0; j < n; j++)
    sum += load_f32 (dtype, row, j) * x[j];
  return sum;
}

static void
to_f32_portable (FsDtype dtype, const uint8_t *data, int64_t n, float *out)
{
  for (int64_t j = 0; j < n; j++)
    out[j] = load_f32 (dtype, data, j);
}

/* y[j] += a * row[j] for j < n. */
static void
axpy_portable (FsDtype dtype, float a, const uint8_t *row, int64_t n, float *y)
{
  for (int64_t j = 0; j < n; j++)
    y[j] += a * load_f32 (dtype, row, j);
}

static void
columns_portable (FsDtype dtype, const uint8_t *base, size_t row_bytes, const float *x,
                  int64_t rows, int64_t width, float *y)
{
  memset (y, 0, (size_t) width * sizeof (float));
  for (int64_t i = 0; i < rows; i++)
    axpy_portable (dtype, x[i], base + (size_t) i * row_bytes, width, y);
}

/* c[m, NR] (=, or += when accumulate) a[m, kb] (row stride lda) @ b[kb, NR]
 * (row stride ldb). */
static void
tile_portable (int m, const float *a, int64_t lda, const float *b, int64_t ldb, int64_t kb,
               float *c, int64_t ldc, int width, gboolean accumulate)
{
  float acc[MR][NR] = { { 0 } };
  for (int64_t k = 0; k < kb; k++)
    for (int r = 0; r < m; r++)
      for (int j = 0; j < NR; j++)
        acc[r][j] += a[r * lda + k] * b[k * ldb + j];
  for (int r = 0; r < m; r++)
    for (int j = 0; j < width; j++)
      c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

/* ---------------------------------------------------------------- AVX2 */

#ifdef HAVE_X86
AVX2_INLINE __m256
load8 (FsDtype dtype, const uint8_t *p)
{
  if (dtype == FS_DTYPE_F32)
    return _mm256_loadu_ps ((const float *) p);
  __m128i h = _mm_loadu_si128 ((const __m128i *) p);
  if (dtype == FS_DTYPE_BF16)
    return _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_cvtepu16_epi32 (h), 16));
  return _mm256_cvtph_ps (h);
}

AVX2_INLINE float
hsum (__m256 v)
{
  __m128 s = _mm_add_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));
  s = _mm_hadd_ps (s, s);
  s = _mm_hadd_ps (s, s);
  return _mm_cvtss_f32 (s);
}

AVX2_INLINE float
dot_body (FsDtype dtype, const uint8_t *row, const float *x, int64_t n)
{
  size_t size = dtype == FS_DTYPE_F32 ? 4 : 2;
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    {
      acc0 = _mm256_fmadd_ps (load8 (dtype, row + size * j), _mm256_loadu_ps (x + j), acc0);
      acc1 = _mm256_fmadd_ps (load8 (dtype, row + size * (j + 8)), _mm256_loadu_ps (x + j + 8),
                              acc1);
    }
  return hsum (_mm256_add_ps (acc0, acc1)) + dot_portable (dtype, row + size * j, x + j, n - j);
}

AVX2_INLINE void
to_f32_body (FsDtype dtype, const uint8_t *data, int64_t n, float *out)
{
  size_t size = dtype == FS_DTYPE_F32 ? 4 : 2;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps (out + j, load8 (dtype, data + size * j));
  to_f32_portable (dtype, data + size * j, n - j, out + j);
}

/* y[0..width) = sum_i x[i] row_i[0..width), four rows per pass over y. */
AVX2_INLINE void
columns_body (FsDtype dtype, const uint8_t *base, size_t row_bytes, const float *x,
              int64_t rows, int64_t width, float *y)
{
  size_t size = dtype == FS_DTYPE_F32 ? 4 : 2;
  int64_t i = 0, vec = width - width % 8;

  memset (y, 0, (size_t) width * sizeof (float));
  for (; i + 4 <= rows; i += 4)
    {
      const uint8_t *p0 = base + (size_t) i * row_bytes, *p1 = p0 + row_bytes;
      const uint8_t *p2 = p1 + row_bytes, *p3 = p2 + row_bytes;
      __m256 x0 = _mm256_set1_ps (x[i]), x1 = _mm256_set1_ps (x[i + 1]);
      __m256 x2 = _mm256_set1_ps (x[i + 2]), x3 = _mm256_set1_ps (x[i + 3]);
      for (int64_t j = 0; j < vec; j += 8)
        {
          __m256 acc = _mm256_loadu_ps (y + j);
          acc = _mm256_fmadd_ps (x0, load8 (dtype, p0 + size * j), acc);
          acc = _mm256_fmadd_ps (x1, load8 (dtype, p1 + size * j), acc);
          acc = _mm256_fmadd_ps (x2, load8 (dtype, p2 + size * j), acc);
          acc = _mm256_fmadd_ps (x3, load8 (dtype, p3 + size * j), acc);
          _mm256_storeu_ps (y + j, acc);
        }
      for (int r = 0; r < 4; r++)
        axpy_portable (dtype, x[i + r], base + (size_t) (i + r) * row_bytes + size * vec,
                       width - vec, y + vec);
    }
  for (; i < rows; i++)
    {
      const uint8_t *p = base + (size_t) i * row_bytes;
      __m256 xi = _mm256_set1_ps (x[i]);
      for (int64_t j = 0; j < vec; j += 8)
        _mm256_storeu_ps (y + j, _mm256_fmadd_ps (xi, load8 (dtype, p + size * j),
                                                  _mm256_loadu_ps (y + j)));
      axpy_portable (dtype, x[i], p + size * vec, width - vec, y + vec);
    }
}

/* The dtype is a constant in each of these, so the loads are specialised. */
#define SPECIALISE(dtype, suffix) \
  AVX2 static float dot_##suffix (FsDtype d, const uint8_t *r, const float *x, int64_t n) \
  { return dot_body (dtype, r, x, n); } \
  AVX2 static void to_f32_##suffix (FsDtype d, const uint8_t *p, int64_t n, float *o) \
  { to_f32_body (dtype, p, n, o); } \
  AVX2 static void columns_##suffix (FsDtype d, const uint8_t *b, size_t rb, const float *x, \
                                     int64_t rows, int64_t w, float *y) \
  { columns_body (dtype, b, rb, x, rows, w, y); }
SPECIALISE (FS_DTYPE_F32, f32)
SPECIALISE (FS_DTYPE_BF16, bf16)
SPECIALISE (FS_DTYPE_F16, f16)
#undef SPECIALISE

AVX2_INLINE void
store_row (float *cr, __m256 lo, __m256 hi, int width, gboolean accumulate)
{
  if (width == NR)
    {
      if (accumulate)
        {
          lo = _mm256_add_ps (_mm256_loadu_ps (cr), lo);
          hi = _mm256_add_ps (_mm256_loadu_ps (cr + 8), hi);
        }
      _mm256_storeu_ps (cr, lo);
      _mm256_storeu_ps (cr + 8, hi);
      return;
    }
  float out[NR] __attribute__ ((aligned (32)));
  _mm256_store_ps (out, lo);
  _mm256_store_ps (out + 8, hi);
  for (int j = 0; j < width; j++)
    cr[j] = accumulate ? cr[j] + out[j] : out[j];
}

/* The micro-kernel: m (<= MR) rows times NR = 16 columns, in 2m named
 * registers (m is a constant wherever this is inlined). */
AVX2_INLINE void
tile_body (int m, const float *a, int64_t lda, const float *b, int64_t ldb, int64_t kb,
           float *c, int64_t ldc, int width, gboolean accumulate)
{
  __m256 c00 = _mm256_setzero_ps (), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;

  for (int64_t k = 0; k < kb; k++)
    {
      __m256 b0 = _mm256_loadu_ps (b + k * ldb), b1 = _mm256_loadu_ps (b + k * ldb + 8);
#define ROW(r, lo, hi) \
      if (m > r) \
        { \
          __m256 ar = _mm256_broadcast_ss (a + r * lda + k); \
          lo = _mm256_fmadd_ps (ar, b0, lo); \
          hi = _mm256_fmadd_ps (ar, b1, hi); \
        }
      ROW (0, c00, c01) ROW (1, c10, c11) ROW (2, c20, c21)
      ROW (3, c30, c31) ROW (4, c40, c41) ROW (5, c50, c51)
#undef ROW
    }
  store_row (c, c00, c01, width, accumulate);
  if (m > 1) store_row (c + ldc, c10, c11, width, accumulate);
  if (m > 2) store_row (c + 2 * ldc, c20, c21, width, accumulate);
  if (m > 3) store_row (c + 3 * ldc, c30, c31, width, accumulate);
  if (m > 4) store_row (c + 4 * ldc, c40, c41, width, accumulate);
  if (m > 5) store_row (c + 5 * ldc, c50, c51, width, accumulate);
}

/* One copy per row count, so that the accumulators stay in registers. */
AVX2 static void
tile_avx2 (int m, const float *a, int64_t lda, const float *b, int64_t ldb, int64_t kb,
           float *c, int64_t ldc, int width, gboolean accumulate)
{
  switch (m)
    {
    case 1: tile_body (1, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    case 2: tile_body (2, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    case 3: tile_body (3, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    case 4: tile_body (4, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    case 5: tile_body (5, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    default: tile_body (6, a, lda, b, ldb, kb, c, ldc, width, accumulate); break;
    }
}

AVX2 static void
axpy_avx2 (float alpha, const float *x, float *y, int64_t n)
{
  __m256 va = _mm256_set1_ps (alpha);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps (y + j, _mm256_fmadd_ps (va, _mm256_loadu_ps (x + j),
                                              _mm256_loadu_ps (y + j)));
  for (; j < n; j++)
    y[j] += alpha * x[j];
}

/* AVX2, FMA and F16C, and an OS that saves the AVX registers. Asked of
 * CPUID directly: clang's __builtin_cpu_supports does not know "f16c". */
static gboolean
has_avx2_fma_f16c (void)
{
  unsigned a, b, c, d, xcr0_lo, xcr0_hi;
  if (!__get_cpuid (1, &a, &b, &c, &d))
    return FALSE;
  gboolean fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  gboolean f16c = (c >> 29) & 1;
  if (!(fma && osxsave && avx && f16c))
    return FALSE;
  __asm__ ("xgetbv" : "=a" (xcr0_lo), "=d" (xcr0_hi) : "c" (0));
  if ((xcr0_lo & 6) != 6)
    return FALSE;
  return __get_cpuid_count (7, 0, &a, &b, &c, &d) && ((b >> 5) & 1);
}
#endif

static void
axpy_f32_portable (float alpha, const float *x, float *y, int64_t n)
{
  for (int64_t j = 0; j < n; j++)
    y[j] += alpha * x[j];
}

/* ---------------------------------------------------------------- dispatch */

typedef float (*Dot) (FsDtype, const uint8_t *, const float *, int64_t);
typedef void (*ToF32) (FsDtype, const uint8_t *, int64_t, float *);
typedef void (*Columns) (FsDtype, const uint8_t *, size_t, const float *, int64_t, int64_t,
                         float *);
typedef void (*Tile) (int, const float *, int64_t, const float *, int64_t, int64_t, float *,
                      int64_t, int, gboolean);

typedef struct {
  Dot   dot;
  ToF32 to_f32;
  Columns columns;
} Loops;

typedef void (*AxpyF32) (float, const float *, float *, int64_t);

typedef struct {
  Loops   f32, bf16, f16;
  Tile    tile;
  AxpyF32 axpy;
} Kernels;

static const Kernels *
kernels (void)
{
  static const Kernels portable = {
    { dot_portable, to_f32_portable, columns_portable },
    { dot_portable, to_f32_portable, columns_portable },
    { dot_portable, to_f32_portable, columns_portable },
    tile_portable,
    axpy_f32_portable,
  };
#ifdef HAVE_X86
  static const Kernels avx2 = {
    { dot_f32, to_f32_f32, columns_f32 },
    { dot_bf16, to_f32_bf16, columns_bf16 },
    { dot_f16, to_f32_f16, columns_f16 },
    tile_avx2,
    axpy_avx2,
  };
#endif
  static gsize chosen;

  if (g_once_init_enter (&chosen))
    {
      const Kernels *k = &portable;
#ifdef HAVE_X86
      if (has_avx2_fma_f16c ())
        k = &avx2;
#endif
      g_once_init_leave (&chosen, (gsize) k);
    }
  return (const Kernels *) chosen;
}

/* The loops for a stored dtype; F64 goes through the portable ones. */
static const Loops *
loops (FsDtype dtype)
{
  static const Loops portable = { dot_portable, to_f32_portable, columns_portable };
  switch (dtype)
    {
    case FS_DTYPE_F32: return &kernels ()->f32;
    case FS_DTYPE_BF16: return &kernels ()->bf16;
    case FS_DTYPE_F16: return &kernels ()->f16;
    default: return &portable;
    }
}

static gboolean
is_half (FsDtype dtype)
{
  return dtype == FS_DTYPE_F16 || dtype == FS_DTYPE_BF16;
}

void
fs_kernel_to_f32 (FsDtype dtype, const uint8_t *data, int64_t n, float *out)
{
  loops (dtype)->to_f32 (dtype, data, n, out);
}

float
fs_kernel_dot (const float *a, const float *b, int64_t n)
{
  return kernels ()->f32.dot (FS_DTYPE_F32, (const uint8_t *) a, b, n);
}

void
fs_kernel_axpy (float alpha, const float *x, float *y, int64_t n)
{
  kernels ()->axpy (alpha, x, y, n);
}

/* ---------------------------------------------------------------- threads */

/* A job is a number of items run by the caller and whichever helper
 * threads are free. The caller never waits for a helper that has not
 * started: on a shared machine that wait can take milliseconds (it is what
 * makes an OpenMP barrier slow there). It waits only for items a helper
 * has claimed. */
typedef struct {
  FsItemFunc func;
  gpointer   data;
  gint       n_items;
  gint       next;       /* atomic: the next unclaimed item */
  int        users;      /* helpers inside the job, under pool.lock */
} Job;

static struct {
  GMutex lock;
  GCond  wake;           /* a job was posted */
  GCond  left;           /* a helper left a job */
  GQueue jobs;
  int    n_helpers;
} pool;

static void
run_items (Job *job)
{
  gint item;
  while ((item = g_atomic_int_add (&job->next, 1)) < job->n_items)
    job->func (item, job->data);
}

static gpointer
helper_main (gpointer unused)
{
  g_mutex_lock (&pool.lock);
  for (;;)
    {
      Job *job = NULL;
      for (GList *l = pool.jobs.head; l != NULL && job == NULL; l = l->next)
        if (g_atomic_int_get (&((Job *) l->data)->next) < ((Job *) l->data)->n_items)
          job = l->data;
      if (job == NULL)
        {
          g_cond_wait (&pool.wake, &pool.lock);
          continue;
        }
      job->users++;
      g_mutex_unlock (&pool.lock);
      run_items (job);
      g_mutex_lock (&pool.lock);
      job->users--;
      g_cond_broadcast (&pool.left);
    }
  return NULL;
}

/* Helpers: one fewer than the threads OpenMP would use (OMP_NUM_THREADS,
 * else the processors), so that the usual variable sets the count. */
static int
start_helpers (void)
{
  static gsize started;
  if (g_once_init_enter (&started))
    {
      const char *env = g_getenv ("OMP_NUM_THREADS");
      int threads = env != NULL ? atoi (env) : (int) g_get_num_processors ();
      pool.n_helpers = CLAMP (threads, 1, 64) - 1;
      for (int i = 0; i < pool.n_helpers; i++)
        g_thread_unref (g_thread_new ("fs-kernel", helper_main, NULL));
      g_once_init_leave (&started, 1);
    }
  return pool.n_helpers;
}

void
fs_kernel_parallel_for (int64_t n_items, int64_t work, FsItemFunc func, gpointer data)
{
  g_return_if_fail (n_items <= G_MAXINT);

  if (n_items <= 1 || work < PARALLEL_MIN || start_helpers () == 0)
    {
      for (int64_t i = 0; i < n_items; i++)
        func (i, data);
      return;
    }
  Job job = { func, data, (gint) n_items, 0, 0 };
  g_mutex_lock (&pool.lock);
  g_queue_push_tail (&pool.jobs, &job);
  g_cond_broadcast (&pool.wake);
  g_mutex_unlock (&pool.lock);

  run_items (&job);

  g_mutex_lock (&pool.lock);
  g_queue_remove (&pool.jobs, &job);
  while (job.users > 0)
    g_cond_wait (&pool.left, &pool.lock);
  g_mutex_unlock (&pool.lock);
}

/* ---------------------------------------------------------------- matvec */

#define ROWS_PER_ITEM 64

typedef struct {
  const FsMatrixView *view;
  const float        *x;
  float              *y;
} MatvecJob;

static void
rows_item (int64_t item, gpointer data)
{
  const MatvecJob *job = data;
  const FsMatrixView *view = job->view;
  Dot dot = loops (view->dtype)->dot;
  size_t row_bytes = (size_t) view->row_stride * fs_dtype_size (view->dtype);
  int64_t end = MIN (view->rows, (item + 1) * ROWS_PER_ITEM);

  for (int64_t i = item * ROWS_PER_ITEM; i < end; i++)
    job->y[i] = dot (view->dtype, view->data + (size_t) i * row_bytes, job->x, view->cols);
}

/* y[i] = row i . x, rows contiguous. */
static void
matvec_rows (const FsMatrixView *view, const float *x, float *y)
{
  MatvecJob job = { view, x, y };
  fs_kernel_parallel_for ((view->rows + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM,
                          view->rows * view->cols, rows_item, &job);
}

static void
columns_item (int64_t item, gpointer data)
{
  const MatvecJob *job = data;
  const FsMatrixView *view = job->view;
  size_t size = fs_dtype_size (view->dtype);
  int64_t c0 = item * COLUMN_TILE;

  loops (view->dtype)->columns (view->dtype, view->data + (size_t) c0 * size,
                                (size_t) view->row_stride * size, job->x, view->rows,
                                MIN (COLUMN_TILE, view->cols - c0), job->y + c0);
}

/* y[j] = sum_i x[i] row_i[j], rows contiguous: each item is a tile of
 * columns, streaming every row's slice of it in row order. */
static void
matvec_columns (const FsMatrixView *view, const float *x, float *y)
{
  MatvecJob job = { view, x, y };
  fs_kernel_parallel_for ((view->cols + COLUMN_TILE - 1) / COLUMN_TILE,
                          view->rows * view->cols, columns_item, &job);
}

static void
matvec_blocked (const FsMatrixView *view, const float *x, float *y)
{
  g_autofree float *block = g_new (float, (size_t) (ROW_BLOCK * view->cols));
  for (int64_t r = 0; r < view->rows; r += ROW_BLOCK)
    {
      int64_t n = MIN (ROW_BLOCK, view->rows - r);
      fs_matrix_view_read_block (view, r, n, 0, view->cols, block);
      cblas_sgemv (CblasRowMajor, CblasNoTrans, (blasint) n, (blasint) view->cols, 1.0f,
                   block, (blasint) view->cols, x, 1, 0.0f, y + r, 1);
    }
}

void
fs_kernel_matvec (const FsMatrixView *view, const float *x, float *y)
{
  gboolean aligned = (uintptr_t) view->data % fs_dtype_size (view->dtype) == 0;

  if (view->rows == 0)
    return;
  if (view->dtype == FS_DTYPE_F32 && aligned && view->col_stride == 1)
    cblas_sgemv (CblasRowMajor, CblasNoTrans, (blasint) view->rows, (blasint) view->cols, 1.0f,
                 (const float *) view->data, (blasint) view->row_stride, x, 1, 0.0f, y, 1);
  else if (view->dtype == FS_DTYPE_F32 && aligned && view->row_stride == 1)
    cblas_sgemv (CblasRowMajor, CblasTrans, (blasint) view->cols, (blasint) view->rows, 1.0f,
                 (const float *) view->data, (blasint) view->col_stride, x, 1, 0.0f, y, 1);
  else if (is_half (view->dtype) && view->col_stride == 1)
    matvec_rows (view, x, y);
  else
    matvec_blocked (view, x, y);
}

/* ---------------------------------------------------------------- matmul */

/* Panels one matmul item packs and multiplies at most: the rows of a
 * Conv1D weight are then read PANELS * NR values at a time. */
#define PANELS 8

/* Packs rows [k0, k0+kb) x columns [j0, j0+width) of the view as F32
 * panels[p][kb][NR] of NR columns each, zero beyond `width`. */
static void
pack_panels (const FsMatrixView *view, int64_t k0, int64_t kb, int64_t j0, int64_t width,
             float *panels)
{
  size_t size = fs_dtype_size (view->dtype);
  const Loops *l = loops (view->dtype);
  int64_t n_panels = (width + NR - 1) / NR;

  if (view->col_stride == 1)
    {
      /* Rows of the view are stored rows: one stretch of each per k. */
      float row[PANELS * NR] = { 0 };
      for (int64_t k = 0; k < kb; k++)
        {
          l->to_f32 (view->dtype, view->data + ((size_t) (k0 + k) * view->row_stride + j0) * size,
                     width, row);
          for (int64_t p = 0; p < n_panels; p++)
            memcpy (panels + (p * kb + k) * NR, row + p * NR, NR * sizeof (float));
        }
    }
  else if (view->row_stride == 1)
    {
      /* Columns of the view are stored rows (nn.Linear): transpose them. */
      float column[KB];
      for (int64_t j = 0; j < n_panels * NR; j++)
        {
          float *panel = panels + (j / NR) * kb * NR + j % NR;
          if (j < width)
            l->to_f32 (view->dtype,
                       view->data + ((size_t) (j0 + j) * view->col_stride + k0) * size, kb,
                       column);
          for (int64_t k = 0; k < kb; k++)
            panel[k * NR] = j < width ? column[k] : 0;
        }
    }
  else
    for (int64_t j = 0; j < n_panels * NR; j++)
      for (int64_t k = 0; k < kb; k++)
        panels[((j / NR) * kb + k) * NR + j % NR] = j < width
          ? fs_dtype_read (view->dtype, view->data,
                           (size_t) ((k0 + k) * view->row_stride + (j0 + j) * view->col_stride))
          : 0;
}

typedef struct {
  const float        *a;
  int64_t             n, lda;
  const FsMatrixView *view;
  float              *c;
  int64_t             ldc;
  int64_t             panels_per_item;
} MatmulJob;

/* A few panels of NR columns, over KB weight rows at a time, each
 * multiplied into every block of MR input rows. Panels are always packed
 * (even F32 [in, out] weights: read in place, rows 4 KiB apart alias in
 * the L1 cache). Which item a panel falls in changes nothing in its sums. */
static void
panel_item (int64_t item, gpointer data)
{
  const MatmulJob *job = data;
  const FsMatrixView *view = job->view;
  Tile tile = kernels ()->tile;
  float panels[PANELS * KB * NR] __attribute__ ((aligned (32)));
  int64_t k = view->rows, j0 = item * job->panels_per_item * NR;
  int64_t width = MIN (job->panels_per_item * NR, view->cols - j0);

  for (int64_t k0 = 0; k0 < k; k0 += KB)
    {
      int64_t kb = MIN (KB, k - k0);
      pack_panels (view, k0, kb, j0, width, panels);
      for (int64_t p = 0; p * NR < width; p++)
        for (int64_t i = 0; i < job->n; i += MR)
          tile ((int) MIN (MR, job->n - i), job->a + i * job->lda + k0, job->lda,
                panels + p * kb * NR, NR, kb, job->c + i * job->ldc + j0 + p * NR, job->ldc,
                (int) MIN (NR, width - p * NR), k0 > 0);
    }
}

static void
matmul_tiled (const float *a, int64_t n, int64_t lda, const FsMatrixView *view, float *c,
              int64_t ldc)
{
  int64_t n_panels = (view->cols + NR - 1) / NR;
  /* Several items per thread, so that a late helper leaves little to wait for. */
  int64_t per_item = CLAMP (n_panels / (4 * (start_helpers () + 1)), 1, PANELS);
  MatmulJob job = { a, n, lda, view, c, ldc, per_item };

  fs_kernel_parallel_for ((n_panels + per_item - 1) / per_item, n * view->rows * view->cols,
                          panel_item, &job);
}

void
fs_kernel_matmul (const float *a, int64_t n, int64_t lda, const FsMatrixView *view, float *c,
                  int64_t ldc)
{
  gboolean fast = view->dtype == FS_DTYPE_F32 || is_half (view->dtype);

  if (n == 0 || view->cols == 0)
    return;
  if (view->rows == 0)
    {
      for (int64_t i = 0; i < n; i++)
        memset (c + i * ldc, 0, (size_t) view->cols * sizeof (float));
      return;
    }
  if (n == 1 && fast && view->row_stride == 1)
    {
      /* [in, out] view of [out, in] rows (nn.Linear): a dot product per output. */
      FsMatrixView rows = { view->data, view->dtype, view->cols, view->rows, view->col_stride, 1 };
      matvec_rows (&rows, a, c);
    }
  else if (n == 1 && fast && view->col_stride == 1)
    matvec_columns (view, a, c);
  else
    matmul_tiled (a, n, lda, view, c, ldc);
}
