/* tokenizer-pretok.c: the normalizers and pre-tokenizers of tokenizer.json,
 * with the semantics of Hugging Face `tokenizers` (NormalizedString::split
 * for the split behaviors). Regexes are Oniguruma syntax in the files; the
 * ones tokenizers use (\p{L}, \p{N}, (?i:...), (?!\S)) mean the same in
 * PCRE2, which GRegex runs in UTF-8 mode with Unicode properties. */
#include "tokenizer-private.h"

#include <string.h>

#include "byte-level.h"
#include "fs-error.h"

#define GPT2_PATTERN \
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

GRegex *
fs_gpt2_regex (void)
{
  static GRegex *regex = NULL;
  if (g_once_init_enter (&regex))
    {
      GRegex *compiled = g_regex_new (GPT2_PATTERN, G_REGEX_OPTIMIZE, 0, NULL);
      g_assert (compiled != NULL);
      g_once_init_leave (&regex, compiled);
    }
  return regex;
}

static const char *
type_of (const cJSON *json)
{
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (json, "type");
  return cJSON_IsString (type) ? type->valuestring : NULL;
}

static gboolean
unsupported (const char *path, const char *what, const cJSON *json, GError **error)
{
  const char *type = type_of (json);
  if (type == NULL)
    return fs_fail (error, FS_ERROR_INVALID, path, "%s: no “type”", what);
  return fs_fail (error, FS_ERROR_UNSUPPORTED, path, "%s type “%s” is not supported", what, type);
}

/* \C matches one byte even in UTF-8 mode: the only way a pattern could cut
 * a character, which everything after the pre-tokenizer relies on not
 * happening. */
static gboolean
splits_characters (const char *pattern)
{
  for (const char *p = pattern; *p != '\0'; p++)
    if (*p == '\\')
      {
        if (p[1] == 'C')
          return TRUE;
        if (p[1] != '\0')
          p++;
      }
  return FALSE;
}

/* Compiles {"String": s} (literal) or {"Regex": r}. */
static GRegex *
compile_pattern (const char *path, const char *what, const cJSON *json, GError **error)
{
  const cJSON *pattern = cJSON_GetObjectItemCaseSensitive (json, "pattern");
  const cJSON *string = cJSON_GetObjectItemCaseSensitive (pattern, "String");
  const cJSON *regex = cJSON_GetObjectItemCaseSensitive (pattern, "Regex");
  g_autofree char *source = NULL;
  g_autoptr(GError) local_error = NULL;

  if (cJSON_IsString (string))
    source = g_regex_escape_string (string->valuestring, -1);
  else if (cJSON_IsString (regex))
    source = g_strdup (regex->valuestring);
  else
    {
      fs_fail (error, FS_ERROR_INVALID, path,
               "%s: “pattern” must be {\"String\": ...} or {\"Regex\": ...}", what);
      return NULL;
    }
  if (source[0] == '\0')
    {
      fs_fail (error, FS_ERROR_INVALID, path, "%s: empty pattern", what);
      return NULL;
    }
  if (splits_characters (source))
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, path,
               "%s: pattern “%s” uses \\C, which can cut a character apart", what, source);
      return NULL;
    }
  GRegex *compiled = g_regex_new (source, G_REGEX_OPTIMIZE, 0, &local_error);
  if (compiled == NULL)
    fs_fail (error, FS_ERROR_UNSUPPORTED, path, "%s: pattern “%s”: %s", what, source,
             local_error->message);
  return compiled;
}

static gboolean
get_string (const char *path, const char *what, const cJSON *json, const char *key,
            const char **out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, key);
  if (!cJSON_IsString (item))
    return fs_fail (error, FS_ERROR_INVALID, path, "%s: “%s” must be a string", what, key);
  *out = item->valuestring;
  return TRUE;
}

static gboolean
get_bool (const char *path, const char *what, const cJSON *json, const char *key,
          gboolean *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, key);
  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (!cJSON_IsBool (item))
    return fs_fail (error, FS_ERROR_INVALID, path, "%s: “%s” must be true or false", what, key);
  *out = cJSON_IsTrue (item);
  return TRUE;
}

/* Calls `parse_one` on each member of a Sequence's array, or on `json`. */
typedef gboolean (*ParseOne) (const char *path, const cJSON *json, GArray *steps,
                              GError **error);

static gboolean
parse_sequence (const char *path, const char *what, const char *key, const cJSON *json,
                GArray *steps, ParseOne parse_one, guint depth, GError **error)
{
  const cJSON *items = cJSON_GetObjectItemCaseSensitive (json, key);
  const cJSON *item;

  if (!cJSON_IsArray (items))
    return fs_fail (error, FS_ERROR_INVALID, path, "%s: Sequence needs a “%s” array", what, key);
  /* Nested sequences are legal but a deep nest is an attack on the stack. */
  if (depth > 16)
    return fs_fail (error, FS_ERROR_INVALID, path, "%s: Sequences nested too deep", what);
  cJSON_ArrayForEach (item, items)
    {
      if (!cJSON_IsObject (item))
        return fs_fail (error, FS_ERROR_INVALID, path,
                        "%s: Sequence members must be objects", what);
      if (g_strcmp0 (type_of (item), "Sequence") == 0)
        {
          if (!parse_sequence (path, what, key, item, steps, parse_one, depth + 1, error))
            return FALSE;
        }
      else if (!parse_one (path, item, steps, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- normalizers ---- */

static gboolean
parse_normalizer (const char *path, const cJSON *json, GArray *steps, GError **error)
{
  const char *type = type_of (json);
  const char *what = "normalizer";
  FsNormalizeStep step = { 0 };
  const char *content = NULL;

  if (g_strcmp0 (type, "Replace") == 0)
    {
      step.kind = FS_NORMALIZE_REPLACE;
      if (!get_string (path, what, json, "content", &content, error))
        return FALSE;
      step.pattern = compile_pattern (path, what, json, error);
      if (step.pattern == NULL)
        return FALSE;
      step.content = g_strdup (content);
    }
  else if (g_strcmp0 (type, "Prepend") == 0)
    {
      step.kind = FS_NORMALIZE_PREPEND;
      if (!get_string (path, what, json, "prepend", &content, error))
        return FALSE;
      step.content = g_strdup (content);
    }
  else if (g_strcmp0 (type, "NFC") == 0 || g_strcmp0 (type, "NFD") == 0
           || g_strcmp0 (type, "NFKC") == 0 || g_strcmp0 (type, "NFKD") == 0)
    {
      step.kind = FS_NORMALIZE_UNICODE;
      step.mode = g_str_equal (type, "NFC") ? G_NORMALIZE_NFC
                  : g_str_equal (type, "NFD") ? G_NORMALIZE_NFD
                  : g_str_equal (type, "NFKC") ? G_NORMALIZE_NFKC : G_NORMALIZE_NFKD;
    }
  else
    return unsupported (path, what, json, error);
  g_array_append_val (steps, step);
  return TRUE;
}

gboolean
fs_normalizer_parse (const char *path, const cJSON *json, GArray *steps, GError **error)
{
  if (json == NULL || cJSON_IsNull (json))
    return TRUE;
  if (!cJSON_IsObject (json))
    return fs_fail (error, FS_ERROR_INVALID, path, "“normalizer” must be an object or null");
  if (g_strcmp0 (type_of (json), "Sequence") == 0)
    return parse_sequence (path, "normalizer", "normalizers", json, steps, parse_normalizer, 0,
                           error);
  return parse_normalizer (path, json, steps, error);
}

void
fs_normalize_step_clear (FsNormalizeStep *step)
{
  g_clear_pointer (&step->pattern, g_regex_unref);
  g_clear_pointer (&step->content, g_free);
}

/* Replaces every match; lengths are explicit, as the text may hold NULs. */
static void
replace_all (GRegex *pattern, const char *content, const GString *in, GString *out)
{
  g_autoptr(GMatchInfo) info = NULL;
  gsize previous = 0;

  g_regex_match_full (pattern, in->str, in->len, 0, 0, &info, NULL);
  while (g_match_info_matches (info))
    {
      int s, e;
      g_match_info_fetch_pos (info, 0, &s, &e);
      g_string_append_len (out, in->str + previous, s - previous);
      g_string_append (out, content);
      previous = e;
      g_match_info_next (info, NULL);
    }
  g_string_append_len (out, in->str + previous, in->len - previous);
}

/* g_utf8_normalize() stops at a NUL: normalize the runs between NULs (no
 * character composes with NUL, so this is exact). */
static void
normalize_unicode (GNormalizeMode mode, const GString *in, GString *out)
{
  const char *p = in->str, *end = in->str + in->len;
  while (p < end)
    {
      const char *nul = memchr (p, '\0', end - p);
      gsize run = (nul != NULL ? nul : end) - p;
      g_autofree char *normalized = g_utf8_normalize (p, run, mode);
      g_string_append (out, normalized);
      if (nul == NULL)
        break;
      g_string_append_c (out, '\0');
      p = nul + 1;
    }
}

char *
fs_normalize (GArray *steps, const char *text, gsize length, gsize *out_length)
{
  GString *current = g_string_new_len (text, length);
  GString *next = g_string_new (NULL);

  for (guint i = 0; i < steps->len && current->len > 0; i++)
    {
      const FsNormalizeStep *step = &g_array_index (steps, FsNormalizeStep, i);
      GString *tmp;

      g_string_truncate (next, 0);
      switch (step->kind)
        {
        case FS_NORMALIZE_REPLACE:
          replace_all (step->pattern, step->content, current, next);
          break;
        case FS_NORMALIZE_PREPEND:
          g_string_append (next, step->content);
          g_string_append_len (next, current->str, current->len);
          break;
        case FS_NORMALIZE_UNICODE:
          normalize_unicode (step->mode, current, next);
          break;
        }
      tmp = current, current = next, next = tmp;
    }
  g_string_free (next, TRUE);
  *out_length = current->len;
  return g_string_free (current, FALSE);
}

/* ---- pre-tokenizers ---- */

static gboolean
parse_pre_tokenizer (const char *path, const cJSON *json, GArray *steps, GError **error)
{
  const char *type = type_of (json);
  const char *what = "pre_tokenizer";
  FsPreTokStep step = { 0 };

  if (g_strcmp0 (type, "ByteLevel") == 0)
    {
      /* The defaults of ByteLevel::default() in `tokenizers`. */
      gboolean use_regex = TRUE;
      step.byte_level = TRUE;
      step.add_prefix_space = TRUE;
      if (!get_bool (path, what, json, "add_prefix_space", &step.add_prefix_space, error)
          || !get_bool (path, what, json, "use_regex", &use_regex, error))
        return FALSE;
      step.behavior = FS_SPLIT_ISOLATED;
      if (use_regex)
        step.regex = g_regex_ref (fs_gpt2_regex ());
    }
  else if (g_strcmp0 (type, "Split") == 0)
    {
      static const char *names[] = {
        [FS_SPLIT_REMOVED] = "Removed",
        [FS_SPLIT_ISOLATED] = "Isolated",
        [FS_SPLIT_MERGED_WITH_PREVIOUS] = "MergedWithPrevious",
        [FS_SPLIT_MERGED_WITH_NEXT] = "MergedWithNext",
        [FS_SPLIT_CONTIGUOUS] = "Contiguous",
      };
      const char *behavior = NULL;
      guint b;

      if (!get_string (path, what, json, "behavior", &behavior, error)
          || !get_bool (path, what, json, "invert", &step.invert, error))
        return FALSE;
      for (b = 0; b < G_N_ELEMENTS (names); b++)
        if (g_str_equal (behavior, names[b]))
          break;
      if (b == G_N_ELEMENTS (names))
        return fs_fail (error, FS_ERROR_UNSUPPORTED, path,
                        "pre_tokenizer: Split behavior “%s” is not supported", behavior);
      step.behavior = b;
      step.regex = compile_pattern (path, what, json, error);
      if (step.regex == NULL)
        return FALSE;
    }
  else
    return unsupported (path, what, json, error);
  g_array_append_val (steps, step);
  return TRUE;
}

gboolean
fs_pre_tokenizer_parse (const char *path, const cJSON *json, GArray *steps, GError **error)
{
  if (json == NULL || cJSON_IsNull (json))
    return TRUE;
  if (!cJSON_IsObject (json))
    return fs_fail (error, FS_ERROR_INVALID, path, "“pre_tokenizer” must be an object or null");
  if (g_strcmp0 (type_of (json), "Sequence") == 0)
    return parse_sequence (path, "pre_tokenizer", "pretokenizers", json, steps,
                           parse_pre_tokenizer, 0, error);
  return parse_pre_tokenizer (path, json, steps, error);
}

void
fs_pre_tok_step_clear (FsPreTokStep *step)
{
  g_clear_pointer (&step->regex, g_regex_unref);
}

static void
push_span (GArray *spans, gsize start, gsize end)
{
  if (end > start)
    {
      FsSpan span = { start, end - start };
      g_array_append_val (spans, span);
    }
}

typedef struct {
  gsize start, end;
  gboolean is_match;
} Segment;

/* Cuts text[start, start + length) by the step's regex, appending the
 * pieces (offsets into `text`) to `out`, as NormalizedString::split does. */
static void
split_span (const FsPreTokStep *step, const char *text, gsize start, gsize length,
            GArray *segments, GArray *out)
{
  g_autoptr(GMatchInfo) info = NULL;
  gsize previous = 0;

  g_array_set_size (segments, 0);
  g_regex_match_full (step->regex, text + start, length, 0, 0, &info, NULL);
  while (g_match_info_matches (info))
    {
      int s, e;
      g_match_info_fetch_pos (info, 0, &s, &e);
      if (e > s)
        {
          if ((gsize) s > previous)
            g_array_append_val (segments, ((Segment) { previous, s, step->invert }));
          g_array_append_val (segments, ((Segment) { s, e, !step->invert }));
          previous = e;
        }
      g_match_info_next (info, NULL);
    }
  if (previous < length)
    g_array_append_val (segments, ((Segment) { previous, length, step->invert }));

  Segment *seg = (Segment *) (void *) segments->data;
  guint n = segments->len;
  gsize base = out->len;
  gboolean previous_match = FALSE;

  switch (step->behavior)
    {
    case FS_SPLIT_REMOVED:
      for (guint i = 0; i < n; i++)
        if (!seg[i].is_match)
          push_span (out, start + seg[i].start, start + seg[i].end);
      break;
    case FS_SPLIT_ISOLATED:
      for (guint i = 0; i < n; i++)
        push_span (out, start + seg[i].start, start + seg[i].end);
      break;
    case FS_SPLIT_MERGED_WITH_PREVIOUS:
    case FS_SPLIT_CONTIGUOUS:
      /* A match joins the piece before it (Contiguous: runs of the same
       * kind join). Segments are never empty, so spans are pushed raw. */
      for (guint i = 0; i < n; i++)
        {
          gboolean join = step->behavior == FS_SPLIT_CONTIGUOUS
                          ? seg[i].is_match == previous_match
                          : seg[i].is_match && !previous_match;
          if (join && out->len > base)
            {
              FsSpan *last = &g_array_index (out, FsSpan, out->len - 1);
              last->length = start + seg[i].end - last->start;
            }
          else
            push_span (out, start + seg[i].start, start + seg[i].end);
          previous_match = seg[i].is_match;
        }
      break;
    case FS_SPLIT_MERGED_WITH_NEXT:
      /* A match joins the piece after it: walk backwards, then reverse. */
      for (guint i = n; i-- > 0;)
        {
          if (seg[i].is_match && !previous_match && out->len > base)
            {
              FsSpan *last = &g_array_index (out, FsSpan, out->len - 1);
              last->length += last->start - (start + seg[i].start);
              last->start = start + seg[i].start;
            }
          else
            push_span (out, start + seg[i].start, start + seg[i].end);
          previous_match = seg[i].is_match;
        }
      for (guint i = base, j = out->len - 1; i < j; i++, j--)
        {
          FsSpan tmp = g_array_index (out, FsSpan, i);
          g_array_index (out, FsSpan, i) = g_array_index (out, FsSpan, j);
          g_array_index (out, FsSpan, j) = tmp;
        }
      break;
    }
}

void
fs_pre_tokenize (GArray *steps, const char *text, gsize length, FsPieces *out)
{
  g_autoptr(GArray) segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (FsSpan));
  g_autoptr(GString) mapped = NULL;

  g_string_truncate (out->text, 0);
  g_string_append_len (out->text, text, length);
  g_array_set_size (out->spans, 0);
  push_span (out->spans, 0, length);

  for (guint i = 0; i < steps->len; i++)
    {
      const FsPreTokStep *step = &g_array_index (steps, FsPreTokStep, i);
      g_array_set_size (spans, 0);

      if (!step->byte_level)
        {
          for (guint j = 0; j < out->spans->len; j++)
            {
              FsSpan span = g_array_index (out->spans, FsSpan, j);
              split_span (step, out->text->str, span.start, span.length, segments, spans);
            }
          g_array_set_size (out->spans, 0);
          g_array_append_vals (out->spans, spans->data, spans->len);
          continue;
        }

      /* ByteLevel: prefix space, GPT-2 regex, then bytes to characters
       * (which moves every piece into a new buffer). */
      g_autoptr(GString) spaced = g_string_new (NULL);
      g_autoptr(GArray) mapped_spans = g_array_new (FALSE, FALSE, sizeof (FsSpan));
      if (mapped == NULL)
        mapped = g_string_new (NULL);
      g_string_truncate (mapped, 0);
      for (guint j = 0; j < out->spans->len; j++)
        {
          FsSpan span = g_array_index (out->spans, FsSpan, j);
          const char *piece = out->text->str + span.start;

          g_string_truncate (spaced, 0);
          if (step->add_prefix_space && piece[0] != ' ')
            g_string_append_c (spaced, ' ');
          g_string_append_len (spaced, piece, span.length);

          g_array_set_size (spans, 0);
          if (step->regex != NULL)
            split_span (step, spaced->str, 0, spaced->len, segments, spans);
          else
            push_span (spans, 0, spaced->len);
          for (guint k = 0; k < spans->len; k++)
            {
              FsSpan sub = g_array_index (spans, FsSpan, k);
              gsize begin = mapped->len;
              fs_byte_level_append (mapped, spaced->str + sub.start, sub.length);
              push_span (mapped_spans, begin, mapped->len);
            }
        }
      g_array_set_size (out->spans, 0);
      g_array_append_vals (out->spans, mapped_spans->data, mapped_spans->len);
      g_string_truncate (out->text, 0);
      g_string_append_len (out->text, mapped->str, mapped->len);
    }
}
