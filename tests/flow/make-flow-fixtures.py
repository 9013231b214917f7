#!/usr/bin/python3
"""Planted flow-graph fixtures: SAE sets (SAELens folders) whose decoder rows
are random except for planted lineages built from known predecessors plus
noise, and the graphs that an independent NumPy implementation of the
method (METHOD.md section 3) builds from them. Deterministic (fixed seed).

Usage: make-flow-fixtures.py OUTDIR STAMP
"""
import json
import os
import struct
import sys
from collections import deque

import numpy as np

D, F, LAYERS = 256, 96, 6
MLP_LAYERS = (0, 1, 2, 4, 5)        # no MLP SAE at layer 3
ATT_LAYERS = (1, 2, 3, 5)           # no attention SAE at layers 0 and 4
HOOK_Z_LAYER = 5                    # its attention SAE reads attn.hook_z
out = os.path.join(sys.argv[1], "flow")
rng = np.random.default_rng(2502_03032)


def unit(v):
    return v / np.linalg.norm(v)


# ---------------------------------------------------------------- decoders

positions = [("embed", "res")] + [(layer, site) for layer in range(LAYERS)
                                  for site in ("res", "mlp", "att")
                                  if site == "res" or (site == "mlp" and layer in MLP_LAYERS)
                                  or (site == "att" and layer in ATT_LAYERS)]
dec = {pos: np.stack([unit(rng.normal(size=D)) for _ in range(F)]) for pos in positions}


def plant(target, parts, noise=0.35):
    """Decoder row `target` = sum of weight * row(part) + noise, normalised."""
    v = noise * unit(rng.normal(size=D))
    for pos, index, weight in parts:
        v = v + weight * dec[pos][index]
    dec[target[:2]][target[2]] = unit(v)


# Predecessors are planted before the rows built from them.
# Layer 0 and the embedding: 1/res/4 <- 0/res/5 <- embed/res/6.
plant((0, "res", 5), [(("embed", "res"), 6, 1.0), ((0, "mlp"), 8, 0.5)], noise=0.3)
plant((1, "res", 4), [((0, "res"), 5, 1.0), ((1, "att"), 2, 0.5)], noise=0.3)
# A long chain from layer 1 up to 5/res/10, cut at layer 1 by a weak link.
plant((2, "res", 40), [((1, "res"), 50, 0.45), ((2, "att"), 3, 0.7), ((2, "mlp"), 9, 0.6)],
      noise=0.3)
plant((3, "res", 30), [((2, "res"), 40, 1.0), ((3, "att"), 11, 0.45)])
plant((4, "res", 20), [((3, "res"), 30, 1.0), ((4, "mlp"), 7, 0.8)])
plant((5, "res", 10), [((4, "res"), 20, 1.0), ((5, "mlp"), 3, 0.3)])
# Branching: 4/res/60 draws on two residual predecessors equally.
plant((3, "res", 61), [((2, "res"), 63, 1.0)], noise=0.3)
plant((4, "res", 60), [((3, "res"), 61, 1.0), ((3, "res"), 62, 0.95)], noise=0.2)
# An exact tie: 2/res/64 and 2/res/80 are the same row (both multiples of 16,
# so any blocked kernel treats them alike); 3/res/72 comes from them.
plant((3, "res", 72), [((2, "res"), 64, 1.0)], noise=0.3)
dec[(2, "res")][80] = dec[(2, "res")][64]
# 5/res/90 stays random: nothing reaches any threshold (an empty graph).


# ---------------------------------------------------------------- writers

def bf16(a):
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def stored(a, dtype):
    a = np.asarray(a, np.float32)
    if dtype == "F16":
        return a.astype(np.float16).astype(np.float64)
    if dtype == "BF16":
        return (bf16(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return a.astype(np.float64)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.asarray(a, np.float32)
        blob = {"F32": lambda: a.astype("<f4").tobytes(),
                "F16": lambda: a.astype("<f2").tobytes(),
                "BF16": lambda: bf16(a).astype("<u2").tobytes()}[dtype]()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def hook_of(layer, site):
    if layer == "embed":
        return "blocks.0.hook_resid_pre"
    if site == "att" and layer == HOOK_Z_LAYER:
        return f"blocks.{layer}.attn.hook_z"
    return f"blocks.{layer}." + {"res": "hook_resid_post", "mlp": "hook_mlp_out",
                                 "att": "hook_attn_out"}[site]


def write_sae(folder, pos, rows, dtype, d=D):
    os.makedirs(folder, exist_ok=True)
    # Stored rows get arbitrary norms: matching must normalise them itself.
    scale = rng.uniform(0.5, 3.0, size=(len(rows), 1))
    for i in range(len(rows)):  # duplicate rows stay exact duplicates when stored
        for j in range(i):
            if np.array_equal(rows[i], rows[j]):
                scale[i] = scale[j]
    write_safetensors(os.path.join(folder, "sae_weights.safetensors"), {
        "W_enc": np.zeros((d, len(rows))), "W_dec": rows * scale,
        "b_enc": np.zeros(len(rows)), "b_dec": np.zeros(d)}, dtype)
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump({"architecture": "standard", "d_in": d, "d_sae": len(rows),
                   "metadata": {"sae_lens_version": "6.0.0", "hook_name": hook_of(*pos)}}, f)
    return stored(rows * scale, dtype)


def write_set(name, dtype, with_embed):
    stored_rows = {}
    for pos in positions:
        if pos[0] == "embed" and not with_embed:
            continue
        folder = os.path.join(out, name, f"{pos[0]}-{pos[1]}")
        stored_rows[pos] = write_sae(folder, pos, dec[pos], dtype)
    return stored_rows


# ---------------------------------------------------------------- reference

def reference_graph(rows, seed, top_k=1, t_res=0.5, t_mlp=0.15, t_att=0.15, span_cut=True,
                    max_nodes=500):
    """The flow graph, built as METHOD.md section 3 describes (see
    src/lib/flow-graph-build.c for the order of growth and the cap)."""
    unit_rows = {pos: r / np.linalg.norm(r, axis=1, keepdims=True) for pos, r in rows.items()}
    layer_of = lambda l: "embed" if l == -1 else l
    nodes, edges, order = {}, [], []

    def key(layer, site, index):
        return (layer, site, int(index))

    def lookup(layer, site):
        if layer < -1:
            return None
        pos = (layer_of(layer), site)
        if pos not in unit_rows or (site == "att" and layer == HOOK_Z_LAYER):
            return None
        return unit_rows[pos]

    def matches(node, layer, site):
        target = lookup(layer, site)
        if target is None:
            return []
        cos = target @ unit_rows[(layer_of(node[0]), "res")][node[2]]
        ranked = sorted(range(len(cos)), key=lambda i: (-cos[i], i))
        return [(i, float(cos[i])) for i in ranked[:top_k] if cos[i] > 0]

    def intern(k):
        if k in nodes:
            return True, False
        if len(nodes) >= max_nodes:
            return False, False
        nodes[k] = {}
        return True, True

    def predecessors(node, follow, backward):
        layer = node[0]
        res = matches(node, layer - 1, "res") if layer > -1 else []
        mlp, att = matches(node, layer, "mlp"), matches(node, layer, "att")
        s = {"res": res[0][1] if res else 0.0, "mlp": mlp[0][1] if mlp else 0.0,
             "att": att[0][1] if att else 0.0}
        high_r = s["res"] >= t_res
        high_m = s["mlp"] >= t_mlp or s["att"] >= t_att
        nodes[node] = {"scores": s, "reading": ("processed" if high_m else "translated")
                       if high_r else ("newborn" if high_m else "unexplained")}
        for site, found, threshold in (("att", att, t_att), ("mlp", mlp, t_mlp)):
            for index, score in found:
                if score < threshold:
                    continue
                ok, _ = intern(key(layer, site, index))
                if not ok:
                    return
                edges.append((key(layer, site, index), node, site, score))
        if not follow:
            return
        for index, score in res:
            if span_cut and score < t_res:
                continue
            k = key(layer - 1, "res", index)
            ok, new = intern(k)
            if not ok:
                break
            edges.append((k, node, "res", score))
            if new:
                backward.append(k)

    seed_key = key(seed[0], "res", seed[1])
    intern(seed_key)
    backward = deque([seed_key])
    while backward:
        predecessors(backward.popleft(), True, backward)
    forward = deque([seed_key])
    while forward:
        node = forward.popleft()
        for index, score in matches(node, node[0] + 1, "res"):
            if span_cut and score < t_res:
                continue
            k = key(node[0] + 1, "res", index)
            ok, new = intern(k)
            if not ok:
                break
            edges.append((node, k, "res", score))
            if new:
                predecessors(k, False, None)
                forward.append(k)

    fid = lambda k: f"{layer_of(k[0])}/{k[1]}/{k[2]}"
    return {"seed": fid(seed_key),
            "nodes": {fid(k): v for k, v in nodes.items()},
            "edges": [[fid(a), fid(b), kind, score] for a, b, kind, score in edges]}


cases = []
sets = {}
for dtype in ("F32", "F16", "BF16"):
    sets[dtype] = write_set(f"planted-{dtype}", dtype, with_embed=(dtype == "F32"))


def case(name, set_name, dtype, seed, args=(), **params):
    graph = reference_graph(sets[dtype] if set_name.startswith("planted") else None, seed,
                            **params)
    cases.append({"name": name, "set": set_name, "seed": f"{seed[0]}/res/{seed[1]}",
                  "args": list(args), "expected": graph})
    return graph


# Thresholds for module nodes above the noise of random 256-d unit vectors
# (their best cosine among 96 is about 0.2); the paper's 0.15 is exercised too.
strict = dict(t_mlp=0.3, t_att=0.3)
strict_args = ["--t-mlp", "0.3", "--t-att", "0.3"]
for dtype in ("F32", "F16", "BF16"):
    g = case(f"chain-{dtype}", f"planted-{dtype}", dtype, (5, 10), strict_args, **strict)
chain = cases[0]["expected"]
planted_edges = {("4/res/20", "5/res/10"), ("3/res/30", "4/res/20"), ("2/res/40", "3/res/30"),
                 ("5/mlp/3", "5/res/10"), ("4/mlp/7", "4/res/20"), ("3/att/11", "3/res/30"),
                 ("2/att/3", "2/res/40"), ("2/mlp/9", "2/res/40")}
assert {(a, b) for a, b, _, _ in chain["edges"]} == planted_edges, chain["edges"]

case("paper-thresholds", "planted-F32", "F32", (5, 10))
case("forward", "planted-F32", "F32", (3, 30), strict_args, **strict)
case("top-k-3", "planted-F32", "F32", (4, 60), strict_args + ["--top-k", "3"], top_k=3, **strict)
case("top-k-1-branch", "planted-F32", "F32", (4, 60), strict_args, **strict)
case("tie", "planted-F32", "F32", (3, 72), strict_args, **strict)
assert cases[-1]["expected"]["edges"][0][:2] == ["2/res/64", "3/res/72"]
case("no-span-cut", "planted-F32", "F32", (3, 30), strict_args + ["--no-span-cut"],
     span_cut=False, **strict)
case("high-t-res", "planted-F32", "F32", (5, 10), strict_args + ["--t-res", "0.8"],
     t_res=0.8, **strict)
case("layer-0-embed", "planted-F32", "F32", (1, 4), strict_args, **strict)
case("layer-0-no-embed", "planted-F16", "F16", (1, 4), strict_args, **strict)
case("empty", "planted-F32", "F32", (5, 90), strict_args, **strict)
case("cap", "planted-F32", "F32", (5, 10), strict_args + ["--max-nodes", "4"], max_nodes=4,
     **strict)
by_name = {c["name"]: c["expected"] for c in cases}
assert "embed/res/6" in by_name["layer-0-embed"]["nodes"]
assert "0/res/5" in by_name["layer-0-no-embed"]["nodes"]
assert list(by_name["empty"]["nodes"]) == ["5/res/90"]
assert len(by_name["cap"]["nodes"]) == 4

# A set whose layers disagree on d_in.
write_sae(os.path.join(out, "mismatch", "1-res"), (1, "res"), dec[(1, "res")], "F32")
write_sae(os.path.join(out, "mismatch", "0-res"), (0, "res"),
          np.stack([unit(rng.normal(size=D // 2)) for _ in range(F)]), "F32", d=D // 2)

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({"cases": cases, "hook_z_layer": HOOK_Z_LAYER, "d_sae": F}, f, indent=1)
open(sys.argv[2], "w").write("ok\n")
