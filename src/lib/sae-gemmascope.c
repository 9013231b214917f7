/* sae-gemmascope.c: Gemma Scope trees,
 * <repo>/layer_L/width_W/average_l0_N/params.npz (or embedding/...).
 * There is no config: the site comes from the repository folder name
 * (gemma-scope-2b-pt-res, or the Hugging Face cache's
 * models--google--gemma-scope-2b-pt-res), the layer from the tree. */
#include "sae-private.h"

#include <string.h>

#include "fs-error.h"
#include "npz.h"

typedef struct {
  FsSite   site;
  char    *model;  /* "gemma-2-2b", for Neuronpedia ids */
} RepoInfo;

/* Finds the nearest ancestor named like a Gemma Scope repository. */
static gboolean
find_repo (const char *folder, RepoInfo *info)
{
  g_autoptr(GRegex) repo = g_regex_new ("gemma-scope-(\\d+b)-(pt|it)-(res|mlp|att)"
                                        "(?:-canonical)?$", 0, 0, NULL);
  g_autofree char *dir = g_canonicalize_filename (folder, NULL);

  while (TRUE)
    {
      g_autofree char *base = g_path_get_basename (dir);
      g_autoptr(GMatchInfo) match = NULL;
      if (g_regex_match (repo, base, 0, &match))
        {
          g_autofree char *size = g_match_info_fetch (match, 1);
          g_autofree char *variant = g_match_info_fetch (match, 2);
          g_autofree char *site = g_match_info_fetch (match, 3);
          fs_site_from_name (site, &info->site);
          info->model = g_strdup_printf ("gemma-2-%s%s", size,
                                         strcmp (variant, "it") == 0 ? "-it" : "");
          return TRUE;
        }
      g_autofree char *parent = g_path_get_dirname (dir);
      if (strcmp (parent, dir) == 0)
        return FALSE;
      g_free (dir);
      dir = g_steal_pointer (&parent);
    }
}

/* Reads layer, width and average_l0 from the three folders above params.npz. */
static gboolean
parse_tree (const char *folder, int *layer, char **width, int *average_l0)
{
  g_autoptr(GRegex) pattern = g_regex_new (
    "(?:^|/)(layer_(\\d+)|embedding)/width_(\\w+)/average_l0_(\\d+)/?$", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  if (!g_regex_match (pattern, folder, 0, &match))
    return FALSE;
  g_autofree char *layer_text = g_match_info_fetch (match, 2);
  g_autofree char *l0_text = g_match_info_fetch (match, 4);
  *layer = layer_text[0] ? (int) g_ascii_strtoll (layer_text, NULL, 10) : FS_LAYER_EMBED;
  *width = g_match_info_fetch (match, 3);
  *average_l0 = (int) g_ascii_strtoll (l0_text, NULL, 10);
  return *layer >= FS_LAYER_EMBED && *layer < 100000;
}

static const FsTensor *
either_tensor (FsSae *sae, FsTensorFile *weights, const char *name, const char *lower,
               int n_dims, int64_t dim0, int64_t dim1, GError **error)
{
  if (fs_tensor_file_lookup (weights, name) == NULL && fs_tensor_file_lookup (weights, lower))
    name = lower;
  return fs_sae_require_tensor (sae, weights, name, n_dims, dim0, dim1, error);
}

static char *
hook_name_for (int layer, FsSite site)
{
  static const char *hooks[] = { "hook_resid_post", "hook_mlp_out", "attn.hook_z" };
  if (layer == FS_LAYER_EMBED)
    return g_strdup ("hook_embed");
  return g_strdup_printf ("blocks.%d.%s", layer, hooks[site]);
}

FsSae *
fs_sae_load_gemmascope (const char *folder, GError **error)
{
  g_autofree char *npz_path = g_build_filename (folder, "params.npz", NULL);
  g_autofree char *canonical = g_canonicalize_filename (folder, NULL);
  g_autofree char *width = NULL;
  g_autoptr(FsSae) sae = fs_sae_new_empty (folder, FS_SAE_FORMAT_GEMMASCOPE);
  RepoInfo repo = { 0 };
  const FsTensor *w_enc, *w_dec, *b_enc, *b_dec, *threshold;

  if (!parse_tree (canonical, &sae->layer, &width, &sae->average_l0))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: params.npz outside a Gemma Scope tree "
                   "(layer_L/width_W/average_l0_N or embedding/width_W/average_l0_N)", folder);
      return NULL;
    }
  if (!find_repo (canonical, &repo))
    {
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: cannot tell the site: no folder above it is named like a Gemma "
                   "Scope repository (gemma-scope-2b-pt-res, -mlp or -att)", folder);
      return NULL;
    }
  sae->site = sae->layer == FS_LAYER_EMBED ? FS_SITE_RES : repo.site;
  sae->hook_z = sae->site == FS_SITE_ATT;
  sae->hook_name = hook_name_for (sae->layer, sae->site);
  sae->architecture = FS_ARCH_JUMPRELU;
  sae->apply_b_dec_to_input = FALSE;
  if (sae->layer != FS_LAYER_EMBED)
    sae->neuronpedia_id = g_strdup_printf ("%s/%d-gemmascope-%s-%s", repo.model, sae->layer,
                                           fs_site_name (sae->site), width);
  g_free (repo.model);

  g_autoptr(FsTensorFile) weights = fs_npz_open (npz_path, error);
  if (weights == NULL
      || !(w_enc = either_tensor (sae, weights, "W_enc", "w_enc", 2, -1, -1, error)))
    return NULL;
  sae->d_in = w_enc->shape[0];
  sae->d_sae = w_enc->shape[1];
  if (!(w_dec = either_tensor (sae, weights, "W_dec", "w_dec", 2, sae->d_sae, sae->d_in, error))
      || !(b_enc = fs_sae_require_tensor (sae, weights, "b_enc", 1, sae->d_sae, -1, error))
      || !(b_dec = fs_sae_require_tensor (sae, weights, "b_dec", 1, sae->d_in, -1, error))
      || !(threshold = fs_sae_require_tensor (sae, weights, "threshold", 1, sae->d_sae, -1,
                                              error)))
    return NULL;

  sae->encoder = fs_matrix_view_of (w_enc, FALSE);
  sae->decoder = fs_matrix_view_of (w_dec, FALSE);
  sae->b_enc = fs_tensor_to_f32_vector (b_enc);
  sae->b_dec = fs_tensor_to_f32_vector (b_dec);
  sae->threshold = fs_tensor_to_f32_vector (threshold);
  if (!fs_sae_validate (sae, error))
    return NULL;
  sae->weights = g_steal_pointer (&weights);
  return g_steal_pointer (&sae);
}
