/* render-fixtures.h: flow graphs built by hand for the render tests and
 * benchmark. */
#pragma once

#include "flow-graph.h"

/* 6 residual nodes (layers 0-5) with MLP nodes on layers 1 and 3, attention
 * nodes on 3 and 4, the seed at 3/res; labels on some. */
FsFlowGraph *render_fixture_chain (void);
/* A DAG over the embedding and layers 0-6 with branches (top-k 2), module
 * nodes, and long residual edges spanning two to four layers. */
FsFlowGraph *render_fixture_branching (void);
/* One residual node, the seed. */
FsFlowGraph *render_fixture_single (void);
/* No nodes at all. */
FsFlowGraph *render_fixture_empty (void);
/* A layered graph like a capped top-3 search: n_layers layers of
 * per_layer nodes (mostly residual, a few MLP and attention), three
 * incoming edges per residual node, and some long edges. Deterministic. */
FsFlowGraph *render_fixture_large (int n_layers, int per_layer);
