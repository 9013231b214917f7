#!/usr/bin/python3
"""Attention SAEs on attn.hook_z beside residual SAEs, for the tiny GPT-2 and
Gemma 2 models of tests/model, with residual features planted along the
direction an attention feature writes into attn_out, and the expected
projected cosines from NumPy (METHOD.md section 1: v = W_O u, times
Gemma 2's post-attention norm weights 1 + w).

Usage: make-projection-fixtures.py FIXTURE_DIR STAMP  (after make-tiny-models.py)
"""
import json
import os
import struct
import sys

import numpy as np

F = 40
root = sys.argv[1]
out = os.path.join(root, "projection")
rng = np.random.default_rng(7)


def read_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (path, name)
        b, e = t["data_offsets"]
        tensors[name] = np.frombuffer(blob[8 + n + b:8 + n + e], "<f4").reshape(t["shape"])
    return tensors


def write_sae(folder, hook, rows):
    os.makedirs(folder, exist_ok=True)
    d_sae, d_in = rows.shape
    tensors = {"W_enc": np.zeros((d_in, d_sae)), "W_dec": rows, "b_enc": np.zeros(d_sae),
               "b_dec": np.zeros(d_in)}
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        blob = np.asarray(a, "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(a)),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    with open(os.path.join(folder, "sae_weights.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump({"architecture": "standard", "d_in": d_in, "d_sae": d_sae,
                   "metadata": {"sae_lens_version": "6.0.0", "hook_name": hook}}, f)


def projection(model, weights, layer):
    """P as a [d_heads, d_model] matrix: row u of the SAE maps to u @ P."""
    if model.startswith("gpt2"):
        return weights[f"transformer.h.{layer}.attn.c_proj.weight"]          # Conv1D [in, out]
    o = weights[f"model.layers.{layer}.self_attn.o_proj.weight"]              # Linear [out, in]
    w = weights[f"model.layers.{layer}.post_attention_layernorm.weight"]
    return o.T * (1.0 + w)[None, :]


cases = []
for model in ("gpt2-f32", "gemma2-f32"):
    model_dir = os.path.join(root, "model", model)
    config = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    d = config.get("n_embd") or config["hidden_size"]
    heads = (config.get("n_head") or config["num_attention_heads"]) * \
        (config.get("head_dim") or d // config["n_head"])
    layer = 1
    att = rng.normal(size=(F, heads)) * rng.uniform(0.5, 2.0, size=(F, 1))
    res = rng.normal(size=(F, d))
    P = projection(model, weights, layer).astype(np.float64)
    for target, source in ((5, 7), (11, 3)):  # res features written by attention features
        v = att[source] @ P
        res[target] = v / np.linalg.norm(v) + 0.3 * rng.normal(size=d) / np.sqrt(d)
    folder = os.path.join(out, model)
    write_sae(os.path.join(folder, "res-0"), "blocks.0.hook_resid_post", rng.normal(size=(F, d)))
    write_sae(os.path.join(folder, "res-1"), f"blocks.{layer}.hook_resid_post", res)
    write_sae(os.path.join(folder, "att-1"), f"blocks.{layer}.attn.hook_z", att)
    # What Flowscope reads back: float32 weights, computed in float64 here.
    att32, res32 = att.astype(np.float32).astype(np.float64), res.astype(np.float32)
    projected = att32 @ P
    projected /= np.linalg.norm(projected, axis=1, keepdims=True)
    unit_res = res32 / np.linalg.norm(res32, axis=1, keepdims=True)
    cos = unit_res @ projected.T
    best = [{"feature": i, "index": int(np.argmax(cos[i])), "score": float(cos[i].max())}
            for i in range(F)]
    cases.append({"model": model, "set": os.path.relpath(folder, root), "layer": layer,
                  "best": best, "planted": {"5": 7, "11": 3}})

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(cases, f, indent=1)
open(sys.argv[2], "w").write("ok\n")
