/* test-util.c
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "test-util.h"

#include <math.h>

double
test_relative_error (const float *got, const float *want, int64_t n)
{
  double worst = 0, scale = 1e-30;

  for (int64_t i = 0; i < n; i++)
    {
      if (!isfinite (got[i]))
        return INFINITY;
      worst = fmax (worst, fabs ((double) got[i] - want[i]));
      scale = fmax (scale, fabs ((double) want[i]));
    }
  return worst / scale;
}
