/* render-fixtures.c: hand-built flow graphs (see render-fixtures.h). */
#include "render-fixtures.h"

static FsFlowGraph *
new_graph (void)
{
  FsFlowParams params;
  fs_flow_params_init (&params);
  return fs_flow_graph_new (&params);
}

static guint
add_node (FsFlowGraph *graph, int layer, FsSite site, gint64 index, const char *label,
          gboolean is_seed)
{
  FsFlowNode node = {
    .layer = layer, .site = site, .index = index, .label = (char *) label, .is_seed = is_seed,
  };
  return fs_flow_graph_add_node (graph, &node);
}

static void
add_edge (FsFlowGraph *graph, guint source, guint target, FsSite kind, float score)
{
  FsFlowEdge edge = { .source = source, .target = target, .kind = kind, .score = score };
  fs_flow_graph_add_edge (graph, &edge);
}

FsFlowGraph *
render_fixture_chain (void)
{
  FsFlowGraph *graph = new_graph ();
  guint res[6];

  for (int layer = 0; layer < 6; layer++)
    {
      res[layer] = add_node (graph, layer, FS_SITE_RES, 100 + layer,
                             layer % 2 == 0 ? "particle physics and the standard model" : NULL,
                             layer == 3);
      if (layer > 0)
        add_edge (graph, res[layer - 1], res[layer], FS_SITE_RES, 0.5f + 0.08f * layer);
    }
  guint mlp1 = add_node (graph, 1, FS_SITE_MLP, 11, "quarks", FALSE);
  guint mlp3 = add_node (graph, 3, FS_SITE_MLP, 33, NULL, FALSE);
  guint att3 = add_node (graph, 3, FS_SITE_ATT, 303, NULL, FALSE);
  guint att4 = add_node (graph, 4, FS_SITE_ATT, 404, "bosons", FALSE);
  add_edge (graph, mlp1, res[1], FS_SITE_MLP, 0.8f);
  add_edge (graph, mlp3, res[3], FS_SITE_MLP, 0.3f);
  add_edge (graph, att3, res[3], FS_SITE_ATT, 0.2f);
  add_edge (graph, att4, res[4], FS_SITE_ATT, 0.6f);
  fs_flow_graph_finish (graph);
  return graph;
}

FsFlowGraph *
render_fixture_branching (void)
{
  FsFlowGraph *graph = new_graph ();
  guint a[7], b[7];

  /* Two residual lines a and b that split at layer 2 and rejoin at 5. */
  for (int layer = 0; layer < 7; layer++)
    {
      a[layer] = add_node (graph, layer, FS_SITE_RES, 10 * layer + 1, NULL, layer == 4);
      b[layer] = (layer >= 2 && layer <= 4)
                 ? add_node (graph, layer, FS_SITE_RES, 10 * layer + 2, "branch", FALSE)
                 : a[layer];
      if (layer > 0)
        {
          add_edge (graph, a[layer - 1], a[layer], FS_SITE_RES, 0.9f);
          if (b[layer] != a[layer] || b[layer - 1] != a[layer - 1])
            add_edge (graph, b[layer - 1], b[layer], FS_SITE_RES, 0.55f);
        }
    }
  /* The embedding feeds the first layer. */
  guint embed = add_node (graph, FS_LAYER_EMBED, FS_SITE_RES, 3, NULL, FALSE);
  add_edge (graph, embed, a[0], FS_SITE_RES, 0.85f);
  /* Long residual edges: a node at layer 0 feeding layers 3 and 4, and a
   * layer-1 node reaching layer 5. */
  guint early = add_node (graph, 0, FS_SITE_RES, 7, "early", FALSE);
  guint side = add_node (graph, 1, FS_SITE_RES, 8, NULL, FALSE);
  add_edge (graph, early, a[3], FS_SITE_RES, 0.4f);
  add_edge (graph, early, b[4], FS_SITE_RES, 0.25f);
  add_edge (graph, side, a[5], FS_SITE_RES, 0.35f);
  add_edge (graph, early, side, FS_SITE_RES, 0.7f);
  /* Modules. */
  guint mlp2 = add_node (graph, 2, FS_SITE_MLP, 222, NULL, FALSE);
  guint att5 = add_node (graph, 5, FS_SITE_ATT, 555, NULL, FALSE);
  guint mlp6 = add_node (graph, 6, FS_SITE_MLP, 666, "late", FALSE);
  add_edge (graph, mlp2, b[2], FS_SITE_MLP, 0.5f);
  add_edge (graph, att5, a[5], FS_SITE_ATT, 0.45f);
  add_edge (graph, mlp6, a[6], FS_SITE_MLP, 0.95f);
  fs_flow_graph_finish (graph);
  return graph;
}

FsFlowGraph *
render_fixture_single (void)
{
  FsFlowGraph *graph = new_graph ();
  add_node (graph, 12, FS_SITE_RES, 14548, "particle physics", TRUE);
  fs_flow_graph_finish (graph);
  return graph;
}

FsFlowGraph *
render_fixture_empty (void)
{
  FsFlowGraph *graph = new_graph ();
  fs_flow_graph_finish (graph);
  return graph;
}

FsFlowGraph *
render_fixture_large (int n_layers, int per_layer)
{
  FsFlowGraph *graph = new_graph ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (20240611);  /* fixed: the same graph every run */
  int n_module = MAX (per_layer / 6, 1);                     /* of each kind per layer */
  int n_res = MAX (per_layer - 2 * n_module, 1);
  g_autofree guint *res = g_new (guint, n_layers * n_res);

  for (int layer = 0; layer < n_layers; layer++)
    {
      for (int k = 0; k < n_res; k++)
        {
          gboolean seed = layer == n_layers / 2 && k == 0;
          res[layer * n_res + k] = add_node (graph, layer, FS_SITE_RES, 1000 * k + layer,
                                             k % 2 == 0 ? "a feature with a long label" : NULL,
                                             seed);
          if (layer == 0)
            continue;
          /* Top-3 predecessors in the previous layer: mostly neighbours of
           * the same branch, now and then a distant one, as when a search
           * from a seed fans out and merges. */
          int chosen[3];
          for (int j = 0; j < 3; j++)
            {
              int source = g_rand_double (rand) < 0.1 ? g_rand_int_range (rand, 0, n_res)
                                                       : CLAMP (k + j - 1, 0, n_res - 1);
              chosen[j] = source;
              if ((j > 0 && chosen[0] == source) || (j > 1 && chosen[1] == source))
                continue;  /* one edge per pair */
              add_edge (graph, res[(layer - 1) * n_res + source], res[layer * n_res + k],
                        FS_SITE_RES, (float) g_rand_double_range (rand, 0.3, 1.0));
            }
        }
      for (int k = 0; k < 2 * n_module; k++)
        {
          FsSite site = k < n_module ? FS_SITE_MLP : FS_SITE_ATT;
          guint module = add_node (graph, layer, site, 50000 + k, NULL, FALSE);
          add_edge (graph, module, res[layer * n_res + g_rand_int_range (rand, 0, n_res)], site,
                    (float) g_rand_double_range (rand, 0.15, 0.9));
        }
    }
  /* Long edges, spanning 2 to 4 layers. */
  for (int layer = 0; layer + 2 < n_layers; layer += 2)
    {
      int span = 2 + layer % 3;
      if (layer + span >= n_layers)
        continue;
      add_edge (graph, res[layer * n_res + g_rand_int_range (rand, 0, n_res)],
                res[(layer + span) * n_res + g_rand_int_range (rand, 0, n_res)], FS_SITE_RES,
                (float) g_rand_double_range (rand, 0.3, 0.6));
    }
  fs_flow_graph_finish (graph);
  return graph;
}
