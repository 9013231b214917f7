#!/usr/bin/python3
"""flowscope-cli activations (prompt-activations.h) against the PyTorch
forward passes of make-tiny-models.py and the SAE encoding of
make-steer-fixtures.py: a feature's activation at every token, and the
features most active on the prompt per SAE (largest activation over the
tokens, a leading BOS left out). On the tiny GPT-2, Gemma 2 (F32, BF16) and
Llama with every SAE kind of the steer fixtures, and on the demo with a text
prompt. Decisions closer to their flip than MARGIN (JumpReLU thresholds,
TopK boundaries) are not compared: float32 may take either side.

Usage: test-cli-activations.py DEMO_DIR"""
import json
import os
import sys

import torch

from saeref import encode, feature_id, hook_acts, load_model, load_sae, margins
from testlib import FIXTURES, check, cli, cli_json, finish

DEMO = sys.argv[1]
TOP = 3
MARGIN = 1e-3
worst = 0


def close(got, want, scale):
    global worst
    worst = max(worst, abs(got - want) / scale)
    return abs(got - want) <= 1e-4 * scale


def check_feature(label, args, p, z, margin, index):
    got = cli_json("activations", *args, "--feature", feature_id(p, index))
    acts = got.get("activations", [])
    check(len(acts) == z.shape[0], f"{label}: {len(acts)} activations for {z.shape[0]} tokens")
    scale = float(z[:, index].abs().max()) + 1e-3
    for t, a in enumerate(acts):
        if margin[t, index] > MARGIN:
            check(close(a, float(z[t, index]), scale),
                  f"{label} {feature_id(p, index)} token {t}: {a} != {float(z[t, index])}")


def seqpos_start(folder):
    """Where the SAE's training positions start (SAELens seqpos_slice)."""
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    start = (cfg.get("metadata", cfg).get("seqpos_slice") or [None])[0]
    return start if start is not None and start >= 0 else 0


def check_active(label, got, p, z, margin, skip):
    """The features listed for this SAE are its TOP largest maxima over the
    positions it ranks: from its seqpos_slice start, past a leading BOS."""
    prefix = feature_id(p, 0)[:-1]
    listed = [f for f in got if f["id"].startswith(prefix)]
    rows = z[skip:]
    peak = rows.max(0).values
    order = torch.sort(peak, descending=True).values
    n_active = int((peak > 0).sum())
    scale = float(order[0]) + 1e-3
    check(len(listed) == min(TOP, n_active), f"{label} {prefix}: {len(listed)} listed")
    for r, f in enumerate(listed):
        index = int(f["id"].split("/")[-1])
        t = f["position"]
        stable = bool((margin[skip:, index] > MARGIN).all())
        check(t >= skip and f["activation"] > 0, f"{label} {f}: position, sign")
        check(not stable or (close(f["activation"], float(peak[index]), scale)
                             and close(f["activation"], float(z[t, index]), scale)),
              f"{label} {f}: reference max {float(peak[index])} at "
              f"{skip + int(rows[:, index].argmax())}")
        check(not stable or close(f["activation"], float(order[r]), scale),
              f"{label} {f}: rank {r} of the reference is {float(order[r])}")


def check_prompt(label, model, saes, names, args, tokens, skip_first):
    cfg, w = load_model(model)
    acts = hook_acts(cfg, w, tokens)
    got = cli_json("activations", "--model", model, "--saes", saes, *args, "--top", TOP)
    check(got.get("tokens") == tokens, f"{label}: tokens {got.get('tokens')} != {tokens}")
    for name, index in names:
        p = load_sae(os.path.join(saes, name))
        z, margin = encode(p, acts), margins(p, acts)
        if index is None:   # the most active feature of this SAE
            index = int(z.max(0).values.argmax())
        check_feature(label, ["--model", model, "--saes", saes, *args], p, z, margin, index)
        skip = max(int(skip_first), seqpos_start(os.path.join(saes, name)))
        check_active(label, got.get("features", []), p, z, margin, skip)


expected = json.load(open(os.path.join(FIXTURES, "steer", "expected.json")))
for m in expected["models"]:
    model = os.path.join(FIXTURES, m["model"])
    saes = os.path.join(FIXTURES, "steer", m["name"], "saes")
    names = [(s["name"], s["index"]) for s in m["saes"]]
    ids = ",".join(map(str, m["tokens"]))
    check_prompt(m["name"], model, saes, names, ["--prompt-ids", ids], m["tokens"], False)
    if m["name"] == "gemma2-f32":
        # --bos: the leading BOS is run but left out of the maxima.
        bos = json.load(open(os.path.join(model, "config.json")))["bos_token_id"]
        check_prompt(m["name"] + " --bos", model, saes, names, ["--prompt-ids", ids, "--bos"],
                     [bos] + m["tokens"], True)

model, saes = os.path.join(DEMO, "model"), os.path.join(DEMO, "saes")
text = "In the beginning God created the heaven and the earth."
tokens = cli_json("tokenize", "--model", model, "--text", text).get("ids", [])
check_prompt("demo", model, saes, [(n, None) for n in sorted(os.listdir(saes))],
             ["--prompt", text], tokens, False)
print(f"# activations: max relative error {worst:.2e}")

out, _ = cli("activations", "--model", model, "--saes", saes, "--prompt", text,
             "--feature", "1/res/7")
check(out.count("\n") == len(tokens), f"human output:\n{out}")
cli("activations", "--model", model, "--saes", saes, "--feature", "1/res/7", expect_rc=2)
cli("activations", "--model", model, "--saes", saes, "--prompt", text, "--feature", "1/xyz/7",
    expect_rc=2)
cli("activations", "--model", model, "--saes", saes, "--prompt", text, "--top", "0",
    expect_rc=2)
cli("activations", "--model", model, "--saes", saes, "--prompt", text, "--feature", "9/res/7",
    expect_rc=1)
cli("activations", "--model", model, "--saes", saes, "--prompt", " ".join(["the"] * 300),
    expect_rc=1)
finish()
