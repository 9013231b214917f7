/* fuzz-labels.c: Neuronpedia explanation exports (a JSON array, an object
 * with "explanations", JSON Lines, any of them gzipped) on arbitrary bytes,
 * then lookups and search through an SAE found by Neuronpedia id and one
 * found by folder name. */
#include <stdint.h>
#include <string.h>

#include "labels.h"

static FsSae *
sae_from_config (const char *path, const char *neuronpedia_id)
{
  g_autofree char *cfg = g_strdup_printf (
    "{\"architecture\": \"standard\", \"d_in\": 4, \"d_sae\": 8, \"metadata\": "
    "{\"sae_lens_version\": \"6.0.0\", \"hook_name\": \"blocks.0.hook_resid_post\"%s%s%s}}",
    neuronpedia_id != NULL ? ", \"neuronpedia_id\": \"" : "",
    neuronpedia_id != NULL ? neuronpedia_id : "", neuronpedia_id != NULL ? "\"" : "");
  g_autoptr(GError) error = NULL;
  FsSae *sae = fs_sae_new_from_saelens_config (path, cfg, strlen (cfg), &error);

  g_assert_no_error (error);
  return sae;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static FsSae *saes[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(FsLabels) labels = NULL;

  if (saes[0] == NULL)
    {
      saes[0] = sae_from_config ("fuzz/l", "m/l");
      saes[1] = sae_from_config ("fuzz/0-res", NULL);
    }

  labels = fs_labels_new_from_data ("fuzz/labels.json", data, size, NULL, &error);
  g_assert ((labels == NULL) == (error != NULL));
  if (labels == NULL)
    {
      g_assert (g_str_has_prefix (error->message, "fuzz/labels.json: "));
      return 0;
    }

  g_assert (fs_labels_get_n_labels (labels) > 0);
  for (int64_t i = 0; i < 4; i++)
    {
      const char *a = fs_labels_lookup (labels, "m/l", i);
      const char *b = fs_labels_lookup_layer (labels, "0-res", i);
      g_assert (a == NULL || fs_labels_lookup_sae (labels, saes[0], i) == a);
      g_assert (b == NULL || fs_labels_lookup_sae (labels, saes[1], i) == b);
    }
  for (guint s = 0; s < G_N_ELEMENTS (saes); s++)
    {
      const FsLabel *hits[8];
      guint n = fs_labels_search (labels, saes[s], "e", hits, G_N_ELEMENTS (hits), NULL);

      g_assert (n <= G_N_ELEMENTS (hits));
      for (guint i = 0; i < n; i++)
        {
          g_assert (strchr (hits[i]->description, 'e') || strchr (hits[i]->description, 'E'));
          g_assert (i == 0 || hits[i - 1]->index < hits[i]->index);
        }
    }
  return 0;
}
