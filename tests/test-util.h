/* test-util.h: what the C unit tests share.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdint.h>

/* max |got - want| / max |want|; infinite when `got` holds a NaN or an
 * infinity, so that a broken result can never pass as close. */
double test_relative_error (const float *got, const float *want, int64_t n);
