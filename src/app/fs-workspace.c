/* fs-workspace.c: loading an SAE set, a model, labels and a map together.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-workspace"
#define _GNU_SOURCE  /* strcasestr */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "fs-error.h"
#include "fs-workspace.h"

/* The start feature is looked for among this many features of the top
 * residual layer, within this budget; the first graph this size wins. */
#define START_PROBE_FEATURES 48
#define START_PROBE_BUDGET_US (1200 * G_TIME_SPAN_MILLISECOND)
#define START_PROBE_GOOD_SIZE 9

struct _FsWorkspace
{
  gatomicrefcount  ref_count;

  char           **sae_paths;
  char            *model_path;
  FsSaeSet        *set;
  FsModel         *model;
  FsFlowMap       *map;
  FsLabels        *labels;
  GPtrArray       *warnings;     /* NULL-terminated */

  /* Label resolution: Neuronpedia source id or SAE folder name -> the
   * position it labels, for the selected SAEs of the set. */
  GHashTable      *positions;    /* char* -> GINT_TO_POINTER (position key) */
  GArray          *residual_labels;  /* FsLabelHit, residual features only */

  gboolean         has_start;
  int              start_layer;
  gint64           start_index;
};

static FsWorkspace *
fs_workspace_new (void)
{
  FsWorkspace *self = g_new0 (FsWorkspace, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);
  self->positions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->residual_labels = g_array_new (FALSE, FALSE, sizeof (FsLabelHit));

  return self;
}

FsWorkspace *
fs_workspace_ref (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
fs_workspace_unref (FsWorkspace *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_strfreev (self->sae_paths);
  g_free (self->model_path);
  g_clear_pointer (&self->set, fs_sae_set_unref);
  g_clear_pointer (&self->model, fs_model_unref);
  g_clear_pointer (&self->map, fs_flow_map_unref);
  g_clear_pointer (&self->labels, fs_labels_unref);
  g_ptr_array_unref (self->warnings);
  g_hash_table_unref (self->positions);
  g_array_unref (self->residual_labels);
  g_free (self);
}

static void
add_warning (FsWorkspace *self,
             char        *warning)
{
  g_ptr_array_index (self->warnings, self->warnings->len - 1) = warning;
  g_ptr_array_add (self->warnings, NULL);
}

/* Positions packed in an int: layer (embed = -1) and site. */
static int
position_key (int    layer,
              FsSite site)
{
  return (layer + 1) * 4 + (int) site + 1;
}

static void
position_unpack (int     key,
                 int    *layer,
                 FsSite *site)
{
  key -= 1;
  *layer = key / 4 - 1;
  *site = (FsSite) (key % 4);
}

static gboolean
find_labels_file (const char * const *sae_paths,
                  char              **out)
{
  for (guint i = 0; sae_paths != NULL && sae_paths[i] != NULL; i++)
    {
      g_autofree char *here = g_build_filename (sae_paths[i], "labels.json", NULL);
      g_autofree char *parent_dir = g_path_get_dirname (sae_paths[i]);
      g_autofree char *above = g_build_filename (parent_dir, "labels.json", NULL);

      if (g_file_test (here, G_FILE_TEST_IS_REGULAR))
        {
          *out = g_steal_pointer (&here);
          return TRUE;
        }
      if (g_file_test (above, G_FILE_TEST_IS_REGULAR))
        {
          *out = g_steal_pointer (&above);
          return TRUE;
        }
    }

  return FALSE;
}

static int
compare_hits (gconstpointer a,
              gconstpointer b)
{
  const FsLabelHit *x = a, *y = b;

  if (x->layer != y->layer)
    return x->layer < y->layer ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static void
index_labels (FsWorkspace *self)
{
  guint n_saes = fs_sae_set_get_n_saes (self->set);
  guint n_labels;

  for (guint i = 0; i < n_saes; i++)
    {
      FsSae *sae = fs_sae_set_get_nth (self->set, i);
      int key = position_key (fs_sae_get_layer (sae), fs_sae_get_site (sae));
      const char *np_id = fs_sae_get_neuronpedia_id (sae);
      g_autofree char *folder = g_path_get_basename (fs_sae_get_path (sae));

      if (!fs_sae_set_is_selected (self->set, i))
        continue;
      if (np_id != NULL)
        g_hash_table_insert (self->positions, g_strdup (np_id), GINT_TO_POINTER (key));
      /* Folder names match a Neuronpedia "layer" without the model id. */
      g_hash_table_insert (self->positions, g_strconcat ("\x01", folder, NULL), GINT_TO_POINTER (key));
    }

  n_labels = fs_labels_get_n_labels (self->labels);
  for (guint i = 0; i < n_labels; i++)
    {
      const FsLabel *label = fs_labels_get_nth (self->labels, i);
      g_autofree char *source = g_strconcat (label->model_id, "/", label->layer, NULL);
      g_autofree char *folder = g_strconcat ("\x01", label->layer, NULL);
      gpointer key;
      FsLabelHit hit;

      if (!g_hash_table_lookup_extended (self->positions, source, NULL, &key)
          && !g_hash_table_lookup_extended (self->positions, folder, NULL, &key))
        continue;
      position_unpack (GPOINTER_TO_INT (key), &hit.layer, &hit.site);
      if (hit.site != FS_SITE_RES)
        continue;
      hit.index = label->index;
      hit.description = label->description;
      g_array_append_val (self->residual_labels, hit);
    }
  g_array_sort (self->residual_labels, compare_hits);
}

static FsFlowGraph *fs_workspace_label_graph (FsWorkspace *self,
                                              FsFlowGraph *graph);

FsFlowGraph *
fs_workspace_build_graph (FsWorkspace         *self,
                          int                  layer,
                          gint64               index,
                          const FsFlowParams  *params,
                          GCancellable        *cancellable,
                          GError             **error)
{
  g_autoptr(FsFlowGraph) graph = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (params != NULL, NULL);

  if (self->set == NULL)
    {
      g_set_error_literal (error, FS_ERROR, FS_ERROR_NOT_FOUND, _("No SAEs are open"));
      return NULL;
    }

  graph = fs_flow_graph_build (self->set, self->map, layer, index, params, cancellable, error);
  if (graph == NULL)
    return NULL;

  return fs_workspace_label_graph (self, graph);
}

/* The top residual layer (not the embedding), and the feature of its first
 * few whose default graph is the largest, stopping at a good one. */
static void
find_start_feature (FsWorkspace  *self,
                    GCancellable *cancellable)
{
  gint64 deadline = g_get_monotonic_time () + START_PROBE_BUDGET_US;
  FsFlowParams params;
  int first, last, layer = G_MININT;
  guint best_size = 0;
  FsSae *sae;

  if (!fs_sae_set_get_layer_range (self->set, &first, &last))
    return;
  for (int l = last; l >= first && layer == G_MININT; l--)
    if (fs_sae_set_lookup (self->set, l, FS_SITE_RES) != NULL)
      layer = l;
  if (layer == G_MININT)
    return;

  sae = fs_sae_set_lookup (self->set, layer, FS_SITE_RES);
  self->has_start = TRUE;
  self->start_layer = layer;
  self->start_index = 0;

  fs_flow_params_init (&params);
  for (gint64 i = 0; i < MIN (fs_sae_get_d_sae (sae), START_PROBE_FEATURES); i++)
    {
      g_autoptr(FsFlowGraph) graph = NULL;
      guint size;

      if (g_get_monotonic_time () > deadline || g_cancellable_is_cancelled (cancellable))
        break;
      graph = fs_workspace_build_graph (self, layer, i, &params, cancellable, NULL);
      if (graph == NULL)
        break;
      size = fs_flow_graph_get_n_nodes (graph);
      if (size > best_size)
        {
          best_size = size;
          self->start_index = i;
        }
      if (size >= START_PROBE_GOOD_SIZE)
        break;
    }
}

FsWorkspace *
fs_workspace_load (const char * const  *sae_paths,
                   const char          *model_path,
                   FsWorkspace         *previous,
                   GCancellable        *cancellable,
                   GError             **error)
{
  g_autoptr(FsWorkspace) self = fs_workspace_new ();
  g_autofree char *labels_path = NULL;

  if (sae_paths != NULL && sae_paths[0] == NULL)
    sae_paths = NULL;
  self->sae_paths = g_strdupv ((char **) sae_paths);
  self->model_path = g_strdup (model_path);

  if (model_path != NULL)
    {
      if (previous != NULL && previous->model != NULL
          && g_strcmp0 (previous->model_path, model_path) == 0)
        self->model = fs_model_ref (previous->model);
      else if (!(self->model = fs_model_load (model_path, error)))
        return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (sae_paths != NULL)
    {
      FsSaeSetOptions options = { .model = self->model };
      g_autofree char *map_path = g_build_filename (sae_paths[0], "flowscope.map", NULL);

      if (!(self->set = fs_sae_set_open (sae_paths, &options, cancellable, error)))
        return NULL;
      if (fs_sae_set_get_n_saes (self->set) == 0)
        {
          g_autofree char *joined = g_strjoinv (", ", (char **) sae_paths);

          g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND,
                       _("%s: no SAE found (SAELens, Gemma Scope or Llama Scope folders)"),
                       joined);
          return NULL;
        }
      for (const char * const *w = fs_sae_set_get_warnings (self->set); *w != NULL; w++)
        add_warning (self, g_strdup (*w));

      /* The map that `flowscope-cli map` writes next to the SAEs, when it
       * belongs to this set; graphs become lookups. */
      if (g_file_test (map_path, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(GError) map_error = NULL;

          self->map = fs_flow_map_open (map_path, self->set, &map_error);
          if (self->map == NULL)
            add_warning (self, g_strdup_printf (_("Flow map not used: %s"), map_error->message));
        }

      if (find_labels_file (sae_paths, &labels_path))
        {
          g_autoptr(GError) labels_error = NULL;

          if (previous != NULL && previous->labels != NULL
              && g_strcmp0 (fs_labels_get_path (previous->labels), labels_path) == 0)
            self->labels = fs_labels_ref (previous->labels);
          else
            self->labels = fs_labels_load (labels_path, cancellable, &labels_error);
          if (self->labels == NULL)
            {
              if (g_error_matches (labels_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                {
                  g_propagate_error (error, g_steal_pointer (&labels_error));
                  return NULL;
                }
              add_warning (self, g_strdup_printf (_("Labels not loaded: %s"), labels_error->message));
            }
          else
            index_labels (self);
        }

      find_start_feature (self, cancellable);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  return g_steal_pointer (&self);
}

typedef struct {
  char        **sae_paths;
  char         *model_path;
  FsWorkspace  *previous;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_strfreev (data->sae_paths);
  g_free (data->model_path);
  g_clear_pointer (&data->previous, fs_workspace_unref);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  FsWorkspace *workspace;

  workspace = fs_workspace_load ((const char * const *) data->sae_paths, data->model_path,
                                 data->previous, cancellable, &error);
  if (workspace == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, workspace, (GDestroyNotify) fs_workspace_unref);
}

void
fs_workspace_load_async (const char * const  *sae_paths,
                         const char          *model_path,
                         FsWorkspace         *previous,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  data = g_new0 (LoadData, 1);
  data->sae_paths = g_strdupv ((char **) sae_paths);
  data->model_path = g_strdup (model_path);
  data->previous = previous != NULL ? fs_workspace_ref (previous) : NULL;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, fs_workspace_load_async);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
}

FsWorkspace *
fs_workspace_load_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

FsSaeSet *
fs_workspace_get_set (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->set;
}

const char * const *
fs_workspace_get_sae_paths (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char * const *) self->sae_paths;
}

FsModel *
fs_workspace_get_model (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->model;
}

const char *
fs_workspace_get_model_path (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->model_path;
}

FsFlowMap *
fs_workspace_get_map (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->map;
}

FsLabels *
fs_workspace_get_labels (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->labels;
}

const char * const *
fs_workspace_get_warnings (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char * const *) self->warnings->pdata;
}

static char *
layer_name (int layer)
{
  return layer == FS_LAYER_EMBED ? g_strdup (_("embed")) : g_strdup_printf ("%d", layer);
}

char *
fs_workspace_describe (FsWorkspace *self)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  int first, last;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->model != NULL)
    {
      const FsModelConfig *config = fs_model_get_config (self->model);

      g_ptr_array_add (parts, g_strdup_printf (ngettext ("%s, %d layer", "%s, %d layers",
                                                         (gulong) config->n_layers),
                                               fs_model_type_name (config->type),
                                               (int) config->n_layers));
    }
  if (self->set != NULL)
    {
      guint n = fs_sae_set_get_n_saes (self->set);

      g_ptr_array_add (parts, g_strdup_printf (ngettext ("%u SAE", "%u SAEs", n), n));
      if (fs_sae_set_get_layer_range (self->set, &first, &last))
        {
          g_autofree char *a = layer_name (first);
          g_autofree char *b = layer_name (last);

          if (first == last)
            g_ptr_array_add (parts, g_strdup_printf (_("layer %s"), a));
          else
            g_ptr_array_add (parts, g_strdup_printf (_("layers %s–%s"), a, b));
        }
    }
  if (self->map != NULL)
    g_ptr_array_add (parts, g_strdup (_("flow map")));
  g_ptr_array_add (parts, NULL);

  return g_strjoinv (" · ", (char **) parts->pdata);
}

gboolean
fs_workspace_get_start_feature (FsWorkspace *self,
                                int         *layer,
                                gint64      *index)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!self->has_start)
    return FALSE;
  *layer = self->start_layer;
  *index = self->start_index;
  return TRUE;
}

const char *
fs_workspace_get_label (FsWorkspace *self,
                        int          layer,
                        FsSite       site,
                        gint64       index)
{
  g_autofree char *folder = NULL;
  const char *np_id;
  const char *label;
  FsSae *sae;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->labels == NULL || self->set == NULL
      || (sae = fs_sae_set_lookup (self->set, layer, site)) == NULL)
    return NULL;

  np_id = fs_sae_get_neuronpedia_id (sae);
  if (np_id != NULL && (label = fs_labels_lookup (self->labels, np_id, index)) != NULL)
    return label;

  folder = g_path_get_basename (fs_sae_get_path (sae));
  return fs_labels_lookup_layer (self->labels, folder, index);
}

char *
fs_workspace_dup_neuronpedia_id (FsWorkspace *self,
                                 int          layer,
                                 FsSite       site,
                                 gint64       index)
{
  const char *np_id;
  FsSae *sae;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->set == NULL || (sae = fs_sae_set_lookup (self->set, layer, site)) == NULL
      || (np_id = fs_sae_get_neuronpedia_id (sae)) == NULL)
    return NULL;

  return g_strdup_printf ("%s/%" G_GINT64_FORMAT, np_id, index);
}

gboolean
fs_workspace_check_feature (FsWorkspace  *self,
                            int           layer,
                            FsSite        site,
                            gint64        index,
                            GError      **error)
{
  g_autofree char *position = NULL;
  FsSae *sae;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->set == NULL)
    {
      g_set_error_literal (error, FS_ERROR, FS_ERROR_NOT_FOUND, _("No SAEs are open"));
      return FALSE;
    }

  position = fs_position_id (layer, site);
  sae = fs_sae_set_lookup (self->set, layer, site);
  if (sae == NULL)
    {
      g_set_error (error, FS_ERROR, FS_ERROR_NOT_FOUND, _("There is no SAE at %s"), position);
      return FALSE;
    }
  if (index >= fs_sae_get_d_sae (sae))
    {
      /* Numbers as strings: format macros cannot go in translatable text. */
      g_autofree char *count = g_strdup_printf ("%" G_GINT64_FORMAT, fs_sae_get_d_sae (sae));
      g_autofree char *last = g_strdup_printf ("%" G_GINT64_FORMAT, fs_sae_get_d_sae (sae) - 1);

      g_set_error (error, FS_ERROR, FS_ERROR_INVALID,
                   _("%s has %s features (0 to %s)"), position, count, last);
      return FALSE;
    }

  return TRUE;
}

FsLabelHit *
fs_workspace_search_labels (FsWorkspace *self,
                            const char  *text,
                            guint        max_hits,
                            guint       *n_hits)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (FsLabelHit));
  g_autofree char *needle = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (n_hits != NULL, NULL);

  /* Labels are mostly ASCII; an ASCII-only fold keeps the scan one pass of
   * strcasestr over about a million labels for a large set. */
  needle = g_strstrip (g_strdup (text));
  if (needle[0] != '\0')
    {
      for (guint i = 0; i < self->residual_labels->len && hits->len < max_hits; i++)
        {
          const FsLabelHit *hit = &g_array_index (self->residual_labels, FsLabelHit, i);

          if (strcasestr (hit->description, needle) != NULL)
            g_array_append_val (hits, *hit);
        }
    }

  *n_hits = hits->len;
  return (FsLabelHit *) g_array_free (g_steal_pointer (&hits), FALSE);
}

/* A copy of @graph whose nodes carry their labels, or a new reference to
 * @graph when nothing has a label. */
static FsFlowGraph *
fs_workspace_label_graph (FsWorkspace *self,
                          FsFlowGraph *graph)
{
  g_autoptr(FsFlowGraph) copy = NULL;
  guint n_nodes, n_edges;
  gboolean any = FALSE;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (graph != NULL, NULL);

  /* The copy cannot carry the original's truncation flag or warnings
   * (flow-graph.h has no public setter for them), so such graphs keep
   * their own, unlabelled nodes. */
  if (self->labels == NULL || fs_flow_graph_is_truncated (graph)
      || fs_flow_graph_get_warnings (graph)[0] != NULL)
    return fs_flow_graph_ref (graph);

  n_nodes = fs_flow_graph_get_n_nodes (graph);
  n_edges = fs_flow_graph_get_n_edges (graph);
  copy = fs_flow_graph_new (fs_flow_graph_get_params (graph));
  for (guint i = 0; i < n_nodes; i++)
    {
      FsFlowNode node = *fs_flow_graph_get_node (graph, i);

      if (node.label == NULL)
        node.label = (char *) fs_workspace_get_label (self, node.layer, node.site, node.index);
      any |= node.label != NULL;
      fs_flow_graph_add_node (copy, &node);
    }
  for (guint i = 0; i < n_edges; i++)
    fs_flow_graph_add_edge (copy, fs_flow_graph_get_edge (graph, i));

  if (!any)
    return fs_flow_graph_ref (graph);

  fs_flow_graph_finish (copy);
  return g_steal_pointer (&copy);
}

char *
fs_workspace_find_demo (void)
{
  const char *env = g_getenv ("FLOWSCOPE_DEMO_DIR");
  g_autofree char *dir = NULL;
  g_autofree char *saes = NULL;

  if (env != NULL)
    dir = g_strdup (env);
  else
    dir = g_build_filename (PKGDATADIR, "demo", NULL);

  saes = g_build_filename (dir, "saes", NULL);
  if (!g_file_test (saes, G_FILE_TEST_IS_DIR))
    return NULL;

  return g_steal_pointer (&dir);
}
