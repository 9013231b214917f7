/* steer-strategy.h: steering with the features of a flow graph, one user
 * coefficient spread over layers (METHOD.md section 4, "Multi-layer sets"),
 * and the units coefficients are given in.
 *
 * `single` steers the graph's features of one layer; the cumulative
 * strategies steer every graph feature on layers l_start..l, where
 * [l_start, l_end] is the graph's span (lowest and highest layer of its
 * nodes, the embedding counting as -1), each with its layer's coefficient:
 *
 *   constant:     s_l = s
 *   linear:       s_l = k l + b, k = (s* - s) / (l_end - l_start), b = s - k l_start
 *                 (s at l_start to s* at l_end; s* = 1 by default, as in the paper)
 *   exponential:  s_l = s exp(alpha l)   (alpha = -0.05 by default)
 */
#pragma once

#include "flow-graph.h"
#include "steer.h"

G_BEGIN_DECLS

typedef enum {
  FS_STRATEGY_SINGLE,
  FS_STRATEGY_CONSTANT,
  FS_STRATEGY_LINEAR,
  FS_STRATEGY_EXPONENTIAL,
} FsStrategy;

/* "single", "constant", "linear", "exponential" */
const char *fs_strategy_name (FsStrategy strategy);
gboolean    fs_strategy_from_name (const char *name, FsStrategy *strategy);

/* No layer given: single steers the seed's layer, the cumulative
 * strategies go up to the span's last layer. */
#define FS_STRATEGY_LAYER_DEFAULT G_MININT

typedef struct {
  FsStrategy strategy;
  int        layer;   /* single: the layer; cumulative: the last layer included */
  double     s_end;   /* linear: s* at l_end */
  double     alpha;   /* exponential */
} FsStrategyParams;

/* constant, default layer, s* = 1, alpha = -0.05. */
void   fs_strategy_params_init (FsStrategyParams *params);

/* s_l for a feature at `layer` of a span [l_start, l_end]; `single` and
 * `constant` give s. */
double fs_strategy_coefficient (const FsStrategyParams *params, double s, int layer,
                                int l_start, int l_end);

/* A feature of a graph, and the coefficient a strategy gives it. */
typedef struct {
  int     layer;
  FsSite  site;
  int64_t index;
  double  coefficient;
} FsSteerTarget;

/* The nodes of a flow graph, as FsSteerTarget with coefficient 0, sorted
 * like the graph's nodes; `seed_layer` gets the seed's layer. */
GArray *fs_strategy_graph_features (FsFlowGraph *graph, int *seed_layer);
/* The same from the JSON `flowscope-cli graph` writes (ARCHITECTURE.md):
 * nodes with "id" or "layer", "site" and "index"; "seed" names the seed.
 * Errors name the file and the node. */
GArray *fs_strategy_graph_features_load (const char *path, int *seed_layer, GError **error);

/* The features of `features` (n of them; a graph's, with its seed at
 * `seed_layer`) that the strategy steers, each with its s_l for user
 * coefficient `s`. Fails when it selects none (a layer outside the graph,
 * say). */
GArray *fs_strategy_select (const FsStrategyParams *params, const FsSteerTarget *features,
                            guint n, int seed_layer, double s, GError **error);

/* ---------------------------------------------------------------- units */

typedef enum {
  FS_STEER_UNITS_RAW,       /* values are activations as the SAE computes them */
  FS_STEER_UNITS_TYPICAL,   /* values count typical activations of the feature */
} FsSteerUnits;

/* What one unit of a feature's value is, raw = value * factor. */
typedef enum {
  FS_UNIT_RAW,          /* factor 1 */
  FS_UNIT_RATIO,        /* scale: r is a ratio, it has no unit */
  FS_UNIT_THRESHOLD,    /* JumpReLU threshold (the paper's folding: s counts thresholds) */
  FS_UNIT_MEASURED,     /* a typical activation measured on text */
  FS_UNIT_UNIT_NORM,    /* 1 / decoder norm: s is the length of what is added to h */
} FsUnitKind;

/* "raw", "typical" */
const char *fs_steer_units_name (FsSteerUnits units);
gboolean    fs_steer_units_from_name (const char *name, FsSteerUnits *units);
/* "raw", "ratio", "threshold", "measured", "unit-norm" */
const char *fs_unit_kind_name (FsUnitKind kind);

/* The factor turning a value of `op` on feature `index` into raw units.
 * Typical units take the JumpReLU threshold when the SAE has a positive
 * one; else `measured` (a typical activation measured on text, <= 0 or NaN
 * when unknown); else the unit-norm factor. */
double      fs_steer_unit (FsSae *sae, int64_t index, FsSteerOp op, FsSteerUnits units,
                           double measured, FsUnitKind *kind);
/* Whether typical units of `op` on feature `index` rest on a measured
 * typical activation: an add or clamp on an SAE without a positive
 * threshold there. */
gboolean    fs_steer_unit_needs_measured (FsSae *sae, int64_t index, FsSteerOp op);
/* fs_steering_add of `value` given in `units` (`measured` as for
 * fs_steer_unit); *kind and *factor (may be NULL) get the unit used. Fails,
 * adding nothing, when the value in raw units is not finite. */
gboolean    fs_steering_add_in_units (FsSteering *steering, FsSae *sae, int64_t index,
                                      FsSteerOp op, double value, FsSteerUnits units,
                                      double measured, FsUnitKind *kind, double *factor,
                                      GError **error);

G_END_DECLS
