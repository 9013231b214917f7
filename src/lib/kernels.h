/* kernels.h: the few numeric loops that must run at memory bandwidth on
 * weights in their stored dtype. F32 goes to OpenBLAS; F16 and BF16 are
 * handled here with AVX2/F16C when the processor has them (checked at run
 * time) and a portable loop otherwise. */
#pragma once

#include "matrix.h"

/* y[rows] = view @ x[cols], on all cores. */
void fs_kernel_matvec (const FsMatrixView *view, const float *x, float *y);
