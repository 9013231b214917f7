/* flow-map.c: the all-pairs map's layout, and reading it: validation,
 * the set check and lookups. Computing it is flow-map-compute.c. */
#include "flow-map-private.h"

#include <string.h>

#include "fs-error.h"

/* Layers beyond this are not a model's (fs_hook_name_to_position agrees). */
#define MAX_LAYER 100000
/* Bytes of each end of a decoder that its fingerprint hashes. */
#define FINGERPRINT_EDGE 4096

static const char *relation_names[] = { "prev", "mlp", "att", "next" };

typedef struct {
  int32_t layer;
  guint32 site, dtype, flags;
  int64_t d_in, d_sae;
  guint64 n_bytes;
  guint8  hash[8];
} Fingerprint;

typedef struct {
  FsMapRelationInfo info;
  const uint8_t    *indices, *scores;   /* [rows, K] each, inside the mapping */
} MapRelation;

struct _FsFlowMap {
  gatomicrefcount  ref_count;
  GBytes          *bytes;
  int              k;
  GArray          *relations;   /* MapRelation */
  GHashTable      *by_key;      /* relation_key () -> index + 1 */
  GPtrArray       *warnings;    /* NULL-terminated */
};

const char *
fs_map_relation_name (FsMapRelation relation)
{
  g_return_val_if_fail ((size_t) relation < G_N_ELEMENTS (relation_names), "?");
  return relation_names[relation];
}

static float
get_f32 (const uint8_t *p)
{
  guint32 bits = fs_map_get_u32 (p);
  float v;
  memcpy (&v, &bits, sizeof v);
  return v;
}

static guint64
align_up (guint64 offset)
{
  return (offset + FS_MAP_ALIGN - 1) / FS_MAP_ALIGN * FS_MAP_ALIGN;
}

/* ------------------------------------------------------------ the plan */

static void
relation_target (int layer, FsMapRelation relation, int *target_layer, FsSite *target_site)
{
  static const struct { int dl; FsSite site; } targets[] = {
    [FS_MAP_PREV_RES] = { -1, FS_SITE_RES },
    [FS_MAP_MLP] = { 0, FS_SITE_MLP },
    [FS_MAP_ATT] = { 0, FS_SITE_ATT },
    [FS_MAP_NEXT_RES] = { 1, FS_SITE_RES },
  };
  *target_layer = layer + targets[relation].dl;
  *target_site = targets[relation].site;
}

/* Content-based and cheap: both ends of the stored decoder, not its path,
 * so that moving the folder keeps the map valid. */
static void
fingerprint_sae (FsSae *sae, Fingerprint *out)
{
  FsMatrixView view = fs_sae_get_decoder (sae);
  size_t element = fs_dtype_size (view.dtype);
  int64_t low = 0, high = 0;   /* element offsets of the first and last stored element */
  int64_t row_reach = (view.rows - 1) * view.row_stride;
  int64_t col_reach = (view.cols - 1) * view.col_stride;

  memset (out, 0, sizeof *out);
  out->layer = fs_sae_get_layer (sae);
  out->site = fs_sae_get_site (sae);
  out->dtype = view.dtype;
  out->flags = fs_sae_is_hook_z (sae) ? 1 : 0;
  out->d_in = fs_sae_get_d_in (sae);
  out->d_sae = fs_sae_get_d_sae (sae);
  out->n_bytes = (guint64) (view.rows * view.cols) * element;
  if (view.rows == 0 || view.cols == 0)
    return;

  *(row_reach < 0 ? &low : &high) += row_reach;
  *(col_reach < 0 ? &low : &high) += col_reach;
  size_t span = (size_t) (high - low + 1) * element;
  const uint8_t *start = view.data + low * (int64_t) element;
  size_t edge = MIN (span, FINGERPRINT_EDGE);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_checksum_update (checksum, start, edge);
  g_checksum_update (checksum, start + span - edge, edge);
  g_checksum_get_digest (checksum, digest, &digest_len);
  memcpy (out->hash, digest, sizeof out->hash);
}

static void
write_fingerprint (uint8_t *p, const Fingerprint *f)
{
  fs_map_put_u32 (p + 0, (guint32) f->layer);
  fs_map_put_u32 (p + 4, f->site);
  fs_map_put_u32 (p + 8, f->dtype);
  fs_map_put_u32 (p + 12, f->flags);
  fs_map_put_u64 (p + 16, (guint64) f->d_in);
  fs_map_put_u64 (p + 24, (guint64) f->d_sae);
  fs_map_put_u64 (p + 32, f->n_bytes);
  memcpy (p + 40, f->hash, sizeof f->hash);
}

static void
read_fingerprint (const uint8_t *p, Fingerprint *f)
{
  f->layer = (int32_t) fs_map_get_u32 (p + 0);
  f->site = fs_map_get_u32 (p + 4);
  f->dtype = fs_map_get_u32 (p + 8);
  f->flags = fs_map_get_u32 (p + 12);
  f->d_in = (int64_t) fs_map_get_u64 (p + 16);
  f->d_sae = (int64_t) fs_map_get_u64 (p + 24);
  f->n_bytes = fs_map_get_u64 (p + 32);
  memcpy (f->hash, p + 40, sizeof f->hash);
}

static void
add_warning (FsMapPlan *plan, char *message)
{
  for (guint i = 0; i < plan->warnings->len; i++)
    if (g_str_equal (g_ptr_array_index (plan->warnings, i), message))
      {
        g_free (message);
        return;
      }
  g_ptr_array_add (plan->warnings, message);
}

/* Whether two positions can be matched by their decoder rows; says why not. */
static gboolean
plan_can_pair (FsMapPlan *plan, FsSae *source, FsSae *target, FsMapRelation relation)
{
  g_autofree char *source_id = fs_position_id (fs_sae_get_layer (source),
                                               fs_sae_get_site (source));
  g_autofree char *target_id = fs_position_id (fs_sae_get_layer (target),
                                               fs_sae_get_site (target));
  /* Name the earlier position first, so both directions of a pair say the same. */
  gboolean forward = relation == FS_MAP_NEXT_RES;
  const char *first = forward ? source_id : target_id, *second = forward ? target_id : source_id;

  if (fs_sae_is_hook_z (target))
    {
      add_warning (plan, g_strdup_printf ("%s: attention SAE on attn.hook_z left out of the "
                                          "map: matching it needs the model's output "
                                          "projection W_O", target_id));
      return FALSE;
    }
  if (fs_sae_get_d_in (source) != fs_sae_get_d_in (target))
    {
      add_warning (plan, g_strdup_printf ("%s and %s have different d_in: not matched",
                                          first, second));
      return FALSE;
    }
  if (fs_sae_get_d_sae (source) > G_MAXINT32 || fs_sae_get_d_sae (target) > G_MAXINT32)
    {
      add_warning (plan, g_strdup_printf ("%s and %s: more features than a map indexes",
                                          first, second));
      return FALSE;
    }
  return TRUE;
}

static void
plan_add_relations (FsMapPlan *plan, FsSaeSet *set)
{
  int first, last;

  if (!fs_sae_set_get_layer_range (set, &first, &last))
    return;
  for (int layer = first; layer <= last; layer++)
    {
      FsSae *source = fs_sae_set_lookup (set, layer, FS_SITE_RES);
      if (source == NULL)
        continue;
      for (int r = 0; r < FS_MAP_N_RELATIONS; r++)
        {
          FsMapPlanRelation rel = { { 0 } };
          relation_target (layer, r, &rel.info.target_layer, &rel.info.target_site);
          rel.target = fs_sae_set_lookup (set, rel.info.target_layer, rel.info.target_site);
          if (rel.target == NULL || !plan_can_pair (plan, source, rel.target, r))
            continue;
          rel.source = source;
          rel.info.layer = layer;
          rel.info.relation = r;
          rel.info.rows = fs_sae_get_d_sae (source);
          rel.info.target_rows = fs_sae_get_d_sae (rel.target);
          g_array_append_val (plan->relations, rel);
        }
    }
}

FsMapPlan *
fs_map_plan_new (FsSaeSet *set, int k)
{
  g_autoptr(FsMapPlan) plan = g_new0 (FsMapPlan, 1);
  GArray *fingerprints = plan->fingerprints = g_array_new (FALSE, TRUE, sizeof (Fingerprint));

  plan->k = k;
  plan->relations = g_array_new (FALSE, TRUE, sizeof (FsMapPlanRelation));
  plan->warnings = g_ptr_array_new_with_free_func (g_free);
  plan->head = g_byte_array_new ();

  for (guint i = 0; i < fs_sae_set_get_n_saes (set); i++)
    if (fs_sae_set_is_selected (set, i))
      {
        Fingerprint f;
        fingerprint_sae (fs_sae_set_get_nth (set, i), &f);
        g_array_append_val (fingerprints, f);
      }
  plan_add_relations (plan, set);
  g_ptr_array_add (plan->warnings, NULL);

  guint n_fingerprints = fingerprints->len, n_relations = plan->relations->len;
  plan->relations_offset = align_up (FS_MAP_HEADER_SIZE
                                     + (guint64) n_fingerprints * FS_MAP_FINGERPRINT_SIZE);
  guint64 offset = align_up (plan->relations_offset
                             + (guint64) n_relations * FS_MAP_RELATION_SIZE);
  g_byte_array_set_size (plan->head, (guint) offset);
  memset (plan->head->data, 0, offset);

  for (guint i = 0; i < n_relations; i++)
    {
      FsMapPlanRelation *rel = &g_array_index (plan->relations, FsMapPlanRelation, i);
      guint64 section = (guint64) rel->info.rows * (guint64) k * 4;
      uint8_t *p = plan->head->data + plan->relations_offset + i * FS_MAP_RELATION_SIZE;

      rel->indices_offset = offset;
      rel->scores_offset = offset = align_up (offset + section);
      offset = align_up (offset + section);
      fs_map_put_u32 (p + 0, (guint32) rel->info.layer);
      fs_map_put_u32 (p + 4, FS_SITE_RES);
      fs_map_put_u32 (p + 8, (guint32) rel->info.target_layer);
      fs_map_put_u32 (p + 12, rel->info.target_site);
      fs_map_put_u32 (p + 16, rel->info.relation);
      fs_map_put_u32 (p + 24, (guint32) k);
      fs_map_put_u64 (p + 32, (guint64) rel->info.rows);
      fs_map_put_u64 (p + 40, (guint64) rel->info.target_rows);
      fs_map_put_u64 (p + 48, rel->indices_offset);
      fs_map_put_u64 (p + 56, rel->scores_offset);
    }
  plan->file_size = offset;

  uint8_t *h = plan->head->data;
  memcpy (h, FS_MAP_MAGIC, 8);
  fs_map_put_u32 (h + 8, FS_MAP_VERSION);
  fs_map_put_u32 (h + 12, FS_MAP_HEADER_SIZE);
  fs_map_put_u32 (h + 16, (guint32) k);
  fs_map_put_u32 (h + 20, n_fingerprints);
  fs_map_put_u32 (h + 24, n_relations);
  fs_map_put_u64 (h + 32, FS_MAP_HEADER_SIZE);
  fs_map_put_u64 (h + 40, plan->relations_offset);
  fs_map_put_u64 (h + 48, plan->file_size);
  for (guint i = 0; i < n_fingerprints; i++)
    write_fingerprint (h + FS_MAP_HEADER_SIZE + i * FS_MAP_FINGERPRINT_SIZE,
                       &g_array_index (fingerprints, Fingerprint, i));
  return g_steal_pointer (&plan);
}

void
fs_map_plan_free (FsMapPlan *plan)
{
  if (plan == NULL)
    return;
  g_clear_pointer (&plan->fingerprints, g_array_unref);
  g_clear_pointer (&plan->relations, g_array_unref);
  g_clear_pointer (&plan->warnings, g_ptr_array_unref);
  g_clear_pointer (&plan->head, g_byte_array_unref);
  g_free (plan);
}

int
fs_map_plan_find (FsMapPlan *plan, int layer, FsMapRelation relation)
{
  for (guint i = 0; i < plan->relations->len; i++)
    {
      const FsMapPlanRelation *rel = &g_array_index (plan->relations, FsMapPlanRelation, i);
      if (rel->info.layer == layer && rel->info.relation == relation)
        return (int) i;
    }
  return -1;
}

/* ------------------------------------------------------------ parsing */

static gpointer
relation_key (int layer, FsMapRelation relation)
{
  /* layer >= -1 and <= MAX_LAYER after validation: the key fits an int. */
  return GINT_TO_POINTER ((layer + 1) * FS_MAP_N_RELATIONS + (int) relation);
}

/* Whether [offset, offset + size) lies in a file of `file_size` bytes. */
static gboolean
inside (guint64 offset, guint64 size, guint64 file_size)
{
  return offset <= file_size && size <= file_size - offset;
}

static int
compare_positions (const Fingerprint *a, const Fingerprint *b)
{
  if (a->layer != b->layer)
    return a->layer < b->layer ? -1 : 1;
  return a->site == b->site ? 0 : a->site < b->site ? -1 : 1;
}

static gboolean
parse_fingerprints (const char *path, const uint8_t *data, guint64 offset, guint n,
                    GArray *out, GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      Fingerprint f;
      read_fingerprint (data + offset + (guint64) i * FS_MAP_FINGERPRINT_SIZE, &f);
      if (f.layer < FS_LAYER_EMBED || f.layer > MAX_LAYER || f.site > FS_SITE_ATT
          || f.dtype > FS_DTYPE_F64 || f.flags > 1 || f.d_in <= 0 || f.d_sae <= 0)
        return fs_fail (error, FS_ERROR_INVALID, path, "SAE fingerprint %u is invalid",
                        i);
      if (i > 0 && compare_positions (&g_array_index (out, Fingerprint, i - 1), &f) >= 0)
        return fs_fail (error, FS_ERROR_INVALID, path,
                        "SAE fingerprints are not in position order");
      g_array_append_val (out, f);
    }
  return TRUE;
}

/* Binary search: the fingerprints were checked to be in position order. */
static const Fingerprint *
find_fingerprint (GArray *fingerprints, int layer, FsSite site)
{
  Fingerprint key = { .layer = layer, .site = site };
  guint low = 0, high = fingerprints->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      const Fingerprint *f = &g_array_index (fingerprints, Fingerprint, middle);
      int order = compare_positions (f, &key);
      if (order == 0)
        return f;
      if (order < 0)
        low = middle + 1;
      else
        high = middle;
    }
  return NULL;
}

/* Relation entry `index`, checked against the format and the fingerprints.
 * `*end` is where the previous relation's sections ended; it becomes where
 * this one's end, so that no two sections overlap. */
static gboolean
parse_relation (const char *path, const uint8_t *data, guint64 size, guint64 table,
                guint index, int k, GArray *fingerprints, guint64 *end, MapRelation *out,
                GError **error)
{
  const uint8_t *p = data + table + (guint64) index * FS_MAP_RELATION_SIZE;
  int32_t layer = (int32_t) fs_map_get_u32 (p + 0);
  guint32 source_site = fs_map_get_u32 (p + 4);
  int32_t target_layer = (int32_t) fs_map_get_u32 (p + 8);
  guint32 target_site = fs_map_get_u32 (p + 12);
  guint32 relation = fs_map_get_u32 (p + 16), flags = fs_map_get_u32 (p + 20);
  guint32 rel_k = fs_map_get_u32 (p + 24);
  int64_t rows = (int64_t) fs_map_get_u64 (p + 32);
  int64_t target_rows = (int64_t) fs_map_get_u64 (p + 40);
  guint64 indices = fs_map_get_u64 (p + 48), scores = fs_map_get_u64 (p + 56);
  int expected_layer;
  FsSite expected_site;

  if (layer < FS_LAYER_EMBED || layer > MAX_LAYER || source_site != FS_SITE_RES
      || relation >= FS_MAP_N_RELATIONS)
    return fs_fail (error, FS_ERROR_INVALID, path, "relation %u: invalid source or kind",
                    index);
  relation_target (layer, relation, &expected_layer, &expected_site);
  if (target_layer != expected_layer || target_site != expected_site)
    return fs_fail (error, FS_ERROR_INVALID, path,
                    "relation %u: its target is not the %s position of layer %d", index,
                    relation_names[relation], layer);
  if (rel_k != (guint32) k)
    return fs_fail (error, FS_ERROR_INVALID, path, "relation %u: K is %u, the header's is %d",
                    index, rel_k, k);
  if (flags != FS_MAP_FLAG_COMPLETE)
    return fs_fail (error, FS_ERROR_INVALID, path,
                    "relation %u was never completed: the map is unfinished", index);

  const Fingerprint *source = find_fingerprint (fingerprints, layer, FS_SITE_RES);
  const Fingerprint *target = find_fingerprint (fingerprints, target_layer, target_site);
  if (source == NULL || target == NULL || source->d_sae != rows
      || target->d_sae != target_rows || rows > G_MAXINT32 || target_rows > G_MAXINT32)
    return fs_fail (error, FS_ERROR_INVALID, path,
                    "relation %u: its positions or sizes do not match the SAE fingerprints",
                    index);

  guint64 section = (guint64) rows * (guint64) k * 4;
  if (indices % FS_MAP_ALIGN != 0 || scores % FS_MAP_ALIGN != 0 || indices < *end
      || !inside (indices, section, size) || scores < indices + section
      || !inside (scores, section, size))
    return fs_fail (error, FS_ERROR_INVALID, path, "relation %u: its data is misplaced "
                    "(outside the file, overlapping or unaligned)", index);
  *end = scores + section;

  out->info = (FsMapRelationInfo) {
    .layer = layer, .relation = relation, .target_layer = target_layer,
    .target_site = target_site, .rows = rows, .target_rows = target_rows,
  };
  out->indices = data + indices;
  out->scores = data + scores;
  return TRUE;
}

static gboolean
parse_relations (FsFlowMap *map, const char *path, const uint8_t *data, guint64 size,
                 guint64 table, guint n, GArray *fingerprints, GError **error)
{
  guint64 end = table + (guint64) n * FS_MAP_RELATION_SIZE;

  for (guint i = 0; i < n; i++)
    {
      MapRelation rel;
      if (!parse_relation (path, data, size, table, i, map->k, fingerprints, &end, &rel,
                           error))
        return FALSE;
      gpointer key = relation_key (rel.info.layer, rel.info.relation);
      if (g_hash_table_contains (map->by_key, key))
        return fs_fail (error, FS_ERROR_INVALID, path, "relation %u repeats an earlier one",
                        i);
      g_array_append_val (map->relations, rel);
      g_hash_table_insert (map->by_key, key, GUINT_TO_POINTER (i + 1));
    }
  return TRUE;
}

static FsFlowMap *
parse (const char *path, GBytes *bytes, GArray *fingerprints, GError **error)
{
  gsize size;
  const uint8_t *data = g_bytes_get_data (bytes, &size);
  g_autoptr(FsFlowMap) map = g_new0 (FsFlowMap, 1);

  g_atomic_ref_count_init (&map->ref_count);
  map->bytes = g_bytes_ref (bytes);
  map->relations = g_array_new (FALSE, TRUE, sizeof (MapRelation));
  map->by_key = g_hash_table_new (g_direct_hash, g_direct_equal);
  map->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (map->warnings, NULL);

  if (size < FS_MAP_HEADER_SIZE || memcmp (data, FS_MAP_MAGIC, 8) != 0)
    {
      fs_fail (error, FS_ERROR_INVALID, path, "not a Flowscope map");
      return NULL;
    }
  guint32 version = fs_map_get_u32 (data + 8);
  if (version != FS_MAP_VERSION)
    {
      fs_fail (error, FS_ERROR_UNSUPPORTED, path,
               "map format version %u; this Flowscope reads version %d", version,
               FS_MAP_VERSION);
      return NULL;
    }

  guint32 header_size = fs_map_get_u32 (data + 12), k = fs_map_get_u32 (data + 16);
  guint32 n_fingerprints = fs_map_get_u32 (data + 20), n_relations = fs_map_get_u32 (data + 24);
  guint64 fingerprints_at = fs_map_get_u64 (data + 32), relations_at = fs_map_get_u64 (data + 40);
  guint64 file_size = fs_map_get_u64 (data + 48);
  guint64 fingerprints_size = (guint64) n_fingerprints * FS_MAP_FINGERPRINT_SIZE;

  if (file_size != size)
    fs_fail (error, FS_ERROR_INVALID, path, "the file has %" G_GSIZE_FORMAT " bytes, its "
             "header says %" G_GUINT64_FORMAT " (truncated?)", size, file_size);
  else if (header_size != FS_MAP_HEADER_SIZE || fs_map_get_u32 (data + 28) != 0
           || fs_map_get_u64 (data + 56) != 0)
    fs_fail (error, FS_ERROR_INVALID, path, "invalid header");
  else if (k < 1 || k > FS_MATCH_MAX_K)
    fs_fail (error, FS_ERROR_INVALID, path, "K is %u, not between 1 and %d", k,
             FS_MATCH_MAX_K);
  else if (fingerprints_at < FS_MAP_HEADER_SIZE
           || !inside (fingerprints_at, fingerprints_size, size)
           || relations_at < fingerprints_at + fingerprints_size
           || !inside (relations_at, (guint64) n_relations * FS_MAP_RELATION_SIZE, size))
    fs_fail (error, FS_ERROR_INVALID, path, "its tables lie outside the file or overlap");
  else
    {
      map->k = (int) k;
      if (parse_fingerprints (path, data, fingerprints_at, n_fingerprints, fingerprints,
                              error)
          && parse_relations (map, path, data, size, relations_at, n_relations,
                              fingerprints, error))
        return g_steal_pointer (&map);
    }
  return NULL;
}

FsFlowMap *
fs_flow_map_parse (const char *path, GBytes *bytes, GError **error)
{
  g_autoptr(GArray) fingerprints = g_array_new (FALSE, TRUE, sizeof (Fingerprint));
  return parse (path, bytes, fingerprints, error);
}

/* ------------------------------------------------------------ the set check */

/* What differs at one position, or NULL when nothing does. */
static char *
describe_change (const Fingerprint *map, const Fingerprint *set)
{
  g_autofree char *id = fs_position_id (map->layer, map->site);

  if (map->d_in != set->d_in)
    return g_strdup_printf ("%s: d_in is %" G_GINT64_FORMAT " in the map, %" G_GINT64_FORMAT
                            " in this set", id, map->d_in, set->d_in);
  if (map->d_sae != set->d_sae)
    return g_strdup_printf ("%s: d_sae is %" G_GINT64_FORMAT " in the map, %"
                            G_GINT64_FORMAT " in this set", id, map->d_sae, set->d_sae);
  if (map->dtype != set->dtype)
    return g_strdup_printf ("%s: the decoder is %s in the map, %s in this set", id,
                            fs_dtype_name (map->dtype), fs_dtype_name (set->dtype));
  if (map->flags != set->flags)
    return g_strdup_printf ("%s: the hook differs (attn.hook_z or not)", id);
  if (map->n_bytes != set->n_bytes || memcmp (map->hash, set->hash, sizeof map->hash) != 0)
    return g_strdup_printf ("%s: the decoder weights differ", id);
  return NULL;
}

/* The first difference between two position-sorted fingerprint lists, and
 * how many positions differ; NULL when none does. */
static char *
describe_difference (GArray *map, GArray *set)
{
  g_autofree char *first = NULL;
  guint n_differences = 0, i = 0, j = 0;

  while (i < map->len || j < set->len)
    {
      const Fingerprint *a = i < map->len ? &g_array_index (map, Fingerprint, i) : NULL;
      const Fingerprint *b = j < set->len ? &g_array_index (set, Fingerprint, j) : NULL;
      int order = a == NULL ? 1 : b == NULL ? -1 : compare_positions (a, b);
      g_autofree char *change = NULL;

      if (order < 0)
        {
          g_autofree char *id = fs_position_id (a->layer, a->site);
          change = g_strdup_printf ("%s is in the map, not in this set", id);
          i++;
        }
      else if (order > 0)
        {
          g_autofree char *id = fs_position_id (b->layer, b->site);
          change = g_strdup_printf ("%s is in this set, not in the map", id);
          j++;
        }
      else
        {
          change = describe_change (a, b);
          i++, j++;
        }
      if (change == NULL)
        continue;
      n_differences++;
      if (first == NULL)
        first = g_steal_pointer (&change);
    }
  if (n_differences <= 1)
    return g_steal_pointer (&first);
  return g_strdup_printf ("%s; %u positions differ", first, n_differences);
}

FsFlowMap *
fs_flow_map_open (const char *path, FsSaeSet *set, GError **error)
{
  g_return_val_if_fail (path != NULL && set != NULL, NULL);

  g_autoptr(GBytes) bytes = fs_map_file (path, error);
  if (bytes == NULL)
    return NULL;
  g_autoptr(GArray) fingerprints = g_array_new (FALSE, TRUE, sizeof (Fingerprint));
  g_autoptr(FsFlowMap) map = parse (path, bytes, fingerprints, error);
  if (map == NULL)
    return NULL;

  g_autoptr(FsMapPlan) plan = fs_map_plan_new (set, map->k);
  g_autofree char *difference = describe_difference (fingerprints, plan->fingerprints);
  if (difference != NULL)
    {
      fs_fail (error, FS_ERROR_INVALID, path,
               "this map was computed for a different SAE set (%s)", difference);
      return NULL;
    }

  /* Same SAEs: the relations must be exactly those the set gives. */
  gboolean same = map->relations->len == plan->relations->len;
  for (guint i = 0; same && i < map->relations->len; i++)
    {
      const FsMapRelationInfo *a = &g_array_index (map->relations, MapRelation, i).info;
      const FsMapRelationInfo *b = &g_array_index (plan->relations, FsMapPlanRelation, i).info;
      same = a->layer == b->layer && a->relation == b->relation && a->rows == b->rows
             && a->target_rows == b->target_rows;
    }
  if (!same)
    {
      fs_fail (error, FS_ERROR_INVALID, path, "its relations are not those of this SAE set "
               "(written by another version of Flowscope?)");
      return NULL;
    }

  for (guint i = 0; plan->warnings->pdata[i] != NULL; i++)
    g_ptr_array_insert (map->warnings, (int) i, g_strdup (plan->warnings->pdata[i]));
  return g_steal_pointer (&map);
}

/* ------------------------------------------------------------ reading */

FsFlowMap *
fs_flow_map_ref (FsFlowMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  g_atomic_ref_count_inc (&map->ref_count);
  return map;
}

void
fs_flow_map_unref (FsFlowMap *map)
{
  if (map == NULL || !g_atomic_ref_count_dec (&map->ref_count))
    return;
  g_clear_pointer (&map->bytes, g_bytes_unref);
  g_clear_pointer (&map->relations, g_array_unref);
  g_clear_pointer (&map->by_key, g_hash_table_unref);
  g_clear_pointer (&map->warnings, g_ptr_array_unref);
  g_free (map);
}

int
fs_flow_map_get_k (FsFlowMap *map)
{
  return map->k;
}

guint
fs_flow_map_get_n_relations (FsFlowMap *map)
{
  return map->relations->len;
}

const FsMapRelationInfo *
fs_flow_map_get_relation (FsFlowMap *map, guint index)
{
  g_return_val_if_fail (index < map->relations->len, NULL);
  return &g_array_index (map->relations, MapRelation, index).info;
}

const char * const *
fs_flow_map_get_warnings (FsFlowMap *map)
{
  return (const char * const *) map->warnings->pdata;
}

int
fs_flow_map_lookup (FsFlowMap *map, int layer, FsMapRelation relation, int64_t index,
                    int k, FsMatch *out)
{
  g_return_val_if_fail (map != NULL && out != NULL && k >= 0, -1);
  if (layer < FS_LAYER_EMBED || layer > MAX_LAYER || (guint) relation >= FS_MAP_N_RELATIONS)
    return -1;
  guint slot = GPOINTER_TO_UINT (g_hash_table_lookup (map->by_key,
                                                      relation_key (layer, relation)));
  if (slot == 0)
    return -1;
  const MapRelation *rel = &g_array_index (map->relations, MapRelation, slot - 1);
  g_return_val_if_fail (index >= 0 && index < rel->info.rows, -1);

  /* The bulk data was not validated on open: a slot counts only if it holds
   * a feature of the target and a positive score, and the list ends at the
   * first that does not, so a damaged file cannot send a caller out of range. */
  size_t first = (size_t) index * (size_t) map->k;
  int n = 0;
  for (int i = 0; i < MIN (k, map->k); i++)
    {
      int32_t target = (int32_t) fs_map_get_u32 (rel->indices + 4 * (first + i));
      float score = get_f32 (rel->scores + 4 * (first + i));
      if (target < 0 || target >= rel->info.target_rows || !(score > 0))
        break;
      out[n++] = (FsMatch) { target, score };
    }
  return n;
}
