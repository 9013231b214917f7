#!/usr/bin/python3
"""Writes small SAE fixtures in every supported format, with the expected
encodings and decodings computed by an independent NumPy implementation of
each architecture (FORMATS.md), into OUTDIR/sae/. Deterministic (fixed seed).

Usage: make-sae-fixtures.py OUTDIR STAMP
"""
import json
import os
import struct
import sys

import numpy as np

rng = np.random.default_rng(20250203)
D_IN, D_SAE, N_ROWS = 24, 80, 16


# ---------------------------------------------------------------- writers

def bf16_bits(a):
    """float32 -> bfloat16 bit patterns, rounded to nearest even (as torch)."""
    bits = np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def stored(a, dtype):
    """The values a reader sees after storing `a` in `dtype` (as float64)."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.astype(np.float64)
    if dtype == "F16":
        return a.astype(np.float16).astype(np.float64)
    if dtype == "BF16":
        return (bf16_bits(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.asarray(array, dtype=np.float32)
        if dtype == "F32":
            blob = array.astype("<f4").tobytes()
        elif dtype == "F16":
            blob = array.astype("<f2").tobytes()
        else:
            blob = bf16_bits(array).astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


# ---------------------------------------------------------------- reference SAE

def normalise(x, norm):
    if norm == "constant_norm_rescale":
        scale = np.sqrt(x.shape[1]) / np.linalg.norm(x, axis=1, keepdims=True)
        return x * scale, (lambda y: y / scale)
    if norm == "layer_norm":
        mu = x.mean(axis=1, keepdims=True)
        centred = x - mu
        std = centred.std(axis=1, ddof=1, keepdims=True)
        return centred / (std + 1e-5), (lambda y: y * std + mu)
    return x, (lambda y: y)


def reference(p, x):
    """Encode and decode with SAELens semantics; p holds float64 weights."""
    xn, undo = normalise(x, p.get("norm", "none"))
    x_in = xn - p["b_dec"] if p.get("apply_b_dec", True) else xn
    arch = p["arch"]
    if arch == "gated":
        gate = x_in @ p["W_enc"] + p["b_gate"]
        mag = x_in @ (p["W_enc"] * np.exp(p["r_mag"])) + p["b_mag"]
        z = (gate > 0) * np.maximum(mag, 0)
    else:
        pre = x_in @ p["W_enc"] + p["b_enc"]
        if arch == "standard":
            z = np.maximum(pre, 0)
        elif arch == "jumprelu":
            z = pre * (pre > p["threshold"])
        elif arch == "topk":
            norms = np.linalg.norm(p["W_dec"], axis=1)
            if p.get("rescale"):
                pre = pre * norms
            z = np.zeros_like(pre)
            idx = np.argsort(-pre, axis=1, kind="stable")[:, :p["k"]]
            rows = np.arange(pre.shape[0])[:, None]
            z[rows, idx] = np.maximum(pre[rows, idx], 0)
    z_dec = z * p.get("scaling_factor", 1.0)
    if arch == "topk" and p.get("rescale"):
        z_dec = z_dec / np.linalg.norm(p["W_dec"], axis=1)
    x_hat = undo(z_dec @ p["W_dec"] + p["b_dec"])
    return z, x_hat


def random_weights(arch, d_in=D_IN, d_sae=D_SAE):
    w = {
        "W_enc": rng.normal(0, 1 / np.sqrt(d_in), (d_in, d_sae)),
        "W_dec": rng.normal(0, 1 / np.sqrt(d_in), (d_sae, d_in)),
        "b_dec": rng.normal(0, 0.2, d_in),
    }
    if arch != "gated":
        w["b_enc"] = rng.normal(0, 0.1, d_sae)
    if arch == "jumprelu":
        w["threshold"] = rng.uniform(0.05, 0.4, d_sae)
    if arch == "gated":
        w["b_gate"] = rng.normal(0, 0.1, d_sae)
        w["r_mag"] = rng.normal(0, 0.3, d_sae)
        w["b_mag"] = rng.normal(0, 0.1, d_sae)
    return {k: v.astype(np.float32) for k, v in w.items()}


# ---------------------------------------------------------------- fixtures

out_root = os.path.join(sys.argv[1], "sae")
os.makedirs(os.path.join(out_root, "io"), exist_ok=True)
fixtures, corrupt = [], []


def add_case(name, folder, weights64, params, x, meta):
    x = x.astype(np.float32).astype(np.float64)  # what Flowscope reads
    z, x_hat = reference(dict(weights64, **params), x)
    np.save(os.path.join(out_root, "io", name + ".x.npy"), x.astype(np.float32))
    np.save(os.path.join(out_root, "io", name + ".z.npy"), z.astype(np.float32))
    np.save(os.path.join(out_root, "io", name + ".xhat.npy"), x_hat.astype(np.float32))
    norms = np.abs(params.get("scaling_factor", 1.0)) * np.linalg.norm(weights64["W_dec"], axis=1)
    np.save(os.path.join(out_root, "io", name + ".norms.npy"), norms.astype(np.float32))
    fixtures.append(dict(meta, name=name, path=folder, input=f"io/{name}.x.npy",
                         z=f"io/{name}.z.npy", xhat=f"io/{name}.xhat.npy",
                         norms=f"io/{name}.norms.npy"))


def saelens_case(name, arch, dtype="F32", layer=3, hook="hook_resid_post", site="res",
                 flat=False, norm="none", apply_b_dec=True, k=None, rescale=False,
                 scaling_factor=None, scale_x=1.0):
    folder = os.path.join("saelens", name)
    w = random_weights(arch)
    tensors = dict(w)
    params = {"arch": arch, "norm": norm, "apply_b_dec": apply_b_dec, "k": k,
              "rescale": rescale}
    if scaling_factor is not None:
        tensors["scaling_factor"] = scaling_factor.astype(np.float32)
        params["scaling_factor"] = stored(scaling_factor, dtype)
    write_safetensors(os.path.join(out_root, folder, "sae_weights.safetensors"), tensors, dtype)
    hook_name = f"blocks.{layer}.{hook}"
    if flat:
        cfg = {"d_in": D_IN, "d_sae": D_SAE, "hook_point": hook_name, "hook_point_layer": layer,
               "apply_b_dec_to_input": apply_b_dec, "dtype": "float32",
               "normalize_activations": norm if norm != "none" else False,
               "activation_fn_str": "topk" if arch == "topk" else "relu"}
        if arch == "topk":
            cfg["activation_fn_kwargs"] = {"k": k}
        if arch not in ("standard", "topk"):
            cfg["architecture"] = arch
    else:
        cfg = {"architecture": arch, "d_in": D_IN, "d_sae": D_SAE, "dtype": "float32",
               "device": "cpu", "apply_b_dec_to_input": apply_b_dec,
               "normalize_activations": norm,
               "reshape_activations": "hook_z" if hook == "attn.hook_z" else "none",
               "metadata": {"sae_lens_version": "6.5.1", "model_name": "tiny",
                            "hook_name": hook_name, "hook_head_index": None,
                            "prepend_bos": True, "context_size": 128,
                            "neuronpedia_id": f"tiny/{layer}-{site}"}}
        if arch == "topk":
            cfg["k"] = k
            cfg["rescale_acts_by_decoder_norm"] = rescale
    write_json(os.path.join(out_root, folder, "cfg.json"), cfg)
    w64 = {key: stored(v, dtype) for key, v in w.items()}
    x = rng.normal(0, scale_x, (N_ROWS, D_IN))
    res_layer = layer - 1 if hook == "hook_resid_pre" else layer
    add_case(name, folder, w64, params, x,
             {"id": f"{res_layer}/{site}", "format": "saelens", "architecture": arch,
              "d_in": D_IN, "d_sae": D_SAE, "dtype": dtype, "hook_name": hook_name})


saelens_case("standard-f32", "standard")
saelens_case("standard-f16", "standard", dtype="F16", layer=4)
saelens_case("standard-bf16", "standard", dtype="BF16", layer=5)
saelens_case("jumprelu-f32", "jumprelu", hook="hook_mlp_out", site="mlp")
saelens_case("jumprelu-bf16", "jumprelu", dtype="BF16", layer=4, hook="hook_mlp_out", site="mlp")
saelens_case("topk-f32", "topk", layer=6, k=7)
saelens_case("topk-rescale-f16", "topk", dtype="F16", layer=7, k=5, rescale=True)
saelens_case("gated-f32", "gated", layer=8)
saelens_case("gated-bf16", "gated", dtype="BF16", layer=9)
saelens_case("no-b-dec-input", "jumprelu", layer=10, apply_b_dec=False)
saelens_case("constant-norm", "standard", layer=11, norm="constant_norm_rescale", scale_x=5.0)
saelens_case("layer-norm", "standard", layer=12, norm="layer_norm", scale_x=3.0)
saelens_case("scaling-factor", "standard", layer=13,
             scaling_factor=rng.uniform(0.5, 2.0, D_SAE))
saelens_case("attn-z", "jumprelu", layer=2, hook="attn.hook_z", site="att")
saelens_case("resid-pre", "standard", layer=15, hook="hook_resid_pre")
saelens_case("flat-standard", "standard", layer=16, flat=True)
saelens_case("flat-topk", "topk", layer=17, flat=True, k=9)
saelens_case("flat-gated", "gated", layer=18, flat=True)


# Gemma Scope trees: no config; JumpReLU without b_dec subtraction.
def gemmascope_case(name, repo, layer, l0, lower=False, compressed=False, width="16k"):
    w = random_weights("jumprelu")
    keys = {k: (k.lower() if lower and k.startswith("W_") else k) for k in w}
    sub = "embedding" if layer < 0 else f"layer_{layer}"
    folder = os.path.join("gemmascope", repo, sub, f"width_{width}", f"average_l0_{l0}")
    os.makedirs(os.path.join(out_root, folder), exist_ok=True)
    save = np.savez_compressed if compressed else np.savez
    save(os.path.join(out_root, folder, "params.npz"), **{keys[k]: v for k, v in w.items()})
    site = "res" if layer < 0 else repo.split("/")[0].split("-")[-1]
    hook = {"res": "hook_resid_post", "mlp": "hook_mlp_out", "att": "attn.hook_z"}[site]
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    x = rng.normal(0, 1.0, (N_ROWS, D_IN))
    pos = "embed" if layer < 0 else str(layer)
    add_case(name, folder, w64, {"arch": "jumprelu", "apply_b_dec": False}, x,
             {"id": f"{pos}/{site}", "format": "gemmascope", "architecture": "jumprelu",
              "d_in": D_IN, "d_sae": D_SAE, "dtype": "F32",
              "hook_name": "hook_embed" if layer < 0 else f"blocks.{layer}.{hook}",
              "average_l0": l0})


gemmascope_case("gs-res-3-canonical", "gemma-scope-2b-pt-res", 3, 59)
gemmascope_case("gs-res-3-other", "gemma-scope-2b-pt-res", 3, 12, compressed=True)
gemmascope_case("gs-res-4-a", "gemma-scope-2b-pt-res", 4, 20, lower=True)
gemmascope_case("gs-res-4-b", "gemma-scope-2b-pt-res", 4, 31)
gemmascope_case("gs-embed", "gemma-scope-2b-pt-res", -1, 40, width="4k")
gemmascope_case("gs-mlp-cache", "models--google--gemma-scope-2b-pt-mlp/snapshots/0123abcd",
                1, 17)
gemmascope_case("gs-att", "gemma-scope-2b-pt-att", 2, 25)


# Llama Scope: nn.Linear layout, dataset-wise normalisation, scalar threshold.
def llamascope_case(name, layer, letter, convention):
    d_model, d_sae = D_IN, D_SAE
    E = rng.normal(0, 1 / np.sqrt(d_model), (d_sae, d_model)).astype(np.float32)
    D = rng.normal(0, 0.5 / np.sqrt(d_model), (d_model, d_sae)).astype(np.float32)
    b_enc = rng.normal(0, 0.1, d_sae).astype(np.float32)
    b_dec = rng.normal(0, 0.2, d_model).astype(np.float32)
    thr, norm_in, norm_out = 0.15, 7.0, 11.0
    folder = os.path.join("llamascope", f"Llama3_1-8B-Base-L{layer}{letter}-8x-{convention}")
    site_hook = {"R": ("res", "hook_resid_post"), "M": ("mlp", "hook_mlp_out"),
                 "A": ("att", "hook_attn_out")}[letter]
    hook = f"blocks.{layer}.{site_hook[1]}"
    write_json(os.path.join(out_root, folder, "hyperparams.json"), {
        "hook_point_in": hook, "hook_point_out": hook, "d_model": d_model, "d_sae": d_sae,
        "act_fn": "jumprelu", "jump_relu_threshold": thr, "top_k": 8,
        "norm_activation": "dataset-wise",
        "dataset_average_activation_norm": {"in": norm_in, "out": norm_out}})
    write_safetensors(os.path.join(out_root, folder, "checkpoints", "final.safetensors"),
                      {"encoder.weight": E, "encoder.bias": b_enc,
                       "decoder.weight": D, "decoder.bias": b_dec})
    E, D, b_enc, b_dec = (a.astype(np.float64) for a in (E, D, b_enc, b_dec))
    f_in, f_out = np.sqrt(d_model) / norm_in, np.sqrt(d_model) / norm_out
    x = (rng.normal(0, 1.0, (N_ROWS, d_model)) * 2.0).astype(np.float32).astype(np.float64)
    if convention == "reference":
        # lm-saes: fold the dataset-wise norms, then move decoder norms into the encoder.
        b_enc, b_dec, D = b_enc / f_in, b_dec / f_out, D * (f_in / f_out)
        n = np.linalg.norm(D, axis=0)
        D, E, b_enc = D / n, E * n[:, None], b_enc * n
        pre = x @ E.T + b_enc
        z = pre * (pre > thr)
        decoder_rows = D.T
    else:
        pre = x @ E.T + b_enc
        z = pre * (pre > thr * f_in)
        decoder_rows = D.T
    x_hat = z @ decoder_rows + b_dec
    io = os.path.join(out_root, "io")
    np.save(os.path.join(io, name + ".x.npy"), x.astype(np.float32))
    np.save(os.path.join(io, name + ".z.npy"), z.astype(np.float32))
    np.save(os.path.join(io, name + ".xhat.npy"), x_hat.astype(np.float32))
    np.save(os.path.join(io, name + ".norms.npy"),
            np.linalg.norm(decoder_rows, axis=1).astype(np.float32))
    fixtures.append({"name": name, "path": folder, "id": f"{layer}/{site_hook[0]}",
                     "format": "llamascope", "architecture": "jumprelu", "d_in": d_model,
                     "d_sae": d_sae, "dtype": "F32", "hook_name": hook,
                     "llamascope_threshold": convention,
                     "input": f"io/{name}.x.npy", "z": f"io/{name}.z.npy",
                     "xhat": f"io/{name}.xhat.npy", "norms": f"io/{name}.norms.npy"})


llamascope_case("ls-res-reference", 5, "R", "reference")
llamascope_case("ls-res-saelens", 6, "R", "saelens")


# ---------------------------------------------------------------- bad folders

def bad(name, expect, files):
    folder = os.path.join("corrupt", name)
    for rel, content in files.items():
        path = os.path.join(out_root, folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            open(path, "wb").write(content)
        elif isinstance(content, str):
            open(path, "w").write(content)
        else:
            write_json(path, content)
    corrupt.append({"name": name, "path": folder, "expect": expect})


def good_cfg(**changes):
    cfg = {"architecture": "standard", "d_in": D_IN, "d_sae": D_SAE,
           "metadata": {"sae_lens_version": "6.0.0", "hook_name": "blocks.1.hook_resid_post"}}
    cfg.update(changes)
    return cfg


def weights_file(arch="standard", **replace):
    w = random_weights(arch)
    w.update(replace)
    w = {k: v for k, v in w.items() if v is not None}
    path = os.path.join(out_root, "tmp.safetensors")
    write_safetensors(path, w)
    data = open(path, "rb").read()
    os.remove(path)
    return data


bad("cfg-not-json", "not valid JSON", {"cfg.json": "{\"d_in\": 24,", "sae_weights.safetensors": weights_file()})
bad("cfg-not-object", "not a JSON object", {"cfg.json": "[1, 2]", "sae_weights.safetensors": weights_file()})
bad("cfg-missing-d-in", "d_in and d_sae are required",
    {"cfg.json": {k: v for k, v in good_cfg().items() if k != "d_in"},
     "sae_weights.safetensors": weights_file()})
bad("cfg-negative-d-sae", "“d_sae” must be an integer",
    {"cfg.json": good_cfg(d_sae=-4), "sae_weights.safetensors": weights_file()})
bad("cfg-fractional-d-in", "“d_in” must be an integer",
    {"cfg.json": good_cfg(d_in=24.5), "sae_weights.safetensors": weights_file()})
bad("cfg-unknown-architecture", "unsupported architecture “matryoshka”",
    {"cfg.json": good_cfg(architecture="matryoshka"), "sae_weights.safetensors": weights_file()})
bad("cfg-bad-hook", "is not a residual, MLP or attention output site",
    {"cfg.json": good_cfg(metadata={"sae_lens_version": "6.0.0",
                                    "hook_name": "blocks.1.ln1.hook_normalized"}),
     "sae_weights.safetensors": weights_file()})
bad("cfg-bad-normalisation", "unsupported normalize_activations",
    {"cfg.json": good_cfg(normalize_activations="whiten"), "sae_weights.safetensors": weights_file()})
bad("cfg-topk-without-k", "needs 0 < k <= d_sae",
    {"cfg.json": good_cfg(architecture="topk"), "sae_weights.safetensors": weights_file()})
bad("cfg-bad-seqpos-slice", "seqpos_slice is not a slice",
    {"cfg.json": good_cfg(metadata={"sae_lens_version": "6.0.0",
                                    "hook_name": "blocks.1.hook_resid_post",
                                    "seqpos_slice": ["1", None]}),
     "sae_weights.safetensors": weights_file()})
bad("weights-missing", "sae_weights.safetensors", {"cfg.json": good_cfg()})
bad("weights-corrupt", "sae_weights.safetensors", {"cfg.json": good_cfg(),
                                                   "sae_weights.safetensors": b"\x05\x00"})
bad("w-enc-wrong-shape", "tensor “W_enc” has shape [24, 79]",
    {"cfg.json": good_cfg(),
     "sae_weights.safetensors": weights_file(W_enc=np.zeros((D_IN, D_SAE - 1), np.float32))})
bad("w-dec-missing", "tensor “W_dec” is missing",
    {"cfg.json": good_cfg(), "sae_weights.safetensors": weights_file(W_dec=None)})
bad("threshold-missing", "needs threshold",
    {"cfg.json": good_cfg(architecture="jumprelu"), "sae_weights.safetensors": weights_file()})
bad("gemmascope-outside-repo", "cannot tell the site",
    {"somewhere/layer_2/width_16k/average_l0_10/params.npz": open(os.path.join(
        out_root, "gemmascope/gemma-scope-2b-pt-res/layer_3/width_16k/average_l0_59/params.npz"),
        "rb").read()})
bad("gemmascope-bad-tree", "outside a Gemma Scope tree",
    {"gemma-scope-2b-pt-res/params.npz": b"PK\x05\x06" + b"\x00" * 18})
bad("llamascope-bad-act", "unsupported act_fn “softplus”",
    {"hyperparams.json": {"hook_point_out": "blocks.1.hook_resid_post", "d_model": D_IN,
                          "d_sae": D_SAE, "act_fn": "softplus", "jump_relu_threshold": 0.1}})
bad("llamascope-bad-norm", "dataset_average_activation_norm needs positive",
    {"hyperparams.json": {"hook_point_out": "blocks.1.hook_resid_post", "d_model": D_IN,
                          "d_sae": D_SAE, "act_fn": "jumprelu", "jump_relu_threshold": 0.1,
                          "norm_activation": "dataset-wise",
                          "dataset_average_activation_norm": {"in": 0, "out": 3}}})

write_json(os.path.join(out_root, "expected.json"), {"saes": fixtures, "corrupt": corrupt})
open(sys.argv[2], "w").write("ok\n")
