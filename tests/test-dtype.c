/* test-dtype.c: half and bfloat16 conversions against well-known IEEE 754
 * bit patterns, and the packed readers on unaligned data. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "dtype.h"

static float
from_bits (uint32_t bits)
{
  float value;
  memcpy (&value, &bits, sizeof value);
  return value;
}

static uint32_t
to_bits (float value)
{
  uint32_t bits;
  memcpy (&bits, &value, sizeof bits);
  return bits;
}

static gboolean
f16_is_nan (uint16_t h)
{
  return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
}

static gboolean
bf16_is_nan (uint16_t h)
{
  return (h & 0x7f80) == 0x7f80 && (h & 0x007f) != 0;
}

/* half bits -> float bits, both exact */
static const struct { uint16_t half; uint32_t single; } f16_exact[] = {
  { 0x0000, 0x00000000 },   /* 0 */
  { 0x8000, 0x80000000 },   /* -0 */
  { 0x3c00, 0x3f800000 },   /* 1 */
  { 0xc000, 0xc0000000 },   /* -2 */
  { 0x3555, 0x3eaaa000 },   /* 0.333251953125 */
  { 0x7bff, 0x477fe000 },   /* 65504, the largest half */
  { 0xfbff, 0xc77fe000 },   /* -65504 */
  { 0x0400, 0x38800000 },   /* 2^-14, the smallest normal */
  { 0x03ff, 0x387fc000 },   /* the largest subnormal, 1023 * 2^-24 */
  { 0x0001, 0x33800000 },   /* 2^-24, the smallest subnormal */
  { 0x8001, 0xb3800000 },   /* -2^-24 */
  { 0x0200, 0x38000000 },   /* 2^-15 */
  { 0x7c00, 0x7f800000 },   /* inf */
  { 0xfc00, 0xff800000 },   /* -inf */
};

static void
test_f16_to_f32 (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (f16_exact); i++)
    g_assert_cmphex (to_bits (fs_f16_to_f32 (f16_exact[i].half)), ==, f16_exact[i].single);
  g_assert_true (isnan (fs_f16_to_f32 (0x7e00)));
  g_assert_true (isnan (fs_f16_to_f32 (0x7c01)));   /* signalling NaN stays NaN */
  g_assert_true (isnan (fs_f16_to_f32 (0xfe00)));
}

static void
test_f32_to_f16 (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (f16_exact); i++)
    g_assert_cmphex (fs_f32_to_f16 (from_bits (f16_exact[i].single)), ==, f16_exact[i].half);

  /* Rounding, nearest with ties to even. */
  g_assert_cmphex (fs_f32_to_f16 (0.1f), ==, 0x2e66);
  g_assert_cmphex (fs_f32_to_f16 (-2.5f), ==, 0xc100);
  g_assert_cmphex (fs_f32_to_f16 (1.0f + 0x1p-11f), ==, 0x3c00);          /* tie, down */
  g_assert_cmphex (fs_f32_to_f16 (1.0f + 0x3p-11f), ==, 0x3c02);          /* tie, up */
  g_assert_cmphex (fs_f32_to_f16 (1.0f + 0x1p-11f + 0x1p-23f), ==, 0x3c01);
  g_assert_cmphex (fs_f32_to_f16 (0x1p-25f), ==, 0x0000);                 /* subnormal tie */
  g_assert_cmphex (fs_f32_to_f16 (0x3p-25f), ==, 0x0002);
  g_assert_cmphex (fs_f32_to_f16 (nextafterf (0x1p-25f, 1.0f)), ==, 0x0001);
  g_assert_cmphex (fs_f32_to_f16 (-0x1p-30f), ==, 0x8000);                /* underflow keeps sign */
  g_assert_cmphex (fs_f32_to_f16 (1023.5f * 0x1p-24f), ==, 0x0400);       /* up into normals */
  g_assert_cmphex (fs_f32_to_f16 (65519.0f), ==, 0x7bff);
  g_assert_cmphex (fs_f32_to_f16 (65520.0f), ==, 0x7c00);                 /* tie to inf */
  g_assert_cmphex (fs_f32_to_f16 (1e6f), ==, 0x7c00);
  g_assert_cmphex (fs_f32_to_f16 (-1e6f), ==, 0xfc00);
  g_assert_cmphex (fs_f32_to_f16 (from_bits (0x7f7fffff)), ==, 0x7c00);
  g_assert_true (f16_is_nan (fs_f32_to_f16 (NAN)));
  g_assert_true (f16_is_nan (fs_f32_to_f16 (from_bits (0x7f800001))));
  g_assert_true (f16_is_nan (fs_f32_to_f16 (from_bits (0xffc00000))));
}

static void
test_f16_round_trip (void)
{
  /* Every half survives a trip through float. */
  for (uint32_t h = 0; h <= 0xffff; h++)
    {
      uint16_t back = fs_f32_to_f16 (fs_f16_to_f32 ((uint16_t) h));
      if (f16_is_nan ((uint16_t) h))
        g_assert_true (f16_is_nan (back));
      else if (back != h)
        g_error ("half 0x%04x came back as 0x%04x", h, back);
    }
}

/* bfloat16 bits -> float bits, both exact */
static const struct { uint16_t half; uint32_t single; } bf16_exact[] = {
  { 0x0000, 0x00000000 },   /* 0 */
  { 0x8000, 0x80000000 },   /* -0 */
  { 0x3f80, 0x3f800000 },   /* 1 */
  { 0xc000, 0xc0000000 },   /* -2 */
  { 0x4049, 0x40490000 },   /* 3.140625 */
  { 0x7f7f, 0x7f7f0000 },   /* the largest bfloat16, about 3.39e38 */
  { 0x0080, 0x00800000 },   /* 2^-126, the smallest normal */
  { 0x0001, 0x00010000 },   /* the smallest subnormal, 2^-133 */
  { 0x7f80, 0x7f800000 },   /* inf */
  { 0xff80, 0xff800000 },   /* -inf */
};

static void
test_bf16_to_f32 (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (bf16_exact); i++)
    g_assert_cmphex (to_bits (fs_bf16_to_f32 (bf16_exact[i].half)), ==, bf16_exact[i].single);
  g_assert_true (isnan (fs_bf16_to_f32 (0x7fc0)));
  g_assert_true (isnan (fs_bf16_to_f32 (0x7f81)));
}

static void
test_f32_to_bf16 (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (bf16_exact); i++)
    g_assert_cmphex (fs_f32_to_bf16 (from_bits (bf16_exact[i].single)), ==, bf16_exact[i].half);

  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x40490fdb)), ==, 0x4049);  /* pi */
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x3f808000)), ==, 0x3f80);  /* tie, down */
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x3f818000)), ==, 0x3f82);  /* tie, up */
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x3f808001)), ==, 0x3f81);
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x3f807fff)), ==, 0x3f80);
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0xbf818000)), ==, 0xbf82);  /* negative tie */
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x00018000)), ==, 0x0002);  /* subnormal tie */
  g_assert_cmphex (fs_f32_to_bf16 (from_bits (0x7f7fffff)), ==, 0x7f80);  /* overflows to inf */
  g_assert_true (bf16_is_nan (fs_f32_to_bf16 (NAN)));
  /* A NaN whose payload lies only in the dropped bits must not become inf. */
  g_assert_true (bf16_is_nan (fs_f32_to_bf16 (from_bits (0x7f800001))));
  g_assert_true (bf16_is_nan (fs_f32_to_bf16 (from_bits (0xff800001))));
}

static void
test_bf16_round_trip (void)
{
  for (uint32_t h = 0; h <= 0xffff; h++)
    {
      uint16_t back = fs_f32_to_bf16 (fs_bf16_to_f32 ((uint16_t) h));
      if (bf16_is_nan ((uint16_t) h))
        g_assert_true (bf16_is_nan (back));
      else if (back != h)
        g_error ("bfloat16 0x%04x came back as 0x%04x", h, back);
    }
}

static void
test_names (void)
{
  const FsDtype all[] = { FS_DTYPE_F32, FS_DTYPE_F16, FS_DTYPE_BF16, FS_DTYPE_F64 };
  const size_t sizes[] = { 4, 2, 2, 8 };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    {
      FsDtype parsed;
      g_assert_cmpuint (fs_dtype_size (all[i]), ==, sizes[i]);
      g_assert_true (fs_dtype_from_name (fs_dtype_name (all[i]), &parsed));
      g_assert_cmpint (parsed, ==, all[i]);
    }
  const char *unsupported[] = { "I64", "BOOL", "F8_E4M3", "f32", "", NULL };
  for (size_t i = 0; i < G_N_ELEMENTS (unsupported); i++)
    {
      FsDtype parsed;
      g_assert_false (fs_dtype_from_name (unsupported[i], &parsed));
    }
}

static void
test_read_unaligned (void)
{
  /* Little-endian encodings of 1.5 in each dtype, stored at odd offsets. */
  uint8_t buffer[1 + 8 + 8] = { 0 };
  const uint8_t f32[4] = { 0x00, 0x00, 0xc0, 0x3f };
  const uint8_t f16[2] = { 0x00, 0x3e };
  const uint8_t bf16[2] = { 0xc0, 0x3f };
  const uint8_t f64[8] = { 0, 0, 0, 0, 0, 0, 0xf8, 0x3f };

  memcpy (buffer + 1 + 4, f32, 4);
  g_assert_cmpfloat (fs_dtype_read (FS_DTYPE_F32, buffer + 1, 1), ==, 1.5f);
  memcpy (buffer + 1 + 2, f16, 2);
  g_assert_cmpfloat (fs_dtype_read (FS_DTYPE_F16, buffer + 1, 1), ==, 1.5f);
  memcpy (buffer + 1 + 2, bf16, 2);
  g_assert_cmpfloat (fs_dtype_read (FS_DTYPE_BF16, buffer + 1, 1), ==, 1.5f);
  memcpy (buffer + 1 + 8, f64, 8);
  g_assert_cmpfloat (fs_dtype_read (FS_DTYPE_F64, buffer + 1, 1), ==, 1.5f);

  /* Strided reads: every other half of 1.0, 2.0, 3.0, 4.0. */
  const uint8_t halves[] = { 0xff, 0x00, 0x3c, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44 };
  float out[2];
  fs_dtype_to_f32_strided (FS_DTYPE_F16, halves + 1, 2, 2, out);
  g_assert_cmpfloat (out[0], ==, 1.0f);
  g_assert_cmpfloat (out[1], ==, 3.0f);
  float packed[4];
  fs_dtype_to_f32 (FS_DTYPE_F16, halves + 1, 4, packed);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (packed[i], ==, (float) (i + 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtype/f16/to-f32", test_f16_to_f32);
  g_test_add_func ("/dtype/f16/from-f32", test_f32_to_f16);
  g_test_add_func ("/dtype/f16/round-trip", test_f16_round_trip);
  g_test_add_func ("/dtype/bf16/to-f32", test_bf16_to_f32);
  g_test_add_func ("/dtype/bf16/from-f32", test_f32_to_bf16);
  g_test_add_func ("/dtype/bf16/round-trip", test_bf16_round_trip);
  g_test_add_func ("/dtype/names", test_names);
  g_test_add_func ("/dtype/read-unaligned", test_read_unaligned);
  return g_test_run ();
}
