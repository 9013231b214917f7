#!/usr/bin/python3
"""flowscope-cli lens against a NumPy logit lens (logit-lens.h): a
feature's unit decoder row (projected through W_O and the post-attention
norm for attn.hook_z SAEs), centred for LayerNorm, times the final norm's
scale, through the unembedding. On the tiny GPT-2 (tied, LayerNorm), Gemma 2
(RMSNorm 1 + w, F32 and BF16) and Llama (untied lm_head) of
make-tiny-models.py with the SAEs of make-steer-fixtures.py, and on the demo.

Usage: test-cli-lens.py DEMO_DIR"""
import json
import os
import sys

import numpy as np

from saeref import feature_id, load_model, load_sae
from testlib import FIXTURES, check, cli, cli_json, finish

DEMO = sys.argv[1]
K = 6


def residual_direction(cfg, w, p, index):
    u = p["W_dec"][index].numpy()
    u = u / np.linalg.norm(u)
    if not p["hook"].endswith("hook_z"):
        return u
    layer = int(p["hook"].split(".")[1])
    if cfg["model_type"] == "gpt2":
        v = u @ w[f"h.{layer}.attn.c_proj.weight"].numpy()   # Conv1D [in, out]
    else:
        v = w[f"model.layers.{layer}.self_attn.o_proj.weight"].numpy() @ u
        if cfg["model_type"] == "gemma2":
            v = v * (1 + w[f"model.layers.{layer}.post_attention_layernorm.weight"].numpy())
    return v / np.linalg.norm(v)


def lens_scores(cfg, w, p, index):
    d = residual_direction(cfg, w, p, index)
    kind = cfg["model_type"]
    if kind == "gpt2":
        d = (d - d.mean()) * w["ln_f.weight"].numpy()
        head = w.get("lm_head.weight", w["wte"])
    else:
        scale = w["model.norm.weight"].numpy()
        d = d * (1 + scale if kind == "gemma2" else scale)
        tied = cfg.get("tie_word_embeddings", kind == "gemma2")
        head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
    return head.numpy() @ d


def check_side(label, got, ref, descending):
    """Rank by rank, the score listed is the reference's at that rank, and
    the token listed has that score: near-ties may come in either order."""
    order = np.sort(ref)[::-1] if descending else np.sort(ref)
    tol = 1e-4 * np.abs(ref).max() + 1e-7
    ids = [t["id"] for t in got]
    check(len(got) == K and len(set(ids)) == K, f"{label}: {len(got)} tokens {ids}")
    for r, t in enumerate(got):
        check(abs(t["score"] - order[r]) <= tol and abs(ref[t["id"]] - t["score"]) <= tol,
              f"{label} #{r}: token {t['id']} score {t['score']}, reference {ref[t['id']]}, "
              f"rank {r} of the reference {order[r]}")
    return max([abs(ref[t["id"]] - t["score"]) / np.abs(ref).max() for t in got] or [0])


def check_feature(model, saes, cfg, w, p, index, with_text):
    fid = feature_id(p, index)
    got = cli_json("lens", "--model", model, "--saes", saes, "--feature", fid, "--top", K)
    ref = lens_scores(cfg, w, p, index)
    label = f"{os.path.basename(model)} {fid}"
    worst = max(check_side(label + " promoted", got.get("promoted", []), ref, True),
                check_side(label + " suppressed", got.get("suppressed", []), ref, False))
    if with_text:
        check(all("text" in t for t in got.get("promoted", [])), f"{label}: no token texts")
    return worst


worst = 0
expected = json.load(open(os.path.join(FIXTURES, "steer", "expected.json")))
for m in expected["models"]:
    model = os.path.join(FIXTURES, m["model"])
    saes = os.path.join(FIXTURES, "steer", m["name"], "saes")
    cfg, w = load_model(model)
    for s in m["saes"]:
        p = load_sae(os.path.join(saes, s["name"]))
        for index in sorted({0, s["index"]}):
            worst = max(worst, check_feature(model, saes, cfg, w, p, index,
                                             m["name"] == "gpt2-f32"))

model, saes = os.path.join(DEMO, "model"), os.path.join(DEMO, "saes")
cfg, w = load_model(model)
for name in sorted(os.listdir(saes)):
    p = load_sae(os.path.join(saes, name))
    worst = max(worst, check_feature(model, saes, cfg, w, p, 7, True))
print(f"# lens: max relative score error {worst:.2e}")

out, _ = cli("lens", "--model", model, "--saes", saes, "--feature", "1/res/7")
check(out.startswith("Promoted:") and "Suppressed:" in out, f"human output:\n{out}")
cli("lens", "--model", model, "--saes", saes, "--feature", "1/xyz/7", expect_rc=2)
cli("lens", "--model", model, "--saes", saes, "--feature", "1/res/7", "--top", "0", expect_rc=2)
cli("lens", "--saes", saes, "--feature", "1/res/7", expect_rc=2)
cli("lens", "--model", model, "--saes", saes, "--feature", "9/res/7", expect_rc=1)
cli("lens", "--model", model, "--saes", saes, "--feature", "1/res/100000", expect_rc=1)
finish()
