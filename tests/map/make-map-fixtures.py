#!/usr/bin/python3
"""Writes an SAE set for the all-pairs map tests into OUTDIR/map/, with the
map it must give computed by an independent NumPy reference (float64 cosines
of unit decoder rows, top-K in match order: best first, ties to the lower
index, positive scores only). Deterministic.

The set (SAELens v6 folders, d_in 32, widths that are not multiples of any
block size):
  embed/res  0/res  1/res  2/res (BF16)  3/res
  1/mlp  2/mlp                 (0/mlp and 3/mlp missing)
  0/att  3/att  2/att on attn.hook_z (d_in 64: left out with a warning)
with crafted rows: exact duplicates (ties across blocks, in F32 and BF16,
on both sides of a product), a zero decoder row, a row with fewer positive
matches than K and one with none. Two variants of the set, for the test that
a map refuses a set it was not computed for: other-shape/ (2/mlp has one
more feature) and other-weights/ (1/mlp's first decoder row differs).

OUTDIR/map/reference/<source>-<relation>.npz hold `indices` (-1: none) and
`scores` [rows, K], both float32; expected.json lists the relations in file
order and the crafted cases.

Usage: make-map-fixtures.py OUTDIR STAMP
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

D, K = 32, 5
# Scores closer than this to each other or to 0 (other than exact ties) would
# make the expected order depend on float32 rounding: such draws are redrawn.
MIN_GAP = 2e-6
HOOKS = {"res": "hook_resid_post", "mlp": "hook_mlp_out", "att": "hook_attn_out"}
RELATIONS = [("prev", -1, "res"), ("mlp", 0, "mlp"), ("att", 0, "att"), ("next", 1, "res")]

# position -> (d_sae, dtype, d_in, hook_z)
SAES = {
    (-1, "res"): (257, "F32", D, False),
    (0, "res"): (300, "F32", D, False),
    (1, "res"): (517, "F32", D, False),
    (2, "res"): (650, "BF16", D, False),
    (3, "res"): (409, "F32", D, False),
    (1, "mlp"): (333, "F32", D, False),
    (2, "mlp"): (701, "F32", D, False),
    (0, "att"): (450, "F32", D, False),
    (3, "att"): (380, "F32", D, False),
    (2, "att"): (200, "F32", 64, True),
}


def position_id(layer, site):
    return f"{'embed' if layer < 0 else layer}/{site}"


def hook_name(layer, site, hook_z):
    if layer < 0:
        return "blocks.0.hook_resid_pre"
    return f"blocks.{layer}.attn.hook_z" if hook_z else f"blocks.{layer}.{HOOKS[site]}"


# ---------------------------------------------------------------- writers

def bf16_bits(a):
    """float32 -> bfloat16 bit patterns, rounded to nearest even."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def stored(a, dtype):
    """The values a reader sees after storing `a` in `dtype`, as float64."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "BF16":
        a = (bf16_bits(a).astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float64)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.asarray(array, dtype=np.float32)
        blob = array.astype("<f4").tobytes() if dtype == "F32" else \
            bf16_bits(array).astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_sae(folder, layer, site, w_dec, dtype, hook_z, rng):
    d_sae, d_in = w_dec.shape
    os.makedirs(folder, exist_ok=True)
    cfg = {"architecture": "standard", "d_in": d_in, "d_sae": d_sae,
           "metadata": {"sae_lens_version": "6.0.0",
                        "hook_name": hook_name(layer, site, hook_z)}}
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    write_safetensors(os.path.join(folder, "sae_weights.safetensors"), {
        "W_enc": rng.standard_normal((d_in, d_sae)) * 0.1,
        "W_dec": w_dec,
        "b_enc": np.zeros(d_sae),
        "b_dec": np.zeros(d_in),
    }, dtype)


def folder_name(layer, site):
    return f"{'embed' if layer < 0 else 'L' + str(layer)}-{site}"


# ---------------------------------------------------------------- the set

def make_decoders(rng):
    dec = {pos: rng.standard_normal((f, d_in)).astype(np.float32)
           for pos, (f, _, d_in, _) in SAES.items()}
    noise = lambda: (rng.standard_normal(D) * 0.05).astype(np.float32)
    r0, r1, r2 = dec[(0, "res")], dec[(1, "res")], dec[(2, "res")]
    # Exact ties in a target, across blocks: 1/res 400 copies 17, 450 is 2 x 17
    # (the same unit row); 0/res 5 and 2/res 8 point at them.
    r1[400] = r1[17]
    r1[450] = r1[17] * 2
    r0[5] = r1[17] + noise()
    r2[8] = r1[17] + noise()
    # Ties on the other side of a product (1/res "prev" reads 0/res by columns).
    r0[250] = r0[10]
    r1[30] = r0[10] + noise()
    # Ties in a BF16 target, and in an MLP target at both ends of its range.
    r2[600] = r2[3]
    dec[(3, "res")][2] = r2[3] + noise()
    m2 = dec[(2, "mlp")]
    m2[700] = m2[0]
    r2[11] = m2[0] + noise()
    # A zero decoder row: no match anywhere, never matched.
    r2[20] = 0
    # 1/mlp rows all lean on +e0 but three: 1/res 60 = -e0 matches only those.
    m1 = dec[(1, "mlp")]
    m1[:, 0] = np.abs(m1[:, 0]) + 0.3
    m1[[7, 100, 250], 0] *= -1
    r1[60] = 0
    r1[60, 0] = -1
    # 3/att rows all lean on +e0: 3/res 9 = -e0 has no match there.
    a3 = dec[(3, "att")]
    a3[:, 0] = np.abs(a3[:, 0]) + 0.3
    dec[(3, "res")][9] = 0
    dec[(3, "res")][9, 0] = -1
    return dec


def unit_rows(w):
    norms = np.linalg.norm(w, axis=1, keepdims=True)
    return np.divide(w, norms, out=np.zeros_like(w), where=norms > 0)


def reference_top_k(source, target):
    """Top-K of every row of `source` among the rows of `target` (unit
    float64), and whether the draw is well posed (no near-ties)."""
    # Identical target rows must score identically: score unique rows only.
    unique, inverse = np.unique(target, axis=0, return_inverse=True)
    scores = (source @ unique.T)[:, inverse.reshape(-1)]
    order = np.argsort(-scores, axis=1, kind="stable")[:, :K + 1]
    best = np.take_along_axis(scores, order, axis=1)
    gaps = np.abs(np.diff(best, axis=1))
    near_tie = ((gaps > 0) & (gaps < MIN_GAP)).any()
    near_zero = ((best != 0) & (np.abs(best) < MIN_GAP)).any()
    indices = np.where(best[:, :K] > 0, order[:, :K], -1).astype(np.int32)
    values = np.where(best[:, :K] > 0, best[:, :K], 0).astype(np.float32)
    return indices, values, not (near_tie or near_zero)


def plan():
    """The map's relations in file order: (layer, relation, target position)."""
    out = []
    for layer in sorted({l for (l, s) in SAES if s == "res"}):
        for name, dl, site in RELATIONS:
            target = (layer + dl, site)
            if target in SAES and not SAES[target][3]:
                out.append((layer, name, target))
    return out


def build(rng_seed):
    rng = np.random.default_rng(rng_seed)
    dec = make_decoders(rng)
    units = {pos: unit_rows(stored(w, SAES[pos][1])) for pos, w in dec.items()}
    results, ok = [], True
    for layer, name, target in plan():
        indices, scores, good = reference_top_k(units[(layer, "res")], units[target])
        results.append((layer, name, target, indices, scores))
        ok = ok and good
    return rng, dec, results, ok


def main():
    outdir, stamp = sys.argv[1], sys.argv[2]
    root = os.path.join(outdir, "map")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "reference"))

    seed = 20250204
    while True:
        rng, dec, results, ok = build(seed)
        if ok:
            break
        seed += 1

    for pos, w in dec.items():
        layer, site = pos
        _, dtype, _, hook_z = SAES[pos]
        write_sae(os.path.join(root, "set", folder_name(*pos)), layer, site, w, dtype, hook_z,
                  rng)

    # Variants: the same SAEs but one.
    for variant in ("other-shape", "other-weights"):
        shutil.copytree(os.path.join(root, "set"), os.path.join(root, variant))
    w = np.vstack([dec[(2, "mlp")], rng.standard_normal((1, D))]).astype(np.float32)
    shutil.rmtree(os.path.join(root, "other-shape", folder_name(2, "mlp")))
    write_sae(os.path.join(root, "other-shape", folder_name(2, "mlp")), 2, "mlp", w, "F32",
              False, rng)
    w = dec[(1, "mlp")].copy()
    w[0] = -w[0]
    shutil.rmtree(os.path.join(root, "other-weights", folder_name(1, "mlp")))
    write_sae(os.path.join(root, "other-weights", folder_name(1, "mlp")), 1, "mlp", w, "F32",
              False, rng)

    relations = []
    for layer, name, target, indices, scores in results:
        file = f"reference/{position_id(layer, 'res').replace('/', '-')}-{name}.npz"
        # Indices as float32 (exact below 2^24) so that the C test reads them
        # with the engine's float-only npz reader.
        np.savez(os.path.join(root, file), indices=indices.astype(np.float32), scores=scores)
        relations.append({"layer": layer, "relation": name,
                          "target": position_id(*target), "target_layer": target[0],
                          "target_site": target[1], "rows": int(indices.shape[0]),
                          "target_rows": SAES[target][0], "reference": file})

    def row(layer, name, index):
        for r in results:
            if r[0] == layer and r[1] == name:
                return r[3][index].tolist()

    # The crafted cases, as the reference sees them: the test checks that they
    # really are what they claim (ties present, short lists) before relying on them.
    cases = {
        "tie_f32_target": row(0, "next", 5),        # 17, 400, 450 first
        "tie_other_side": row(1, "prev", 30),       # 10 then 250
        "tie_bf16_target": row(3, "prev", 2),       # 3 then 600
        "tie_mlp_ends": row(2, "mlp", 11),          # 0 then 700
        "zero_row": row(2, "next", 20),             # all -1
        "three_matches": row(1, "mlp", 60),         # 7, 100, 250 in some order, then -1
        "no_match": row(3, "att", 9),               # all -1
    }
    assert cases["tie_f32_target"][:3] == [17, 400, 450], cases
    assert cases["tie_other_side"][:2] == [10, 250], cases
    assert cases["tie_bf16_target"][:2] == [3, 600], cases
    assert cases["tie_mlp_ends"][:2] == [0, 700], cases
    assert cases["zero_row"] == [-1] * K and cases["no_match"] == [-1] * K, cases
    assert sorted(cases["three_matches"][:3]) == [7, 100, 250], cases
    assert cases["three_matches"][3:] == [-1, -1], cases

    expected = {
        "k": K, "seed": seed, "set": "set",
        "positions": [{"id": position_id(*pos), "layer": pos[0], "site": pos[1],
                       "d_sae": f, "dtype": dtype, "d_in": d_in, "hook_z": hook_z}
                      for pos, (f, dtype, d_in, hook_z) in sorted(SAES.items())],
        "relations": relations,
        "pairs": 8,
        "warning": "2/att: attention SAE on attn.hook_z left out of the map",
        "cases": cases,
    }
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    with open(stamp, "w") as f:
        f.write("ok\n")


main()
