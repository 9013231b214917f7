#!/usr/bin/python3
"""flowscope-cli match against the NumPy top-k of make-map-fixtures.py: for
each relation of the fixture set, `match --from L/res --to TARGET` gives the
reference indices exactly (ties to the lower index) and scores within 1e-5."""
import json
import os
import tempfile

import numpy as np

from testlib import FIXTURES, check, cli, cli_json, finish

root = os.path.join(FIXTURES, "map")
expected = json.load(open(os.path.join(root, "expected.json")))
saes = os.path.join(root, expected["set"])

for rel in expected["relations"]:
    source = ("embed" if rel["layer"] == -1 else str(rel["layer"])) + "/res"
    for k in (1, 3):
        got = cli_json("match", "--saes", saes, "--from", source, "--to", rel["target"],
                       "--top-k", k)
        ref = np.load(os.path.join(root, rel["reference"]))
        rows = got.get("features", [])
        if not check(len(rows) == rel["rows"], f"{source} -> {rel['target']}: {len(rows)} rows"):
            continue
        for i, row in enumerate(rows):
            want = [(int(j), float(s)) for j, s in zip(ref["indices"][i][:k], ref["scores"][i][:k])
                    if j >= 0]
            have = [(m["index"], m["score"]) for m in row["matches"]]
            ok = [a for a, _ in have] == [a for a, _ in want] and all(
                abs(a - b) <= 1e-5 for (_, a), (_, b) in zip(have, want))
            if not check(ok, f"{source} -> {rel['target']} k={k} row {i}: {have} != {want}"):
                break

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.json")
    cli("match", "--saes", saes, "--from", "1/res", "--to", "0/res", "-o", path)
    check(json.load(open(path))["to"] == "0/res", "-o writes the JSON")

    # A graph refuses a map of another set, and agrees with the map of its own.
    own = os.path.join(tmp, "own.map")
    cli("map", "--saes", saes, "-o", own, "--top-k", "2")
    other = os.path.join(root, "other-shape")
    _, err = cli("graph", "--saes", other, "--feature", "1/res/0", "--map", own, expect_rc=1)
    check(own in err and "different SAE set" in err, f"foreign map: {err}")
    for seed in ("1/res/7", "3/res/100"):
        args = ("graph", "--saes", saes, "--feature", seed, "--t-res", "0.2")
        with_map = json.loads(cli(*args, "--map", own)[0])
        without = json.loads(cli(*args)[0])
        check(with_map["nodes"] == without["nodes"] and with_map["edges"] == without["edges"],
              f"{seed}: the graph differs with the map")

hook_z = next(p for p in expected["positions"] if p["hook_z"])
_, err = cli("match", "--saes", saes, "--from", f"{hook_z['layer']}/res", "--to", hook_z["id"],
             expect_rc=1)
check("attn.hook_z" in err, f"hook_z refused: {err}")
_, err = cli("match", "--saes", saes, "--from", "9/res", "--to", "8/res", expect_rc=1)
check("--from: no SAE at 9/res" in err, f"missing position: {err}")
_, err = cli("match", "--saes", saes, "--from", "1/bogus", "--to", "0/res", expect_rc=1)
check("is not a position" in err, f"bad position: {err}")
cli("match", "--saes", saes, "--from", "1/res", expect_rc=2)
cli("match", "--saes", saes, "--from", "1/res", "--to", "0/res", "--top-k", "6", expect_rc=2)
finish()
