/* flowscope-cli encode: float32 activations [n, d_in] in, latents [n, d_sae] out. */
#include "cli.h"

#include "fs-error.h"
#include "npz.h"

/* Reads the input as float32 [n, d_in] whatever its stored float dtype. */
static float *
read_input (const char *path, int64_t d_in, int64_t *n_rows, GError **error)
{
  g_autoptr(FsTensorFile) file = fs_npy_open (path, error);
  if (file == NULL)
    return NULL;
  const FsTensor *x = fs_tensor_file_get_nth (file, 0);
  if (x->n_dims != 2 || x->shape[1] != d_in)
    {
      g_autofree char *shape = fs_shape_to_string (x->n_dims, x->shape);
      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   "%s: activations have shape %s, the SAE needs [n, %" G_GINT64_FORMAT "]",
                   path, shape, d_in);
      return NULL;
    }
  *n_rows = x->shape[0];
  float *out = g_new (float, (size_t) MAX (x->n_elements, 1));
  fs_dtype_to_f32 (x->dtype, x->data, (size_t) x->n_elements, out);
  return out;
}

int
cli_encode (int argc, char **argv)
{
  g_autofree char *sae_path = NULL, *input = NULL, *output = NULL, *llamascope = NULL;
  GOptionEntry entries[] = {
    { "sae", 0, 0, G_OPTION_ARG_FILENAME, &sae_path, "SAE folder", "PATH" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &input, "Activations, float [n, d_in]", "X.npy" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Latents, float32 [n, d_sae]", "Z.npy" },
    { "llamascope-threshold", 0, 0, G_OPTION_ARG_STRING, &llamascope,
      "Llama Scope threshold convention: reference (default) or saelens", "MODE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- encode activations with an SAE");
  g_autoptr(GError) error = NULL;
  FsSaeLoadOptions options = { FS_LLAMASCOPE_THRESHOLD_REFERENCE };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return CLI_USAGE;
  if (sae_path == NULL || input == NULL || output == NULL)
    {
      g_printerr ("flowscope-cli: encode needs --sae, --input and -o\n");
      return CLI_USAGE;
    }
  if (g_strcmp0 (llamascope, "saelens") == 0)
    options.llamascope_threshold = FS_LLAMASCOPE_THRESHOLD_SAELENS;
  else if (llamascope != NULL && g_strcmp0 (llamascope, "reference") != 0)
    {
      g_printerr ("flowscope-cli: --llamascope-threshold is reference or saelens\n");
      return CLI_USAGE;
    }

  g_autoptr(FsSae) sae = fs_sae_load (sae_path, &options, &error);
  if (sae == NULL)
    return cli_fail (error);
  int64_t n = 0, d_sae = fs_sae_get_d_sae (sae);
  g_autofree float *x = read_input (input, fs_sae_get_d_in (sae), &n, &error);
  if (x == NULL)
    return cli_fail (error);

  g_autofree float *z = g_new (float, (size_t) MAX (n * d_sae, 1));
  fs_sae_encode (sae, x, n, z);
  int64_t shape[2] = { n, d_sae };
  if (!fs_npy_write_f32 (output, z, 2, shape, &error))
    return cli_fail (error);
  return CLI_OK;
}
