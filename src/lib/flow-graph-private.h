/* flow-graph-private.h: the FsFlowGraph record, for flow-graph*.c. */
#pragma once

#include "flow-graph.h"

struct _FsFlowGraph {
  gatomicrefcount ref_count;
  FsFlowParams    params;
  GArray         *nodes;     /* FsFlowNode; labels owned */
  GArray         *edges;     /* FsFlowEdge */
  GPtrArray      *warnings;  /* NULL-terminated char* */
  guint           seed;
  gboolean        truncated;
};

/* Takes ownership of `warning`. */
void fs_flow_graph_add_warning (FsFlowGraph *graph, char *warning);
