#!/usr/bin/python3
"""`flowscope-cli map` against the NumPy reference of make-map-fixtures.py.

The map file is read here with NumPy from its documented layout
(docs/FLOWMAP.md), which checks the documentation as much as the code. Also:
K smaller than 5, resuming a partial file, maps refused for another set or
when damaged, moving the set, usage errors.

Small blocks (FLOWSCOPE_MAP_BLOCK) make every product cross block edges.
"""
import json
import os
import shutil
import struct
import tempfile

import numpy as np

from testlib import FIXTURES, check, cli, finish

ROOT = os.path.join(FIXTURES, "map")
SET = os.path.join(ROOT, "set")
EXPECTED = json.load(open(os.path.join(ROOT, "expected.json")))
SITES = {"res": 0, "mlp": 1, "att": 2}
RELATIONS = {"prev": 0, "mlp": 1, "att": 2, "next": 3}
DTYPES = {"F32": 0, "F16": 1, "BF16": 2, "F64": 3}
os.environ["FLOWSCOPE_MAP_BLOCK"] = "128"
work = tempfile.mkdtemp(prefix="flowscope-map-test-")


# ---------------------------------------------------------------- the format, from the docs

def read_map(path):
    """Parses a map file by the book; returns (header, fingerprints, relations)."""
    data = open(path, "rb").read()
    magic, version, header_size, k, n_fp, n_rel, zero, fp_at, rel_at, size, zero2 = \
        struct.unpack_from("<8sIIIIIIQQQQ", data, 0)
    header = {"magic": magic, "version": version, "header_size": header_size, "k": k,
              "n_fingerprints": n_fp, "n_relations": n_rel, "fingerprints_at": fp_at,
              "relations_at": rel_at, "file_size": size, "zero": (zero, zero2),
              "length": len(data)}
    fingerprints = []
    for i in range(n_fp):
        layer, site, dtype, flags, d_in, d_sae, n_bytes = \
            struct.unpack_from("<iIIIqqQ", data, fp_at + 48 * i)
        fingerprints.append({"layer": layer, "site": site, "dtype": dtype, "flags": flags,
                             "d_in": d_in, "d_sae": d_sae, "n_bytes": n_bytes,
                             "hash": data[fp_at + 48 * i + 40:fp_at + 48 * i + 48]})
    relations = []
    for i in range(n_rel):
        at = rel_at + 64 * i
        (layer, site, t_layer, t_site, relation, flags, rel_k, zero, rows, t_rows,
         indices_at, scores_at) = struct.unpack_from("<iIiIIIIIqqQQ", data, at)
        rel = {"layer": layer, "site": site, "target_layer": t_layer, "target_site": t_site,
               "relation": relation, "flags": flags, "flags_at": at + 20, "k": rel_k,
               "rows": rows, "target_rows": t_rows, "indices_at": indices_at,
               "scores_at": scores_at}
        rel["indices"] = np.frombuffer(data, "<i4", rows * rel_k, indices_at).reshape(rows, rel_k)
        rel["scores"] = np.frombuffer(data, "<f4", rows * rel_k, scores_at).reshape(rows, rel_k)
        relations.append(rel)
    return header, fingerprints, relations


def reference(rel, k=None):
    ref = np.load(os.path.join(ROOT, rel["reference"]))
    return ref["indices"][:, :k].astype(np.int32), ref["scores"][:, :k]


def check_layout(path, k):
    header, fingerprints, relations = read_map(path)
    check(header["magic"] == b"FSFLOMAP" and header["version"] == 1
          and header["header_size"] == 64 and header["zero"] == (0, 0), f"{path}: header")
    check(header["k"] == k, f"{path}: K is {header['k']}, expected {k}")
    check(header["file_size"] == header["length"], f"{path}: file size field")
    positions = EXPECTED["positions"]
    check(len(fingerprints) == len(positions), f"{path}: {len(fingerprints)} fingerprints")
    by_position = {(f["layer"], f["site"]): f for f in fingerprints}
    for p in positions:
        f = by_position.get((p["layer"], SITES[p["site"]]))
        check(f is not None and f["d_sae"] == p["d_sae"] and f["d_in"] == p["d_in"]
              and f["dtype"] == DTYPES[p["dtype"]] and f["flags"] == int(p["hook_z"])
              and f["n_bytes"] == p["d_sae"] * p["d_in"] * (2 if p["dtype"] == "BF16" else 4),
              f"{path}: fingerprint of {p['id']}: {f}")
    keys = [(f["layer"], f["site"]) for f in fingerprints]
    check(keys == sorted(keys), f"{path}: fingerprints in position order")
    want = EXPECTED["relations"]
    check(len(relations) == len(want), f"{path}: {len(relations)} relations")
    end = header["relations_at"] + 64 * len(relations)
    for rel, exp in zip(relations, want):
        name = f"{path}: {exp['layer']}/res {exp['relation']}"
        check(rel["layer"] == exp["layer"] and rel["site"] == 0
              and rel["relation"] == RELATIONS[exp["relation"]]
              and rel["target_layer"] == exp["target_layer"]
              and rel["target_site"] == SITES[exp["target_site"]]
              and rel["rows"] == exp["rows"] and rel["target_rows"] == exp["target_rows"]
              and rel["k"] == k and rel["flags"] == 1, f"{name}: table entry {rel}")
        section = rel["rows"] * k * 4
        check(rel["indices_at"] % 64 == 0 and rel["scores_at"] % 64 == 0
              and rel["indices_at"] >= end and rel["scores_at"] >= rel["indices_at"] + section
              and rel["scores_at"] + section <= header["length"], f"{name}: section layout")
        end = rel["scores_at"] + section
    return relations


def compare(path, k, relations=None, skip=()):
    relations = relations or check_layout(path, k)
    for rel, exp in zip(relations, EXPECTED["relations"]):
        name = f"{path}: {exp['layer']}/res {exp['relation']}"
        if name in skip:
            continue
        want_i, want_s = reference(exp, k)
        bad = np.argwhere(rel["indices"] != want_i)
        check(len(bad) == 0, f"{name}: {len(bad)} indices differ, first at row "
              f"{bad[0][0] if len(bad) else -1}: {rel['indices'][bad[0][0]] if len(bad) else ''}"
              f" vs {want_i[bad[0][0]] if len(bad) else ''}")
        err = np.abs(rel["scores"].astype(np.float64) - want_s).max()
        check(err <= 1e-5, f"{name}: scores differ by {err}")
        check(((rel["indices"] == -1) == (rel["scores"] == 0)).all(),
              f"{name}: empty slots hold -1 and 0")


def relation_of(relations, layer, name):
    for rel, exp in zip(relations, EXPECTED["relations"]):
        if exp["layer"] == layer and exp["relation"] == name:
            return rel


# ---------------------------------------------------------------- computing

out = os.path.join(work, "set.map")
_, err = cli("map", "--saes", SET, "-o", out)
check(os.path.exists(out) and not os.path.exists(out + ".partial"),
      "the map is renamed into place, no partial file left")
lines = [l for l in err.splitlines() if l.startswith("[")]
check(len(lines) == EXPECTED["pairs"] + 1 and lines[-1] == "[100%] done",
      f"one progress line per pair, then done:\n{err}")
check(EXPECTED["warning"] in err, f"warns about the attn.hook_z SAE:\n{err}")
relations = check_layout(out, 5)
compare(out, 5, relations)

# The crafted cases, read from the file itself.
cases = EXPECTED["cases"]
for name, (layer, relation, row) in {
        "tie_f32_target": (0, "next", 5), "tie_other_side": (1, "prev", 30),
        "tie_bf16_target": (3, "prev", 2), "tie_mlp_ends": (2, "mlp", 11),
        "zero_row": (2, "next", 20), "three_matches": (1, "mlp", 60),
        "no_match": (3, "att", 9)}.items():
    got = relation_of(relations, layer, relation)["indices"][row].tolist()
    check(got == cases[name], f"{name}: {layer}/res/{row} {relation}: {got}, want {cases[name]}")

# A smaller K is the prefix of the reference.
out2 = os.path.join(work, "k2.map")
cli("map", "--saes", SET, "-o", out2, "--top-k", "2")
compare(out2, 2)

# Block sizes must not change a single bit.
os.environ["FLOWSCOPE_MAP_BLOCK"] = "61"
out_b = os.path.join(work, "block61.map")
cli("map", "--saes", SET, "-o", out_b)
check(open(out_b, "rb").read() == open(out, "rb").read(), "same file with blocks of 61 rows")
os.environ["FLOWSCOPE_MAP_BLOCK"] = "128"

# ---------------------------------------------------------------- resuming

# A partial file as an interrupted run leaves it: pairs marked complete are
# kept as they are (the sentinel written into one survives), the others are
# computed. 1/res "prev" is the column side of 0/res x 1/res.
partial_out = os.path.join(work, "resumed.map")
data = bytearray(open(out, "rb").read())
redo = relation_of(relations, 1, "prev")
keep = relation_of(relations, 2, "mlp")
struct.pack_into("<I", data, redo["flags_at"], 0)
size = redo["rows"] * 5 * 4
data[redo["indices_at"]:redo["indices_at"] + size] = b"\0" * size
data[redo["scores_at"]:redo["scores_at"] + size] = b"\0" * size
sentinel = np.full(keep["rows"] * 5, 0.5, "<f4").tobytes()
data[keep["scores_at"]:keep["scores_at"] + len(sentinel)] = sentinel
open(partial_out + ".partial", "wb").write(data)
_, err = cli("map", "--saes", SET, "-o", partial_out)
check(f"resuming {partial_out}.partial: {EXPECTED['pairs'] - 1} of {EXPECTED['pairs']} "
      "pairs done" in err, f"says it resumes:\n{err}")
check(err.count("[") == 3, f"computes one pair only:\n{err}")
resumed = check_layout(partial_out, 5)
check((relation_of(resumed, 2, "mlp")["scores"] == 0.5).all(),
      "a pair marked complete is not computed again")
compare(partial_out, 5, resumed, skip={f"{partial_out}: 2/res mlp"})

# A partial file of another K (or anything else) is not resumed.
other_k = os.path.join(work, "other-k.map")
shutil.copy(out, other_k + ".partial")
_, err = cli("map", "--saes", SET, "-o", other_k, "--top-k", "3")
check("resuming" not in err, f"a partial file for K = 5 is not resumed for K = 3:\n{err}")
compare(other_k, 3)

# ---------------------------------------------------------------- checking a map

moved = os.path.join(work, "moved")
shutil.copytree(SET, moved)
stdout, _ = cli("map", "--saes", moved, "--check", out)
check("12 relations" in stdout, f"a moved set keeps its map:\n{stdout}")
doc = json.loads(cli("map", "--saes", SET, "--check", out, "--json")[0])
check(doc["k"] == 5 and len(doc["relations"]) == 12
      and doc["relations"][0] == {"source": "embed/res", "relation": "next", "target": "0/res",
                                  "rows": 257, "target_rows": 300}
      and any(EXPECTED["warning"] in w for w in doc["warnings"]), f"--check --json: {doc}")

_, err = cli("map", "--saes", os.path.join(ROOT, "other-shape"), "--check", out, expect_rc=1)
check(f"flowscope-cli: error: {out}: this map was computed for a different SAE set "
      "(2/mlp: d_sae is 701 in the map, 702 in this set)" in err, f"another shape:\n{err}")
_, err = cli("map", "--saes", os.path.join(ROOT, "other-weights"), "--check", out, expect_rc=1)
check(f"{out}: this map was computed for a different SAE set (1/mlp: the decoder weights "
      "differ)" in err, f"other weights:\n{err}")

good = open(out, "rb").read()
damaged = {
    "truncated": (good[:-100], "truncated"),
    "magic": (b"XX" + good[2:], "not a Flowscope map"),
    "version": (good[:8] + struct.pack("<I", 2) + good[12:], "version 2"),
    "outside": (good[:relations[3]["flags_at"] + 36]
                + struct.pack("<Q", len(good) - 64)
                + good[relations[3]["flags_at"] + 44:], "relation 3"),
    "unfinished": (good[:relations[0]["flags_at"]] + b"\0\0\0\0"
                   + good[relations[0]["flags_at"] + 4:], "unfinished"),
}
for name, (content, message) in damaged.items():
    path = os.path.join(work, f"{name}.map")
    open(path, "wb").write(content)
    _, err = cli("map", "--saes", SET, "--check", path, expect_rc=1)
    check(err.startswith(f"flowscope-cli: error: {path}: ") and message in err,
          f"damaged ({name}):\n{err}")

# ---------------------------------------------------------------- errors

cli("map", expect_rc=2)
cli("map", "--saes", SET, expect_rc=2)
cli("map", "-o", out, expect_rc=2)
cli("map", "--saes", SET, "-o", out, "--check", out, expect_rc=2)
cli("map", "--saes", SET, "-o", out, "--top-k", "0", expect_rc=2)
cli("map", "--saes", SET, "-o", out, "--top-k", "6", expect_rc=2)
cli("map", "--saes", SET, "-o", out, "--bogus", expect_rc=2)
cli("map", "--saes", SET, "-o", out, "--json", expect_rc=2)
missing_dir = os.path.join(work, "no-such-dir", "x.map")
_, err = cli("map", "--saes", SET, "-o", missing_dir, expect_rc=1)
check(f"flowscope-cli: error: {missing_dir}.partial: " in err, f"unwritable output:\n{err}")
_, err = cli("map", "--saes", SET, "--check", os.path.join(work, "none.map"), expect_rc=1)
check("none.map" in err, f"missing map:\n{err}")

shutil.rmtree(work)
finish()
