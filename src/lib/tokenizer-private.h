/* tokenizer-private.h: the parts of an FsTokenizer shared by tokenizer*.c.
 *
 * The pipeline (as in Hugging Face `tokenizers`): added tokens are cut out
 * of the text; the rest is normalized, cut into pre-tokens, and each
 * pre-token is run through the BPE model. Decoding maps ids to token
 * strings and runs them through the decoder steps. */
#pragma once

#include <cjson/cJSON.h>

#include "tokenizer.h"

G_BEGIN_DECLS

/* ---- normalizers and pre-tokenizers (tokenizer-pretok.c) ---- */

typedef enum {
  FS_NORMALIZE_REPLACE,
  FS_NORMALIZE_PREPEND,
  FS_NORMALIZE_UNICODE,     /* NFC, NFD, NFKC, NFKD */
} FsNormalizeKind;

typedef struct {
  FsNormalizeKind kind;
  GRegex *pattern;           /* REPLACE */
  char *content;             /* REPLACE, PREPEND */
  GNormalizeMode mode;       /* UNICODE */
} FsNormalizeStep;

typedef enum {
  FS_SPLIT_REMOVED,
  FS_SPLIT_ISOLATED,
  FS_SPLIT_MERGED_WITH_PREVIOUS,
  FS_SPLIT_MERGED_WITH_NEXT,
  FS_SPLIT_CONTIGUOUS,
} FsSplitBehavior;

typedef struct {
  gboolean byte_level;       /* ByteLevel, else Split */
  GRegex *regex;             /* Split's pattern; ByteLevel's when use_regex */
  FsSplitBehavior behavior;
  gboolean invert;
  gboolean add_prefix_space; /* ByteLevel */
} FsPreTokStep;

/* A list of pieces of one text buffer. */
typedef struct {
  GString *text;
  GArray *spans;             /* FsSpan */
} FsPieces;

typedef struct {
  gsize start, length;
} FsSpan;

gboolean fs_normalizer_parse (const char *path, const cJSON *json, GArray *steps,
                              GError **error);
gboolean fs_pre_tokenizer_parse (const char *path, const cJSON *json, GArray *steps,
                                 GError **error);
void     fs_normalize_step_clear (FsNormalizeStep *step);
void     fs_pre_tok_step_clear (FsPreTokStep *step);
/* Returns the normalized text (newly allocated, NUL-terminated). */
char    *fs_normalize (GArray *steps, const char *text, gsize length, gsize *out_length);
/* Cuts `length` bytes of `text` into pre-tokens, appended to `out`. */
void     fs_pre_tokenize (GArray *steps, const char *text, gsize length, FsPieces *out);
/* The GPT-2 regex, for ByteLevel with use_regex and for vocab.json folders. */
GRegex  *fs_gpt2_regex (void);

/* ---- added tokens (tokenizer-added.c) ---- */

typedef struct {
  char *content;
  gsize length;
  int32_t id;
  gboolean special, single_word, lstrip, rstrip, normalized;
} FsAddedToken;

typedef struct _FsAddedMatcher FsAddedMatcher;

/* Matches the tokens of `tokens` (FsAddedToken) whose `normalized` flag is
 * `normalized`; NULL when there are none. */
FsAddedMatcher *fs_added_matcher_new (GArray *tokens, gboolean normalized);
void            fs_added_matcher_free (FsAddedMatcher *matcher);

typedef struct {
  gsize start, end;          /* bytes of the text the token takes (stripped spaces included) */
  const FsAddedToken *token;
} FsAddedMatch;

/* Finds the added tokens in `text`, leftmost first, longest at a position,
 * appending FsAddedMatch to `matches` in order. */
void fs_added_matcher_find (FsAddedMatcher *matcher, const char *text, gsize length,
                            GArray *matches);

/* ---- BPE model (tokenizer-bpe.c) ---- */

typedef struct _FsMergeTable FsMergeTable;

FsMergeTable *fs_merge_table_new (gsize n_merges);
void          fs_merge_table_free (FsMergeTable *table);
/* Later merges of the same pair replace earlier ones, as in `tokenizers`. */
void          fs_merge_table_insert (FsMergeTable *table, int32_t left, int32_t right,
                                     int32_t rank, int32_t merged);
gboolean      fs_merge_table_lookup (const FsMergeTable *table, int32_t left, int32_t right,
                                     int32_t *rank, int32_t *merged);

/* Scratch space of one encode call. */
typedef struct {
  GArray *ids;               /* int32_t: the output */
  GArray *symbols;           /* BPE word being merged */
  GArray *heap;              /* candidate merges (tokenizer-bpe.c) */
  GHashTable *cache;         /* pre-token -> ids, for this call only */
  FsPieces pieces;
} FsEncodeScratch;

/* Everything but `ids` is freed by _clear. */
void fs_encode_scratch_init (FsEncodeScratch *scratch, gsize text_length);
void fs_encode_scratch_clear (FsEncodeScratch *scratch);
/* Appends the ids of one pre-token (already byte-level mapped if need be). */
void fs_bpe_encode_word (FsTokenizer *t, FsEncodeScratch *scratch, const char *word,
                         gsize length);
/* Appends ids for bytes that are not UTF-8 (see tokenizer.h). */
void fs_bpe_encode_raw_bytes (FsTokenizer *t, FsEncodeScratch *scratch, const char *bytes,
                              gsize length);

/* ---- decoder (tokenizer-decode.c) ---- */

typedef enum {
  FS_DECODE_REPLACE,
  FS_DECODE_BYTE_FALLBACK,
  FS_DECODE_BYTE_LEVEL,
  FS_DECODE_STRIP,           /* of each token */
} FsDecodeKind;

typedef struct {
  FsDecodeKind kind;
  char *pattern, *content;   /* REPLACE: literal */
  gunichar strip_char;       /* STRIP */
  guint strip_start, strip_stop;
} FsDecodeStep;

typedef struct {
  GArray *steps;             /* FsDecodeStep applied to each token */
  gboolean none;             /* no decoder: tokens joined by spaces */
  /* Strip after Fuse (or ByteLevel) acts on the whole text. */
  gunichar strip_char;
  guint strip_start, strip_stop;
} FsDecoder;

gboolean fs_decoder_parse (const char *path, const cJSON *json, FsDecoder *decoder,
                           GError **error);
void     fs_decoder_clear (FsDecoder *decoder);

/* ---- the tokenizer ---- */

struct _FsTokenizer {
  gint ref_count;
  char *path;

  /* id -> string (NULL for holes), string -> id; added tokens included */
  char **tokens;
  gsize n_tokens;
  GStringChunk *strings;
  GHashTable *token_ids;     /* char* -> GINT_TO_POINTER (id + 1) */
  GHashTable *model_ids;     /* the same for the model's vocab alone */
  int32_t *char_ids;         /* single-character tokens below U+10000, -1 if none */
  int32_t byte_fallback_ids[256];
  FsMergeTable *merges;
  int32_t unk_id;
  gboolean fuse_unk, byte_fallback, ignore_merges;

  GArray *added;             /* FsAddedToken */
  GHashTable *special_ids;   /* GINT_TO_POINTER (id) set */
  FsAddedMatcher *added_raw, *added_normalized;

  GArray *normalizer;        /* FsNormalizeStep */
  GArray *pre_tokenizer;     /* FsPreTokStep */
  gboolean byte_level;       /* a ByteLevel pre-tokenizer maps bytes to characters */
  FsDecoder decoder;

  int32_t bos_id;
  gboolean adds_bos;
};

/* The id the model's vocab gives a string of `length` bytes, or -1. Added
 * tokens that are not in the vocab are unknown to the model, as in
 * `tokenizers`. */
int32_t fs_tokenizer_lookup (FsTokenizer *t, const char *token, gsize length);

G_END_DECLS
