#!/usr/bin/python3
"""flowscope-cli graph --labels: every node of the planted set's graphs
carries the label of its SAE's feature, truncated graphs too; labels.json is
found where the app finds it; unusable files are refused with the file and
the problem (explicit) or skipped with a warning (found)."""
import gzip
import json
import os
import shutil
import tempfile

from testlib import FIXTURES, check, cli, finish

planted = os.path.join(FIXTURES, "flow", "planted-F32")
FOLDERS = sorted(os.listdir(planted))


def label(folder, index):
    return f"{folder} feature #{index}"


def explanations():
    """Every feature of every SAE, by folder name; a second explanation of
    each comes later and must lose."""
    first = [{"modelId": "planted", "layer": folder, "index": str(i),
              "description": label(folder, i), "typeName": "oai_token-act-pair"}
             for folder in FOLDERS for i in range(96)]
    later = [dict(e, description="a later explanation") for e in first]
    return first + later


def graph(*args, saes=planted, expect_rc=0):
    out, err = cli("graph", "--saes", saes, "--feature", "5/res/10", *args, expect_rc=expect_rc)
    return (json.loads(out) if out and expect_rc == 0 and "--format" not in args else out), err


def check_labelled(got, what):
    check(len(got["nodes"]) > 0, f"{what}: no nodes")
    for node in got["nodes"]:
        folder = ("embed" if node["layer"] == -1 else str(node["layer"])) + "-" + node["site"]
        check(node["label"] == label(folder, node["index"]),
              f"{what}: {node['id']} label {node['label']!r}")


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "explanations.json")
    json.dump(explanations(), open(path, "w"))

    got, _ = graph("--labels", path)
    check_labelled(got, "JSON array")
    check(len(got["nodes"]) >= 5, f"{len(got['nodes'])} nodes")

    # Cut short by the node cap: labelled all the same.
    got, _ = graph("--labels", path, "--max-nodes", "3")
    check(got["truncated"] is True and len(got["nodes"]) == 3, "capped at 3 nodes")
    check_labelled(got, "truncated graph")

    # Gzipped JSON Lines, as Neuronpedia's bulk exports come.
    jsonl = os.path.join(tmp, "batch-0.jsonl.gz")
    with gzip.open(jsonl, "wt") as f:
        for e in explanations():
            f.write(json.dumps(e) + "\n")
    got, _ = graph("--labels", jsonl)
    check_labelled(got, "gzipped JSON Lines")

    # DOT and GraphML carry them too.
    for fmt in ("dot", "graphml"):
        out, _ = graph("--labels", path, "--format", fmt)
        check(label("5-res", 10) in out, f"{fmt}: no label")

    # Without --labels: labels.json in the --saes folder, else above it.
    copy = os.path.join(tmp, "set")
    shutil.copytree(planted, copy)
    got, _ = graph(saes=copy)
    check(all(n["label"] is None for n in got["nodes"]), "labels without a labels.json")
    shutil.copy(path, os.path.join(tmp, "labels.json"))
    got, _ = graph(saes=copy)
    check_labelled(got, "labels.json above the folder")
    os.remove(os.path.join(tmp, "labels.json"))
    shutil.copy(path, os.path.join(copy, "labels.json"))
    got, _ = graph(saes=copy)
    check_labelled(got, "labels.json in the folder")

    # A broken labels.json found by default is a warning; the graph comes.
    with open(os.path.join(copy, "labels.json"), "w") as f:
        f.write('[{"layer": "5-res", ')
    got, err = graph(saes=copy)
    check("warning: not using the labels" in err and "labels.json: not valid JSON" in err,
          f"default broken labels: {err!r}")
    check(all(n["label"] is None for n in got["nodes"]), "broken labels used")

    # Given with --labels, an unusable file is an error naming it.
    other = os.path.join(tmp, "gemma.json")
    json.dump([{"modelId": "gemma-2-2b", "layer": "12-gemmascope-res-16k", "index": "1",
                "description": "x"}], open(other, "w"))
    numbers = os.path.join(tmp, "numbers.json")
    json.dump([1, 2, 3], open(numbers, "w"))
    bad_index = os.path.join(tmp, "bad-index.jsonl")
    with open(bad_index, "w") as f:
        f.write('{"layer": "5-res", "index": "7", "description": "x"}\n')
        f.write('{"layer": "5-res", "index": "seven", "description": "x"}\n')
    missing = os.path.join(tmp, "missing.json")
    for bad, problem in [(other, "its labels are for other SAEs (gemma-2-2b/12-gemmascope-res-16k)"),
                         (numbers, "explanation 1 is not a JSON object"),
                         (bad_index, "line 2: “index” is not a feature index"),
                         (os.path.join(copy, "labels.json"), "not valid JSON (line 1)"),
                         (missing, "No such file")]:
        out, err = graph("--labels", bad, expect_rc=1)
        check(err.startswith(f"flowscope-cli: error: {bad}: ") and problem in err,
              f"{os.path.basename(bad)}: {err!r}")
        check(out == "", f"{os.path.basename(bad)}: output {out!r}")

finish()
