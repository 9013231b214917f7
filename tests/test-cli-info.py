#!/usr/bin/python3
"""flowscope-cli info over the SAE fixtures: every SAE is found with the right
position, format and shape; selection rules; bad folders give exit 1 and a
message naming the file and the problem."""
import json
import os

from testlib import FIXTURES, check, cli, cli_json, finish

root = os.path.join(FIXTURES, "sae")
expected = json.load(open(os.path.join(root, "expected.json")))
good_roots = [os.path.join(root, d) for d in ("saelens", "gemmascope", "llamascope")]

info = cli_json("info", "--saes", *good_roots)
by_path = {os.path.relpath(s["path"], root): s for s in info.get("saes", [])}
check(len(by_path) == len(expected["saes"]),
      f"found {len(by_path)} SAEs, expected {len(expected['saes'])}")
for case in expected["saes"]:
    got = by_path.get(case["path"])
    if not check(got is not None, f"{case['path']} not listed"):
        continue
    for key in ("id", "format", "architecture", "d_in", "d_sae", "dtype", "hook_name",
                "average_l0"):
        if key in case:
            check(got.get(key) == case[key], f"{case['path']}: {key} = {got.get(key)!r}, "
                                             f"expected {case[key]!r}")
    layer, site = case["id"].split("/")
    check(got["layer"] == (-1 if layer == "embed" else int(layer)) and got["site"] == site,
          f"{case['path']}: layer/site {got['layer']}/{got['site']}")

# One selected SAE per position, and the rule that picked it.
selected = {}
for sae in info.get("saes", []):
    if sae["selected"]:
        check(sae["id"] not in selected, f"two SAEs selected at {sae['id']}")
        selected[sae["id"]] = sae
check(len(selected) == len({s["id"] for s in info.get("saes", [])}), "a position has none selected")
canonical = selected.get("3/res", {})
check("average_l0_59" in canonical.get("path", "") and
      canonical.get("selection") == "Gemma Scope canonical L0",
      f"3/res should be the canonical L0 59: {canonical}")
first = selected.get("4/res", {})
check(first.get("selection") == "first by path", f"4/res selection: {first}")
check(selected.get("2/att", {}).get("hook_z") is True, "Gemma Scope att is hook_z")
check(selected.get("1/mlp", {}).get("neuronpedia_id") == "gemma-2-2b/1-gemmascope-mlp-16k",
      "Neuronpedia id from the Hugging Face cache folder name")

chosen = cli_json("info", "--saes", os.path.join(root, "gemmascope"),
                  "--choose", "3/res=average_l0_12", "--choose", "4/res=average_l0_31")
picked = {s["id"]: s for s in chosen.get("saes", []) if s["selected"]}
check("average_l0_12" in picked.get("3/res", {}).get("path", ""), "user choice at 3/res")
check(picked.get("4/res", {}).get("selection") == "chosen by the user", "user choice at 4/res")
_, err = cli("info", "--saes", os.path.join(root, "gemmascope"), "--choose", "4/res=average_l0",
             expect_rc=1)
check("matches 2 of the 2 SAEs at 4/res" in err, f"ambiguous choice: {err}")

# Human output lists every SAE too.
out, _ = cli("info", "--saes", *good_roots)
check(out.startswith(f"{len(expected['saes'])} SAEs"), f"human output: {out[:80]!r}")

# Every bad folder: exit 1, "flowscope-cli: error: <file>: <problem>".
for case in expected["corrupt"]:
    folder = os.path.join(root, case["path"])
    _, err = cli("info", "--saes", folder, expect_rc=1)
    check(err.startswith("flowscope-cli: error: " + folder), f"{case['name']}: {err!r}")
    check(case["expect"] in err, f"{case['name']}: {err!r} lacks {case['expect']!r}")

_, err = cli("info", "--saes", os.path.join(root, "no-such-folder"), expect_rc=1)
check("no-such-folder: not a folder" in err, f"missing folder: {err}")
# With no --saes, info opens the bundled demo (tests/demo); where there is
# none, it says what is missing.
os.environ["FLOWSCOPE_DEMO_DIR"] = os.path.join(root, "no-such-folder")
_, err = cli("info", expect_rc=1)
check("--saes: no path given" in err, f"no --saes and no demo: {err}")
_, err = cli("info", "--frobnicate", expect_rc=2)
finish()
