/* fuzz-flow-map.c: the same bytes as an all-pairs map file.
 *
 * Every match of every relation is looked up, so that AddressSanitizer
 * catches a relation whose sections reach past the buffer, and every match
 * returned must name a feature of the target with a positive score. */
#include <stdint.h>

#include "flow-map.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A copy sized exactly to the input, so reads past it are caught. */
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(FsFlowMap) map = fs_flow_map_parse ("fuzz.map", bytes, &error);

  g_assert ((map == NULL) != (error == NULL));
  if (map == NULL)
    {
      g_assert (g_str_has_prefix (error->message, "fuzz.map: "));
      g_assert (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }

  int k = fs_flow_map_get_k (map);
  g_assert (k >= 1 && k <= FS_MATCH_MAX_K);
  for (guint r = 0; r < fs_flow_map_get_n_relations (map); r++)
    {
      const FsMapRelationInfo *info = fs_flow_map_get_relation (map, r);
      for (int64_t i = 0; i < info->rows; i++)
        {
          FsMatch matches[FS_MATCH_MAX_K];
          int n = fs_flow_map_lookup (map, info->layer, info->relation, i, k + 1, matches);
          g_assert (n >= 0 && n <= k);
          for (int m = 0; m < n; m++)
            g_assert (matches[m].index >= 0 && matches[m].index < info->target_rows
                      && matches[m].score > 0);
        }
    }
  return 0;
}
