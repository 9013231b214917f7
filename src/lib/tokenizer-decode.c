/* tokenizer-decode.c: ids back to bytes, whole or one id at a time.
 *
 * `tokenizers` runs the decoder steps over the list of token strings. The
 * supported steps act on each token alone (Replace, ByteFallback,
 * ByteLevel's character-to-byte map, Strip before any Fuse), and Fuse only
 * joins, so decoding is a left-to-right pass over the tokens. The one step
 * that sees the joined text, Strip after Fuse, strips its start and end as
 * the pass goes. Whole and streaming decoding therefore share one pass and
 * agree by construction.
 *
 * Where `tokenizers` turns bytes that are not UTF-8 into U+FFFD, this keeps
 * the raw bytes: decode is the inverse of encode (see tokenizer.h). */
#include "tokenizer-private.h"

#include <string.h>

#include "byte-level.h"
#include "fs-error.h"

/* ---- parsing ---- */

static gboolean
decoder_error (const char *path, GError **error, const char *format, const char *type)
{
  g_autofree char *what = g_strdup_printf (format, type);
  return fs_fail (error, FS_ERROR_UNSUPPORTED, path, "decoder: %s", what);
}

static gboolean
get_uint (const cJSON *json, const char *key, guint *out)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, key);
  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (!cJSON_IsNumber (item) || item->valuedouble < 0 || item->valuedouble > 1e6
      || item->valuedouble != (double) (guint) item->valuedouble)
    return FALSE;
  *out = (guint) item->valuedouble;
  return TRUE;
}

typedef struct {
  gboolean fused;            /* a Fuse or ByteLevel came before */
  gboolean whole_strip;      /* a Strip after that */
} ParseState;

static gboolean
parse_step (const char *path, const cJSON *json, FsDecoder *decoder, ParseState *state,
            guint depth, GError **error)
{
  const cJSON *type_item = cJSON_GetObjectItemCaseSensitive (json, "type");
  const char *type = cJSON_IsString (type_item) ? type_item->valuestring : NULL;
  FsDecodeStep step = { 0 };

  if (!cJSON_IsObject (json) || type == NULL)
    return fs_fail (error, FS_ERROR_INVALID, path, "decoder: an object with a “type” expected");
  if (g_str_equal (type, "Sequence"))
    {
      const cJSON *items = cJSON_GetObjectItemCaseSensitive (json, "decoders");
      const cJSON *item;
      if (!cJSON_IsArray (items) || depth > 16)
        return fs_fail (error, FS_ERROR_INVALID, path,
                        "decoder: Sequence needs a “decoders” array (nested at most 16 deep)");
      cJSON_ArrayForEach (item, items)
        if (!parse_step (path, item, decoder, state, depth + 1, error))
          return FALSE;
      return TRUE;
    }

  if (g_str_equal (type, "Fuse"))
    {
      state->fused = TRUE;
      return TRUE;
    }
  if (g_str_equal (type, "Strip"))
    {
      const cJSON *content = cJSON_GetObjectItemCaseSensitive (json, "content");
      guint start = 0, stop = 0;
      if (!cJSON_IsString (content) || g_utf8_strlen (content->valuestring, -1) != 1
          || !get_uint (json, "start", &start) || !get_uint (json, "stop", &stop))
        return fs_fail (error, FS_ERROR_INVALID, path,
                        "decoder: Strip needs a one-character “content”, “start” and “stop”");
      gunichar c = g_utf8_get_char (content->valuestring);
      if (state->fused)
        {
          if (state->whole_strip)
            return decoder_error (path, error, "a second “%s” after Fuse is not supported", type);
          state->whole_strip = TRUE;
          decoder->strip_char = c;
          decoder->strip_start = start;
          decoder->strip_stop = stop;
          return TRUE;
        }
      step.kind = FS_DECODE_STRIP;
      step.strip_char = c;
      step.strip_start = start;
      step.strip_stop = stop;
      g_array_append_val (decoder->steps, step);
      return TRUE;
    }

  /* Steps on each token: they may not follow the whole-text Strip, and
   * after a Fuse only a one-character Replace means the same per token. */
  if (state->whole_strip)
    return decoder_error (path, error, "“%s” after Fuse and Strip is not supported", type);
  if (g_str_equal (type, "Replace"))
    {
      const cJSON *pattern = cJSON_GetObjectItemCaseSensitive (json, "pattern");
      const cJSON *string = cJSON_GetObjectItemCaseSensitive (pattern, "String");
      const cJSON *content = cJSON_GetObjectItemCaseSensitive (json, "content");
      if (!cJSON_IsString (string) || string->valuestring[0] == '\0' || !cJSON_IsString (content))
        return decoder_error (path, error,
                              "“%s” needs a non-empty {\"String\": ...} pattern and a “content”",
                              type);
      if (state->fused && g_utf8_strlen (string->valuestring, -1) != 1)
        return decoder_error (path, error, "“%s” of several characters after Fuse is not supported",
                              type);
      step.kind = FS_DECODE_REPLACE;
      step.pattern = g_strdup (string->valuestring);
      step.content = g_strdup (content->valuestring);
    }
  else if (g_str_equal (type, "ByteFallback") || g_str_equal (type, "ByteLevel"))
    {
      if (state->fused)
        return decoder_error (path, error, "“%s” after Fuse is not supported", type);
      step.kind = g_str_equal (type, "ByteLevel") ? FS_DECODE_BYTE_LEVEL : FS_DECODE_BYTE_FALLBACK;
      /* ByteLevel joins the tokens into one string, like a Fuse. */
      if (step.kind == FS_DECODE_BYTE_LEVEL)
        state->fused = TRUE;
    }
  else
    return decoder_error (path, error, "type “%s” is not supported", type);
  g_array_append_val (decoder->steps, step);
  return TRUE;
}

static void
clear_step (FsDecodeStep *step)
{
  g_free (step->pattern);
  g_free (step->content);
}

gboolean
fs_decoder_parse (const char *path, const cJSON *json, FsDecoder *decoder, GError **error)
{
  ParseState state = { FALSE, FALSE };

  decoder->steps = g_array_new (FALSE, TRUE, sizeof (FsDecodeStep));
  g_array_set_clear_func (decoder->steps, (GDestroyNotify) clear_step);
  if (json == NULL || cJSON_IsNull (json))
    {
      decoder->none = TRUE;
      return TRUE;
    }
  return parse_step (path, json, decoder, &state, 0, error);
}

void
fs_decoder_clear (FsDecoder *decoder)
{
  g_clear_pointer (&decoder->steps, g_array_unref);
}

/* ---- one token ---- */

static int
hex_digit (char c)
{
  return g_ascii_xdigit_value (c);
}

/* Maps table characters back to their bytes, in place (one byte never
 * outgrows its character). A token with any other character keeps its own
 * bytes, as in `tokenizers`. */
static void
byte_level_in_place (GString *work)
{
  gsize pos, out = 0;
  gunichar c;
  int size;

  for (pos = 0; pos < work->len; pos += size)
    {
      size = fs_utf8_next (work->str + pos, work->len - pos, &c);
      if (size <= 0 || fs_byte_level_byte (c) < 0)
        return;
    }
  for (pos = 0; pos < work->len; pos += size)
    {
      size = fs_utf8_next (work->str + pos, work->len - pos, &c);
      work->str[out++] = (char) fs_byte_level_byte (c);
    }
  g_string_truncate (work, out);
}

/* Applies the per-token steps to one token string, in `work`. */
static void
decode_token (const FsDecoder *decoder, const char *token, GString *work)
{
  g_string_assign (work, token);
  for (guint i = 0; i < decoder->steps->len; i++)
    {
      const FsDecodeStep *step = &g_array_index (decoder->steps, FsDecodeStep, i);
      switch (step->kind)
        {
        case FS_DECODE_REPLACE:
          g_string_replace (work, step->pattern, step->content, 0);
          break;
        case FS_DECODE_BYTE_FALLBACK:
          if (work->len == 6 && g_str_has_prefix (work->str, "<0x") && work->str[5] == '>'
              && hex_digit (work->str[3]) >= 0 && hex_digit (work->str[4]) >= 0)
            {
              char byte = (char) (hex_digit (work->str[3]) * 16 + hex_digit (work->str[4]));
              g_string_truncate (work, 0);
              g_string_append_c (work, byte);
            }
          break;
        case FS_DECODE_BYTE_LEVEL:
          byte_level_in_place (work);
          break;
        case FS_DECODE_STRIP:
          {
            char content[8];
            int clen = g_unichar_to_utf8 (step->strip_char, content);
            guint cut = 0;
            while (cut < step->strip_start && (cut + 1) * clen <= work->len
                   && memcmp (work->str + cut * clen, content, clen) == 0)
              cut++;
            g_string_erase (work, 0, cut * clen);
            cut = 0;
            while (cut < step->strip_stop && (cut + 1) * clen <= work->len
                   && memcmp (work->str + work->len - (cut + 1) * clen, content, clen) == 0)
              cut++;
            g_string_truncate (work, work->len - cut * clen);
            break;
          }
        }
    }
}

/* ---- the pass over the tokens ---- */

typedef struct {
  FsTokenizer *tokenizer;
  gboolean first;            /* no token yet */
  gboolean at_start;         /* nothing emitted yet (for the whole-text Strip) */
  guint start_left;          /* leading strip characters still to remove */
  guint held;                /* trailing strip characters held back */
  GString *work;
} DecodeState;

static void
decode_state_init (DecodeState *state, FsTokenizer *tokenizer)
{
  state->tokenizer = tokenizer;
  state->first = TRUE;
  state->at_start = TRUE;
  state->start_left = tokenizer->decoder.strip_start;
  state->held = 0;
  if (state->work == NULL)
    state->work = g_string_new (NULL);
}

/* Appends the bytes of one more token to `out`. */
static void
decode_state_push (DecodeState *state, int32_t id, GString *out)
{
  const FsDecoder *decoder = &state->tokenizer->decoder;
  const char *token = fs_tokenizer_id_to_token (state->tokenizer, id);
  char content[8];
  int clen;

  if (token == NULL)
    return;
  if (decoder->none)
    {
      if (!state->first)
        g_string_append_c (out, ' ');
      g_string_append (out, token);
      state->first = FALSE;
      return;
    }
  state->first = FALSE;
  decode_token (decoder, token, state->work);

  GString *bytes = state->work;
  gsize begin = 0, end = bytes->len;
  if (decoder->strip_start == 0 && decoder->strip_stop == 0)
    {
      g_string_append_len (out, bytes->str, bytes->len);
      return;
    }

  clen = g_unichar_to_utf8 (decoder->strip_char, content);
  while (state->at_start && state->start_left > 0 && begin + clen <= end
         && memcmp (bytes->str + begin, content, clen) == 0)
    {
      begin += clen;
      state->start_left--;
    }
  if (begin == end)
    return;
  state->at_start = FALSE;

  /* Hold back the trailing strip characters: only the end of the whole
   * text loses them. */
  guint trailing = 0;
  while (end - trailing * clen >= begin + clen
         && memcmp (bytes->str + end - (trailing + 1) * clen, content, clen) == 0)
    trailing++;
  if (begin + trailing * clen < end)
    {
      /* Something else comes after the held ones: they stay. */
      for (; state->held > 0; state->held--)
        g_string_append_len (out, content, clen);
    }
  guint total = state->held + trailing;
  guint keep = total > decoder->strip_stop ? total - decoder->strip_stop : 0;
  gsize body_end = end - trailing * clen;
  g_string_append_len (out, bytes->str + begin, body_end - begin);
  for (guint i = 0; i < keep; i++)
    g_string_append_len (out, content, clen);
  state->held = total - keep;
}

static void
decode_state_clear (DecodeState *state)
{
  if (state->work != NULL)
    g_string_free (state->work, TRUE);
  state->work = NULL;
}

char *
fs_tokenizer_decode (FsTokenizer *tokenizer, const int32_t *ids, gsize n_ids, gsize *length)
{
  DecodeState state = { 0 };
  GString *out;

  g_return_val_if_fail (tokenizer != NULL, NULL);
  g_return_val_if_fail (ids != NULL || n_ids == 0, NULL);

  out = g_string_new (NULL);
  decode_state_init (&state, tokenizer);
  for (gsize i = 0; i < n_ids; i++)
    decode_state_push (&state, ids[i], out);
  decode_state_clear (&state);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

/* ---- streaming ---- */

struct _FsTokenDecoder {
  FsTokenizer *tokenizer;
  DecodeState state;
  GString *pending;          /* bytes not yet returned */
};

FsTokenDecoder *
fs_token_decoder_new (FsTokenizer *tokenizer)
{
  g_return_val_if_fail (tokenizer != NULL, NULL);

  FsTokenDecoder *decoder = g_new0 (FsTokenDecoder, 1);
  decoder->tokenizer = fs_tokenizer_ref (tokenizer);
  decoder->pending = g_string_new (NULL);
  decode_state_init (&decoder->state, tokenizer);
  return decoder;
}

void
fs_token_decoder_free (FsTokenDecoder *decoder)
{
  if (decoder == NULL)
    return;
  decode_state_clear (&decoder->state);
  g_string_free (decoder->pending, TRUE);
  fs_tokenizer_unref (decoder->tokenizer);
  g_free (decoder);
}

/* Moves the complete characters of `pending` to a new string, U+FFFD for
 * each byte that cannot start one; a cut-short tail stays unless `all`. */
static char *
take_complete (GString *pending, gboolean all, gsize *length)
{
  GString *out = g_string_sized_new (pending->len + 4);
  gsize pos = 0;

  while (pos < pending->len)
    {
      gunichar c;
      int size = fs_utf8_next (pending->str + pos, pending->len - pos, &c);
      if (size > 0)
        {
          g_string_append_len (out, pending->str + pos, size);
          pos += size;
        }
      else if (size == 0 && !all)
        break;
      else
        {
          g_string_append (out, "\xEF\xBF\xBD");
          pos++;
        }
    }
  g_string_erase (pending, 0, pos);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

char *
fs_token_decoder_push (FsTokenDecoder *decoder, int32_t id, gsize *length)
{
  g_return_val_if_fail (decoder != NULL, NULL);

  decode_state_push (&decoder->state, id, decoder->pending);
  return take_complete (decoder->pending, FALSE, length);
}

char *
fs_token_decoder_flush (FsTokenDecoder *decoder, gsize *length)
{
  g_return_val_if_fail (decoder != NULL, NULL);

  char *rest = take_complete (decoder->pending, TRUE, length);
  decode_state_init (&decoder->state, decoder->tokenizer);
  return rest;
}
