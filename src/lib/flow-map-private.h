/* flow-map-private.h: the layout shared by the map's reader (flow-map.c) and
 * its writer (flow-map-compute.c). The format itself is described in
 * flow-map.h. */
#pragma once

#include <string.h>

#include "flow-map.h"

G_BEGIN_DECLS

#define FS_MAP_MAGIC              "FSFLOMAP"
#define FS_MAP_VERSION            1
#define FS_MAP_HEADER_SIZE        64
#define FS_MAP_FINGERPRINT_SIZE   48
#define FS_MAP_RELATION_SIZE      64
#define FS_MAP_ALIGN              64
#define FS_MAP_FLAG_COMPLETE      1u
/* Byte offset of the flags inside a relation entry. */
#define FS_MAP_RELATION_FLAGS_AT  20

/* Little-endian fields at any alignment. */
static inline guint32
fs_map_get_u32 (const uint8_t *p)
{
  guint32 v;
  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
fs_map_get_u64 (const uint8_t *p)
{
  guint64 v;
  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

static inline void
fs_map_put_u32 (uint8_t *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
fs_map_put_u64 (uint8_t *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

/* One relation of a set's map, with the SAEs it pairs (borrowed from the set)
 * and where its sections go. */
typedef struct {
  FsMapRelationInfo info;
  FsSae            *source, *target;
  guint64           indices_offset, scores_offset;
} FsMapPlanRelation;

/* What the map of a set holds and where, before anything is computed: the
 * layout is a function of the set and K alone, which is what lets a partial
 * file be resumed and an opened map be checked byte for byte. */
typedef struct {
  int         k;
  GArray     *fingerprints;  /* of the selected SAEs, in position order (flow-map.c) */
  GArray     *relations;     /* FsMapPlanRelation, in file order */
  GPtrArray  *warnings;      /* char *, NULL-terminated */
  GByteArray *head;          /* header and both tables as written, flags 0 */
  guint64     relations_offset;
  guint64     file_size;
} FsMapPlan;

FsMapPlan *fs_map_plan_new (FsSaeSet *set, int k);
void       fs_map_plan_free (FsMapPlan *plan);
/* Index in plan->relations of (layer, relation), or -1. */
int        fs_map_plan_find (FsMapPlan *plan, int layer, FsMapRelation relation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FsMapPlan, fs_map_plan_free)

G_END_DECLS
