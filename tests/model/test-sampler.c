/* test-sampler.c: greedy choice, the effect of temperature, top-k and top-p
 * on the distribution of sampled tokens, and reproducibility from a seed. */
#include <math.h>
#include <string.h>

#include "sampler.h"

#define VOCAB 6
#define DRAWS 60000
/* Checked against an independent Python splitmix64 + xoshiro256** */
#define SEED_42_SEQUENCE "0013422321102023"

/* Logits whose softmax is 0.4, 0.3, 0.15, 0.1, 0.05, 0 (the last -inf). */
static void
fill_logits (float *logits)
{
  static const double probs[VOCAB] = { 0.4, 0.3, 0.15, 0.1, 0.05, 0 };
  for (int i = 0; i < VOCAB; i++)
    logits[i] = probs[i] > 0 ? (float) log (probs[i]) + 3 : -INFINITY;
}

static void
histogram (const FsSamplerParams *params, double *freq)
{
  g_autoptr(FsSampler) s = fs_sampler_new (params);
  float logits[VOCAB];
  int counts[VOCAB] = { 0 };
  fill_logits (logits);
  for (int n = 0; n < DRAWS; n++)
    counts[fs_sampler_sample (s, logits, VOCAB)]++;
  for (int i = 0; i < VOCAB; i++)
    freq[i] = counts[i] / (double) DRAWS;
}

/* Within 5 standard deviations of a binomial share. */
static void
assert_share (double got, double want)
{
  double sigma = sqrt (want * (1 - want) / DRAWS) + 1e-12;
  if (fabs (got - want) > 5 * sigma + 1e-9)
    g_error ("share %.4f, expected %.4f", got, want);
}

static void
test_greedy (void)
{
  float logits[] = { 1, 5, 5, -2, NAN };
  FsSamplerParams params = FS_SAMPLER_PARAMS_DEFAULT;
  params.greedy = TRUE;
  g_autoptr(FsSampler) s = fs_sampler_new (&params);
  g_assert_true (fs_sampler_is_greedy (s));
  g_assert_cmpint (fs_sampler_sample (s, logits, 5), ==, 1);
  float nan_first[] = { NAN, -1, 0.5f };
  g_assert_cmpint (fs_argmax (nan_first, 3), ==, 2);

  params = FS_SAMPLER_PARAMS_DEFAULT;
  params.temperature = 0;
  g_autoptr(FsSampler) cold = fs_sampler_new (&params);
  g_assert_true (fs_sampler_is_greedy (cold));
}

static void
test_distribution (void)
{
  FsSamplerParams params = FS_SAMPLER_PARAMS_DEFAULT;
  double freq[VOCAB];
  static const double want[VOCAB] = { 0.4, 0.3, 0.15, 0.1, 0.05, 0 };

  params.seed = 7;
  histogram (&params, freq);
  for (int i = 0; i < VOCAB; i++)
    assert_share (freq[i], want[i]);

  /* Temperature 2: probabilities proportional to sqrt(p). */
  params.temperature = 2;
  histogram (&params, freq);
  double total = 0;
  for (int i = 0; i < VOCAB; i++)
    total += sqrt (want[i]);
  for (int i = 0; i < VOCAB; i++)
    assert_share (freq[i], sqrt (want[i]) / total);
}

static void
test_top_k_top_p (void)
{
  FsSamplerParams params = FS_SAMPLER_PARAMS_DEFAULT;
  double freq[VOCAB];

  params.top_k = 2;
  histogram (&params, freq);
  assert_share (freq[0], 0.4 / 0.7);
  assert_share (freq[1], 0.3 / 0.7);
  g_assert_cmpfloat (freq[2] + freq[3] + freq[4], ==, 0);

  /* top_p 0.8: 0.4 + 0.3 < 0.8, so the third token crosses and is kept. */
  params.top_k = 0;
  params.top_p = 0.8f;
  histogram (&params, freq);
  assert_share (freq[0], 0.4 / 0.85);
  assert_share (freq[2], 0.15 / 0.85);
  g_assert_cmpfloat (freq[3] + freq[4], ==, 0);

  /* top_p tiny: only the best token. */
  params.top_p = 1e-6f;
  histogram (&params, freq);
  g_assert_cmpfloat (freq[0], ==, 1);

  /* top-k then top-p on the renormalised top 3: 0.4/0.85 + 0.3/0.85 = 0.82 >= 0.75. */
  params.top_k = 3;
  params.top_p = 0.75f;
  histogram (&params, freq);
  assert_share (freq[0], 0.4 / 0.7);
  g_assert_cmpfloat (freq[2], ==, 0);
}

static void
test_seeded (void)
{
  FsSamplerParams params = FS_SAMPLER_PARAMS_DEFAULT;
  float logits[VOCAB];
  int32_t a[64], b[64], c[64];

  fill_logits (logits);
  params.seed = 42;
  params.top_p = 0.9f;
  g_autoptr(FsSampler) s1 = fs_sampler_new (&params);
  g_autoptr(FsSampler) s2 = fs_sampler_new (&params);
  params.seed = 43;
  g_autoptr(FsSampler) s3 = fs_sampler_new (&params);
  for (int i = 0; i < 64; i++)
    {
      a[i] = fs_sampler_sample (s1, logits, VOCAB);
      b[i] = fs_sampler_sample (s2, logits, VOCAB);
      c[i] = fs_sampler_sample (s3, logits, VOCAB);
    }
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_true (memcmp (a, c, sizeof a) != 0);

  /* The sequence for seed 42 is fixed forever (the generator is ours). */
  params.seed = 42;
  params.top_p = 1;
  g_autoptr(FsSampler) s4 = fs_sampler_new (&params);
  GString *seq = g_string_new (NULL);
  for (int i = 0; i < 16; i++)
    g_string_append_printf (seq, "%d", fs_sampler_sample (s4, logits, VOCAB));
  g_print ("# seed 42 sequence: %s\n", seq->str);
  g_assert_cmpstr (seq->str, ==, SEED_42_SEQUENCE);
  g_string_free (seq, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sampler/greedy", test_greedy);
  g_test_add_func ("/sampler/distribution", test_distribution);
  g_test_add_func ("/sampler/top-k-top-p", test_top_k_top_p);
  g_test_add_func ("/sampler/seeded", test_seeded);
  return g_test_run ();
}
