/* matrix.h: 2-D views of stored weights, and products with them.
 *
 * A view reads stored elements (F32, F16, BF16, F64) with arbitrary strides,
 * so transposed layouts need no copy. Products go through OpenBLAS sgemm:
 * F32 views with a unit stride are handed to it in place, anything else is
 * converted one block of columns at a time, so no whole matrix is copied.
 */
#pragma once

#include <stdint.h>

#include "dtype.h"

typedef struct {
  const uint8_t *data;
  FsDtype        dtype;
  int64_t        rows, cols;
  int64_t        row_stride, col_stride;  /* in elements */
} FsMatrixView;

/* Copies the block [row0, row0+n_rows) x [col0, col0+n_cols) as packed F32. */
void fs_matrix_view_read_block (const FsMatrixView *view, int64_t row0, int64_t n_rows,
                                int64_t col0, int64_t n_cols, float *out);
/* out[i] = view[row][i] for all columns. */
void fs_matrix_view_read_row (const FsMatrixView *view, int64_t row, float *out);
/* c[n, view.cols] (leading dimension ldc) = a[n, view.rows] @ view. */
void fs_matrix_multiply (const float *a, int64_t n, const FsMatrixView *view, float *c,
                         int64_t ldc);
