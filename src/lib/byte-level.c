#include "byte-level.h"

static gunichar byte_chars[256];
static gint16 char_bytes[324];  /* every table character is below U+0144 */

static void
init_tables (void)
{
  static gsize done = 0;
  if (!g_once_init_enter (&done))
    return;

  guint next = 256;
  for (guint b = 0; b < G_N_ELEMENTS (char_bytes); b++)
    char_bytes[b] = -1;
  for (guint b = 0; b < 256; b++)
    {
      gboolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      byte_chars[b] = printable ? b : next++;
      char_bytes[byte_chars[b]] = (gint16) b;
    }
  g_assert (next == 256 + 68);
  g_once_init_leave (&done, 1);
}

gunichar
fs_byte_level_char (guint8 b)
{
  init_tables ();
  return byte_chars[b];
}

int
fs_byte_level_byte (gunichar c)
{
  init_tables ();
  return c < G_N_ELEMENTS (char_bytes) ? char_bytes[c] : -1;
}

void
fs_byte_level_append (GString *out, const char *bytes, gsize length)
{
  init_tables ();
  for (gsize i = 0; i < length; i++)
    g_string_append_unichar (out, byte_chars[(guint8) bytes[i]]);
}

int
fs_utf8_next (const char *s, gsize length, gunichar *c)
{
  const guchar *u = (const guchar *) s;
  gunichar value, min;
  int size;

  g_assert (length > 0);
  if (u[0] < 0x80)
    {
      *c = u[0];
      return 1;
    }
  if (u[0] >= 0xC2 && u[0] <= 0xDF)
    size = 2, value = u[0] & 0x1F, min = 0x80;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF)
    size = 3, value = u[0] & 0x0F, min = 0x800;
  else if (u[0] >= 0xF0 && u[0] <= 0xF4)
    size = 4, value = u[0] & 0x07, min = 0x10000;
  else
    return -1;

  for (int i = 1; i < size; i++)
    {
      if ((gsize) i >= length)
        return 0;
      if ((u[i] & 0xC0) != 0x80)
        return -1;
      value = (value << 6) | (u[i] & 0x3F);
      /* Reject as soon as the prefix can only lead to an overlong form, a
       * surrogate or a value past U+10FFFF, so that a cut-short sequence
       * is never mistaken for a valid start. */
      if (i == 1)
        {
          gunichar top = value << (6 * (size - 2));
          if ((size == 3 && (top < 0x800 || (top >= 0xD800 && top <= 0xDFFF)))
              || (size == 4 && (top < 0x10000 || top > 0x10FFFF)))
            return -1;
        }
    }
  g_assert (value >= min);
  *c = value;
  return size;
}

gsize
fs_utf8_valid_prefix (const char *s, gsize length)
{
  gsize i = 0;
  while (i < length)
    {
      gunichar c;
      int n = fs_utf8_next (s + i, length - i, &c);
      if (n <= 0)
        break;
      i += n;
    }
  return i;
}
