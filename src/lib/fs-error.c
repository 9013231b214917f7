#include "fs-error.h"

G_DEFINE_QUARK (flowscope-error-quark, fs_error)
