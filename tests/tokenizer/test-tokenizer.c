/* test-tokenizer: the tokenizer on small handmade tokenizer.json files,
 * where every expected id can be worked out by hand. The real GPT-2, Gemma 3
 * and Llama 3 files are compared with reference implementations in
 * test-tokenizer-reference.py. */
#include <glib/gstdio.h>
#include <string.h>

#include "fs-error.h"
#include "tokenizer.h"

static FsTokenizer *
parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  FsTokenizer *t = fs_tokenizer_parse ("test.json", json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

/* Encodes and compares with the ids listed, -1 terminated. */
static void
assert_encodes_len (FsTokenizer *t, const char *text, gssize length, const int32_t *expected)
{
  gsize n = 0, n_expected = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (t, text, length, &n);
  while (expected[n_expected] >= 0)
    n_expected++;
  if (n != n_expected || memcmp (ids, expected, n * sizeof (int32_t)) != 0)
    {
      g_autoptr(GString) got = g_string_new (NULL);
      for (gsize i = 0; i < n; i++)
        g_string_append_printf (got, " %d", ids[i]);
      g_test_message ("“%s” encodes to%s", text, got->str);
    }
  g_assert_cmpmem (ids, n * sizeof (int32_t), expected, n_expected * sizeof (int32_t));
}

#define assert_encodes(t, text, ...) \
  assert_encodes_len (t, text, -1, (const int32_t[]) { __VA_ARGS__, -1 })
#define assert_encodes_nothing(t, text) \
  assert_encodes_len (t, text, -1, (const int32_t[]) { -1 })

/* decode (encode (x)) == x, and streaming agrees with decode. */
static void
assert_round_trip (FsTokenizer *t, const char *text, gsize length)
{
  gsize n = 0, decoded_length = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (t, text, length, &n);
  g_autofree char *decoded = fs_tokenizer_decode (t, ids, n, &decoded_length);
  g_assert_cmpmem (decoded, decoded_length, text, length);
}

static char *
stream_decode (FsTokenizer *t, const int32_t *ids, gsize n)
{
  g_autoptr(FsTokenDecoder) decoder = fs_token_decoder_new (t);
  GString *out = g_string_new (NULL);
  gsize length;

  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *piece = fs_token_decoder_push (decoder, ids[i], &length);
      g_assert_true (g_utf8_validate_len (piece, length, NULL));
      g_string_append_len (out, piece, length);
    }
  g_autofree char *rest = fs_token_decoder_flush (decoder, &length);
  g_assert_true (g_utf8_validate_len (rest, length, NULL));
  g_string_append_len (out, rest, length);
  return g_string_free (out, FALSE);
}

/* ---- handmade tokenizers ---- */

/* Byte-level (GPT-2 style) over the 256 byte characters plus a few merges. */
static char *
byte_level_json (const char *extra_vocab, const char *merges, const char *added)
{
  GString *json = g_string_new ("{\"added_tokens\": [");
  g_string_append (json, added);
  g_string_append (json, "], \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
                         " \"use_regex\": true}, \"decoder\": {\"type\": \"ByteLevel\"},"
                         " \"model\": {\"type\": \"BPE\", \"vocab\": {");
  /* The byte characters, in byte order: ids 0..255 are bytes 0..255. */
  guint next = 256;
  for (guint b = 0; b < 256; b++)
    {
      gboolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      gunichar c = printable ? b : next++;
      char utf8[8] = { 0 };
      g_unichar_to_utf8 (c, utf8);
      if (c == '"' || c == '\\')
        g_string_append_printf (json, "\"\\%s\": %u, ", utf8, b);
      else
        g_string_append_printf (json, "\"%s\": %u, ", utf8, b);
    }
  g_string_append (json, extra_vocab);
  g_string_append (json, "}, \"merges\": [");
  g_string_append (json, merges);
  g_string_append (json, "]}}");
  return g_string_free (json, FALSE);
}

static FsTokenizer *
byte_level_tokenizer (void)
{
  /* 256 "Ġt", 257 "he", 258 "Ġthe", 259 "ĠĠ", 260 <|endoftext|> */
  g_autofree char *json = byte_level_json (
    "\"Ġt\": 256, \"he\": 257, \"Ġthe\": 258, \"ĠĠ\": 259, \"<|endoftext|>\": 260",
    "\"Ġ t\", \"h e\", \"Ġt he\", \"Ġ Ġ\"",
    "{\"id\": 260, \"content\": \"<|endoftext|>\", \"special\": true}");
  return parse (json);
}

/* SentencePiece-like (Gemma style): ▁ normalizer, byte fallback. */
static const char gemma_like[] =
  "{\"added_tokens\": [{\"id\": 2, \"content\": \"<bos>\", \"special\": true, \"normalized\": false},"
  "  {\"id\": 9, \"content\": \"\\n\", \"special\": false, \"normalized\": false}],"
  " \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"},"
  " \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"},"
  "   \"behavior\": \"MergedWithPrevious\", \"invert\": false},"
  " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
  "   {\"id\": \"<bos>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
  "   \"special_tokens\": {\"<bos>\": {\"id\": \"<bos>\", \"ids\": [2], \"tokens\": [\"<bos>\"]}}},"
  " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": "
  "   {\"String\": \"▁\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]},"
  " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, \"byte_fallback\": true,"
  "   \"vocab\": {\"<pad>\": 0, \"<eos>\": 1, \"<bos>\": 2, \"<unk>\": 3, \"▁\": 4, \"a\": 5, \"b\": 6,"
  "     \"▁a\": 7, \"ab\": 8, \"\\n\": 9, \"<0xC3>\": 10, \"<0xA9>\": 11, \"<0xFF>\": 12, \"<0x41>\": 13},"
  "   \"merges\": [[\"▁\", \"a\"], [\"a\", \"b\"]]}}";

static void
test_merge_order (void)
{
  /* "b c" has the lowest rank; then "a bc"; "a b" never gets its turn. */
  g_autoptr(FsTokenizer) t = parse (
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"bc\": 4,"
    " \"abc\": 5, \"aa\": 6}, \"merges\": [\"b c\", [\"a\", \"b\"], \"a bc\", \"a a\"]}}");

  assert_encodes (t, "abc", 5);
  assert_encodes (t, "ab", 3);
  assert_encodes (t, "cab", 2, 3);
  /* Ties go to the leftmost pair. */
  assert_encodes (t, "aaa", 6, 0);
  assert_encodes (t, "aaaaa", 6, 6, 0);
  /* No decoder: tokens joined by spaces, as `tokenizers` does. */
  g_autofree char *text = fs_tokenizer_decode (t, (const int32_t[]) { 5, 6 }, 2, NULL);
  g_assert_cmpstr (text, ==, "abc aa");
  g_assert_cmpint (fs_tokenizer_get_vocab_size (t), ==, 7);
  g_assert_cmpint (fs_tokenizer_get_bos_id (t), ==, -1);
}

static void
test_later_merge_wins (void)
{
  /* `tokenizers` keeps the last rank given to a pair. */
  g_autoptr(FsTokenizer) t = parse (
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"bc\": 4},"
    " \"merges\": [\"a b\", \"b c\", \"a b\"]}}");
  assert_encodes (t, "abc", 0, 4);
}

static void
test_ignore_merges (void)
{
  const char *format =
    "{\"model\": {\"type\": \"BPE\", \"ignore_merges\": %s, \"vocab\": {\"h\": 0, \"e\": 1,"
    " \"y\": 2, \"he\": 3, \"hey\": 4}, \"merges\": [\"h e\"]}}";
  g_autofree char *on = g_strdup_printf (format, "true");
  g_autofree char *off = g_strdup_printf (format, "false");
  g_autoptr(FsTokenizer) with = parse (on);
  g_autoptr(FsTokenizer) without = parse (off);

  assert_encodes (with, "hey", 4);
  assert_encodes (without, "hey", 3, 2);
  assert_encodes (with, "heyy", 3, 2, 2);
}

static void
test_byte_level (void)
{
  g_autoptr(FsTokenizer) t = byte_level_tokenizer ();

  /* " the" is one pre-token: Ġ t h e -> Ġt he -> Ġthe. */
  assert_encodes (t, "the the", 't', 257, 258);
  /* "\s+(?!\S)" leaves the last space to the word. */
  assert_encodes (t, "a   the", 'a', 259, 258);
  assert_encodes (t, "<|endoftext|>the", 260, 't', 257);
  g_assert_true (fs_tokenizer_is_special (t, 260));
  g_assert_false (fs_tokenizer_is_special (t, 258));
  g_assert_cmpstr (fs_tokenizer_id_to_token (t, 258), ==, "Ġthe");
  g_assert_cmpint (fs_tokenizer_token_to_id (t, "Ġthe"), ==, 258);
  g_assert_cmpint (fs_tokenizer_token_to_id (t, "nope"), ==, -1);
  g_assert_null (fs_tokenizer_id_to_token (t, 261));
  g_assert_null (fs_tokenizer_id_to_token (t, -1));
  /* GPT-2 style: <|endoftext|> serves as BOS, but nothing adds it. */
  g_assert_cmpint (fs_tokenizer_get_bos_id (t), ==, 260);
  g_assert_false (fs_tokenizer_get_adds_bos (t));

  assert_round_trip (t, "Hello, wörld! 12 345 'll 日本 😀\r\n\t ", strlen ("Hello, wörld! 12 345 'll 日本 😀\r\n\t "));
}

static void
test_byte_level_invalid_utf8 (void)
{
  g_autoptr(FsTokenizer) t = byte_level_tokenizer ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  /* Invalid bytes are bytes: 0xFF is id 255, and NUL is a character. */
  assert_encodes_len (t, "a\xFF" "b", 3, (const int32_t[]) { 'a', 0xFF, 'b', -1 });
  assert_encodes_len (t, "a\0b", 3, (const int32_t[]) { 'a', 0, 'b', -1 });
  assert_round_trip (t, "\xE2\x82 cut \xF0\x9F\x98 short \xC0\xAF overlong \xED\xA0\x80", 33);

  for (int round = 0; round < 500; round++)
    {
      char buffer[64];
      gsize length = g_rand_int_range (rand, 0, sizeof buffer);
      for (gsize i = 0; i < length; i++)
        {
          /* Mostly text-like bytes, with some of everything. */
          static const char common[] = " tthhe\xC3\xA9\xE6\x97\xA5\n'";
          buffer[i] = g_rand_boolean (rand) ? common[g_rand_int_range (rand, 0, sizeof common - 1)]
                                            : (char) g_rand_int_range (rand, 0, 256);
        }
      assert_round_trip (t, buffer, length);
    }
}

static void
test_gemma_like (void)
{
  g_autoptr(FsTokenizer) t = parse (gemma_like);

  /* ▁ normalizer, merges across it, byte fallback for é, unk for the rest. */
  assert_encodes (t, "a ab", 5, 7, 6);
  assert_encodes (t, " é", 4, 10, 11);
  assert_encodes (t, "xyz", 3);              /* fuse_unk: one <unk> for the run */
  assert_encodes (t, "a\nb<bos>", 5, 9, 6, 2);
  g_assert_cmpint (fs_tokenizer_get_bos_id (t), ==, 2);
  g_assert_true (fs_tokenizer_get_adds_bos (t));

  /* Invalid bytes become <0xHH> when the vocab has them, else <unk>. */
  assert_encodes_len (t, "a\xFF", 2, (const int32_t[]) { 5, 12, -1 });
  assert_encodes_len (t, "\xC3", 1, (const int32_t[]) { 10, -1 });
  assert_encodes_len (t, "\x80\x81", 2, (const int32_t[]) { 3, -1 });
  assert_round_trip (t, "a ab é\xFF\xC3\nA", 11);

  g_autofree char *text = fs_tokenizer_decode (t, (const int32_t[]) { 2, 7, 4, 13, 10 }, 5, NULL);
  g_assert_cmpstr (text, ==, "<bos> a A\xC3");
}

static void
test_unknown_characters (void)
{
  const char *format =
    "{\"model\": {\"type\": \"BPE\", %s \"fuse_unk\": %s, \"vocab\": {\"<unk>\": 0, \"a\": 1},"
    " \"merges\": []}}";
  g_autofree char *fused = g_strdup_printf (format, "\"unk_token\": \"<unk>\",", "true");
  g_autofree char *unfused = g_strdup_printf (format, "\"unk_token\": \"<unk>\",", "false");
  g_autofree char *none = g_strdup_printf (format, "", "false");
  g_autoptr(FsTokenizer) t_fused = parse (fused);
  g_autoptr(FsTokenizer) t_unfused = parse (unfused);
  g_autoptr(FsTokenizer) t_none = parse (none);

  assert_encodes (t_fused, "xya", 0, 1);
  assert_encodes (t_fused, "xaé", 0, 1, 0);
  assert_encodes (t_unfused, "xya", 0, 0, 1);
  /* No unk token: unknown characters are dropped, as in `tokenizers`. */
  assert_encodes (t_none, "xya", 1);
  assert_encodes_nothing (t_none, "xyz");
}

static void
test_added_tokens (void)
{
  g_autoptr(FsTokenizer) t = parse (
    "{\"added_tokens\": ["
    "  {\"id\": 8, \"content\": \"<a>\", \"special\": true, \"normalized\": false},"
    "  {\"id\": 9, \"content\": \"<ab>\", \"special\": true, \"normalized\": false},"
    "  {\"id\": 10, \"content\": \"[L]\", \"lstrip\": true, \"normalized\": false},"
    "  {\"id\": 11, \"content\": \"[R]\", \"rstrip\": true, \"normalized\": false},"
    "  {\"id\": 12, \"content\": \"@\", \"single_word\": true, \"normalized\": false},"
    "  {\"id\": 13, \"content\": \"Q\", \"normalized\": true}],"
    " \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"[0-9]\"}, \"content\": \"Q\"},"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"?\", \"vocab\": {\"?\": 0, \"x\": 1, \" \": 2,"
    "   \"<\": 3, \"a\": 4, \">\": 5, \"b\": 6, \"w\": 7}, \"merges\": []}}");

  /* Longest match at the leftmost position. */
  assert_encodes (t, "x<ab>x<a>", 1, 9, 1, 8);
  assert_encodes (t, "<a<a>", 3, 4, 8);
  /* lstrip and rstrip swallow the spaces beside the token. */
  assert_encodes (t, "x  [L]  x", 1, 10, 2, 2, 1);
  assert_encodes (t, "x  [R]  x", 1, 2, 2, 11, 1);
  /* single_word: not inside a word. */
  assert_encodes (t, "@ x@ @", 12, 2, 1, 0, 2, 12);
  /* normalized: matched after the normalizer (digits become Q). */
  assert_encodes (t, "x7", 1, 13);
  assert_encodes (t, "xQ", 1, 13);
  g_assert_true (fs_tokenizer_is_special (t, 8));
  g_assert_false (fs_tokenizer_is_special (t, 10));
  g_assert_cmpint (fs_tokenizer_get_vocab_size (t), ==, 14);
}

static void
test_split_behaviors (void)
{
  static const struct {
    const char *behavior;
    gboolean invert;
    int32_t expected[8];
  } cases[] = {
    /* "a-a--a" cut by "-+" into a - a -- a; vocab a 0, - 1, a- 2, -a 3,
     * -- 4; merges "a -", "- a", "- -" in that order. */
    { "Isolated", FALSE, { 0, 1, 0, 4, 0, -1 } },
    { "Removed", FALSE, { 0, 0, 0, -1 } },
    { "MergedWithPrevious", FALSE, { 2, 2, 1, 0, -1 } },  /* a- a-- a */
    { "MergedWithNext", FALSE, { 0, 3, 1, 3, -1 } },      /* a -a --a */
    { "Contiguous", FALSE, { 0, 1, 0, 4, 0, -1 } },
    /* invert, pattern "a": the dashes become the matches. */
    { "Removed", TRUE, { 0, 0, 0, -1 } },
    { "MergedWithPrevious", TRUE, { 2, 2, 1, 0, -1 } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = g_strdup_printf (
        "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"},"
        " \"behavior\": \"%s\", \"invert\": %s},"
        " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"-\": 1, \"a-\": 2, \"-a\": 3, \"--\": 4},"
        " \"merges\": [\"a -\", \"- a\", \"- -\"]}}",
        cases[i].invert ? "a" : "-+", cases[i].behavior, cases[i].invert ? "true" : "false");
      g_autoptr(FsTokenizer) t = parse (json);
      g_test_message ("%s%s", cases[i].behavior, cases[i].invert ? " inverted" : "");
      assert_encodes_len (t, "a-a--a", -1, cases[i].expected);
    }

  /* Contiguous joins runs of matches: "--" is one piece. */
  g_autoptr(FsTokenizer) t = parse (
    "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"},"
    " \"behavior\": \"Contiguous\", \"invert\": false},"
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"-\": 1, \"--\": 2}, \"merges\": [\"- -\"]}}");
  assert_encodes (t, "a--a", 0, 2, 0);
}

static void
test_llama3_regex (void)
{
  /* Llama 3's Split regex, then ByteLevel without regex: check the pieces
   * on a vocab of single bytes (ids = bytes) and one merge across pieces
   * that must not apply. */
  g_autofree char *json = byte_level_json ("\"ĠĠ\": 256, \"12\": 257, \"123\": 258, \"'S\": 259",
                                           "\"Ġ Ġ\", \"1 2\", \"12 3\", \"' S\"", "");
  g_autoptr(GString) s = g_string_new (json);
  g_string_replace (s, "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                       "\"use_regex\": true}",
                    "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                    "\"Split\", \"pattern\": {\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|"
                    "[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+"
                    "[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": "
                    "\"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\":"
                    " false, \"use_regex\": false}]}", 1);
  g_autoptr(FsTokenizer) t = parse (s->str);

  /* Digits in threes; 'S case-insensitively; spaces before a word stay apart. */
  assert_encodes (t, "1231237", 258, 258, '7');
  assert_encodes (t, "12 34", 257, ' ', '3', '4');
  assert_encodes (t, "IT'S", 'I', 'T', 259);
  /* "\s+(?!\S)" takes two of the three spaces; " b" is a piece of its own. */
  assert_encodes (t, "a   b", 'a', 256, ' ', 'b');
}

static void
test_decoder_strip (void)
{
  /* Llama 2's decoder: Strip after Fuse removes the first space of the text. */
  g_autoptr(FsTokenizer) t = parse (
    "{\"decoder\": {\"type\": \"Sequence\", \"decoders\": ["
    "  {\"type\": \"Replace\", \"pattern\": {\"String\": \"▁\"}, \"content\": \" \"},"
    "  {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
    "  {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 2}]},"
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"▁Hello\": 0, \"▁world\": 1, \"▁\": 2, \"<0xE2>\": 3,"
    "   \"<0x82>\": 4, \"<0xAC>\": 5}, \"merges\": []}}");
  const int32_t ids[] = { 2, 0, 2, 1, 3, 4, 5, 2, 2, 2 };

  g_autofree char *text = fs_tokenizer_decode (t, ids, G_N_ELEMENTS (ids), NULL);
  /* One of the two leading spaces stripped, two of the three trailing ones. */
  g_assert_cmpstr (text, ==, " Hello  world€ ");
  g_autofree char *streamed = stream_decode (t, ids, G_N_ELEMENTS (ids));
  g_assert_cmpstr (streamed, ==, text);
  for (gsize n = 0; n <= G_N_ELEMENTS (ids); n++)
    {
      g_autofree char *whole = fs_tokenizer_decode (t, ids, n, NULL);
      g_autofree char *valid = g_utf8_make_valid (whole, -1);
      g_autofree char *parts = stream_decode (t, ids, n);
      g_assert_cmpstr (parts, ==, valid);
    }
}

static void
test_streaming (void)
{
  g_autoptr(FsTokenizer) t = byte_level_tokenizer ();
  const char *text = "a é 日本 😀 👨‍👩‍👧 ok";
  gsize n = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (t, text, -1, &n);

  /* Every byte is its own token here, so multi-byte characters arrive in
   * pieces: nothing may come out before the character is complete. */
  g_autoptr(FsTokenDecoder) decoder = fs_token_decoder_new (t);
  g_autoptr(GString) out = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *piece = fs_token_decoder_push (decoder, ids[i], NULL);
      g_assert_true (g_utf8_validate (piece, -1, NULL));
      g_string_append (out, piece);
    }
  g_autofree char *rest = fs_token_decoder_flush (decoder, NULL);
  g_assert_cmpstr (rest, ==, "");
  g_assert_cmpstr (out->str, ==, text);

  /* A cut-short character comes out as U+FFFD at the flush; invalid bytes
   * at once; unknown ids are skipped. */
  g_autofree char *a = fs_token_decoder_push (decoder, 0xE6, NULL);
  g_autofree char *b = fs_token_decoder_push (decoder, 0x97, NULL);
  g_autofree char *c = fs_token_decoder_push (decoder, 99999, NULL);
  g_autofree char *d = fs_token_decoder_flush (decoder, NULL);
  g_assert_cmpstr (a, ==, "");
  g_assert_cmpstr (b, ==, "");
  g_assert_cmpstr (c, ==, "");
  g_assert_cmpstr (d, ==, "\xEF\xBF\xBD\xEF\xBF\xBD");
  g_autofree char *e = fs_token_decoder_push (decoder, 0xFF, NULL);
  g_autofree char *f = fs_token_decoder_push (decoder, 'x', NULL);
  g_assert_cmpstr (e, ==, "\xEF\xBF\xBD");
  g_assert_cmpstr (f, ==, "x");
}

typedef struct {
  FsTokenizer *t;
  const char *text;
  int32_t *ids;
  gsize n;
} Job;

static gpointer
encode_job (gpointer data)
{
  Job *job = data;
  for (int i = 0; i < 20; i++)
    {
      g_free (job->ids);
      job->ids = fs_tokenizer_encode (job->t, job->text, -1, &job->n);
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr(FsTokenizer) t = byte_level_tokenizer ();
  g_autoptr(GString) text = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append_printf (text, "the %d the  thethe é日本 ", i);

  gsize n = 0;
  g_autofree int32_t *expected = fs_tokenizer_encode (t, text->str, -1, &n);
  Job jobs[4];
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    {
      jobs[i] = (Job) { t, text->str, NULL, 0 };
      threads[i] = g_thread_new ("encode", encode_job, &jobs[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpmem (jobs[i].ids, jobs[i].n * sizeof (int32_t), expected, n * sizeof (int32_t));
      g_free (jobs[i].ids);
    }
}

static char *
write_file (const char *dir, const char *name, const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

static void
test_load_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fs-tokenizer-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;

  /* The legacy pair, with CRLF line ends in merges.txt. */
  g_autofree char *vocab = write_file (dir, "vocab.json",
                                       "{\"a\": 0, \"b\": 1, \"ab\": 2, \"<|endoftext|>\": 3}");
  g_autofree char *merges = write_file (dir, "merges.txt", "#version: 0.2\r\na b\r\n");
  g_autoptr(FsTokenizer) legacy = fs_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  assert_encodes (legacy, "ab<|endoftext|>a", 2, 3, 0);
  g_assert_cmpint (fs_tokenizer_get_bos_id (legacy), ==, 3);
  g_assert_false (fs_tokenizer_get_adds_bos (legacy));
  g_autoptr(FsTokenizer) by_file = fs_tokenizer_load (vocab, &error);
  g_assert_no_error (error);
  assert_encodes (by_file, "ab", 2);

  /* tokenizer.json wins over the pair; tokenizer_config.json names the BOS. */
  g_autofree char *json = write_file (dir, "tokenizer.json",
    "{\"added_tokens\": [{\"id\": 1, \"content\": \"<|begin_of_text|>\", \"special\": true},"
    " {\"id\": 2, \"content\": \"<s>\", \"special\": true}],"
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
  g_autoptr(FsTokenizer) modern = fs_tokenizer_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fs_tokenizer_get_vocab_size (modern), ==, 3);
  g_assert_cmpint (fs_tokenizer_get_bos_id (modern), ==, 1);
  g_autofree char *config = write_file (dir, "tokenizer_config.json",
                                        "{\"bos_token\": {\"content\": \"<s>\"}, \"add_bos_token\": true}");
  g_autoptr(FsTokenizer) configured = fs_tokenizer_load (json, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fs_tokenizer_get_bos_id (configured), ==, 2);
  g_assert_true (fs_tokenizer_get_adds_bos (configured));

  g_autoptr(FsTokenizer) missing = fs_tokenizer_load ("/nonexistent/tokenizer", &error);
  g_assert_null (missing);
  g_assert_error (error, FS_ERROR, FS_ERROR_NOT_FOUND);

  for (const char * const *path = (const char *[]) { json, config, vocab, merges, NULL };
       *path != NULL; path++)
    g_unlink (*path);
  g_rmdir (dir);
}

static void
test_errors (void)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
    { "{\"model\": ", "test.json: not valid JSON" },
    { "[1, 2]", "test.json: not a JSON object" },
    { "{}", "test.json: no “model” object" },
    { "{\"model\": {\"vocab\": {}}}", "test.json: model: no “type”" },
    { "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
      "test.json: model type “Unigram” is not supported (only BPE)" },
    { "{\"model\": {\"type\": \"WordPiece\"}}", "test.json: model type “WordPiece” is not supported" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}",
      "test.json: model: “vocab” must be an object" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}",
      "test.json: model: the vocab is empty" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 5}, \"merges\": []}}",
      "test.json: vocab: the id of “b” must be an integer from 0 to 1" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}",
      "test.json: vocab: the id of “a” must be an integer" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0.5}, \"merges\": []}}",
      "test.json: vocab: the id of “a” must be an integer" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
      "test.json: vocab: id 0 is given to both “a” and “b”" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}",
      "test.json: vocab: “a” appears twice" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}",
      "test.json: merges: entry 1: “ab” is not in the vocab" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"ab\": 1}, \"merges\": [[\"a\", \"b\"]]}}",
      "test.json: merges: entry 1: “b” is not in the vocab" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}",
      "test.json: merges: entry 1 is not two tokens separated by one space" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [1]}}",
      "test.json: merges: entry 1 must be \"a b\" or [\"a\", \"b\"]" },
    { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}",
      "test.json: model: “merges” must be an array" },
    { "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: model: unk_token “<unk>” is not in the vocab" },
    { "{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: model: BPE dropout is not supported" },
    { "{\"added_tokens\": [{\"id\": 0, \"content\": \"<x>\"}],"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: added_tokens: “<x>” has id 0, which the vocab gives to “a”" },
    { "{\"added_tokens\": [{\"id\": 9, \"content\": \"<x>\"}],"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: added_tokens: entry 1 needs a non-empty “content” and an integer “id” from 0 to 1" },
    { "{\"normalizer\": {\"type\": \"BertNormalizer\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: normalizer type “BertNormalizer” is not supported" },
    { "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Lowercase\"}]},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: normalizer type “Lowercase” is not supported" },
    { "{\"pre_tokenizer\": {\"type\": \"Whitespace\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: pre_tokenizer type “Whitespace” is not supported" },
    { "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: pre_tokenizer: pattern “(”" },
    { "{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"a\\\\C\"}, \"content\": \"\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: normalizer: pattern “a\\C” uses \\C, which can cut a character apart" },
    { "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"Sideways\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: pre_tokenizer: Split behavior “Sideways” is not supported" },
    { "{\"decoder\": {\"type\": \"Metaspace\"},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: decoder: type “Metaspace” is not supported" },
    { "{\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": \"ByteFallback\"}]},"
      " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
      "test.json: decoder: “ByteFallback” after Fuse is not supported" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FsTokenizer) t = fs_tokenizer_parse ("test.json", cases[i].json,
                                                     strlen (cases[i].json), &error);
      g_assert_null (t);
      g_assert_nonnull (error);
      g_assert_true (error->domain == FS_ERROR);
      if (!g_str_has_prefix (error->message, cases[i].message))
        g_error ("case %u: “%s” does not start with “%s”", i, error->message, cases[i].message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/merge-order", test_merge_order);
  g_test_add_func ("/tokenizer/later-merge-wins", test_later_merge_wins);
  g_test_add_func ("/tokenizer/ignore-merges", test_ignore_merges);
  g_test_add_func ("/tokenizer/byte-level", test_byte_level);
  g_test_add_func ("/tokenizer/byte-level-invalid-utf8", test_byte_level_invalid_utf8);
  g_test_add_func ("/tokenizer/gemma-like", test_gemma_like);
  g_test_add_func ("/tokenizer/unknown-characters", test_unknown_characters);
  g_test_add_func ("/tokenizer/added-tokens", test_added_tokens);
  g_test_add_func ("/tokenizer/split-behaviors", test_split_behaviors);
  g_test_add_func ("/tokenizer/llama3-regex", test_llama3_regex);
  g_test_add_func ("/tokenizer/decoder-strip", test_decoder_strip);
  g_test_add_func ("/tokenizer/streaming", test_streaming);
  g_test_add_func ("/tokenizer/threads", test_threads);
  g_test_add_func ("/tokenizer/load-files", test_load_files);
  g_test_add_func ("/tokenizer/errors", test_errors);
  return g_test_run ();
}
