/* sae-private.h: the FsSae record, shared by sae.c and the format loaders
 * (sae-saelens.c, sae-gemmascope.c, sae-llamascope.c). */
#pragma once

#include "sae.h"

struct _FsSae {
  gatomicrefcount  ref_count;
  char            *path;
  FsSaeFormat      format;
  FsArchitecture   architecture;
  int              layer;
  FsSite           site;
  gboolean         hook_z;
  char            *hook_name;
  int64_t          d_in, d_sae;
  int              k;
  FsNormalization  normalization;
  gboolean         apply_b_dec_to_input;
  gboolean         rescale_acts_by_decoder_norm;
  int              average_l0;
  int64_t          seqpos_start;
  char            *neuronpedia_id;
  GPtrArray       *warnings;          /* NULL-terminated char* */

  FsTensorFile    *weights;           /* keeps the views below mapped */
  FsMatrixView     encoder, decoder;
  /* Small vectors, converted to F32 at load; NULL when the SAE has none. */
  float           *b_enc, *b_dec, *threshold, *b_gate, *r_mag, *b_mag;
  float           *encoder_scale;     /* per-feature factor on pre-activations */
  float           *decoder_scale;     /* per-feature factor on z; never NULL once prepared */

  /* Filled on first use by sae_prepare (one pass over the decoder). */
  gsize            prepared;
  float           *stored_row_norms;  /* |W_dec[i]| as stored */
  float           *decoder_norms;     /* |decoder_scale[i]| * stored_row_norms[i] */
  /* Llama Scope's reference convention needs the stored norms to build the
   * scales; it sets this to finish the job once they are known. */
  void           (*finish_prepare) (FsSae *sae);
  float            llamascope_f_in, llamascope_f_out;

  /* attn.hook_z SAEs given a model (attn-projection.c): the model whose
   * output projection maps them into attn_out, and their decoder rows'
   * norms there, filled on first use. */
  struct _FsModel *projection_model;
  gsize            projected_ready;
  float           *projected_norms;
};

FsSae   *fs_sae_new_empty (const char *path, FsSaeFormat format);
void     fs_sae_add_warning (FsSae *sae, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Looks up a tensor of `weights`, checks its rank and shape (-1 = any), and
 * returns it; errors name the SAE folder and the tensor. */
const FsTensor *fs_sae_require_tensor (FsSae *sae, FsTensorFile *weights, const char *name,
                                       int n_dims, int64_t dim0, int64_t dim1,
                                       GError **error);
/* Same, but a missing tensor is not an error: NULL without error. */
const FsTensor *fs_sae_optional_tensor (FsSae *sae, FsTensorFile *weights, const char *name,
                                        int n_dims, int64_t dim0, int64_t dim1,
                                        GError **error);
/* A copy of a 1-D tensor as F32 (g_free it). */
float   *fs_tensor_to_f32_vector (const FsTensor *tensor);
/* Row-major [rows, cols] view of a 2-D tensor, or its transpose. */
FsMatrixView fs_matrix_view_of (const FsTensor *tensor, gboolean transpose);
/* Checks the loaded pieces fit together (dims, architecture's tensors). */
gboolean fs_sae_validate (FsSae *sae, GError **error);

FsSae   *fs_sae_load_saelens (const char *folder, GError **error);
FsSae   *fs_sae_load_gemmascope (const char *folder, GError **error);
FsSae   *fs_sae_load_llamascope (const char *folder, const FsSaeLoadOptions *options,
                                 GError **error);
