/* sae.h: one sparse autoencoder, read in place from any supported format.
 *
 * An FsSae presents one logical model whatever the file layout:
 *
 *   z     = sigma(normalise(x) - b_dec_in) W_enc + b_enc)     [d_sae]
 *   x_hat = unnormalise((z * dec_scale) W_dec + b_dec)         [d_in]
 *
 * with W_enc viewed as [d_in, d_sae] and W_dec as [d_sae, d_in] whatever the
 * stored orientation (Llama Scope stores both transposed), in the stored
 * dtype. Per-feature factors that formats fold into their weights
 * (SAELens `scaling_factor`, Llama Scope's dataset-wise normalisation) are
 * kept as small F32 vectors instead of rewriting the big matrices.
 */
#pragma once

#include <gio/gio.h>

#include "matrix.h"
#include "tensor.h"

G_BEGIN_DECLS

typedef enum {
  FS_SITE_RES,  /* residual stream after the block (hook_resid_post) */
  FS_SITE_MLP,  /* MLP output added to the residual (hook_mlp_out) */
  FS_SITE_ATT,  /* attention output (hook_attn_out), or heads (attn.hook_z) */
} FsSite;

/* Layer index of the embedding output (blocks.0.hook_resid_pre): the residual
 * "before layer 0", so that L - 1 arithmetic holds. Written "embed". */
#define FS_LAYER_EMBED (-1)

typedef enum {
  FS_SAE_FORMAT_SAELENS,
  FS_SAE_FORMAT_GEMMASCOPE,
  FS_SAE_FORMAT_LLAMASCOPE,
} FsSaeFormat;

typedef enum {
  FS_ARCH_STANDARD,
  FS_ARCH_JUMPRELU,
  FS_ARCH_TOPK,
  FS_ARCH_GATED,
} FsArchitecture;

typedef enum {
  FS_NORM_NONE,
  FS_NORM_EXPECTED_AVERAGE_ONLY_IN,  /* identity at inference: factor folded */
  FS_NORM_CONSTANT_NORM_RESCALE,     /* x * sqrt(d_in) / |x| */
  FS_NORM_LAYER_NORM,                /* (x - mean) / (unbiased std + 1e-5) */
} FsNormalization;

/* How Llama Scope's scalar threshold is applied (FORMATS.md). */
typedef enum {
  FS_LLAMASCOPE_THRESHOLD_REFERENCE, /* lm-saes: unit decoder columns, thr as is */
  FS_LLAMASCOPE_THRESHOLD_SAELENS,   /* SAELens: thr * f_in, decoder not normalised */
} FsLlamaScopeThreshold;

typedef struct _FsSae FsSae;

typedef struct {
  FsLlamaScopeThreshold llamascope_threshold;
} FsSaeLoadOptions;

/* Loads the SAE whose files are in `folder`, detecting the format:
 * cfg.json + sae_weights.safetensors (SAELens), params.npz (Gemma Scope; the
 * site comes from the repository folder name among the ancestors), or
 * hyperparams.json + checkpoints/final.safetensors (Llama Scope). Reads only
 * headers: no weight is touched until it is used. `options` may be NULL. */
FsSae          *fs_sae_load (const char *folder, const FsSaeLoadOptions *options,
                             GError **error);
/* Parses a SAELens cfg.json text into `sae`'s configuration; for fuzzing. */
FsSae          *fs_sae_new_from_saelens_config (const char *path, const char *json,
                                                gsize length, GError **error);
FsSae          *fs_sae_ref (FsSae *sae);
void            fs_sae_unref (FsSae *sae);

const char     *fs_sae_get_path (FsSae *sae);
FsSaeFormat     fs_sae_get_format (FsSae *sae);
FsArchitecture  fs_sae_get_architecture (FsSae *sae);
int             fs_sae_get_layer (FsSae *sae);
FsSite          fs_sae_get_site (FsSae *sae);
/* TRUE for attention SAEs on attn.hook_z: their space is the heads', and
 * matching them needs the model's output projection (METHOD.md). */
gboolean        fs_sae_is_hook_z (FsSae *sae);
const char     *fs_sae_get_hook_name (FsSae *sae);
int64_t         fs_sae_get_d_in (FsSae *sae);
int64_t         fs_sae_get_d_sae (FsSae *sae);
/* The decoder's stored dtype. */
FsDtype         fs_sae_get_dtype (FsSae *sae);
int             fs_sae_get_k (FsSae *sae);
FsNormalization fs_sae_get_normalization (FsSae *sae);
gboolean        fs_sae_get_apply_b_dec_to_input (FsSae *sae);
/* Gemma Scope average_l0_N; -1 when the format does not say. */
int             fs_sae_get_average_l0 (FsSae *sae);
/* The first token position the SAE was trained on (SAELens seqpos_slice;
 * 0 when it does not say): earlier positions are outside what it saw. */
int64_t         fs_sae_get_seqpos_start (FsSae *sae);
/* Neuronpedia source id ("gemma-2-2b/12-gemmascope-res-16k") or NULL. */
const char     *fs_sae_get_neuronpedia_id (FsSae *sae);
/* Things a user should know about this SAE (unfolded normalisation, ...). */
const char * const *fs_sae_get_warnings (FsSae *sae);

FsMatrixView    fs_sae_get_encoder (FsSae *sae);   /* [d_in, d_sae] */
FsMatrixView    fs_sae_get_decoder (FsSae *sae);   /* [d_sae, d_in] */
/* JumpReLU thresholds [d_sae] in activation units, or NULL for other
 * architectures. */
const float    *fs_sae_get_threshold (FsSae *sae);
/* Per-feature factor applied to z before decoding (all ones when none). */
const float    *fs_sae_get_decoder_scale (FsSae *sae);
/* |dec_scale[i] * W_dec[i]|: computed on first use (one pass over W_dec),
 * thread-safe. Unit row i is dec_scale[i] * W_dec[i] / norms[i]. */
const float    *fs_sae_get_decoder_norms (FsSae *sae);
/* Writes unit decoder row `index` as F32 into `out` [d_in]. */
void            fs_sae_get_unit_decoder_row (FsSae *sae, int64_t index, float *out);
/* Writes unit decoder rows [first, first + n) as packed F32 [n, d_in]. */
void            fs_sae_read_unit_decoder_rows (FsSae *sae, int64_t first, int64_t n,
                                               float *out);

/* Encodes n rows of x [n, d_in] (F32) into z [n, d_sae]. */
void            fs_sae_encode (FsSae *sae, const float *x, int64_t n, float *z);
/* Latents `indices` of n rows of x [n, d_in] as fs_sae_encode computes
 * them, into z [n, n_indices]: only those encoder columns are read, except
 * for TopK, where membership in the top k needs every latent (then the full
 * encoding is done, a block of rows per sgemm). `columns` [n_indices, d_in]
 * may hold the columns from fs_sae_read_encoder_columns, or be NULL. */
void            fs_sae_encode_features (FsSae *sae, const float *x, int64_t n,
                                        const int64_t *indices, int64_t n_indices,
                                        const float *columns, float *z);
/* Encoder columns `indices` as packed F32 rows [n_indices, d_in]. */
void            fs_sae_read_encoder_columns (FsSae *sae, const int64_t *indices,
                                             int64_t n_indices, float *out);
/* What fs_sae_decode adds to x_hat per unit of latent `index`, before
 * undoing input normalisation: the stored row times the decoder scale (and
 * over its norm for TopK with rescale_acts_by_decoder_norm). Not unit length. */
void            fs_sae_get_decoder_direction (FsSae *sae, int64_t index, float *out);
/* gain [n]: the factor by which decoding row t of x undoes the input
 * normalisation (1 / its scale; 1 when the SAE normalises nothing), so that
 * changing a latent by d moves x_hat by d * gain * its decoder direction. */
void            fs_sae_input_gain (FsSae *sae, const float *x, int64_t n, float *gain);
/* Decodes z [n, d_sae] into x_hat [n, d_in]; `x` [n, d_in] is the input that
 * was encoded, needed to undo input-dependent normalisations (may be NULL
 * when the SAE has none). */
void            fs_sae_decode (FsSae *sae, const float *z, const float *x, int64_t n,
                               float *x_hat);

const char     *fs_site_name (FsSite site);            /* "res" "mlp" "att" */
gboolean        fs_site_from_name (const char *name, FsSite *out);
const char     *fs_sae_format_name (FsSaeFormat format);
const char     *fs_architecture_name (FsArchitecture arch);
/* "12/res", "embed/res" */
char           *fs_position_id (int layer, FsSite site);
/* Maps a TransformerLens hook name to layer and site; FALSE if not a site. */
gboolean        fs_hook_name_to_position (const char *hook_name, int *layer, FsSite *site,
                                          gboolean *is_hook_z);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsSae, fs_sae_unref)

G_END_DECLS
