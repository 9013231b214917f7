#include "fs-error.h"

G_DEFINE_QUARK (flowscope-error-quark, fs_error)

gboolean
fs_fail (GError **error, FsError code, const char *where, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, FS_ERROR, code, "%s: %s", where, message);
  return FALSE;
}
