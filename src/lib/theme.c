/* theme.c: keyword rates and bag-of-words theme classifiers (theme.h). */
#include "theme.h"

#include <math.h>
#include <string.h>

#include "fs-error.h"
#include "json-util.h"

/* Token ids beyond this are refused: a sparse file names them as strings. */
#define MAX_TOKEN_ID G_MAXINT32

struct _FsThemeClassifier {
  GPtrArray  *classes;       /* char * */
  double     *priors;        /* [n_classes] */
  /* token id -> log P(token | class) [n_classes], one row per id; rows of
   * ids without weights hold NaN and are skipped. */
  double     *weights;
  int64_t     n_ids;
  GHashTable *ignored;       /* GINT_TO_POINTER (id) */
};

void
fs_theme_classifier_free (FsThemeClassifier *classifier)
{
  if (classifier == NULL)
    return;
  g_ptr_array_unref (classifier->classes);
  g_free (classifier->priors);
  g_free (classifier->weights);
  g_hash_table_unref (classifier->ignored);
  g_free (classifier);
}

guint
fs_theme_classifier_get_n_classes (FsThemeClassifier *classifier)
{
  return classifier->classes->len;
}

const char *
fs_theme_classifier_get_class (FsThemeClassifier *classifier, guint index)
{
  g_return_val_if_fail (index < classifier->classes->len, NULL);
  return classifier->classes->pdata[index];
}

/* A JSON array of exactly n finite numbers into out[n]. */
static gboolean
read_numbers (const char *path, const char *what, const cJSON *array, guint n, double *out,
              GError **error)
{
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (array) || (guint) cJSON_GetArraySize (array) != n)
    return fs_fail (error, FS_ERROR_INVALID, path, "%s must be an array of %u numbers", what, n);
  cJSON_ArrayForEach (item, array)
    {
      if (!cJSON_IsNumber (item) || !isfinite (item->valuedouble))
        return fs_fail (error, FS_ERROR_INVALID, path, "%s[%u] is not a finite number", what, i);
      out[i++] = item->valuedouble;
    }
  return TRUE;
}

static gboolean
read_dense (FsThemeClassifier *c, const char *path, const cJSON *log_prob, GError **error)
{
  guint n_classes = c->classes->len;
  const cJSON *row;
  guint k = 0;

  if (!cJSON_IsArray (log_prob) || (guint) cJSON_GetArraySize (log_prob) != n_classes)
    return fs_fail (error, FS_ERROR_INVALID, path, "log_prob must hold one row per class");
  c->n_ids = cJSON_GetArraySize (cJSON_GetArrayItem (log_prob, 0));
  if (c->n_ids <= 0)
    return fs_fail (error, FS_ERROR_INVALID, path, "log_prob rows are empty");
  c->weights = g_new (double, (size_t) (c->n_ids * n_classes));
  g_autofree double *values = g_new (double, (size_t) c->n_ids);
  cJSON_ArrayForEach (row, log_prob)
    {
      g_autofree char *what = g_strdup_printf ("log_prob[%u]", k);
      if (!read_numbers (path, what, row, (guint) c->n_ids, values, error))
        return FALSE;
      for (int64_t id = 0; id < c->n_ids; id++)
        c->weights[id * n_classes + k] = values[id];
      k++;
    }
  return TRUE;
}

static gboolean
read_sparse (FsThemeClassifier *c, const char *path, const cJSON *weights, GError **error)
{
  guint n_classes = c->classes->len;
  const cJSON *item;

  if (!cJSON_IsObject (weights))
    return fs_fail (error, FS_ERROR_INVALID, path, "weights must be an object");
  cJSON_ArrayForEach (item, weights)
    {
      guint64 id;
      if (!g_ascii_string_to_unsigned (item->string, 10, 0, MAX_TOKEN_ID, &id, NULL))
        return fs_fail (error, FS_ERROR_INVALID, path, "weights: “%s” is not a token id",
                        item->string);
      c->n_ids = MAX (c->n_ids, (int64_t) id + 1);
    }
  if (c->n_ids > 16 * 1024 * 1024)
    return fs_fail (error, FS_ERROR_INVALID, path, "weights: token ids up to 2^24 only");
  c->weights = g_new (double, (size_t) (MAX (c->n_ids, 1) * n_classes));
  for (int64_t i = 0; i < c->n_ids * n_classes; i++)
    c->weights[i] = NAN;
  cJSON_ArrayForEach (item, weights)
    {
      guint64 id = g_ascii_strtoull (item->string, NULL, 10);
      g_autofree char *what = g_strdup_printf ("weights[\"%s\"]", item->string);
      if (!read_numbers (path, what, item, n_classes, c->weights + id * n_classes, error))
        return FALSE;
    }
  return TRUE;
}

FsThemeClassifier *
fs_theme_classifier_load (const char *path, GError **error)
{
  g_autoptr(cJSON) root = fs_json_load (path, error);
  g_autoptr(FsThemeClassifier) c = NULL;
  const cJSON *classes, *item, *priors, *log_prob, *weights, *ignored;

  if (root == NULL)
    return NULL;
  c = g_new0 (FsThemeClassifier, 1);
  c->classes = g_ptr_array_new_with_free_func (g_free);
  c->ignored = g_hash_table_new (NULL, NULL);

  classes = cJSON_GetObjectItemCaseSensitive (root, "classes");
  if (!cJSON_IsArray (classes) || cJSON_GetArraySize (classes) == 0)
    {
      fs_fail (error, FS_ERROR_INVALID, path, "not a theme classifier: no “classes” array");
      return NULL;
    }
  cJSON_ArrayForEach (item, classes)
    {
      if (!cJSON_IsString (item))
        {
          fs_fail (error, FS_ERROR_INVALID, path, "classes must be strings");
          return NULL;
        }
      g_ptr_array_add (c->classes, g_strdup (item->valuestring));
    }

  guint n_classes = c->classes->len;
  c->priors = g_new0 (double, n_classes);
  priors = cJSON_GetObjectItemCaseSensitive (root, "log_prior");
  if (priors == NULL)
    priors = cJSON_GetObjectItemCaseSensitive (root, "priors");
  if (priors != NULL && !read_numbers (path, "the priors", priors, n_classes, c->priors, error))
    return NULL;

  log_prob = cJSON_GetObjectItemCaseSensitive (root, "log_prob");
  weights = cJSON_GetObjectItemCaseSensitive (root, "weights");
  if ((log_prob == NULL) == (weights == NULL))
    {
      fs_fail (error, FS_ERROR_INVALID, path, "needs one of “log_prob” and “weights”");
      return NULL;
    }
  if (log_prob != NULL ? !read_dense (c, path, log_prob, error)
                       : !read_sparse (c, path, weights, error))
    return NULL;

  ignored = cJSON_GetObjectItemCaseSensitive (root, "ignore_token_ids");
  cJSON_ArrayForEach (item, ignored)
    {
      int64_t id;
      if (!fs_json_integer_in (item, 0, MAX_TOKEN_ID, &id))
        {
          fs_fail (error, FS_ERROR_INVALID, path, "ignore_token_ids must be token ids");
          return NULL;
        }
      g_hash_table_add (c->ignored, GINT_TO_POINTER ((int) id));
    }
  return g_steal_pointer (&c);
}

void
fs_theme_scores_free (FsThemeScores *scores)
{
  if (scores == NULL)
    return;
  g_free (scores->scores);
  g_free (scores->probabilities);
  g_free (scores->log_odds);
  g_free (scores);
}

FsThemeScores *
fs_theme_classifier_score (FsThemeClassifier *c, const int32_t *tokens, int64_t n_tokens)
{
  guint n = c->classes->len;
  FsThemeScores *s = g_new0 (FsThemeScores, 1);

  s->scores = g_memdup2 (c->priors, n * sizeof (double));
  s->probabilities = g_new (double, n);
  s->log_odds = g_new0 (double, n);
  for (int64_t t = 0; t < n_tokens; t++)
    {
      int32_t id = tokens[t];
      if (id < 0 || id >= c->n_ids || g_hash_table_contains (c->ignored, GINT_TO_POINTER (id))
          || isnan (c->weights[(int64_t) id * n]))
        continue;
      for (guint k = 0; k < n; k++)
        s->scores[k] += c->weights[(int64_t) id * n + k];
      s->n_tokens++;
    }

  double top = -INFINITY, sum = 0;
  for (guint k = 0; k < n; k++)
    if (s->scores[k] > top)
      {
        top = s->scores[k];
        s->best = k;
      }
  for (guint k = 0; k < n; k++)
    sum += s->probabilities[k] = exp (s->scores[k] - top);
  for (guint k = 0; k < n; k++)
    {
      double other = -INFINITY;
      s->probabilities[k] /= sum;
      for (guint j = 0; j < n; j++)
        if (j != k)
          other = fmax (other, s->scores[j]);
      if (s->n_tokens > 0 && n > 1)
        s->log_odds[k] = (s->scores[k] - other) / s->n_tokens;
    }
  return s;
}

static gboolean
keyword_matches (const char *word, const char *keyword)
{
  size_t length = strlen (keyword);
  if (length > 0 && keyword[length - 1] == '*')
    return strncmp (word, keyword, length - 1) == 0;
  return strcmp (word, keyword) == 0;
}

int64_t
fs_keyword_count (const char *text, const char * const *keywords, int64_t *n_words)
{
  g_autoptr(GPtrArray) folded = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) word = g_string_new (NULL);
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  int64_t hits = 0, words = 0;

  for (const char * const *k = keywords; k != NULL && *k != NULL; k++)
    g_ptr_array_add (folded, g_utf8_casefold (*k, -1));

  /* One pass; the NUL at the end closes the last word. */
  for (const char *p = valid;; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean inside = *p != '\0' && g_unichar_isalnum (c);
      if (inside)
        g_string_append_unichar (word, c);
      else if (word->len > 0)
        {
          g_autofree char *w = g_utf8_casefold (word->str, (gssize) word->len);
          words++;
          for (guint i = 0; i < folded->len; i++)
            if (keyword_matches (w, folded->pdata[i]))
              {
                hits++;
                break;
              }
          g_string_truncate (word, 0);
        }
      if (*p == '\0')
        break;
    }
  if (n_words != NULL)
    *n_words = words;
  return hits;
}
