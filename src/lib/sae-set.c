#include "sae-set.h"

#include <string.h>

#include "attn-projection.h"
#include "fs-error.h"

/* Deep enough for the Hugging Face cache layout, shallow enough that a
 * symlink loop ends quickly. */
#define MAX_SCAN_DEPTH 12

typedef struct {
  FsSae    *sae;
  gboolean  selected;
  char     *reason;
} Entry;

struct _FsSaeSet {
  gatomicrefcount ref_count;
  GArray    *entries;    /* Entry */
  GPtrArray *warnings;   /* NULL-terminated char* */
};

int
fs_gemmascope_canonical_l0 (int layer)
{
  /* Residual 16k canonical L0 by layer (FORMATS.md, from Neuronpedia). */
  static const int canonical[] = {
    102, 108, 141, 59, 125, 68, 70, 69, 71, 73, 77, 80, 82,
    83, 83, 78, 78, 77, 74, 73, 71, 70, 72, 75, 73, 116,
  };
  if (layer < 0 || layer >= (int) G_N_ELEMENTS (canonical))
    return -1;
  return canonical[layer];
}

static void
entry_clear (gpointer data)
{
  Entry *entry = data;
  fs_sae_unref (entry->sae);
  g_free (entry->reason);
}

static gboolean
is_sae_folder (const char *dir)
{
  static const char *markers[] = { "cfg.json", "params.npz", "hyperparams.json" };
  for (size_t i = 0; i < G_N_ELEMENTS (markers); i++)
    {
      g_autofree char *path = g_build_filename (dir, markers[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  return FALSE;
}

static gboolean
scan (FsSaeSet *set, const char *dir, int depth, const FsSaeSetOptions *options,
      GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (is_sae_folder (dir))
    {
      FsSae *sae = fs_sae_load (dir, &options->load, error);
      if (sae == NULL)
        return FALSE;
      Entry entry = { .sae = sae };
      g_array_append_val (set->entries, entry);
      return TRUE;
    }
  if (depth >= MAX_SCAN_DEPTH)
    return TRUE;

  g_autoptr(GError) dir_error = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &dir_error);
  if (handle == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_IO, "%s: %s", dir, dir_error->message);
      return FALSE;
    }
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      char *child = g_build_filename (dir, name, NULL);
      if (name[0] != '.' && g_file_test (child, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (children, child);
      else
        g_free (child);
    }
  for (guint i = 0; i < children->len; i++)
    if (!scan (set, g_ptr_array_index (children, i), depth + 1, options, cancellable, error))
      return FALSE;
  return TRUE;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  FsSae *x = ((const Entry *) a)->sae, *y = ((const Entry *) b)->sae;
  if (fs_sae_get_layer (x) != fs_sae_get_layer (y))
    return fs_sae_get_layer (x) < fs_sae_get_layer (y) ? -1 : 1;
  if (fs_sae_get_site (x) != fs_sae_get_site (y))
    return fs_sae_get_site (x) < fs_sae_get_site (y) ? -1 : 1;
  return strcmp (fs_sae_get_path (x), fs_sae_get_path (y));
}

static gboolean
same_position (FsSae *a, FsSae *b)
{
  return fs_sae_get_layer (a) == fs_sae_get_layer (b)
         && fs_sae_get_site (a) == fs_sae_get_site (b);
}

/* Finds the user's choice for the position of `sae`, if any: "L/site=TEXT". */
static const char *
user_choice (const FsSaeSetOptions *options, FsSae *sae)
{
  g_autofree char *prefix = NULL;
  if (options->choices == NULL)
    return NULL;
  g_autofree char *id = fs_position_id (fs_sae_get_layer (sae), fs_sae_get_site (sae));
  prefix = g_strconcat (id, "=", NULL);
  for (const char * const *c = options->choices; *c != NULL; c++)
    if (g_str_has_prefix (*c, prefix))
      return *c + strlen (prefix);
  return NULL;
}

/* The table is for Gemma 2 2B's residual 16k SAEs, which the Neuronpedia
 * source id names (the width is the folder's, not d_sae). */
static gboolean
is_canonical (FsSae *sae)
{
  const char *source = fs_sae_get_neuronpedia_id (sae);
  return fs_sae_get_format (sae) == FS_SAE_FORMAT_GEMMASCOPE
         && source != NULL && g_str_has_prefix (source, "gemma-2-2b/")
         && g_str_has_suffix (source, "-gemmascope-res-16k")
         && fs_sae_get_average_l0 (sae) == fs_gemmascope_canonical_l0 (fs_sae_get_layer (sae));
}

/* Selects one SAE among entries[first..last). */
static gboolean
select_in_group (FsSaeSet *set, guint first, guint last, const FsSaeSetOptions *options,
                 GError **error)
{
  Entry *entries = (Entry *) set->entries->data;
  FsSae *head = entries[first].sae;
  const char *choice = user_choice (options, head);
  g_autofree char *id = fs_position_id (fs_sae_get_layer (head), fs_sae_get_site (head));
  guint chosen = first;
  const char *reason = last - first == 1 ? "only SAE at this position" : "first by path";

  if (choice != NULL)
    {
      guint found = 0;
      for (guint i = first; i < last; i++)
        if (strstr (fs_sae_get_path (entries[i].sae), choice) != NULL)
          chosen = i, found++;
      if (found != 1)
        {
          g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                       "choice “%s=%s” matches %u of the %u SAEs at %s", id, choice, found,
                       last - first, id);
          return FALSE;
        }
      reason = "chosen by the user";
    }
  else if (last - first > 1)
    {
      for (guint i = first; i < last; i++)
        if (is_canonical (entries[i].sae))
          {
            chosen = i;
            reason = "Gemma Scope canonical L0";
            break;
          }
    }

  for (guint i = first; i < last; i++)
    {
      entries[i].selected = i == chosen;
      entries[i].reason = g_strdup (i == chosen ? reason : "not selected");
    }
  return TRUE;
}

static void
add_warning (FsSaeSet *set, char *warning)
{
  g_ptr_array_index (set->warnings, set->warnings->len - 1) = warning;
  g_ptr_array_add (set->warnings, NULL);
}

FsSaeSet *
fs_sae_set_open (const char * const *paths, const FsSaeSetOptions *options,
                 GCancellable *cancellable, GError **error)
{
  static const FsSaeSetOptions defaults = { 0 };
  g_autoptr(FsSaeSet) set = g_new0 (FsSaeSet, 1);

  if (options == NULL)
    options = &defaults;
  g_atomic_ref_count_init (&set->ref_count);
  set->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (set->entries, entry_clear);
  set->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (set->warnings, NULL);

  for (const char * const *p = paths; p != NULL && *p != NULL; p++)
    {
      if (!g_file_test (*p, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, "%s: not a folder", *p);
          return NULL;
        }
      guint before = set->entries->len;
      if (!scan (set, *p, 0, options, cancellable, error))
        return NULL;
      if (set->entries->len == before)
        add_warning (set, g_strdup_printf ("%s: no SAE found", *p));
    }

  g_array_sort (set->entries, compare_entries);
  Entry *entries = (Entry *) set->entries->data;
  for (guint first = 0, last; first < set->entries->len; first = last)
    {
      for (last = first + 1;
           last < set->entries->len && same_position (entries[first].sae, entries[last].sae);
           last++)
        if (strcmp (fs_sae_get_path (entries[last].sae),
                    fs_sae_get_path (entries[last - 1].sae)) == 0)
          {
            g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                         "%s: given twice", fs_sae_get_path (entries[last].sae));
            return NULL;
          }
      if (!select_in_group (set, first, last, options, error))
        return NULL;
    }
  for (guint i = 0; i < set->entries->len; i++)
    {
      FsSae *sae = entries[i].sae;
      if (options->model != NULL && fs_sae_is_hook_z (sae)
          && !fs_sae_attach_attn_projection (sae, options->model, error))
        return NULL;
      for (const char * const *w = fs_sae_get_warnings (sae); *w != NULL; w++)
        add_warning (set, g_strdup (*w));
    }
  return g_steal_pointer (&set);
}

FsSaeSet *
fs_sae_set_ref (FsSaeSet *set)
{
  g_atomic_ref_count_inc (&set->ref_count);
  return set;
}

void
fs_sae_set_unref (FsSaeSet *set)
{
  if (set == NULL || !g_atomic_ref_count_dec (&set->ref_count))
    return;
  g_array_unref (set->entries);
  g_ptr_array_unref (set->warnings);
  g_free (set);
}

guint
fs_sae_set_get_n_saes (FsSaeSet *set)
{
  return set->entries->len;
}

FsSae *
fs_sae_set_get_nth (FsSaeSet *set, guint index)
{
  g_return_val_if_fail (index < set->entries->len, NULL);
  return g_array_index (set->entries, Entry, index).sae;
}

gboolean
fs_sae_set_is_selected (FsSaeSet *set, guint index)
{
  g_return_val_if_fail (index < set->entries->len, FALSE);
  return g_array_index (set->entries, Entry, index).selected;
}

const char *
fs_sae_set_get_selection_reason (FsSaeSet *set, guint index)
{
  g_return_val_if_fail (index < set->entries->len, NULL);
  return g_array_index (set->entries, Entry, index).reason;
}

FsSae *
fs_sae_set_lookup (FsSaeSet *set, int layer, FsSite site)
{
  for (guint i = 0; i < set->entries->len; i++)
    {
      Entry *entry = &g_array_index (set->entries, Entry, i);
      if (entry->selected && fs_sae_get_layer (entry->sae) == layer
          && fs_sae_get_site (entry->sae) == site)
        return entry->sae;
    }
  return NULL;
}

gboolean
fs_sae_set_get_layer_range (FsSaeSet *set, int *first, int *last)
{
  if (set->entries->len == 0)
    return FALSE;
  *first = fs_sae_get_layer (g_array_index (set->entries, Entry, 0).sae);
  *last = fs_sae_get_layer (g_array_index (set->entries, Entry, set->entries->len - 1).sae);
  return TRUE;
}

const char * const *
fs_sae_set_get_warnings (FsSaeSet *set)
{
  return (const char * const *) set->warnings->pdata;
}

char *
fs_sae_set_find_file (const char * const *paths, const char *name)
{
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autofree char *here = g_build_filename (paths[i], name, NULL);
      g_autofree char *parent = g_path_get_dirname (paths[i]);
      g_autofree char *above = g_build_filename (parent, name, NULL);

      if (g_file_test (here, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&here);
      if (g_file_test (above, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&above);
    }
  return NULL;
}
