/* kernels.h: the few numeric loops that must run at memory bandwidth on
 * weights in their stored dtype. F32 goes to OpenBLAS; F16 and BF16 are
 * handled here with AVX2/F16C when the processor has them (checked at run
 * time) and a portable loop otherwise.
 *
 * Every output element is reduced by one thread in a fixed order, so the
 * F16/BF16 results do not depend on the number of threads. */
#pragma once

#include <glib.h>

#include "matrix.h"

/* y[rows] = view @ x[cols], on all cores. */
void fs_kernel_matvec (const FsMatrixView *view, const float *x, float *y);

/* c[n, view.cols] (row stride ldc) = a[n, view.rows] (row stride lda) @ view.
 *
 * The transformer's weight product: an nn.Linear weight stored [out, in] is
 * the view [in, out] with row_stride 1, a Conv1D weight stored [in, out] the
 * view with col_stride 1. One row of `a` (decoding) streams the weights once
 * on all cores; several rows (prefill) go to sgemm, F16/BF16 weights one
 * block of rows converted to F32 at a time. */
void fs_kernel_matmul (const float *a, int64_t n, int64_t lda, const FsMatrixView *view,
                       float *c, int64_t ldc);

/* sum a[i] b[i], and y += alpha x: F32 vectors (attention over the cache). */
float fs_kernel_dot (const float *a, const float *b, int64_t n);
void  fs_kernel_axpy (float alpha, const float *x, float *y, int64_t n);

/* Runs func (i, data) for i in [0, n_items) on the calling thread and the
 * kernels' helper threads (OMP_NUM_THREADS - 1 of them, else one per
 * processor beyond the first), in any order; returns when all are done.
 * Work below a threshold (`work`, in multiply-adds) stays on the caller. */
typedef void (*FsItemFunc) (int64_t item, gpointer data);
void fs_kernel_parallel_for (int64_t n_items, int64_t work, FsItemFunc func, gpointer data);

/* out[n] = the `n` packed elements at `data`, as F32 (F32, F16 or BF16). */
void fs_kernel_to_f32 (FsDtype dtype, const uint8_t *data, int64_t n, float *out);
