/* test-kernels.c: fs_kernel_matmul on every stored layout (Conv1D [in, out],
 * nn.Linear [out, in], other strides), dtype (F32 aligned and not, F16,
 * BF16, F64) and awkward shape (one row, rows not a multiple of the tile,
 * columns not a multiple of the panel, sums longer than a panel block),
 * against a double-precision reference on the same stored values; and
 * fs_kernel_parallel_for running every item exactly once, nested too. */
#include <math.h>
#include <string.h>

#include "kernels.h"

static uint64_t state = 88172645463325252ull;

static float
uniform (void)
{
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (float) ((state >> 40) * 0x1.0p-24 * 2 - 1);
}

static void
store (FsDtype dtype, uint8_t *data, size_t index, float v)
{
  uint16_t h;
  double d = v;
  switch (dtype)
    {
    case FS_DTYPE_F32: memcpy (data + 4 * index, &v, 4); break;
    case FS_DTYPE_F16: h = fs_f32_to_f16 (v); memcpy (data + 2 * index, &h, 2); break;
    case FS_DTYPE_BF16: h = fs_f32_to_bf16 (v); memcpy (data + 2 * index, &h, 2); break;
    case FS_DTYPE_F64: memcpy (data + 8 * index, &d, 8); break;
    }
}

typedef enum { CONV1D, LINEAR, STRIDED } Layout;

static void
check_case (int64_t n, int64_t k, int64_t m, FsDtype dtype, Layout layout, int offset)
{
  size_t size = fs_dtype_size (dtype);
  int64_t lda = k + 3, ldc = m + 5;
  int64_t row_stride = layout == CONV1D ? m + 2 : layout == LINEAR ? 1 : 2 * m + 1;
  int64_t col_stride = layout == CONV1D ? 1 : layout == LINEAR ? k + 1 : 2;
  size_t elements = k == 0 ? 1 : (size_t) ((k - 1) * row_stride + (m - 1) * col_stride + 1);
  g_autofree uint8_t *storage = g_malloc0 (elements * size + 8);
  uint8_t *data = storage + offset;
  g_autofree float *a = g_new (float, (size_t) (n * lda));
  g_autofree float *c = g_new (float, (size_t) (n * ldc));

  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < m; j++)
      store (dtype, data, (size_t) (i * row_stride + j * col_stride), uniform ());
  for (int64_t i = 0; i < n * lda; i++)
    a[i] = uniform ();
  for (int64_t i = 0; i < n * ldc; i++)
    c[i] = 12345;

  FsMatrixView view = { data, dtype, k, m, row_stride, col_stride };
  fs_kernel_matmul (a, n, lda, &view, c, ldc);

  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < ldc; j++)
      {
        if (j >= m)
          {
            g_assert_cmpfloat (c[i * ldc + j], ==, 12345);  /* padding untouched */
            continue;
          }
        double want = 0, scale = 1e-30;
        for (int64_t t = 0; t < k; t++)
          {
            double w = fs_dtype_read (dtype, data, (size_t) (t * row_stride + j * col_stride));
            want += a[i * lda + t] * w;
            scale += fabs (a[i * lda + t] * w);
          }
        if (fabs (c[i * ldc + j] - want) > 1e-5 * scale)
          g_error ("n=%" G_GINT64_FORMAT " k=%" G_GINT64_FORMAT " m=%" G_GINT64_FORMAT
                   " %s layout %d offset %d: c[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                   "] = %g, expected %g", n, k, m, fs_dtype_name (dtype), layout, offset, i, j,
                   c[i * ldc + j], want);
      }
}

static void
test_matmul (void)
{
  static const int64_t shapes[][3] = {
    { 1, 7, 5 }, { 1, 600, 40 }, { 1, 40, 2100 }, { 2, 33, 17 }, { 7, 1030, 50 },
    { 13, 64, 16 }, { 6, 520, 33 }, { 20, 1, 3 }, { 3, 0, 4 },
  };
  static const FsDtype dtypes[] = { FS_DTYPE_F32, FS_DTYPE_F16, FS_DTYPE_BF16, FS_DTYPE_F64 };

  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (size_t d = 0; d < G_N_ELEMENTS (dtypes); d++)
      for (int layout = CONV1D; layout <= STRIDED; layout++)
        for (int offset = 0; offset <= 1; offset++)
          check_case (shapes[s][0], shapes[s][1], shapes[s][2], dtypes[d], layout, offset);
}

static void
count_item (int64_t item, gpointer data)
{
  g_atomic_int_inc (&((gint *) data)[item]);
}

static void
nested_item (int64_t item, gpointer data)
{
  gint *counts = data;
  fs_kernel_parallel_for (50, 1 << 30, count_item, counts + 1000 * (item + 1));
  g_atomic_int_inc (&counts[item]);
}

static void
test_parallel_for (void)
{
  g_autofree gint *counts = g_new0 (gint, 20000);

  fs_kernel_parallel_for (1000, 1 << 30, count_item, counts);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpint (counts[i], ==, 1);
  memset (counts, 0, 20000 * sizeof (gint));
  fs_kernel_parallel_for (10, 1 << 30, nested_item, counts);
  for (int i = 0; i < 10; i++)
    {
      g_assert_cmpint (counts[i], ==, 1);
      for (int j = 0; j < 50; j++)
        g_assert_cmpint (counts[1000 * (i + 1) + j], ==, 1);
    }
}

static gpointer
concurrent_main (gpointer data)
{
  for (int r = 0; r < 200; r++)
    fs_kernel_parallel_for (64, 1 << 30, count_item, data);
  return NULL;
}

/* Jobs posted from several threads at once all complete. */
static void
test_concurrent (void)
{
  g_autofree gint *counts = g_new0 (gint, 4 * 64);
  GThread *threads[4];
  for (int t = 0; t < 4; t++)
    threads[t] = g_thread_new ("poster", concurrent_main, counts + 64 * t);
  for (int t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  for (int i = 0; i < 4 * 64; i++)
    g_assert_cmpint (counts[i], ==, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kernels/matmul", test_matmul);
  g_test_add_func ("/kernels/parallel-for", test_parallel_for);
  g_test_add_func ("/kernels/concurrent", test_concurrent);
  return g_test_run ();
}
