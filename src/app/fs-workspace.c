/* fs-workspace.c: loading an SAE set, a model, labels and a map together.
 *
 * Copyright The Flowscope team
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fs-workspace"

#include "config.h"

#include <glib/gi18n.h>

#include "fs-background.h"
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
  FsTokenizer     *tokenizer;
  FsFlowMap       *map;
  FsLabels        *labels;
  FsSteeringFiles *steering_files;
  GPtrArray       *warnings;     /* NULL-terminated */

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
  g_clear_pointer (&self->tokenizer, fs_tokenizer_unref);
  g_clear_pointer (&self->map, fs_flow_map_unref);
  g_clear_pointer (&self->labels, fs_labels_unref);
  g_clear_pointer (&self->steering_files, fs_steering_files_unref);
  g_ptr_array_unref (self->warnings);
  g_free (self);
}

gboolean
fs_set_workspace (FsWorkspace **workspace_ptr,
                  FsWorkspace  *workspace)
{
  g_return_val_if_fail (workspace_ptr != NULL, FALSE);

  if (*workspace_ptr == workspace)
    return FALSE;
  if (workspace != NULL)
    fs_workspace_ref (workspace);
  g_clear_pointer (workspace_ptr, fs_workspace_unref);
  *workspace_ptr = workspace;
  return TRUE;
}

static void
add_warning (FsWorkspace *self,
             char        *warning)
{
  g_ptr_array_index (self->warnings, self->warnings->len - 1) = warning;
  g_ptr_array_add (self->warnings, NULL);
}

/* The labels of @path, checked against @self's SAEs; @previous's when they
 * come from the same file. */
static FsLabels *
load_labels (FsWorkspace   *self,
             const char    *path,
             FsWorkspace   *previous,
             GCancellable  *cancellable,
             GError       **error)
{
  g_autoptr(FsLabels) labels = NULL;

  if (previous != NULL && previous->labels != NULL
      && g_strcmp0 (fs_labels_get_path (previous->labels), path) == 0)
    labels = fs_labels_ref (previous->labels);
  else if (!(labels = fs_labels_load (path, cancellable, error)))
    return NULL;

  if (!fs_labels_check_set (labels, self->set, error))
    return NULL;

  return g_steal_pointer (&labels);
}

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
  if (graph != NULL && self->labels != NULL)
    fs_flow_graph_set_labels (graph, self->set, self->labels);

  return g_steal_pointer (&graph);
}

FsFlowGraph *
fs_workspace_expand_graph (FsWorkspace  *self,
                           FsFlowGraph  *graph,
                           guint         node,
                           gboolean      forward,
                           GError      **error)
{
  g_autoptr(FsFlowGraph) expanded = NULL;

  g_return_val_if_fail (self != NULL && self->set != NULL, NULL);

  expanded = fs_flow_graph_expand (graph, self->set, self->map, node, forward,
                                   FS_FLOW_EXPAND_DEFAULT_K, error);
  if (expanded != NULL && self->labels != NULL)
    fs_flow_graph_set_labels (expanded, self->set, self->labels);

  return g_steal_pointer (&expanded);
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
                   const char          *labels_path,
                   FsWorkspace         *previous,
                   GCancellable        *cancellable,
                   GError             **error)
{
  g_autoptr(FsWorkspace) self = fs_workspace_new ();
  g_autofree char *found_labels = NULL;

  if (sae_paths != NULL && sae_paths[0] == NULL)
    sae_paths = NULL;
  self->sae_paths = g_strdupv ((char **) sae_paths);
  self->model_path = g_strdup (model_path);

  if (model_path != NULL)
    {
      if (previous != NULL && previous->model != NULL
          && g_strcmp0 (previous->model_path, model_path) == 0)
        {
          self->model = fs_model_ref (previous->model);
          self->tokenizer = previous->tokenizer != NULL ? fs_tokenizer_ref (previous->tokenizer) : NULL;
        }
      else if (!(self->model = fs_model_load (model_path, error)))
        return NULL;
      else
        {
          g_autoptr(GError) tokenizer_error = NULL;

          /* Without one the model still matches attention SAEs; prompts need it. */
          self->tokenizer = fs_tokenizer_load (model_path, &tokenizer_error);
          if (self->tokenizer == NULL && !g_error_matches (tokenizer_error, FS_ERROR, FS_ERROR_NOT_FOUND))
            add_warning (self, g_strdup_printf (_("Tokenizer not loaded: %s"), tokenizer_error->message));
        }
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

      if (labels_path == NULL)
        labels_path = found_labels = fs_labels_find (sae_paths);
      if (labels_path != NULL)
        {
          g_autoptr(GError) labels_error = NULL;

          self->labels = load_labels (self, labels_path, previous, cancellable, &labels_error);
          if (self->labels == NULL)
            {
              if (g_error_matches (labels_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                {
                  g_propagate_error (error, g_steal_pointer (&labels_error));
                  return NULL;
                }
              add_warning (self, g_strdup_printf (_("Labels not loaded: %s"), labels_error->message));
            }
        }

      self->steering_files = fs_steering_files_load (self->set, sae_paths);
      for (const char * const *w = fs_steering_files_get_warnings (self->steering_files); *w != NULL; w++)
        add_warning (self, g_strdup (*w));

      find_start_feature (self, cancellable);
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  return g_steal_pointer (&self);
}

typedef struct {
  char        **sae_paths;
  char         *model_path;
  char         *labels_path;
  FsWorkspace  *previous;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_strfreev (data->sae_paths);
  g_free (data->model_path);
  g_free (data->labels_path);
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
                                 data->labels_path, data->previous, cancellable, &error);
  if (workspace == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, workspace, (GDestroyNotify) fs_workspace_unref);
}

void
fs_workspace_load_async (const char * const  *sae_paths,
                         const char          *model_path,
                         const char          *labels_path,
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
  data->labels_path = g_strdup (labels_path);
  data->previous = previous != NULL ? fs_workspace_ref (previous) : NULL;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, fs_workspace_load_async);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  fs_task_run_in_background (task, load_thread);
}

FsWorkspace *
fs_workspace_load_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

FsWorkspace *
fs_workspace_load_labels (FsWorkspace   *self,
                          const char    *labels_path,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(FsWorkspace) copy = NULL;
  g_autoptr(FsLabels) labels = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (labels_path != NULL, NULL);

  if (self->set == NULL)
    {
      g_set_error_literal (error, FS_ERROR, FS_ERROR_NOT_FOUND, _("Open SAEs before labels for them"));
      return NULL;
    }
  /* Read again even when it is the file open: the user may have changed it. */
  labels = load_labels (self, labels_path, NULL, cancellable, error);
  if (labels == NULL)
    return NULL;

  /* The rest is immutable, so it is shared. Its warnings were shown when
   * it loaded: the copy has none of its own. */
  copy = fs_workspace_new ();
  copy->sae_paths = g_strdupv (self->sae_paths);
  copy->model_path = g_strdup (self->model_path);
  copy->set = fs_sae_set_ref (self->set);
  copy->model = self->model != NULL ? fs_model_ref (self->model) : NULL;
  copy->tokenizer = self->tokenizer != NULL ? fs_tokenizer_ref (self->tokenizer) : NULL;
  copy->map = self->map != NULL ? fs_flow_map_ref (self->map) : NULL;
  copy->labels = g_steal_pointer (&labels);
  copy->steering_files = self->steering_files != NULL ? fs_steering_files_ref (self->steering_files) : NULL;
  copy->has_start = self->has_start;
  copy->start_layer = self->start_layer;
  copy->start_index = self->start_index;

  return g_steal_pointer (&copy);
}

typedef struct {
  FsWorkspace *workspace;
  char        *labels_path;
} LoadLabelsData;

static void
load_labels_data_free (LoadLabelsData *data)
{
  fs_workspace_unref (data->workspace);
  g_free (data->labels_path);
  g_free (data);
}

static void
load_labels_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  LoadLabelsData *data = task_data;
  GError *error = NULL;
  FsWorkspace *workspace;

  workspace = fs_workspace_load_labels (data->workspace, data->labels_path, cancellable, &error);
  if (workspace == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, workspace, (GDestroyNotify) fs_workspace_unref);
}

void
fs_workspace_load_labels_async (FsWorkspace         *self,
                                const char          *labels_path,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadLabelsData *data;

  g_return_if_fail (self != NULL);
  g_return_if_fail (labels_path != NULL);

  data = g_new0 (LoadLabelsData, 1);
  data->workspace = fs_workspace_ref (self);
  data->labels_path = g_strdup (labels_path);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, fs_workspace_load_labels_async);
  g_task_set_task_data (task, data, (GDestroyNotify) load_labels_data_free);
  fs_task_run_in_background (task, load_labels_thread);
}

FsWorkspace *
fs_workspace_load_labels_finish (GAsyncResult  *result,
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

FsTokenizer *
fs_workspace_get_tokenizer (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->tokenizer;
}

FsSteeringFiles *
fs_workspace_get_steering_files (FsWorkspace *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->steering_files;
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
  FsSae *sae;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->labels == NULL || self->set == NULL
      || (sae = fs_sae_set_lookup (self->set, layer, site)) == NULL)
    return NULL;

  return fs_labels_lookup_sae (self->labels, sae, index);
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
fs_workspace_search_labels (FsWorkspace  *self,
                            const char   *text,
                            guint         max_hits,
                            GCancellable *cancellable,
                            guint        *n_hits)
{
  g_autoptr(GArray) hits = g_array_new (FALSE, FALSE, sizeof (FsLabelHit));
  g_autofree const FsLabel **found = g_new (const FsLabel *, MAX (max_hits, 1));
  g_autofree char *needle = NULL;
  int first, last;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (n_hits != NULL, NULL);

  needle = g_strstrip (g_strdup (text));
  if (needle[0] != '\0' && self->labels != NULL && self->set != NULL
      && fs_sae_set_get_layer_range (self->set, &first, &last))
    {
      for (int layer = first; layer <= last && hits->len < max_hits; layer++)
        {
          FsSae *sae = fs_sae_set_lookup (self->set, layer, FS_SITE_RES);
          guint n;

          if (sae == NULL)
            continue;
          n = fs_labels_search (self->labels, sae, needle, found, max_hits - hits->len, cancellable);
          for (guint i = 0; i < n; i++)
            {
              FsLabelHit hit = { layer, FS_SITE_RES, found[i]->index, found[i]->description };

              g_array_append_val (hits, hit);
            }
        }
    }

  *n_hits = hits->len;
  return (FsLabelHit *) g_array_free (g_steal_pointer (&hits), FALSE);
}
