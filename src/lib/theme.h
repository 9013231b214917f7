/* theme.h: how much a text is about a theme, without an LLM judge
 * (METHOD.md section 4, "Scores"): a keyword rate, or a bag-of-words
 * classifier over the model's token ids.
 *
 * Classifier files (JSON), either of:
 *
 *   dense, as data/demo/theme-classifier.json ships it:
 *     {"classes": ["a", "b"], "log_prior": [lp_a, lp_b],
 *      "log_prob": [[log P(token 0 | a), ...], [log P(token 0 | b), ...]],
 *      "ignore_token_ids": [4095]}                        (optional)
 *   sparse:
 *     {"classes": ["a", "b"], "priors": [lp_a, lp_b],
 *      "weights": {"17": [log P(17 | a), log P(17 | b)], ...},
 *      "ignore_token_ids": [...]}                          (optional)
 *
 * Priors are log probabilities. A token outside the vocabulary of a dense
 * file, or without weights in a sparse one, adds nothing to any class.
 * score[c] = prior[c] + sum over the text's (not ignored) tokens of
 * log P(token | c); probabilities are softmax(score), and the per-token
 * log-odds of c against the best other class, (score[c] - max score[c' != c])
 * / n, are comparable across texts of different lengths.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _FsThemeClassifier FsThemeClassifier;

FsThemeClassifier *fs_theme_classifier_load (const char *path, GError **error);
void               fs_theme_classifier_free (FsThemeClassifier *classifier);
guint              fs_theme_classifier_get_n_classes (FsThemeClassifier *classifier);
const char        *fs_theme_classifier_get_class (FsThemeClassifier *classifier, guint index);

typedef struct {
  int64_t n_tokens;      /* tokens counted (not ignored) */
  double *scores;        /* [n_classes] */
  double *probabilities; /* [n_classes] */
  double *log_odds;      /* [n_classes], per token; 0 when no token counted */
  guint   best;          /* argmax of scores */
} FsThemeScores;

/* Scores the tokens; free the result with fs_theme_scores_free. */
FsThemeScores     *fs_theme_classifier_score (FsThemeClassifier *classifier,
                                              const int32_t *tokens, int64_t n_tokens);
void               fs_theme_scores_free (FsThemeScores *scores);

/* Words of `text` (runs of letters and digits, compared case-insensitively)
 * that match one of `keywords`: a keyword matches a word equal to it, or,
 * ending in '*', every word that starts with the rest ("physic*").
 * Returns the hits; *n_words gets the number of words. */
int64_t            fs_keyword_count (const char *text, const char * const *keywords,
                                     int64_t *n_words);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsThemeClassifier, fs_theme_classifier_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsThemeScores, fs_theme_scores_free)

G_END_DECLS
