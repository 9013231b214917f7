#!/usr/bin/python3
"""flowscope-cli tensors over the safetensors and npz/npy fixtures: valid files
list the right tensors; every corrupt file (one per validation rule) gives
exit 1 and "flowscope-cli: error: <file>: <problem>"."""
import json
import os

from testlib import FIXTURES, check, cli, cli_json, finish

for folder, bad_key in (("safetensors", "corrupt"), ("npz", "invalid")):
    root = os.path.join(FIXTURES, folder)
    expected = json.load(open(os.path.join(root, "expected.json")))
    check(len(expected["valid"]) >= 5 and len(expected[bad_key]) >= 10,
          f"{folder}: too few fixtures")
    for case in expected["valid"]:
        path = os.path.join(root, case["file"])
        files = cli_json("tensors", path).get("files", [])
        if not check(len(files) == 1, f"{path}: no listing"):
            continue
        got = [(t["name"], t["dtype"], t["shape"]) for t in files[0]["tensors"]]
        want = [(t["name"], t["dtype"], t["shape"]) for t in case["tensors"]]
        check(sorted(got) == sorted(want), f"{path}: {got} != {want}")
    for case in expected[bad_key]:
        path = os.path.join(root, case["file"])
        _, err = cli("tensors", path, expect_rc=1)
        check(err.startswith("flowscope-cli: error: " + path), f"{path}: {err!r}")
        check(case["error"] in err, f"{path}: {err!r} lacks {case['error']!r}")
        check(err.count("\n") == 1, f"{path}: one line expected, got {err!r}")

_, err = cli("tensors", expect_rc=2)
check("needs at least one file" in err, f"usage: {err}")
finish()
