/* tokenizer-bpe.c: the BPE model. A pre-token starts as one symbol per
 * character; the adjacent pair with the lowest merge rank is merged, the
 * leftmost first on ties, until no pair has a merge. A min-heap of
 * (rank, position) over a linked list of symbols makes that O(n log n), so
 * a long pre-token (Gemma has no word splitting) stays fast. */
#include "tokenizer-private.h"

#include <string.h>

#include "byte-level.h"

/* ---- merge table: (left, right) -> (rank, merged), open addressing ---- */

typedef struct {
  guint64 key;               /* left << 32 | right; EMPTY_KEY when free */
  int32_t rank, merged;
} MergeEntry;

#define EMPTY_KEY G_MAXUINT64

struct _FsMergeTable {
  MergeEntry *entries;
  gsize mask, count;
};

static inline guint64
pair_key (int32_t left, int32_t right)
{
  return ((guint64) (guint32) left << 32) | (guint32) right;
}

static inline gsize
slot_of (const FsMergeTable *table, guint64 key)
{
  return (gsize) ((key * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> 17) & table->mask;
}

static void
table_alloc (FsMergeTable *table, gsize capacity)
{
  table->entries = g_new (MergeEntry, capacity);
  table->mask = capacity - 1;
  table->count = 0;
  for (gsize i = 0; i < capacity; i++)
    table->entries[i].key = EMPTY_KEY;
}

FsMergeTable *
fs_merge_table_new (gsize n_merges)
{
  FsMergeTable *table = g_new0 (FsMergeTable, 1);
  gsize capacity = 16;
  while (capacity < n_merges + n_merges / 2)
    capacity *= 2;
  table_alloc (table, capacity);
  return table;
}

void
fs_merge_table_free (FsMergeTable *table)
{
  if (table == NULL)
    return;
  g_free (table->entries);
  g_free (table);
}

void
fs_merge_table_insert (FsMergeTable *table, int32_t left, int32_t right, int32_t rank,
                       int32_t merged)
{
  if (4 * (table->count + 1) > 3 * (table->mask + 1))
    {
      MergeEntry *old = table->entries;
      gsize old_capacity = table->mask + 1;
      table_alloc (table, 2 * old_capacity);
      for (gsize i = 0; i < old_capacity; i++)
        if (old[i].key != EMPTY_KEY)
          fs_merge_table_insert (table, (int32_t) (old[i].key >> 32), (int32_t) old[i].key,
                                 old[i].rank, old[i].merged);
      g_free (old);
    }

  guint64 key = pair_key (left, right);
  gsize slot = slot_of (table, key);
  while (table->entries[slot].key != EMPTY_KEY && table->entries[slot].key != key)
    slot = (slot + 1) & table->mask;
  if (table->entries[slot].key == EMPTY_KEY)
    table->count++;
  table->entries[slot] = (MergeEntry) { key, rank, merged };
}

gboolean
fs_merge_table_lookup (const FsMergeTable *table, int32_t left, int32_t right, int32_t *rank,
                       int32_t *merged)
{
  guint64 key = pair_key (left, right);
  for (gsize slot = slot_of (table, key);; slot = (slot + 1) & table->mask)
    {
      const MergeEntry *e = &table->entries[slot];
      if (e->key == key)
        {
          *rank = e->rank;
          *merged = e->merged;
          return TRUE;
        }
      if (e->key == EMPTY_KEY)
        return FALSE;
    }
}

/* ---- the merge loop ---- */

typedef struct {
  int32_t id;                /* -1 once merged into the symbol before it */
  int32_t prev, next;
} Symbol;

/* A possible merge. Ranks and positions are below 2^31, so the order of
 * `order` (rank << 32 | position) is the (rank, position) order. The pair's
 * ids tell, when it comes up, whether it is still there. */
typedef struct {
  guint64 order;
  int32_t left, right, merged;
} Candidate;

static void
heap_push (GArray *heap, const Candidate *candidate)
{
  g_array_append_vals (heap, candidate, 1);
  Candidate *h = (Candidate *) (void *) heap->data;
  for (guint i = heap->len - 1; i > 0;)
    {
      guint parent = (i - 1) / 2;
      if (h[parent].order <= h[i].order)
        break;
      Candidate tmp = h[parent];
      h[parent] = h[i];
      h[i] = tmp;
      i = parent;
    }
}

static Candidate
heap_pop (GArray *heap)
{
  Candidate *h = (Candidate *) (void *) heap->data;
  Candidate top = h[0];
  guint n = heap->len - 1;

  h[0] = h[n];
  g_array_set_size (heap, n);
  for (guint i = 0;;)
    {
      guint smallest = i, l = 2 * i + 1, r = l + 1;
      if (l < n && h[l].order < h[smallest].order)
        smallest = l;
      if (r < n && h[r].order < h[smallest].order)
        smallest = r;
      if (smallest == i)
        break;
      Candidate tmp = h[smallest];
      h[smallest] = h[i];
      h[i] = tmp;
      i = smallest;
    }
  return top;
}

/* Queues the pair starting at symbol `pos`, if it has a merge. */
static void
queue_pair (FsTokenizer *t, Symbol *symbols, GArray *heap, int32_t pos)
{
  Candidate c;
  int32_t rank;

  if (pos < 0 || symbols[pos].next < 0)
    return;
  c.left = symbols[pos].id;
  c.right = symbols[symbols[pos].next].id;
  if (fs_merge_table_lookup (t->merges, c.left, c.right, &rank, &c.merged))
    {
      c.order = ((guint64) rank << 32) | (guint32) pos;
      heap_push (heap, &c);
    }
}

static void
push_symbol (GArray *symbols, int32_t id)
{
  Symbol s = { id, (int32_t) symbols->len - 1, -1 };
  if (symbols->len > 0)
    g_array_index (symbols, Symbol, symbols->len - 1).next = symbols->len;
  g_array_append_val (symbols, s);
}

/* An unknown character (or byte): its <0xHH> tokens, else unk (one for a
 * run when fuse_unk), else nothing, as `tokenizers` does. */
static void
push_unknown (FsTokenizer *t, GArray *symbols, const char *bytes, gsize length,
              gboolean *previous_unk)
{
  if (t->byte_fallback)
    {
      gsize i;
      for (i = 0; i < length && t->byte_fallback_ids[(guint8) bytes[i]] >= 0; i++)
        ;
      if (i == length)
        {
          for (i = 0; i < length; i++)
            push_symbol (symbols, t->byte_fallback_ids[(guint8) bytes[i]]);
          *previous_unk = FALSE;
          return;
        }
    }
  if (t->unk_id < 0)
    return;
  if (!(t->fuse_unk && *previous_unk))
    push_symbol (symbols, t->unk_id);
  *previous_unk = TRUE;
}

static void
merge_symbols (FsTokenizer *t, FsEncodeScratch *scratch)
{
  GArray *heap = scratch->heap;
  Symbol *symbols = (Symbol *) (void *) scratch->symbols->data;

  g_array_set_size (heap, 0);
  for (guint i = 0; i + 1 < scratch->symbols->len; i++)
    queue_pair (t, symbols, heap, i);

  while (heap->len > 0)
    {
      Candidate top = heap_pop (heap);
      int32_t pos = (int32_t) (guint32) top.order;
      int32_t next = symbols[pos].next;

      /* Stale entries: the symbol was merged away, or its pair changed. */
      if (symbols[pos].id != top.left || next < 0 || symbols[next].id != top.right)
        continue;

      symbols[pos].id = top.merged;
      symbols[pos].next = symbols[next].next;
      if (symbols[next].next >= 0)
        symbols[symbols[next].next].prev = pos;
      symbols[next].id = -1;

      queue_pair (t, symbols, heap, symbols[pos].prev);
      queue_pair (t, symbols, heap, pos);
    }
}

/* Merges always absorb the right symbol, so the list starts at 0. */
static void
emit_symbols (FsEncodeScratch *scratch)
{
  const Symbol *symbols = (const Symbol *) (void *) scratch->symbols->data;
  if (scratch->symbols->len == 0)
    return;
  for (int32_t i = 0; i >= 0; i = symbols[i].next)
    g_array_append_val (scratch->ids, symbols[i].id);
}

void
fs_encode_scratch_init (FsEncodeScratch *s, gsize text_length)
{
  s->ids = g_array_sized_new (FALSE, FALSE, sizeof (int32_t), text_length / 3 + 1);
  s->symbols = g_array_new (FALSE, FALSE, sizeof (Symbol));
  s->heap = g_array_new (FALSE, FALSE, sizeof (Candidate));
  s->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->pieces.text = g_string_new (NULL);
  s->pieces.spans = g_array_new (FALSE, FALSE, sizeof (FsSpan));
}

void
fs_encode_scratch_clear (FsEncodeScratch *s)
{
  g_array_unref (s->symbols);
  g_array_unref (s->heap);
  g_hash_table_unref (s->cache);
  g_string_free (s->pieces.text, TRUE);
  g_array_unref (s->pieces.spans);
}

static void
cache_store (FsEncodeScratch *scratch, const char *word, gsize length, gsize first_id)
{
  gsize n = scratch->ids->len - first_id;
  int32_t *value = g_new (int32_t, n + 1);
  value[0] = (int32_t) n;
  memcpy (value + 1, &g_array_index (scratch->ids, int32_t, first_id), n * sizeof (int32_t));
  g_hash_table_insert (scratch->cache, g_strndup (word, length), value);
}

/* Pre-tokens repeat (" the", " of"): remember short ones for this call. */
#define CACHE_MAX_LENGTH 64

void
fs_bpe_encode_word (FsTokenizer *t, FsEncodeScratch *scratch, const char *word, gsize length)
{
  gboolean previous_unk = FALSE;
  gsize first_id = scratch->ids->len;
  gboolean cacheable = length <= CACHE_MAX_LENGTH && memchr (word, '\0', length) == NULL;

  if (length == 0)
    return;
  if (t->ignore_merges)
    {
      int32_t id = fs_tokenizer_lookup (t, word, length);
      if (id >= 0)
        {
          g_array_append_val (scratch->ids, id);
          return;
        }
    }
  if (cacheable)
    {
      char key[CACHE_MAX_LENGTH + 1];
      memcpy (key, word, length);
      key[length] = '\0';
      const int32_t *cached = g_hash_table_lookup (scratch->cache, key);
      if (cached != NULL)
        {
          g_array_append_vals (scratch->ids, cached + 1, cached[0]);
          return;
        }
    }

  g_array_set_size (scratch->symbols, 0);
  for (gsize i = 0; i < length;)
    {
      gunichar c;
      int n = fs_utf8_next (word + i, length - i, &c);
      int32_t id;

      /* Only valid UTF-8 reaches the model (patterns with \C are refused);
       * a stray byte would be an unknown character of its own. */
      if (n <= 0)
        {
          g_warn_if_reached ();
          push_unknown (t, scratch->symbols, word + i, 1, &previous_unk);
          i++;
          continue;
        }
      id = c < 0x10000 ? t->char_ids[c] : fs_tokenizer_lookup (t, word + i, n);
      if (id >= 0)
        {
          push_symbol (scratch->symbols, id);
          previous_unk = FALSE;
        }
      else
        push_unknown (t, scratch->symbols, word + i, n, &previous_unk);
      i += n;
    }
  merge_symbols (t, scratch);
  emit_symbols (scratch);
  if (cacheable)
    cache_store (scratch, word, length, first_id);
}

void
fs_bpe_encode_raw_bytes (FsTokenizer *t, FsEncodeScratch *scratch, const char *bytes,
                         gsize length)
{
  if (t->byte_level)
    {
      g_autoptr(GString) mapped = g_string_new (NULL);
      fs_byte_level_append (mapped, bytes, length);
      fs_bpe_encode_word (t, scratch, mapped->str, mapped->len);
      return;
    }

  gboolean previous_unk = FALSE;
  g_array_set_size (scratch->symbols, 0);
  for (gsize i = 0; i < length; i++)
    push_unknown (t, scratch->symbols, bytes + i, 1, &previous_unk);
  emit_symbols (scratch);
}
