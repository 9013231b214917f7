#include "kernels.h"

#include <cblas.h>
#include <glib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86 1
#endif

/* Rows converted per block for the general path (strided or F64 views). */
#define ROW_BLOCK 64

static float
dot_half_portable (FsDtype dtype, const uint8_t *row, const float *x, int64_t n)
{
  float sum = 0;
  for (int64_t j = 0; j < n; j++)
    {
      uint16_t h;
      memcpy (&h, row + 2 * j, 2);
      sum += (dtype == FS_DTYPE_BF16 ? fs_bf16_to_f32 (h) : fs_f16_to_f32 (h)) * x[j];
    }
  return sum;
}

#ifdef HAVE_X86
__attribute__ ((target ("avx2,fma,f16c")))
static float
dot_half_avx2 (FsDtype dtype, const uint8_t *row, const float *x, int64_t n)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int64_t j = 0;

  for (; j + 16 <= n; j += 16)
    {
      __m128i a = _mm_loadu_si128 ((const __m128i *) (row + 2 * j));
      __m128i b = _mm_loadu_si128 ((const __m128i *) (row + 2 * j + 16));
      __m256 fa, fb;
      if (dtype == FS_DTYPE_BF16)
        {
          fa = _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_cvtepu16_epi32 (a), 16));
          fb = _mm256_castsi256_ps (_mm256_slli_epi32 (_mm256_cvtepu16_epi32 (b), 16));
        }
      else
        {
          fa = _mm256_cvtph_ps (a);
          fb = _mm256_cvtph_ps (b);
        }
      acc0 = _mm256_fmadd_ps (fa, _mm256_loadu_ps (x + j), acc0);
      acc1 = _mm256_fmadd_ps (fb, _mm256_loadu_ps (x + j + 8), acc1);
    }
  acc0 = _mm256_add_ps (acc0, acc1);
  __m128 sum4 = _mm_add_ps (_mm256_castps256_ps128 (acc0), _mm256_extractf128_ps (acc0, 1));
  sum4 = _mm_hadd_ps (sum4, sum4);
  sum4 = _mm_hadd_ps (sum4, sum4);
  return _mm_cvtss_f32 (sum4) + dot_half_portable (dtype, row + 2 * j, x + j, n - j);
}
#endif

typedef float (*DotHalf) (FsDtype, const uint8_t *, const float *, int64_t);

#ifdef HAVE_X86
/* AVX2, FMA and F16C, and an OS that saves the AVX registers. Asked of
 * cpuid directly: clang 14's __builtin_cpu_supports does not know "f16c". */
static gboolean
has_avx2_fma_f16c (void)
{
  unsigned a, b, c, d;
  if (!__get_cpuid (1, &a, &b, &c, &d))
    return FALSE;
  gboolean fma = c & (1u << 12), osxsave = c & (1u << 27), f16c = c & (1u << 29);
  if (!(fma && osxsave && f16c))
    return FALSE;
  unsigned xcr0_low, xcr0_high;
  __asm__ ("xgetbv" : "=a" (xcr0_low), "=d" (xcr0_high) : "c" (0));
  if ((xcr0_low & 6) != 6)  /* XMM and YMM state */
    return FALSE;
  return __get_cpuid_count (7, 0, &a, &b, &c, &d) && (b & (1u << 5));
}
#endif

static DotHalf
pick_dot_half (void)
{
#ifdef HAVE_X86
  if (has_avx2_fma_f16c ())
    return dot_half_avx2;
#endif
  return dot_half_portable;
}

static void
matvec_half_rows (const FsMatrixView *view, const float *x, float *y)
{
  static gsize chosen;
  if (g_once_init_enter (&chosen))
    g_once_init_leave (&chosen, (gsize) pick_dot_half ());
  DotHalf dot = (DotHalf) chosen;

  int64_t rows = view->rows, cols = view->cols;
  size_t row_bytes = (size_t) view->row_stride * 2;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; i++)
    y[i] = dot (view->dtype, view->data + (size_t) i * row_bytes, x, cols);
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
  else if ((view->dtype == FS_DTYPE_BF16 || view->dtype == FS_DTYPE_F16)
           && view->col_stride == 1)
    matvec_half_rows (view, x, y);
  else
    matvec_blocked (view, x, y);
}
