#!/usr/bin/python3
"""flowscope-cli encode on every SAE fixture (every format, architecture and
dtype) against the NumPy reference written by make-sae-fixtures.py."""
import json
import os
import tempfile

import numpy as np

from testlib import FIXTURES, check, cli, finish

root = os.path.join(FIXTURES, "sae")
expected = json.load(open(os.path.join(root, "expected.json")))

with tempfile.TemporaryDirectory() as tmp:
    for case in expected["saes"]:
        out = os.path.join(tmp, case["name"] + ".z.npy")
        args = ["encode", "--sae", os.path.join(root, case["path"]),
                "--input", os.path.join(root, case["input"]), "-o", out]
        if "llamascope_threshold" in case:
            args += ["--llamascope-threshold", case["llamascope_threshold"]]
        cli(*args)
        if not os.path.exists(out):
            continue
        z = np.load(out)
        ref = np.load(os.path.join(root, case["z"]))
        if not check(z.shape == ref.shape and z.dtype == np.float32,
                     f"{case['name']}: shape {z.shape} {z.dtype}, expected {ref.shape} float32"):
            continue
        error = np.abs(z.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-12)
        check(error <= 1e-5, f"{case['name']}: relative error {error:.2e} > 1e-5")
        check((z != 0).sum() > 0, f"{case['name']}: no active latent (fixture too weak)")
        check(((z != 0) == (ref != 0)).all(), f"{case['name']}: active sets differ")

    # Wrong input width and a missing input are refused with a message.
    case = expected["saes"][0]
    bad = os.path.join(tmp, "bad.npy")
    np.save(bad, np.zeros((3, case["d_in"] + 1), np.float32))
    _, err = cli("encode", "--sae", os.path.join(root, case["path"]), "--input", bad,
                 "-o", os.path.join(tmp, "never.npy"), expect_rc=1)
    check("bad.npy" in err and "needs [n, %d]" % case["d_in"] in err, f"width message: {err}")
    check(not os.path.exists(os.path.join(tmp, "never.npy")), "output written after an error")
    _, err = cli("encode", "--sae", os.path.join(root, case["path"]), expect_rc=2)
    check("needs --sae, --input and -o" in err, f"usage message: {err}")

finish()
