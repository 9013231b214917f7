/* tokenizer.h: Hugging Face BPE tokenizers (tokenizer.json, or the legacy
 * GPT-2 pair vocab.json + merges.txt), encoding text to ids and back.
 *
 * An FsTokenizer is immutable once loaded: several threads may encode and
 * decode with the same one at once.
 *
 * What is read (FORMATS.md, "tokenizer.json"):
 *  - model: BPE only (vocab, merges as "a b" or ["a", "b"], unk_token,
 *    fuse_unk, byte_fallback, ignore_merges);
 *  - normalizer: Replace, Prepend, NFC, NFD, NFKC, NFKD, Sequence of them;
 *  - pre_tokenizer: ByteLevel (with or without its GPT-2 regex), Split
 *    (String or Regex pattern, every behavior, invert), Sequence of them;
 *  - decoder: ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence;
 *  - added_tokens: matched before the model, longest first, with the
 *    single_word, lstrip, rstrip and normalized flags as in `tokenizers`;
 *  - post_processor: only to learn the BOS token (TemplateProcessing).
 * Anything else is refused with an error naming the file and the type.
 *
 * Bytes that are not UTF-8 are kept, never replaced: each run of them is
 * a piece of its own, skipping the added tokens, the normalizer and the
 * regexes. A byte-level tokenizer encodes those bytes like any others; a
 * byte_fallback tokenizer gives <0xHH> tokens; otherwise each byte becomes
 * the unk token (or is dropped when there is none, as `tokenizers` drops
 * unknown characters). Decoding gives the raw bytes back, so for byte-level
 * and byte_fallback tokenizers decode (encode (x)) == x for every x.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _FsTokenizer FsTokenizer;

/* `path` is a tokenizer.json, a vocab.json (with merges.txt beside it) or a
 * folder holding either; tokenizer.json is preferred. A tokenizer_config.json
 * beside it, if any, is read for the BOS token. */
FsTokenizer *fs_tokenizer_load (const char *path, GError **error);
/* Parses a tokenizer.json text of `length` bytes; `path` only names it in errors. */
FsTokenizer *fs_tokenizer_parse (const char *path, const char *json, gsize length,
                                 GError **error);
FsTokenizer *fs_tokenizer_ref (FsTokenizer *tokenizer);
void         fs_tokenizer_unref (FsTokenizer *tokenizer);

/* Encodes `length` bytes of `text` (-1: NUL-terminated), without BOS.
 * Returns a newly allocated array of *n_ids ids (never NULL). */
int32_t     *fs_tokenizer_encode (FsTokenizer *tokenizer, const char *text, gssize length,
                                  gsize *n_ids);
/* Decodes ids to the bytes they stand for, NUL-terminated; *length (may be
 * NULL) gets their number. Ids the tokenizer does not know are skipped;
 * special tokens are kept. The result is UTF-8 unless the ids encode bytes
 * that are not (g_utf8_make_valid() it for display). */
char        *fs_tokenizer_decode (FsTokenizer *tokenizer, const int32_t *ids, gsize n_ids,
                                  gsize *length);

/* The token's string as the vocab spells it (e.g. "Ġthe"), or NULL. */
const char  *fs_tokenizer_id_to_token (FsTokenizer *tokenizer, int32_t id);
/* The id of a token string, or -1. */
int32_t      fs_tokenizer_token_to_id (FsTokenizer *tokenizer, const char *token);
/* One more than the largest id (vocab and added tokens). */
gsize        fs_tokenizer_get_vocab_size (FsTokenizer *tokenizer);
/* TRUE for added tokens marked "special" (<bos>, <|endoftext|>, ...). */
gboolean     fs_tokenizer_is_special (FsTokenizer *tokenizer, int32_t id);

/* The beginning-of-sequence token, or -1 when there is none. Taken from the
 * post_processor template, else tokenizer_config.json's bos_token, else a
 * well-known added token (<|begin_of_text|>, <bos>, <s>, <|endoftext|>). */
int32_t      fs_tokenizer_get_bos_id (FsTokenizer *tokenizer);
/* TRUE when the tokenizer's own post-processing prepends BOS (Gemma's
 * template, add_bos_token in tokenizer_config.json). Encoding never does:
 * the caller decides. */
gboolean     fs_tokenizer_get_adds_bos (FsTokenizer *tokenizer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsTokenizer, fs_tokenizer_unref)

/* Streaming decoder: fed one id at a time (as a model generates them), it
 * returns only complete UTF-8, holding back a partial multi-byte sequence
 * until the next ids complete it. Bytes that cannot become UTF-8 come out
 * as U+FFFD, one per byte. The concatenation of everything returned,
 * flush included, is fs_tokenizer_decode (all ids) with that replacement
 * (which is g_utf8_make_valid() of it when it holds no NUL). */
typedef struct _FsTokenDecoder FsTokenDecoder;

FsTokenDecoder *fs_token_decoder_new (FsTokenizer *tokenizer);
void            fs_token_decoder_free (FsTokenDecoder *decoder);
/* Newly allocated, possibly empty; *length (may be NULL) gets its size. */
char           *fs_token_decoder_push (FsTokenDecoder *decoder, int32_t id, gsize *length);
/* What is still held back; the decoder then starts afresh. */
char           *fs_token_decoder_flush (FsTokenDecoder *decoder, gsize *length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsTokenDecoder, fs_token_decoder_free)

G_END_DECLS
