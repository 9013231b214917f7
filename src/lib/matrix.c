#include "matrix.h"

#include <cblas.h>
#include <glib.h>

/* Columns converted per block when the view is not sgemm-ready: big enough
 * for sgemm to run at speed, small enough to stay in cache-sized memory. */
#define COLUMN_BLOCK 512

void
fs_matrix_view_read_block (const FsMatrixView *view, int64_t row0, int64_t n_rows,
                           int64_t col0, int64_t n_cols, float *out)
{
  size_t element_size = fs_dtype_size (view->dtype);
  for (int64_t r = 0; r < n_rows; r++)
    {
      const uint8_t *row = view->data
        + (size_t) ((row0 + r) * view->row_stride + col0 * view->col_stride) * element_size;
      fs_dtype_to_f32_strided (view->dtype, row, (size_t) view->col_stride, (size_t) n_cols,
                               out + r * n_cols);
    }
}

void
fs_matrix_view_read_row (const FsMatrixView *view, int64_t row, float *out)
{
  fs_matrix_view_read_block (view, row, 1, 0, view->cols, out);
}

/* An F32 view with one unit stride is a plain BLAS operand. */
static gboolean
is_sgemm_ready (const FsMatrixView *view, CBLAS_TRANSPOSE *trans, int64_t *ld)
{
  if (view->dtype != FS_DTYPE_F32 || ((uintptr_t) view->data % sizeof (float)) != 0)
    return FALSE;
  if (view->col_stride == 1)
    {
      *trans = CblasNoTrans;
      *ld = view->row_stride;
      return TRUE;
    }
  if (view->row_stride == 1)
    {
      *trans = CblasTrans;
      *ld = view->col_stride;
      return TRUE;
    }
  return FALSE;
}

void
fs_matrix_multiply (const float *a, int64_t n, const FsMatrixView *view, float *c,
                    int64_t ldc)
{
  CBLAS_TRANSPOSE trans;
  int64_t ld;
  int64_t k = view->rows;

  if (n == 0 || view->cols == 0)
    return;
  if (is_sgemm_ready (view, &trans, &ld))
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, trans, (blasint) n, (blasint) view->cols,
                   (blasint) k, 1.0f, a, (blasint) k, (const float *) view->data,
                   (blasint) ld, 0.0f, c, (blasint) ldc);
      return;
    }

  g_autofree float *block = g_new (float, (size_t) (k * MIN (view->cols, COLUMN_BLOCK)));
  for (int64_t col0 = 0; col0 < view->cols; col0 += COLUMN_BLOCK)
    {
      int64_t width = MIN (COLUMN_BLOCK, view->cols - col0);
      fs_matrix_view_read_block (view, 0, k, col0, width, block);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) n, (blasint) width,
                   (blasint) k, 1.0f, a, (blasint) k, block, (blasint) width, 0.0f,
                   c + col0, (blasint) ldc);
    }
}
