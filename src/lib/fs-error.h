/* fs-error.h: the error domain every Flowscope loader reports through.
 *
 * Messages always name the file and the problem, so that the CLI can print
 * them as they are and the app can show them in a toast.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FS_ERROR (fs_error_quark ())

typedef enum {
  FS_ERROR_INVALID,      /* the bytes contradict the format */
  FS_ERROR_UNSUPPORTED,  /* well-formed, but not something Flowscope reads */
  FS_ERROR_NOT_FOUND,    /* a file, tensor or key that must exist does not */
  FS_ERROR_IO,           /* the operating system refused */
  FS_ERROR_CANCELLED,
} FsError;

GQuark fs_error_quark (void);

/* Sets `error` to "WHERE: MESSAGE" in the FS_ERROR domain and returns FALSE,
 * so that parsers can `return fs_fail (...)`. */
gboolean fs_fail (GError **error, FsError code, const char *where, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

G_END_DECLS
