/* bench-util.h: what the benchmarks share: a seeded random source, model
 * and SAE files with random content, medians and cleaning up. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "dtype.h"

/* The shape bench_write_gpt2 writes: GPT-2 small. */
#define BENCH_GPT2_LAYERS    12
#define BENCH_GPT2_D         768
#define BENCH_GPT2_VOCAB     50257
#define BENCH_GPT2_POSITIONS 1024

/* xorshift64: advances *state and returns a value uniform in [-1, 1). */
float    bench_random             (guint64     *state);
/* Writes n values offset + scale * bench_random (state) at `out`, in F32
 * or BF16 (n * fs_dtype_size (dtype) bytes). */
void     bench_fill_random        (guint64     *state,
                                   float        scale,
                                   float        offset,
                                   FsDtype      dtype,
                                   size_t       n,
                                   uint8_t     *out);

/* A tensor of a safetensors file: name and shape in, place in the data
 * section out. */
typedef struct {
  const char *name;
  int64_t     rows, cols;   /* cols 0: a vector */
  size_t      offset, bytes;
} BenchTensor;

/* The header of a safetensors file holding `tensors` in `dtype`, padded to
 * a multiple of 8 bytes; sets each tensor's offset and bytes. */
GString *bench_safetensors_header (BenchTensor *tensors,
                                   int          n,
                                   FsDtype      dtype);

/* Writes config.json and model.safetensors of a GPT-2-small-shaped model
 * (Conv1D layout, tied head) with random weights from *state into `dir`,
 * synced to disk; returns the weights' bytes. */
size_t   bench_write_gpt2         (const char  *dir,
                                   FsDtype      dtype,
                                   guint64     *state);
/* Writes a SAELens folder of a "standard" SAE at blocks.LAYER.HOOK whose
 * W_dec [d_sae, d_in] holds random values from *state, whose b_enc and
 * b_dec are zeros and whose W_enc is a sparse hole. */
void     bench_write_random_sae   (const char  *folder,
                                   int          layer,
                                   const char  *hook,
                                   int          d_in,
                                   int          d_sae,
                                   FsDtype      dtype,
                                   guint64     *state);

/* The median of n values (sorts them in place). */
double   bench_median             (double      *values,
                                   int          n);
/* Removes `path`, a file or a folder with everything below it. */
void     bench_remove_tree        (const char  *path);
