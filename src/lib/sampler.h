/* sampler.h: picking the next token from logits.
 *
 * Greedy (argmax, lowest id on ties), or sampling with temperature, top-k
 * and top-p (applied in that order, as transformers does). The choice
 * depends only on the logits, the parameters and the number of tokens
 * sampled before: the random numbers come from the sampler's own xoshiro256**
 * generator seeded from `seed`, never from rand().
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  gboolean greedy;
  float    temperature;  /* <= 0 means greedy */
  int64_t  top_k;        /* 0: all tokens */
  float    top_p;        /* >= 1: all tokens */
  uint64_t seed;
} FsSamplerParams;

/* temperature 1, no top-k or top-p, seed 0. */
#define FS_SAMPLER_PARAMS_DEFAULT ((FsSamplerParams) { FALSE, 1.0f, 0, 1.0f, 0 })

typedef struct _FsSampler FsSampler;

FsSampler *fs_sampler_new (const FsSamplerParams *params);
void       fs_sampler_free (FsSampler *sampler);
gboolean   fs_sampler_is_greedy (FsSampler *sampler);
/* The next token for logits[vocab]; advances the random generator. */
int32_t    fs_sampler_sample (FsSampler *sampler, const float *logits, int64_t vocab);
/* The index of the largest logit (the lowest on ties; NaN never wins). */
int32_t    fs_argmax (const float *logits, int64_t n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSampler, fs_sampler_free)

G_END_DECLS
