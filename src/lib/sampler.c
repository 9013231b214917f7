#include "sampler.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
  int32_t index;
  double  prob;     /* unnormalised: exp((logit - max) / temperature) */
} Candidate;

struct _FsSampler {
  FsSamplerParams params;
  uint64_t        state[4];   /* xoshiro256** */
  Candidate      *candidates;
  int64_t         n_allocated;
};

/* ---------------------------------------------------------------- random */

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static uint64_t
next_u64 (FsSampler *s)
{
  uint64_t *st = s->state;
  uint64_t result = rotl (st[1] * 5, 7) * 9, t = st[1] << 17;
  st[2] ^= st[0];
  st[3] ^= st[1];
  st[1] ^= st[2];
  st[0] ^= st[3];
  st[2] ^= t;
  st[3] = rotl (st[3], 45);
  return result;
}

/* Uniform in [0, 1), 53 bits. */
static double
next_double (FsSampler *s)
{
  return (double) (next_u64 (s) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------- sampling */

FsSampler *
fs_sampler_new (const FsSamplerParams *params)
{
  FsSampler *s = g_new0 (FsSampler, 1);
  uint64_t seed;

  s->params = params != NULL ? *params : FS_SAMPLER_PARAMS_DEFAULT;
  seed = s->params.seed;
  for (int i = 0; i < 4; i++)
    s->state[i] = splitmix64 (&seed);
  return s;
}

void
fs_sampler_free (FsSampler *sampler)
{
  if (sampler == NULL)
    return;
  g_free (sampler->candidates);
  g_free (sampler);
}

gboolean
fs_sampler_is_greedy (FsSampler *sampler)
{
  return sampler->params.greedy || !(sampler->params.temperature > 0);
}

int32_t
fs_argmax (const float *logits, int64_t n)
{
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (logits[i] > logits[best] || isnan (logits[best]))
      best = i;
  return (int32_t) best;
}

/* Larger probability first, then lower index: a total order, so the
 * result never depends on qsort's algorithm. */
static int
compare_candidates (const void *pa, const void *pb)
{
  const Candidate *a = pa, *b = pb;
  if (a->prob != b->prob)
    return a->prob > b->prob ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

int32_t
fs_sampler_sample (FsSampler *s, const float *logits, int64_t vocab)
{
  const FsSamplerParams *p = &s->params;
  gboolean top_k = p->top_k > 0 && p->top_k < vocab, top_p = p->top_p < 1;
  double total = 0, max;
  int64_t n = 0;

  g_return_val_if_fail (vocab > 0, 0);

  if (fs_sampler_is_greedy (s))
    return fs_argmax (logits, vocab);

  max = logits[fs_argmax (logits, vocab)];
  if (!isfinite (max))
    return fs_argmax (logits, vocab);
  if (vocab > s->n_allocated)
    {
      s->candidates = g_renew (Candidate, s->candidates, (size_t) vocab);
      s->n_allocated = vocab;
    }
  for (int64_t i = 0; i < vocab; i++)
    {
      double prob = isnan (logits[i]) ? 0 : exp (((double) logits[i] - max) / p->temperature);
      s->candidates[n++] = (Candidate) { (int32_t) i, prob };
      total += prob;
    }

  if (top_k || top_p)
    {
      /* Only tokens with a share of at least (1 - top_p) / (vocab - 1) can
       * be in the nucleus (the others together hold less than 1 - top_p),
       * so the sort can skip the long tail. */
      if (top_p && !top_k && vocab > 1)
        {
          double cutoff = (1 - p->top_p) / (double) (vocab - 1) * total;
          int64_t kept = 0;
          for (int64_t i = 0; i < n; i++)
            if (s->candidates[i].prob >= cutoff)
              s->candidates[kept++] = s->candidates[i];
          n = kept;
        }
      qsort (s->candidates, (size_t) n, sizeof (Candidate), compare_candidates);
      if (top_k)
        {
          /* transformers renormalises over the k kept before top-p. */
          n = MIN (n, p->top_k);
          total = 0;
          for (int64_t i = 0; i < n; i++)
            total += s->candidates[i].prob;
        }
      if (top_p)
        {
          /* The smallest prefix holding top_p of the mass. */
          double cumulative = 0, target = p->top_p * total;
          int64_t i = 0;
          while (i < n && cumulative < target)
            cumulative += s->candidates[i++].prob;
          n = MAX (i, 1);
          total = cumulative > 0 ? cumulative : s->candidates[0].prob;
        }
    }

  double u = next_double (s) * total, cumulative = 0;
  for (int64_t i = 0; i < n; i++)
    {
      cumulative += s->candidates[i].prob;
      if (u < cumulative)
        return s->candidates[i].index;
    }
  /* Rounding left u at the very end: the last token with any mass. */
  for (int64_t i = n - 1; i > 0; i--)
    if (s->candidates[i].prob > 0)
      return s->candidates[i].index;
  return s->candidates[0].index;
}
