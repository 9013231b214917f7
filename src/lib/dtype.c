#include "dtype.h"

#include <math.h>
#include <string.h>

static const struct {
  FsDtype dtype;
  const char *name;
  size_t size;
} dtypes[] = {
  { FS_DTYPE_F32, "F32", 4 },
  { FS_DTYPE_F16, "F16", 2 },
  { FS_DTYPE_BF16, "BF16", 2 },
  { FS_DTYPE_F64, "F64", 8 },
};

size_t
fs_dtype_size (FsDtype dtype)
{
  g_return_val_if_fail ((size_t) dtype < G_N_ELEMENTS (dtypes), 0);
  return dtypes[dtype].size;
}

const char *
fs_dtype_name (FsDtype dtype)
{
  g_return_val_if_fail ((size_t) dtype < G_N_ELEMENTS (dtypes), "?");
  return dtypes[dtype].name;
}

gboolean
fs_dtype_from_name (const char *name, FsDtype *out)
{
  for (size_t i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (g_strcmp0 (name, dtypes[i].name) == 0)
      {
        *out = dtypes[i].dtype;
        return TRUE;
      }
  return FALSE;
}

float
fs_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;

  if (exponent == 0x1f)
    bits = sign | 0x7f800000 | (mantissa << 13);
  else if (exponent != 0)
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else if (mantissa == 0)
    bits = sign;
  else
    {
      /* Subnormal half: a normal float once the mantissa is shifted up. */
      float value = ldexpf ((float) mantissa, -24);
      return sign ? -value : value;
    }

  float out;
  memcpy (&out, &bits, sizeof out);
  return out;
}

float
fs_bf16_to_f32 (uint16_t h)
{
  uint32_t bits = (uint32_t) h << 16;
  float out;
  memcpy (&out, &bits, sizeof out);
  return out;
}

uint16_t
fs_f32_to_bf16 (float value)
{
  uint32_t bits;
  memcpy (&bits, &value, sizeof bits);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return (uint16_t) ((bits >> 16) | 0x40); /* keep NaN a NaN */
  /* Round to nearest, ties to even, as PyTorch does. */
  bits += 0x7fff + ((bits >> 16) & 1);
  return (uint16_t) (bits >> 16);
}

uint16_t
fs_f32_to_f16 (float value)
{
  uint32_t bits;
  memcpy (&bits, &value, sizeof bits);
  uint16_t sign = (bits >> 16) & 0x8000;
  uint32_t magnitude = bits & 0x7fffffff;

  if (magnitude > 0x7f800000)
    return sign | 0x7e00;
  if (magnitude >= 0x477ff000) /* rounds to beyond the largest half */
    return sign | 0x7c00;
  if (magnitude < 0x38800000)
    {
      /* Subnormal or zero half: round |value| * 2^24 to an integer. */
      float scaled = ldexpf (fabsf (value), 24);
      return sign | (uint16_t) nearbyintf (scaled);
    }
  uint32_t rounded = magnitude + 0xfff + ((magnitude >> 13) & 1);
  return sign | (uint16_t) ((rounded - 0x38000000) >> 13);
}

float
fs_dtype_read (FsDtype dtype, const void *data, size_t index)
{
  const uint8_t *bytes = data;
  switch (dtype)
    {
    case FS_DTYPE_F32:
      {
        float v;
        memcpy (&v, bytes + index * 4, 4);
        return v;
      }
    case FS_DTYPE_F16:
    case FS_DTYPE_BF16:
      {
        uint16_t h;
        memcpy (&h, bytes + index * 2, 2);
        return dtype == FS_DTYPE_F16 ? fs_f16_to_f32 (h) : fs_bf16_to_f32 (h);
      }
    case FS_DTYPE_F64:
      {
        double v;
        memcpy (&v, bytes + index * 8, 8);
        return (float) v;
      }
    }
  g_assert_not_reached ();
}

void
fs_dtype_to_f32 (FsDtype dtype, const void *data, size_t n, float *out)
{
  if (dtype == FS_DTYPE_F32)
    {
      memcpy (out, data, n * sizeof (float));
      return;
    }
  fs_dtype_to_f32_strided (dtype, data, 1, n, out);
}

void
fs_dtype_to_f32_strided (FsDtype dtype, const void *data, size_t stride, size_t n,
                         float *out)
{
  for (size_t i = 0; i < n; i++)
    out[i] = fs_dtype_read (dtype, data, i * stride);
}
