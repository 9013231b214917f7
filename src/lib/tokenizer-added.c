/* tokenizer-added.c: finding added tokens (<bos>, <|endoftext|>, "\n" in
 * Gemma...) in text before the model runs. Like the Aho-Corasick
 * leftmost-longest search of `tokenizers`: the match that starts first
 * wins, the longest among those, and the search goes on after it. A byte
 * trie does it; there are a few thousand tokens at most. */
#include "tokenizer-private.h"

#include "byte-level.h"

typedef struct {
  int32_t child, sibling;    /* -1: none */
  const FsAddedToken *token; /* a token ends here */
  guint8 byte;
} Node;

struct _FsAddedMatcher {
  GArray *nodes;             /* Node; the root's children are in `first` */
  int32_t first[256];
};

static int32_t
child_of (FsAddedMatcher *m, int32_t parent, guint8 byte)
{
  int32_t i = parent < 0 ? m->first[byte] : g_array_index (m->nodes, Node, parent).child;
  if (parent >= 0)
    while (i >= 0 && g_array_index (m->nodes, Node, i).byte != byte)
      i = g_array_index (m->nodes, Node, i).sibling;
  return i;
}

static int32_t
add_child (FsAddedMatcher *m, int32_t parent, guint8 byte)
{
  int32_t existing = child_of (m, parent, byte);
  if (existing >= 0)
    return existing;

  Node node = { -1, -1, NULL, byte };
  int32_t index = m->nodes->len;
  if (parent < 0)
    m->first[byte] = index;
  else
    {
      node.sibling = g_array_index (m->nodes, Node, parent).child;
      g_array_index (m->nodes, Node, parent).child = index;
    }
  g_array_append_val (m->nodes, node);
  return index;
}

FsAddedMatcher *
fs_added_matcher_new (GArray *tokens, gboolean normalized)
{
  FsAddedMatcher *m = NULL;

  for (guint i = 0; i < tokens->len; i++)
    {
      const FsAddedToken *token = &g_array_index (tokens, FsAddedToken, i);
      if (token->normalized != normalized || token->length == 0)
        continue;
      if (m == NULL)
        {
          m = g_new0 (FsAddedMatcher, 1);
          m->nodes = g_array_new (FALSE, FALSE, sizeof (Node));
          for (guint b = 0; b < 256; b++)
            m->first[b] = -1;
        }
      int32_t node = -1;
      for (gsize k = 0; k < token->length; k++)
        node = add_child (m, node, (guint8) token->content[k]);
      /* The first of two tokens with the same content keeps it. */
      if (g_array_index (m->nodes, Node, node).token == NULL)
        g_array_index (m->nodes, Node, node).token = token;
    }
  return m;
}

void
fs_added_matcher_free (FsAddedMatcher *matcher)
{
  if (matcher == NULL)
    return;
  g_array_unref (matcher->nodes);
  g_free (matcher);
}

/* White_Space, as Rust's char::is_whitespace. */
static gboolean
is_white_space (gunichar c)
{
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
         || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
         || c == 0x205F || c == 0x3000;
}

/* \w of Rust's regex: alphabetic, marks, decimal digits, connectors. */
static gboolean
is_word_char (gunichar c)
{
  return g_unichar_isalnum (c) || g_unichar_ismark (c)
         || g_unichar_type (c) == G_UNICODE_CONNECT_PUNCTUATION || c == 0x200C || c == 0x200D;
}

static gunichar
char_before (const char *text, gsize pos)
{
  const char *prev = g_utf8_find_prev_char (text, text + pos);
  return prev != NULL ? g_utf8_get_char (prev) : 0;
}

void
fs_added_matcher_find (FsAddedMatcher *m, const char *text, gsize length, GArray *matches)
{
  gsize pos = 0, done = 0;  /* `done`: end of the previous match */

  while (pos < length)
    {
      const FsAddedToken *best = NULL;
      gsize best_end = 0;
      int32_t node = m->first[(guint8) text[pos]];

      for (gsize k = pos + 1; node >= 0; k++)
        {
          const Node *n = &g_array_index (m->nodes, Node, node);
          if (n->token != NULL)
            best = n->token, best_end = k;
          if (k >= length)
            break;
          node = child_of (m, node, (guint8) text[k]);
        }
      if (best == NULL)
        {
          pos++;
          continue;
        }

      gsize start = pos, end = best_end;
      pos = best_end;
      if (best->single_word
          && ((start > 0 && is_word_char (char_before (text, start)))
              || (end < length && is_word_char (g_utf8_get_char (text + end)))))
        continue;
      if (best->lstrip)
        while (start > done && is_white_space (char_before (text, start)))
          start = g_utf8_find_prev_char (text, text + start) - text;
      if (best->rstrip)
        while (end < length && is_white_space (g_utf8_get_char (text + end)))
          end = g_utf8_next_char (text + end) - text;

      FsAddedMatch match = { start, end, best };
      g_array_append_val (matches, match);
      pos = done = end;
    }
}
