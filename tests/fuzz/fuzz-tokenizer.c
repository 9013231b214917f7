/* fuzz-tokenizer.c: tokenizer.json parsing on arbitrary bytes; whatever
 * parses must encode a fixed text to known ids, and decode them back, whole
 * and streaming, to the same text. */
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

static const char sample[] = "Hello, wörld!  <bos>\n\t12345 日本語 'll \xF0\x9F\x98\x80\xFF";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FsTokenizer) t = fs_tokenizer_parse ("fuzz/tokenizer.json", (const char *) data,
                                                 size, &error);
  g_assert ((t == NULL) == (error != NULL));
  if (t == NULL)
    return 0;

  gsize n_ids = 0, length = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (t, sample, sizeof sample - 1, &n_ids);
  gsize vocab_size = fs_tokenizer_get_vocab_size (t);
  for (gsize i = 0; i < n_ids; i++)
    g_assert (ids[i] >= 0 && (gsize) ids[i] < vocab_size
              && fs_tokenizer_id_to_token (t, ids[i]) != NULL);
  g_autofree char *text = fs_tokenizer_decode (t, ids, n_ids, &length);
  g_assert (text != NULL && strlen (text) <= length);

  /* Streaming gives decode's text, broken UTF-8 replaced (NUL aside). */
  g_autoptr(FsTokenDecoder) decoder = fs_token_decoder_new (t);
  g_autoptr(GString) streamed = g_string_new (NULL);
  for (gsize i = 0; i <= n_ids; i++)
    {
      gsize piece_length;
      g_autofree char *piece = i < n_ids ? fs_token_decoder_push (decoder, ids[i], &piece_length)
                                         : fs_token_decoder_flush (decoder, &piece_length);
      g_assert (memchr (piece, '\0', piece_length)
                || g_utf8_validate_len (piece, piece_length, NULL));
      g_string_append_len (streamed, piece, piece_length);
    }
  if (memchr (text, '\0', length) == NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (text, length);
      g_assert (g_str_equal (valid, streamed->str));
    }
  return 0;
}
