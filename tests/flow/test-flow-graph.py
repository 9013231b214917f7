#!/usr/bin/python3
"""flowscope-cli graph on the planted sets of make-flow-fixtures.py: exactly
the nodes and edges of the NumPy reference, every score within 1e-5, the
readings; DOT and GraphML load back; bad input is refused clearly."""
import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import numpy as np

from testlib import FIXTURES, check, cli, finish

root = os.path.join(FIXTURES, "flow")
expected = json.load(open(os.path.join(root, "expected.json")))


def graph(set_name, seed, *args, fmt="json"):
    out, err = cli("graph", "--saes", os.path.join(root, set_name), "--feature", seed,
                   "--format", fmt, *args)
    return out, err


for case in expected["cases"]:
    name, want = case["name"], case["expected"]
    out, err = graph(case["set"], case["seed"], *case["args"])
    if not out:
        continue
    got = json.loads(out)
    check(got.get("seed") == want["seed"], f"{name}: seed {got.get('seed')}")
    nodes = {n["id"]: n for n in got["nodes"]}
    check(set(nodes) == set(want["nodes"]),
          f"{name}: nodes {sorted(nodes)} != {sorted(want['nodes'])}")
    for node_id, ref in want["nodes"].items():
        node = nodes.get(node_id)
        if node is None or not ref:
            continue
        check(node.get("reading") == ref["reading"],
              f"{name}: {node_id} reading {node.get('reading')} != {ref['reading']}")
        for site in ("res", "mlp", "att"):
            check(abs(node["scores"][site] - ref["scores"][site]) <= 1e-5,
                  f"{name}: {node_id} s({site}) {node['scores'][site]} != {ref['scores'][site]}")
    edges = {(e["source"], e["target"]): e for e in got["edges"]}
    want_edges = {(a, b): (kind, score) for a, b, kind, score in want["edges"]}
    check(set(edges) == set(want_edges), f"{name}: edges {sorted(edges)} != {sorted(want_edges)}")
    for key, (kind, score) in want_edges.items():
        if key in edges:
            check(edges[key]["kind"] == kind, f"{name}: {key} kind {edges[key]['kind']}")
            check(abs(edges[key]["score"] - score) <= 1e-5,
                  f"{name}: {key} score {edges[key]['score']} != {score}")
    check(got["truncated"] == (name == "cap"), f"{name}: truncated {got['truncated']}")

# The attention SAE on attn.hook_z is listed but not matched, and says so.
out, err = graph("planted-F32", "5/res/10")
check("attn.hook_z" in err and "needs the model" in err, f"hook_z warning: {err!r}")
check(any("attn.hook_z" in w for w in json.loads(out)["warnings"]), "warning in the JSON")

# DOT and GraphML describe the same graph and load back in Graphviz and igraph.
ref = json.loads(graph("planted-F32", "5/res/10", "--t-mlp", "0.3", "--t-att", "0.3")[0])
with tempfile.TemporaryDirectory() as tmp:
    for fmt in ("dot", "graphml"):
        path = os.path.join(tmp, "g." + fmt)
        cli("graph", "--saes", os.path.join(root, "planted-F32"), "--feature", "5/res/10",
            "--t-mlp", "0.3", "--t-att", "0.3", "--format", fmt, "-o", path)
        check(os.path.exists(path), f"{fmt}: not written")
    dot = subprocess.run(["dot", "-Tjson0", os.path.join(tmp, "g.dot")], capture_output=True,
                         text=True)
    if check(dot.returncode == 0, f"dot rejects the DOT file: {dot.stderr}"):
        parsed = json.loads(dot.stdout)
        check(len(parsed["objects"]) == len(ref["nodes"]) and
              len(parsed["edges"]) == len(ref["edges"]), "DOT node/edge counts")
    import igraph
    g = igraph.Graph.Read_GraphML(os.path.join(tmp, "g.graphml"))
    check(g.vcount() == len(ref["nodes"]) and g.ecount() == len(ref["edges"]),
          f"GraphML counts {g.vcount()} {g.ecount()}")
    check(sorted(g.vs["site"]) == sorted(n["site"] for n in ref["nodes"]), "GraphML sites")
    check(sorted(round(s, 6) for s in g.es["score"]) ==
          sorted(round(e["score"], 6) for e in ref["edges"]), "GraphML scores")
    ET.parse(os.path.join(tmp, "g.graphml"))

# Expanding: a node's top-k at a position, whatever their scores, against
# cosines of unit decoder rows computed here.
def decoder(position):
    path = os.path.join(root, "planted-F32", position.replace("/", "-"),
                        "sae_weights.safetensors")
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    w = header["W_dec"]
    start, end = w["data_offsets"]
    rows = np.frombuffer(data[start:end], dtype=np.float32).reshape(w["shape"]).astype(np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def top_matches(source, index, target, k):
    scores = decoder(target) @ decoder(source)[index]
    best = np.argsort(-scores, kind="stable")[:k]
    return {int(i): float(scores[i]) for i in best if scores[i] > 0}


def edges_between(got, source_position, target_id):
    return {int(e["source"].rsplit("/", 1)[1]): e["score"] for e in got["edges"]
            if e["target"] == target_id and e["source"].startswith(source_position + "/")}


expanded = json.loads(graph("planted-F32", "4/res/10", "--expand", "4/res/10:predecessors:3")[0])
for position in ("3/res", "4/mlp"):
    want = top_matches("4/res", 10, position, 3)
    got_edges = edges_between(expanded, position, "4/res/10")
    check(set(got_edges) == set(want), f"expand 4/res/10 at {position}: {got_edges} != {want}")
    for i, score in want.items():
        check(abs(got_edges.get(i, 0) - score) <= 1e-5, f"expand {position}/{i}: score")
for n in expanded["nodes"]:
    if n["site"] == "res":
        check("scores" in n and "reading" in n, f"expanded graph: {n['id']} is scored")
source = next(n["id"] for n in expanded["nodes"] if n["id"].startswith("3/res/"))
index = int(source.rsplit("/", 1)[1])
expanded = json.loads(graph("planted-F32", "4/res/10", "--expand", "4/res/10:predecessors:3",
                            "--expand", f"{source}:successors:2")[0])
want = top_matches("3/res", index, "4/res", 2)
got_edges = {int(e["target"].rsplit("/", 1)[1]): e["score"] for e in expanded["edges"]
             if e["source"] == source and e["target"].startswith("4/res/")}
check(set(got_edges) == set(want), f"expand {source} successors: {got_edges} != {want}")
module = next(n["id"] for n in expanded["nodes"] if n["site"] != "res")
_, err = cli("graph", "--saes", os.path.join(root, "planted-F32"), "--feature", "4/res/10",
             "--expand", "4/res/10:predecessors:3", "--expand", f"{module}:predecessors",
             expect_rc=1)
check("only residual nodes" in err, f"expand a module node: {err}")

# Bad input: exit 1 (2 for usage) and a message that says what is wrong.
f32 = os.path.join(root, "planted-F32")
_, err = cli("graph", "--saes", f32, "--feature", "4/res/10", "--expand", "4/mlp/1:successors",
             expect_rc=1)
check("4/mlp/1 is not in the graph" in err, f"expand a node not there: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "4/res/10", "--expand", "4/res/10:upward",
             expect_rc=1)
check("expected L/res/i:predecessors" in err, f"expand spec: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "4/res/10", "--expand",
             "4/res/10:successors:9", expect_rc=1)
check("top-k must be 1 to 5" in err, f"expand k: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "5/resid/10", expect_rc=1)
check("“5/resid/10” is not a feature id" in err, f"bad id: {err}")
_, err = cli("graph", "--saes", f32, "--feature", f"5/res/{expected['d_sae']}", expect_rc=1)
check(f"5/res has {expected['d_sae']} features" in err, f"out of range: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "9/res/1", expect_rc=1)
check("no SAE at 9/res" in err, f"missing position: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "2/mlp/1", expect_rc=1)
check("grow from residual features" in err, f"module seed: {err}")
_, err = cli("graph", "--saes", os.path.join(root, "mismatch"), "--feature", "1/res/3",
             expect_rc=1)
check("d_in is 256 at 1/res but 128 at 0/res" in err, f"d_in mismatch: {err}")
_, err = cli("graph", "--saes", f32, "--feature", "5/res/1", "--top-k", "9", expect_rc=1)
check("top-k must be 1 to 5" in err, f"top-k: {err}")
cli("graph", "--saes", f32, "--feature", "5/res/1", "--t-res", "abc", expect_rc=2)
cli("graph", "--saes", f32, "--feature", "5/res/1", "--format", "gif", expect_rc=2)
cli("graph", "--saes", f32, "--feature", "5/res/1", "--format", "png", expect_rc=2)
finish()
