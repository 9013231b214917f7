/* tokenizer.c: loading tokenizers and running the encode pipeline
 * (tokenizer-private.h). Parsing validates everything the pipeline later
 * trusts: ids in range and unique, merges made of known tokens, known
 * step types. */
#include "tokenizer-private.h"

#include <string.h>

#include "byte-level.h"
#include "fs-error.h"
#include "json-util.h"

/* ---- lifecycle ---- */

static FsTokenizer *
tokenizer_new (const char *path)
{
  FsTokenizer *t = g_new0 (FsTokenizer, 1);

  t->ref_count = 1;
  t->path = g_strdup (path);
  t->strings = g_string_chunk_new (1 << 16);
  t->token_ids = g_hash_table_new (g_str_hash, g_str_equal);
  t->model_ids = g_hash_table_new (g_str_hash, g_str_equal);
  t->special_ids = g_hash_table_new (NULL, NULL);
  t->added = g_array_new (FALSE, TRUE, sizeof (FsAddedToken));
  t->normalizer = g_array_new (FALSE, TRUE, sizeof (FsNormalizeStep));
  g_array_set_clear_func (t->normalizer, (GDestroyNotify) fs_normalize_step_clear);
  t->pre_tokenizer = g_array_new (FALSE, TRUE, sizeof (FsPreTokStep));
  g_array_set_clear_func (t->pre_tokenizer, (GDestroyNotify) fs_pre_tok_step_clear);
  t->unk_id = -1;
  t->bos_id = -1;
  for (guint b = 0; b < 256; b++)
    t->byte_fallback_ids[b] = -1;
  return t;
}

FsTokenizer *
fs_tokenizer_ref (FsTokenizer *tokenizer)
{
  g_return_val_if_fail (tokenizer != NULL, NULL);
  g_atomic_int_inc (&tokenizer->ref_count);
  return tokenizer;
}

void
fs_tokenizer_unref (FsTokenizer *t)
{
  if (t == NULL || !g_atomic_int_dec_and_test (&t->ref_count))
    return;
  g_free (t->path);
  g_free (t->tokens);
  g_string_chunk_free (t->strings);
  g_hash_table_unref (t->token_ids);
  g_hash_table_unref (t->model_ids);
  g_free (t->char_ids);
  fs_merge_table_free (t->merges);
  g_array_unref (t->added);
  g_hash_table_unref (t->special_ids);
  fs_added_matcher_free (t->added_raw);
  fs_added_matcher_free (t->added_normalized);
  g_array_unref (t->normalizer);
  g_array_unref (t->pre_tokenizer);
  fs_decoder_clear (&t->decoder);
  g_free (t);
}

/* ---- lookups ---- */

int32_t
fs_tokenizer_lookup (FsTokenizer *t, const char *token, gsize length)
{
  char small[128];
  g_autofree char *large = NULL;
  char *key = length < sizeof small ? small : (large = g_malloc (length + 1));

  /* Vocab strings come from JSON and hold no NUL. */
  if (memchr (token, '\0', length) != NULL)
    return -1;
  memcpy (key, token, length);
  key[length] = '\0';
  return GPOINTER_TO_INT (g_hash_table_lookup (t->model_ids, key)) - 1;
}

const char *
fs_tokenizer_id_to_token (FsTokenizer *t, int32_t id)
{
  g_return_val_if_fail (t != NULL, NULL);
  return id >= 0 && (gsize) id < t->n_tokens ? t->tokens[id] : NULL;
}

int32_t
fs_tokenizer_token_to_id (FsTokenizer *t, const char *token)
{
  g_return_val_if_fail (t != NULL && token != NULL, -1);
  return GPOINTER_TO_INT (g_hash_table_lookup (t->token_ids, token)) - 1;
}

gsize
fs_tokenizer_get_vocab_size (FsTokenizer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->n_tokens;
}

gboolean
fs_tokenizer_is_special (FsTokenizer *t, int32_t id)
{
  g_return_val_if_fail (t != NULL, FALSE);
  return g_hash_table_contains (t->special_ids, GINT_TO_POINTER (id));
}

int32_t
fs_tokenizer_get_bos_id (FsTokenizer *t)
{
  g_return_val_if_fail (t != NULL, -1);
  return t->bos_id;
}

gboolean
fs_tokenizer_get_adds_bos (FsTokenizer *t)
{
  g_return_val_if_fail (t != NULL, FALSE);
  return t->adds_bos;
}

/* ---- parsing ---- */

/* A token for an error message: at most 40 bytes, control characters escaped. */
static char *
shown (const char *token)
{
  char non_ascii[129] = { 0 };
  gsize length = strlen (token);
  const char *end = token + MIN (length, 40);

  for (guint b = 0; b < 128; b++)
    non_ascii[b] = (char) (0x80 + b);
  while (end > token && end < token + length && (*end & 0xC0) == 0x80)
    end--;
  g_autofree char *cut = g_strndup (token, end - token);
  g_autofree char *escaped = g_strescape (cut, non_ascii);
  return g_strdup_printf ("“%s%s”", escaped, length > 40 ? "…" : "");
}

/* Registers `token` as the string of `id`, in the model's vocab or not. */
static void
set_token (FsTokenizer *t, int32_t id, const char *token, gboolean in_model)
{
  char *stored = g_string_chunk_insert (t->strings, token);
  t->tokens[id] = stored;
  g_hash_table_insert (t->token_ids, stored, GINT_TO_POINTER (id + 1));
  if (in_model)
    g_hash_table_insert (t->model_ids, stored, GINT_TO_POINTER (id + 1));
}

static int32_t
model_id (FsTokenizer *t, const char *token)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (t->model_ids, token)) - 1;
}

static gboolean
parse_vocab (FsTokenizer *t, const cJSON *vocab, gsize limit, GError **error)
{
  const cJSON *item;

  if (!cJSON_IsObject (vocab))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "the vocab must be an object");
  cJSON_ArrayForEach (item, vocab)
    {
      int64_t id;

      if (!fs_json_integer_in (item, 0, (int64_t) limit - 1, &id))
        {
          g_autofree char *name = shown (item->string);
          return fs_fail (error, FS_ERROR_INVALID, t->path,
                          "vocab: the id of %s must be an integer from 0 to %" G_GSIZE_FORMAT
                          " (there are %" G_GSIZE_FORMAT " tokens)", name, limit - 1, limit);
        }
      if (g_hash_table_contains (t->token_ids, item->string))
        {
          g_autofree char *name = shown (item->string);
          return fs_fail (error, FS_ERROR_INVALID, t->path, "vocab: %s appears twice", name);
        }
      if (t->tokens[id] != NULL)
        {
          g_autofree char *name = shown (item->string);
          g_autofree char *other = shown (t->tokens[id]);
          return fs_fail (error, FS_ERROR_INVALID, t->path,
                          "vocab: id %" G_GINT64_FORMAT " is given to both %s and %s", id, other,
                          name);
        }
      set_token (t, (int32_t) id, item->string, TRUE);
      t->n_tokens = MAX (t->n_tokens, (gsize) id + 1);
    }
  return TRUE;
}

static gboolean
get_flag (FsTokenizer *t, const cJSON *json, const char *key, gboolean fallback,
          gboolean *out, GError **error)
{
  *out = fallback;
  return fs_json_get_bool (t->path, json, key, out, error);
}

/* Added tokens keep the vocab's id when the vocab has their content. */
static gboolean
parse_added_tokens (FsTokenizer *t, const cJSON *list, gsize limit, GError **error)
{
  const cJSON *item;
  guint index = 0;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (list == NULL || cJSON_IsNull (list))
    return TRUE;
  if (!cJSON_IsArray (list))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "“added_tokens” must be an array");
  cJSON_ArrayForEach (item, list)
    {
      const cJSON *content = cJSON_GetObjectItemCaseSensitive (item, "content");
      FsAddedToken token = { 0 };
      int64_t id;

      index++;
      if (!cJSON_IsObject (item) || !cJSON_IsString (content) || content->valuestring[0] == '\0'
          || !fs_json_integer_in (cJSON_GetObjectItemCaseSensitive (item, "id"), 0,
                                  (int64_t) limit - 1, &id))
        return fs_fail (error, FS_ERROR_INVALID, t->path,
                        "added_tokens: entry %u needs a non-empty “content” and an integer "
                        "“id” from 0 to %" G_GSIZE_FORMAT, index, limit - 1);
      if (!get_flag (t, item, "special", FALSE, &token.special, error)
          || !get_flag (t, item, "single_word", FALSE, &token.single_word, error)
          || !get_flag (t, item, "lstrip", FALSE, &token.lstrip, error)
          || !get_flag (t, item, "rstrip", FALSE, &token.rstrip, error)
          || !get_flag (t, item, "normalized", !token.special, &token.normalized, error))
        return FALSE;

      if (!g_hash_table_add (seen, content->valuestring))
        {
          g_autofree char *name = shown (content->valuestring);
          return fs_fail (error, FS_ERROR_INVALID, t->path, "added_tokens: %s appears twice", name);
        }

      int32_t known = model_id (t, content->valuestring);
      if (known >= 0)
        id = known;
      else if (t->tokens[id] != NULL)
        {
          g_autofree char *name = shown (content->valuestring);
          g_autofree char *other = shown (t->tokens[id]);
          return fs_fail (error, FS_ERROR_INVALID, t->path,
                          "added_tokens: %s has id %" G_GINT64_FORMAT
                          ", which the vocab gives to %s", name, id, other);
        }
      else
        set_token (t, (int32_t) id, content->valuestring, FALSE);
      t->n_tokens = MAX (t->n_tokens, (gsize) id + 1);

      token.id = (int32_t) id;
      token.content = t->tokens[id];
      token.length = strlen (token.content);
      if (token.special)
        g_hash_table_add (t->special_ids, GINT_TO_POINTER (token.id));
      g_array_append_val (t->added, token);
    }
  return TRUE;
}

/* Adds one merge; `line` numbers it in errors (1-based). */
static gboolean
add_merge (FsTokenizer *t, const char *left, const char *right, guint line, int32_t rank,
           GString *joined, GError **error)
{
  int32_t a = model_id (t, left);
  int32_t b = model_id (t, right);

  g_string_assign (joined, left);
  g_string_append (joined, right);
  int32_t merged = model_id (t, joined->str);
  const char *missing = a < 0 ? left : b < 0 ? right : merged < 0 ? joined->str : NULL;
  if (missing != NULL)
    {
      g_autofree char *name = shown (missing);
      return fs_fail (error, FS_ERROR_INVALID, t->path,
                      "merges: entry %u: %s is not in the vocab", line, name);
    }
  fs_merge_table_insert (t->merges, a, b, rank, merged);
  return TRUE;
}

/* "a b" splits at its one space, as `tokenizers` requires. */
static gboolean
add_merge_line (FsTokenizer *t, const char *text, guint line, int32_t rank, GString *joined,
                GError **error)
{
  const char *space = strchr (text, ' ');
  if (space == NULL || space == text || space[1] == '\0' || strchr (space + 1, ' ') != NULL)
    return fs_fail (error, FS_ERROR_INVALID, t->path,
                    "merges: entry %u is not two tokens separated by one space", line);
  g_autofree char *left = g_strndup (text, space - text);
  return add_merge (t, left, space + 1, line, rank, joined, error);
}

static gboolean
parse_merges (FsTokenizer *t, const cJSON *merges, GError **error)
{
  g_autoptr(GString) joined = g_string_new (NULL);
  const cJSON *item;
  guint index = 0;

  if (!cJSON_IsArray (merges))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "model: “merges” must be an array");
  t->merges = fs_merge_table_new (cJSON_GetArraySize (merges));
  cJSON_ArrayForEach (item, merges)
    {
      const cJSON *left = cJSON_GetArrayItem (item, 0), *right = cJSON_GetArrayItem (item, 1);
      gboolean ok;

      index++;
      if (cJSON_IsString (item))
        ok = add_merge_line (t, item->valuestring, index, index - 1, joined, error);
      else if (cJSON_IsArray (item) && cJSON_GetArraySize (item) == 2 && cJSON_IsString (left)
               && cJSON_IsString (right))
        ok = add_merge (t, left->valuestring, right->valuestring, index, index - 1, joined, error);
      else
        ok = fs_fail (error, FS_ERROR_INVALID, t->path,
                      "merges: entry %u must be \"a b\" or [\"a\", \"b\"]", index);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* Tables derived from the vocab, so that encoding does few hash lookups. */
static void
index_vocab (FsTokenizer *t)
{
  GHashTableIter iter;
  gpointer key, value;

  t->char_ids = g_new (int32_t, 0x10000);
  for (guint c = 0; c < 0x10000; c++)
    t->char_ids[c] = -1;
  g_hash_table_iter_init (&iter, t->model_ids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *token = key;
      gsize length = strlen (token);
      gunichar c;
      if (length > 0 && fs_utf8_next (token, length, &c) == (int) length && c < 0x10000)
        t->char_ids[c] = GPOINTER_TO_INT (value) - 1;
    }
  for (guint b = 0; b < 256; b++)
    {
      char name[8];
      g_snprintf (name, sizeof name, "<0x%02X>", b);
      t->byte_fallback_ids[b] = model_id (t, name);
    }
}

static gboolean
check_unsupported_model_options (FsTokenizer *t, const cJSON *model, GError **error)
{
  static const char *must_be_empty[] = { "continuing_subword_prefix", "end_of_word_suffix" };
  const cJSON *dropout = cJSON_GetObjectItemCaseSensitive (model, "dropout");

  for (guint i = 0; i < G_N_ELEMENTS (must_be_empty); i++)
    {
      const cJSON *item = cJSON_GetObjectItemCaseSensitive (model, must_be_empty[i]);
      if (item != NULL && !cJSON_IsNull (item)
          && !(cJSON_IsString (item) && item->valuestring[0] == '\0'))
        return fs_fail (error, FS_ERROR_UNSUPPORTED, t->path,
                        "model: “%s” is not supported", must_be_empty[i]);
    }
  if (dropout != NULL && !cJSON_IsNull (dropout)
      && !(cJSON_IsNumber (dropout) && dropout->valuedouble == 0))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, t->path, "model: BPE dropout is not supported");
  return TRUE;
}

static gboolean
parse_model (FsTokenizer *t, const cJSON *root, GError **error)
{
  const cJSON *model = cJSON_GetObjectItemCaseSensitive (root, "model");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (model, "type");
  const cJSON *added = cJSON_GetObjectItemCaseSensitive (root, "added_tokens");
  const char *unk = NULL;

  if (!cJSON_IsObject (model))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "no “model” object");
  if (!cJSON_IsString (type))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "model: no “type”");
  if (!g_str_equal (type->valuestring, "BPE"))
    return fs_fail (error, FS_ERROR_UNSUPPORTED, t->path,
                    "model type “%s” is not supported (only BPE)", type->valuestring);
  if (!check_unsupported_model_options (t, model, error))
    return FALSE;

  /* Ids may leave holes, but no more than there are added tokens: this
   * bounds the id table by the size of the file. */
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive (model, "vocab");
  if (!cJSON_IsObject (vocab))
    return fs_fail (error, FS_ERROR_INVALID, t->path, "model: “vocab” must be an object");
  gsize limit = (gsize) cJSON_GetArraySize (vocab) + (gsize) cJSON_GetArraySize (added);
  if (limit == 0 || limit > G_MAXINT32)
    return fs_fail (error, FS_ERROR_INVALID, t->path, "model: the vocab is empty");
  t->tokens = g_new0 (char *, limit);
  if (!parse_vocab (t, vocab, limit, error)
      || !parse_added_tokens (t, added, limit, error)
      || !parse_merges (t, cJSON_GetObjectItemCaseSensitive (model, "merges"), error)
      || !fs_json_get_string (t->path, model, "unk_token", &unk, error)
      || !fs_json_get_bool (t->path, model, "fuse_unk", &t->fuse_unk, error)
      || !fs_json_get_bool (t->path, model, "byte_fallback", &t->byte_fallback, error)
      || !fs_json_get_bool (t->path, model, "ignore_merges", &t->ignore_merges, error))
    return FALSE;
  if (unk != NULL)
    {
      t->unk_id = model_id (t, unk);
      if (t->unk_id < 0)
        {
          g_autofree char *name = shown (unk);
          return fs_fail (error, FS_ERROR_INVALID, t->path,
                          "model: unk_token %s is not in the vocab", name);
        }
    }
  return TRUE;
}

static int32_t
known_id (FsTokenizer *t, int64_t id)
{
  return id >= 0 && (gsize) id < t->n_tokens && t->tokens[id] != NULL ? (int32_t) id : -1;
}

/* The first SpecialToken of a TemplateProcessing "single" template, or the
 * "cls" of Bert/RobertaProcessing, is a BOS the tokenizer adds itself. */
static void
find_template_bos (FsTokenizer *t, const cJSON *processor, guint depth)
{
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (processor, "type");
  const cJSON *item;

  if (!cJSON_IsString (type) || depth > 16 || t->bos_id >= 0)
    return;
  if (g_str_equal (type->valuestring, "Sequence"))
    {
      cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive (processor, "processors"))
        find_template_bos (t, item, depth + 1);
    }
  else if (g_str_equal (type->valuestring, "TemplateProcessing"))
    {
      const cJSON *single = cJSON_GetObjectItemCaseSensitive (processor, "single");
      const cJSON *first = cJSON_GetArrayItem (single, 0);
      const cJSON *special = cJSON_GetObjectItemCaseSensitive (first, "SpecialToken");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive (special, "id");
      if (!cJSON_IsString (name))
        return;
      const cJSON *entry = cJSON_GetObjectItemCaseSensitive (
        cJSON_GetObjectItemCaseSensitive (processor, "special_tokens"), name->valuestring);
      const cJSON *ids = cJSON_GetObjectItemCaseSensitive (entry, "ids");
      int64_t id = -1;
      if (cJSON_GetArraySize (ids) != 1
          || !fs_json_integer_in (cJSON_GetArrayItem (ids, 0), 0, G_MAXINT32, &id))
        id = fs_tokenizer_token_to_id (t, name->valuestring);
      t->bos_id = known_id (t, id);
      t->adds_bos = t->bos_id >= 0;
    }
  else if (g_str_equal (type->valuestring, "BertProcessing")
           || g_str_equal (type->valuestring, "RobertaProcessing"))
    {
      const cJSON *cls = cJSON_GetObjectItemCaseSensitive (processor, "cls");
      int64_t id;
      if (fs_json_integer_in (cJSON_GetArrayItem (cls, 1), 0, G_MAXINT32, &id))
        {
          t->bos_id = known_id (t, id);
          t->adds_bos = t->bos_id >= 0;
        }
    }
}

static void
guess_bos (FsTokenizer *t)
{
  static const char *names[] = { "<|begin_of_text|>", "<bos>", "<s>", "<|endoftext|>" };
  for (guint i = 0; i < G_N_ELEMENTS (names) && t->bos_id < 0; i++)
    t->bos_id = fs_tokenizer_token_to_id (t, names[i]);
}

static gboolean
has_byte_level (GArray *steps)
{
  for (guint i = 0; i < steps->len; i++)
    if (g_array_index (steps, FsPreTokStep, i).byte_level)
      return TRUE;
  return FALSE;
}

static void
finish (FsTokenizer *t)
{
  index_vocab (t);
  t->added_raw = fs_added_matcher_new (t->added, FALSE);
  t->added_normalized = fs_added_matcher_new (t->added, TRUE);
  t->byte_level = has_byte_level (t->pre_tokenizer);
}

/* fs_tokenizer_parse() but for guessing the BOS, which a
 * tokenizer_config.json beside the file may still name. */
static FsTokenizer *
parse_json (const char *path, const char *json, gsize length, GError **error)
{
  g_autoptr(cJSON) root = fs_json_parse (path, json, length, error);
  if (root == NULL)
    return NULL;
  if (!cJSON_IsObject (root))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "not a JSON object");
      return NULL;
    }

  g_autoptr(FsTokenizer) t = tokenizer_new (path);
  if (!parse_model (t, root, error)
      || !fs_normalizer_parse (path, cJSON_GetObjectItemCaseSensitive (root, "normalizer"),
                               t->normalizer, error)
      || !fs_pre_tokenizer_parse (path, cJSON_GetObjectItemCaseSensitive (root, "pre_tokenizer"),
                                  t->pre_tokenizer, error)
      || !fs_decoder_parse (path, cJSON_GetObjectItemCaseSensitive (root, "decoder"), &t->decoder,
                            error))
    return NULL;
  find_template_bos (t, cJSON_GetObjectItemCaseSensitive (root, "post_processor"), 0);
  finish (t);
  return g_steal_pointer (&t);
}

FsTokenizer *
fs_tokenizer_parse (const char *path, const char *json, gsize length, GError **error)
{
  g_return_val_if_fail (path != NULL && (json != NULL || length == 0), NULL);

  FsTokenizer *t = parse_json (path, json, length, error);
  if (t != NULL)
    guess_bos (t);
  return t;
}

/* ---- the GPT-2 pair: vocab.json + merges.txt ---- */

static FsTokenizer *
load_legacy (const char *vocab_path, const char *merges_path, GError **error)
{
  g_autoptr(cJSON) vocab = fs_json_load (vocab_path, error);
  g_autofree char *merges = NULL;
  g_autoptr(GError) local_error = NULL;

  if (vocab == NULL)
    return NULL;
  if (!g_file_get_contents (merges_path, &merges, NULL, &local_error))
    {
      fs_fail (error, FS_ERROR_IO, merges_path, "%s", local_error->message);
      return NULL;
    }

  g_autoptr(FsTokenizer) t = tokenizer_new (vocab_path);
  gsize limit = cJSON_GetArraySize (vocab);
  if (limit == 0 || limit > G_MAXINT32)
    {
      fs_fail (error, FS_ERROR_INVALID, vocab_path, "the vocab is empty");
      return NULL;
    }
  t->tokens = g_new0 (char *, limit);
  if (!parse_vocab (t, vocab, limit, error))
    return NULL;

  /* merges.txt: "#version" first, then "a b" lines; ranks follow lines. */
  g_auto(GStrv) lines = g_strsplit (merges, "\n", -1);
  g_autoptr(GString) joined = g_string_new (NULL);
  g_free (t->path);
  t->path = g_strdup (merges_path);  /* errors from here on are in merges.txt */
  t->merges = fs_merge_table_new (g_strv_length (lines));
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];
      gsize n = strlen (line);
      if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
      if (line[0] == '\0' || (i == 0 && g_str_has_prefix (line, "#version")))
        continue;
      if (!g_utf8_validate (line, -1, NULL))
        {
          fs_fail (error, FS_ERROR_INVALID, merges_path, "line %u is not UTF-8", i + 1);
          return NULL;
        }
      if (!add_merge_line (t, line, i + 1, i, joined, error))
        return NULL;
    }
  g_free (t->path);
  t->path = g_strdup (vocab_path);

  /* What transformers' GPT2Tokenizer does with these files. */
  FsPreTokStep step = { .byte_level = TRUE, .regex = g_regex_ref (fs_gpt2_regex ()),
                        .behavior = FS_SPLIT_ISOLATED };
  g_array_append_val (t->pre_tokenizer, step);
  t->decoder.steps = g_array_new (FALSE, TRUE, sizeof (FsDecodeStep));
  g_array_append_val (t->decoder.steps, ((FsDecodeStep) { .kind = FS_DECODE_BYTE_LEVEL }));
  int32_t eot = fs_tokenizer_token_to_id (t, "<|endoftext|>");
  if (eot >= 0)
    {
      FsAddedToken token = { .content = t->tokens[eot], .length = strlen (t->tokens[eot]),
                             .id = eot, .special = TRUE };
      g_array_append_val (t->added, token);
      g_hash_table_add (t->special_ids, GINT_TO_POINTER (eot));
    }
  finish (t);
  return g_steal_pointer (&t);
}

/* ---- files and folders ---- */

/* tokenizer_config.json: bos_token (a string or {"content": ...}) and
 * add_bos_token, where the tokenizer.json itself says nothing. */
static gboolean
read_config (FsTokenizer *t, const char *config_path, GError **error)
{
  if (!g_file_test (config_path, G_FILE_TEST_IS_REGULAR))
    return TRUE;

  g_autoptr(cJSON) config = fs_json_load (config_path, error);
  if (config == NULL)
    return FALSE;
  if (t->bos_id < 0)
    {
      const cJSON *bos = cJSON_GetObjectItemCaseSensitive (config, "bos_token");
      if (cJSON_IsObject (bos))
        bos = cJSON_GetObjectItemCaseSensitive (bos, "content");
      if (cJSON_IsString (bos))
        t->bos_id = fs_tokenizer_token_to_id (t, bos->valuestring);
      const cJSON *add = cJSON_GetObjectItemCaseSensitive (config, "add_bos_token");
      t->adds_bos = t->bos_id >= 0 && cJSON_IsTrue (add);
    }
  return TRUE;
}

static FsTokenizer *
load_json (const char *path, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, &local_error);

  if (file == NULL)
    {
      fs_fail (error, FS_ERROR_IO, path, "%s", local_error->message);
      return NULL;
    }
  return parse_json (path, g_mapped_file_get_contents (file), g_mapped_file_get_length (file),
                     error);
}

FsTokenizer *
fs_tokenizer_load (const char *path, GError **error)
{
  g_autofree char *dir = NULL, *json = NULL, *vocab = NULL, *merges = NULL;
  g_autoptr(FsTokenizer) t = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      dir = g_strdup (path);
      json = g_build_filename (dir, "tokenizer.json", NULL);
      vocab = g_build_filename (dir, "vocab.json", NULL);
    }
  else if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *base = g_path_get_basename (path);
      dir = g_path_get_dirname (path);
      if (g_str_equal (base, "vocab.json"))
        vocab = g_strdup (path);
      else
        json = g_strdup (path);
    }
  else
    {
      fs_fail (error, FS_ERROR_NOT_FOUND, path, "no such file or folder");
      return NULL;
    }
  merges = g_build_filename (dir, "merges.txt", NULL);

  if (json != NULL && g_file_test (json, G_FILE_TEST_EXISTS))
    t = load_json (json, error);
  else if (vocab != NULL && g_file_test (vocab, G_FILE_TEST_EXISTS)
           && g_file_test (merges, G_FILE_TEST_EXISTS))
    t = load_legacy (vocab, merges, error);
  else
    {
      fs_fail (error, FS_ERROR_NOT_FOUND, path,
               "no tokenizer.json, nor vocab.json with merges.txt");
      return NULL;
    }
  if (t == NULL)
    return NULL;

  g_autofree char *config = g_build_filename (dir, "tokenizer_config.json", NULL);
  if (!read_config (t, config, error))
    return NULL;
  guess_bos (t);
  return g_steal_pointer (&t);
}

/* ---- encoding ---- */

static void
encode_pieces (FsTokenizer *t, FsEncodeScratch *s, const char *text, gsize length)
{
  if (length == 0)
    return;
  fs_pre_tokenize (t->pre_tokenizer, text, length, &s->pieces);
  for (guint i = 0; i < s->pieces.spans->len; i++)
    {
      FsSpan span = g_array_index (s->pieces.spans, FsSpan, i);
      fs_bpe_encode_word (t, s, s->pieces.text->str + span.start, span.length);
    }
}

/* Text between raw-matched added tokens: normalize, then cut out the added
 * tokens that match normalized text. */
static void
encode_section (FsTokenizer *t, FsEncodeScratch *s, GArray *matches, const char *text,
                gsize length)
{
  g_autofree char *normalized = NULL;

  if (length == 0)
    return;
  if (t->normalizer->len > 0)
    text = normalized = fs_normalize (t->normalizer, text, length, &length);
  if (t->added_normalized == NULL)
    {
      encode_pieces (t, s, text, length);
      return;
    }

  gsize pos = 0;
  g_array_set_size (matches, 0);
  fs_added_matcher_find (t->added_normalized, text, length, matches);
  for (guint i = 0; i < matches->len; i++)
    {
      FsAddedMatch m = g_array_index (matches, FsAddedMatch, i);
      encode_pieces (t, s, text + pos, m.start - pos);
      g_array_append_val (s->ids, m.token->id);
      pos = m.end;
    }
  encode_pieces (t, s, text + pos, length - pos);
}

static void
encode_valid (FsTokenizer *t, FsEncodeScratch *s, const char *text, gsize length)
{
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (FsAddedMatch));
  g_autoptr(GArray) inner = g_array_new (FALSE, FALSE, sizeof (FsAddedMatch));
  gsize pos = 0;

  if (t->added_raw != NULL)
    fs_added_matcher_find (t->added_raw, text, length, matches);
  for (guint i = 0; i < matches->len; i++)
    {
      FsAddedMatch m = g_array_index (matches, FsAddedMatch, i);
      encode_section (t, s, inner, text + pos, m.start - pos);
      g_array_append_val (s->ids, m.token->id);
      pos = m.end;
    }
  encode_section (t, s, inner, text + pos, length - pos);
}

int32_t *
fs_tokenizer_encode (FsTokenizer *t, const char *text, gssize length, gsize *n_ids)
{
  FsEncodeScratch s;
  gsize n, pos = 0;

  g_return_val_if_fail (t != NULL && n_ids != NULL, NULL);
  g_return_val_if_fail (text != NULL || length == 0, NULL);

  n = length < 0 ? strlen (text) : (gsize) length;
  fs_encode_scratch_init (&s, n);

  /* Valid UTF-8 runs go through the pipeline; the bytes between them are
   * pieces of their own (tokenizer.h). */
  while (pos < n)
    {
      gsize valid = fs_utf8_valid_prefix (text + pos, n - pos);
      encode_valid (t, &s, text + pos, valid);
      pos += valid;

      gsize end = pos;
      gunichar c;
      while (end < n && fs_utf8_next (text + end, n - end, &c) <= 0)
        end++;
      if (end > pos)
        fs_bpe_encode_raw_bytes (t, &s, text + pos, end - pos);
      pos = end;
    }

  fs_encode_scratch_clear (&s);
  *n_ids = s.ids->len;
  return (int32_t *) (void *) g_array_free (s.ids, FALSE);
}
