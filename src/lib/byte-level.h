/* byte-level.h: GPT-2's reversible byte <-> character table, and the UTF-8
 * checks the tokenizer needs on raw bytes (where NUL is a character and
 * nothing may be read past the end). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The character that stands for byte `b`: printable bytes stand for
 * themselves, the other 68 for U+0100.. in order (space is U+0120 "Ġ"). */
gunichar fs_byte_level_char (guint8 b);
/* The byte a character stands for, or -1 if it is not in the table. */
int      fs_byte_level_byte (gunichar c);
/* Appends the characters standing for `length` bytes, as UTF-8. */
void     fs_byte_level_append (GString *out, const char *bytes, gsize length);

/* Looks at the UTF-8 sequence starting at `s` (`length` bytes available):
 * returns its size (1-4) and sets *c when it is a whole valid character,
 * 0 when it is a valid start cut short by the end, -1 when it is invalid
 * (overlong forms, surrogates and values past U+10FFFF included). */
int      fs_utf8_next (const char *s, gsize length, gunichar *c);
/* The length of the longest prefix of `s` that is valid UTF-8. */
gsize    fs_utf8_valid_prefix (const char *s, gsize length);

G_END_DECLS
