#!/usr/bin/python3
"""Writes SAELens SAEs sized for the tiny models of make-tiny-models.py and
the logits of those models steered through them: OUTDIR/steer/.

Usage: make-steer-fixtures.py OUTDIR STAMP   (after make-tiny-models.py)

For each model, SAEs at several sites (embedding, residual, MLP, attention
output, attn.hook_z), standard, JumpReLU and TopK, F32 and one BF16. Every
decoder row v_i has an encoder column w_i with w_i . v_i = 1 (plus noise
orthogonal to v_i), so that removing a_i v_i from h brings the feature's
re-encoded activation to zero: the invariants of test-steer.c rely on it.

The steered logits come from the PyTorch forward passes of
make-tiny-models.py (imported, float64, on the stored weights read back from
the model folders) with the interventions of METHOD.md section 4 written
here from the SAELens encoder semantics; nothing here calls Flowscope.
Features are chosen active on many tokens and with every JumpReLU threshold
and TopK boundary at least MARGIN away, so that float32 rounding cannot flip
an activation.

OUTDIR/steer/expected.json lists per model the SAEs, chosen features and the
cases (interventions, positions steered, logits file).
"""

import importlib.util
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "tiny", os.path.join(HERE, "..", "model", "make-tiny-models.py"))
tiny = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tiny)

torch.manual_seed(20250302)
F64 = torch.float64
MARGIN = 1e-3
N_PROMPT = 8        # the prompt/generated boundary of the position-restricted cases
MODELS = ["gpt2-f32", "gemma2-f32", "llama-f32", "gemma2-bf16"]
FORWARDS = {"gpt2": tiny.gpt2_forward, "gemma2": tiny.gemma2_forward,
            "llama": tiny.llama_forward}


class Margin(Exception):
    """A steered feature too close to a discontinuity of its activation."""


# ---------------------------------------------------------------- reading models

DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


def read_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = np.frombuffer(data[b:e], DTYPES[info["dtype"]][0])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(raw.astype(np.float64)).reshape(info["shape"])
    return out


def read_model(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    stored = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            stored.update(read_safetensors(os.path.join(folder, f)))
    if cfg["model_type"] != "gpt2":
        return cfg, stored
    w = {}
    for name, t in stored.items():
        name = name[len("transformer."):] if name.startswith("transformer.") else name
        if name.endswith("attn.bias") and t.dim() == 4:
            continue  # the old causal-mask buffer
        w[{"wte.weight": "wte", "wpe.weight": "wpe"}.get(name, name)] = t
    return cfg, w


def dims(cfg):
    if cfg["model_type"] == "gpt2":
        d, H = cfg["n_embd"], cfg["n_head"]
        return d, d, cfg["n_layer"]
    H, dh = cfg["num_attention_heads"], cfg["head_dim"]
    return cfg["hidden_size"], H * dh, cfg["num_hidden_layers"]


# ---------------------------------------------------------------- SAEs

def write_safetensors(path, tensors, dtype):
    header, data = {}, b""
    for name, t in tensors.items():
        b = tiny.stored_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def make_sae(folder, name, hook, arch, d_in, dtype="F32", norm="none", k=None):
    """Writes a SAELens v6 folder; returns its float64 parameters as stored."""
    d_sae = 4 * d_in
    W_dec = torch.randn(d_sae, d_in, dtype=F64) / math.sqrt(d_in)
    W_dec *= torch.empty(d_sae, 1, dtype=F64).uniform_(0.6, 1.4)
    # w_i = v_i / |v_i|^2 + noise orthogonal to v_i: w_i . v_i = 1.
    noise = torch.randn(d_sae, d_in, dtype=F64) / math.sqrt(d_in)
    unit = W_dec / W_dec.norm(dim=1, keepdim=True)
    noise -= (noise * unit).sum(1, keepdim=True) * unit
    W_enc = (W_dec / (W_dec.norm(dim=1, keepdim=True) ** 2) + 0.5 * noise).T.contiguous()
    w = {"W_enc": W_enc, "W_dec": W_dec, "b_dec": 0.1 * torch.randn(d_in, dtype=F64),
         "b_enc": 0.1 * torch.randn(d_sae, dtype=F64)}
    if arch == "jumprelu":
        w["threshold"] = torch.empty(d_sae, dtype=F64).uniform_(0.05, 0.4)
    cfg = {"architecture": arch, "d_in": d_in, "d_sae": d_sae, "dtype": "float32",
           "device": "cpu", "apply_b_dec_to_input": True, "normalize_activations": norm,
           "reshape_activations": "hook_z" if hook.endswith("hook_z") else "none",
           "metadata": {"sae_lens_version": "6.5.1", "model_name": "tiny", "hook_name": hook,
                        "hook_head_index": None, "prepend_bos": False, "context_size": 64,
                        "neuronpedia_id": f"tiny/{name}"}}
    if arch == "topk":
        cfg["k"] = k
        cfg["rescale_acts_by_decoder_norm"] = False
    path = os.path.join(folder, name)
    os.makedirs(path)
    with open(os.path.join(path, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    write_safetensors(os.path.join(path, "sae_weights.safetensors"),
                      {n: t.float() for n, t in w.items()}, dtype)
    p = {n: tiny.rounded(t.float(), dtype) for n, t in w.items()}
    p.update(arch=arch, norm=norm, k=k, name=name, hook=hook, dtype=dtype)
    return p


def hook_site(hook):
    """TransformerLens hook name -> (layer, point of the reference forward)."""
    parts = hook.split(".")
    point = {"hook_resid_pre": "resid_pre", "hook_resid_post": "resid_post",
             "hook_mlp_out": "mlp_out", "hook_attn_out": "attn_out", "hook_z": "z"}[parts[-1]]
    return int(parts[1]), point


def feature_id(p, index):
    layer, point = hook_site(p["hook"])
    if point == "resid_pre":
        pos = "embed/res" if layer == 0 else f"{layer - 1}/res"
    else:
        pos = f"{layer}/" + {"resid_post": "res", "mlp_out": "mlp", "attn_out": "att",
                             "z": "att"}[point]
    return f"{pos}/{index}"


def encode(p, x, check=()):
    """SAELens encoding of x [T, d_in]: (z [T, d_sae], gain [T, 1]) where gain
    undoes the input normalisation when decoding. Raises Margin when a
    feature in `check` sits within MARGIN of a discontinuity."""
    gain = torch.ones(x.shape[0], 1, dtype=F64)
    if p["norm"] == "constant_norm_rescale":
        scale = math.sqrt(x.shape[1]) / x.norm(dim=1, keepdim=True)
        x, gain = x * scale, 1 / scale
    pre = (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    if p["arch"] == "standard":
        z = pre.clamp(min=0)
    elif p["arch"] == "jumprelu":
        z = pre * (pre > p["threshold"])
        for i in check:
            if (pre[:, i] - p["threshold"][i]).abs().min() < MARGIN:
                raise Margin()
    else:
        top = torch.topk(pre, p["k"] + 1, dim=1).values
        kth, next_ = top[:, p["k"] - 1:p["k"]], top[:, p["k"]:p["k"] + 1]
        z = torch.where(pre >= kth, pre.clamp(min=0), torch.zeros_like(pre))
        for i in check:
            inside = pre[:, i:i + 1] >= kth
            margin = torch.where(inside, pre[:, i:i + 1] - next_, kth - pre[:, i:i + 1])
            if ((pre[:, i:i + 1] > 0) & (margin < MARGIN)).any():
                raise Margin()
    return z, gain


def site_edit(items, rows):
    """The reference intervention at one site: every a from the original x,
    then h += coef * gain * v on the steered rows."""
    def edit(x):
        out = x.clone()
        for p, index, op, value in items:
            z, gain = encode(p, x, check=[index] if op != "add" else [])
            a = z[:, index:index + 1]
            coef = {"scale": (value - 1) * a, "add": value * torch.ones_like(a),
                    "clamp": value - a}[op]
            delta = coef * gain * p["W_dec"][index][None, :]
            out[rows] += delta[rows]
        return out
    return edit


def steered_logits(forward, cfg, w, tokens, interventions, which):
    T = len(tokens)
    rows = {"all": slice(0, T), "prompt": slice(0, N_PROMPT),
            "generated": slice(N_PROMPT, T)}[which]
    sites = {}
    for p, index, op, value in interventions:
        sites.setdefault(hook_site(p["hook"]), []).append((p, index, op, value))
    edits = {site: site_edit(items, rows) for site, items in sites.items()}
    return forward(cfg, w, tokens, tiny.Hooks(edits))


def ranked_features(p, acts):
    """Features by the number of tokens where they are active, most first."""
    z, _ = encode(p, acts)
    counts = (z > 0).sum(0)
    return [int(i) for i in torch.argsort(-counts.to(F64) - 1e-6 * torch.arange(len(counts)))]


# ---------------------------------------------------------------- cases

SAES = {}   # model name -> {sae name: parameters}, for analysis()


def emit(root, model_root, name):
    cfg, w = read_model(os.path.join(model_root, name))
    forward = FORWARDS[cfg["model_type"]]
    tokens = next(m["tokens"] for m in json.load(open(os.path.join(model_root, "expected.json")))
                  ["models"] if m["name"] == name)
    d, dz, n_layers = dims(cfg)
    last = min(2, n_layers - 1)
    folder = os.path.join(root, name)
    saes_dir = os.path.join(folder, "saes")
    os.makedirs(saes_dir)
    saes = {
        "emb-res": make_sae(saes_dir, "emb-res", "blocks.0.hook_resid_pre", "standard", d),
        "0-res": make_sae(saes_dir, "0-res", "blocks.0.hook_resid_post", "jumprelu", d),
        "1-res": make_sae(saes_dir, "1-res", "blocks.1.hook_resid_post", "topk", d, k=d // 2),
        "1-mlp": make_sae(saes_dir, "1-mlp", "blocks.1.hook_mlp_out", "standard", d),
        "0-att": make_sae(saes_dir, "0-att", "blocks.0.hook_attn_out", "jumprelu", d),
        f"{last}-attz": make_sae(saes_dir, f"{last}-attz", f"blocks.{last}.attn.hook_z",
                                 "jumprelu", dz),
        f"{last}-mlp": make_sae(saes_dir, f"{last}-mlp", f"blocks.{last}.hook_mlp_out",
                                "jumprelu", d, dtype="BF16"),
        f"{last}-res": make_sae(saes_dir, f"{last}-res", f"blocks.{last}.hook_resid_post",
                                "standard", d, norm="constant_norm_rescale"),
    }
    SAES[name] = saes
    hooks = tiny.Hooks()
    forward(cfg, w, tokens, hooks)
    ranked = {}
    for key, p in saes.items():
        layer, point = hook_site(p["hook"])
        hook = f"blocks.{layer}.attn.hook_z" if point == "z" else f"blocks.{layer}.hook_{point}"
        ranked[key] = ranked_features(p, hooks.acts[hook])

    plans = [
        ("scale0", "all", [("0-res", 0, "scale", 0.0)]),
        ("scale2", "all", [("1-res", 0, "scale", 2.0)]),
        ("add3", "all", [("1-mlp", 0, "add", 3.0)]),
        ("clamp", "all", [("0-att", 0, "clamp", 0.5)]),
        ("two-at-one-site", "all", [("0-res", 0, "scale", -1.0), ("0-res", 1, "clamp", 0.5),
                                    ("0-res", 2, "add", 1.5)]),
        ("several-layers", "all", [("emb-res", 0, "add", 1.0), ("1-res", 1, "scale", 0.0),
                                   (f"{last}-attz", 0, "scale", 2.0),
                                   (f"{last}-mlp", 0, "clamp", 1.0)]),
        ("normalised", "all", [(f"{last}-res", 0, "scale", 0.0), (f"{last}-res", 1, "add", 2.0)]),
        ("prompt-only", "prompt", [("1-mlp", 0, "add", 3.0), ("0-res", 0, "scale", 0.0)]),
        ("generated-only", "generated", [("0-res", 0, "scale", 0.0), ("1-res", 0, "clamp", 2.0)]),
    ]
    os.makedirs(os.path.join(folder, "cases"))
    cases = []
    for case, which, plan in plans:
        for attempt in range(24):
            interventions = [(saes[s], ranked[s][rank + attempt], op, value)
                             for s, rank, op, value in plan]
            try:
                logits = steered_logits(forward, cfg, w, tokens, interventions, which)
                break
            except Margin:
                continue
        else:
            raise SystemExit(f"{name}/{case}: no feature far enough from its thresholds")
        file = os.path.join("cases", case + ".npy")
        np.save(os.path.join(folder, file), logits.to(torch.float32).numpy())
        cases.append({"name": case, "tokens": which, "n_prompt": N_PROMPT, "logits": file,
                      "interventions": [{"sae": p["name"], "feature": feature_id(p, i),
                                         "index": i, "op": op, "value": value}
                                        for p, i, op, value in interventions]})
    unsteered = forward(cfg, w, tokens, tiny.Hooks())
    np.save(os.path.join(folder, "logits.npy"), unsteered.to(torch.float32).numpy())
    return {"name": name, "model": os.path.join("model", name), "tokens": tokens,
            "saes": [{"name": k, "hook": p["hook"], "architecture": p["arch"],
                      "dtype": p["dtype"], "normalization": p["norm"],
                      "feature": feature_id(p, ranked[k][0]), "index": ranked[k][0],
                      "tied": p["dtype"] == "F32" and p["norm"] == "none"}
                     for k, p in saes.items()],
            "cases": cases}


# ---------------------------------------------------------------- groups and causal

ANALYSIS_MODEL = "gpt2-f32"   # the tiny model with a tokenizer
ANALYSIS_TOKENS = 90          # more than its 64 positions: two windows
ANALYSIS_RS = [0.0, 2.0]
# Every "active" decision (z > 0) of every SAE on the text this far from its
# flip: float32 hidden states differ from these by about 1e-6 relative.
DECISION_MARGIN = 3e-5


def text_ids(text):
    """The gpt2-f32 tokenizer of make-tiny-models.py: one token per
    character, printable ASCII from id 0, space (Ġ) 94."""
    return [94 if c == " " else ord(c) - 33 for c in text]


def decisions_margin(p, x, column=None):
    """The smallest distance of any latent of x (or of one column) to where
    its activity (z > 0) flips."""
    if p["norm"] == "constant_norm_rescale":
        x = x * (math.sqrt(x.shape[1]) / x.norm(dim=1, keepdim=True))
    pre = (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    cols = slice(None) if column is None else slice(column, column + 1)
    if p["arch"] == "jumprelu":
        return float((pre - p["threshold"])[:, cols].abs().min())
    margin = float(pre[:, cols].abs().min())
    if p["arch"] == "topk":
        top = torch.topk(pre, p["k"] + 1, dim=1).values
        margin = min(margin, float((top[:, p["k"] - 1] - top[:, p["k"]]).abs().min()))
    return margin


def unit_rows(m):
    return m / m.norm(dim=1, keepdim=True)


def top1(target_row, candidates):
    """Top-1 positive cosine match: (index, score, gap to the second, the second)."""
    scores = unit_rows(candidates) @ (target_row / target_row.norm())
    best = torch.topk(scores, 2)
    if best.values[0] <= 0:
        return -1, 0.0, float("inf"), -1
    return (int(best.indices[0]), float(best.values[0]), float(best.values[0] - best.values[1]),
            int(best.indices[1]))


def windowed(forward, cfg, w, tokens, window, edits=None):
    """Hook activations and the mean next-token loss, window by window."""
    acts, nll, count = {}, 0.0, 0
    for w0 in range(0, len(tokens), window):
        part = tokens[w0:w0 + window]
        hooks = tiny.Hooks(edits)
        logits = forward(cfg, w, part, hooks)
        lp = torch.log_softmax(logits, -1)
        for t in range(len(part) - 1):
            nll -= float(lp[t, part[t + 1]])
            count += 1
        for name, a in hooks.acts.items():
            acts.setdefault(name, []).append(a)
    return {k: torch.cat(v) for k, v in acts.items()}, nll / count


def sae_input(p, acts):
    layer, point = hook_site(p["hook"])
    return acts[f"blocks.{layer}.attn.hook_z" if point == "z" else f"blocks.{layer}.hook_{point}"]


def analysis(root, model_root, saes_by_model):
    """Reference groups (METHOD.md 2) and deactivation test (section 5) on a
    text, for `flowscope-cli groups` and `causal`."""
    cfg, w = read_model(os.path.join(model_root, ANALYSIS_MODEL))
    window = cfg["n_positions"]
    saes = saes_by_model
    by_pos = {}
    for p in saes.values():
        layer, point = hook_site(p["hook"])
        by_pos[feature_id(p, 0).rsplit("/", 1)[0]] = p
    W_o = w["h.2.attn.c_proj.weight"]   # Conv1D [in, out]: attn_out = z @ W_o + b

    def directions(p):
        """Decoder rows in the residual's space (hook_z SAEs projected)."""
        return p["W_dec"] @ W_o if hook_site(p["hook"])[1] == "z" else p["W_dec"]

    gen = torch.Generator().manual_seed(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz    "
    for attempt in range(50):
        text = "".join(alphabet[int(i)] for i in
                       torch.randint(0, len(alphabet), (ANALYSIS_TOKENS,), generator=gen))
        tokens = text_ids(text)
        acts, loss = windowed(tiny.gpt2_forward, cfg, w, tokens, window)
        if min(decisions_margin(p, sae_input(p, acts)) for p in saes.values()) > DECISION_MARGIN:
            break
    else:
        raise SystemExit("no analysis text far enough from every activation threshold")

    z = {pos: encode(p, sae_input(p, acts))[0] for pos, p in by_pos.items()}
    groups = []
    for layer in range(cfg["n_layer"]):
        target = by_pos.get(f"{layer}/res")
        if target is None:
            continue
        preds = [by_pos.get("embed/res" if layer == 0 else f"{layer - 1}/res"),
                 by_pos.get(f"{layer}/mlp"), by_pos.get(f"{layer}/att")]
        pred_pos = ["embed/res" if layer == 0 else f"{layer - 1}/res", f"{layer}/mlp",
                    f"{layer}/att"]
        zt = z[f"{layer}/res"]
        counts = [0] * 8
        for f in range(zt.shape[1]):
            matches = []
            for k, p in enumerate(preds):
                if p is None:
                    matches.append(-1)
                    continue
                index, _, gap, second = top1(target["W_dec"][f], directions(p))
                on = zt[:, f] > 0
                zp = z[pred_pos[k]]
                if index >= 0 and gap < 1e-6 and ((zp[on, index] > 0) != (zp[on, second] > 0)).any():
                    raise SystemExit(f"groups: near-tie matching {layer}/res/{f} at {pred_pos[k]}: {index} {second} gap {gap}")
                matches.append(index)
            for t in range(zt.shape[0]):
                if zt[t, f] <= 0:
                    continue
                g = 0
                for k in range(3):
                    if matches[k] >= 0 and z[pred_pos[k]][t, matches[k]] > 0:
                        g |= 1 << k
                counts[g] += 1
        groups.append({"layer": layer, "occurrences": sum(counts), "counts": counts})

    # Causal: the most often active 2/res feature against its predecessors.
    target = by_pos["2/res"]
    zt = z["2/res"]
    index = int(torch.argmax((zt > 0).sum(0)))
    preds = []
    for kind, pos in (("res", "1/res"), ("mlp", "2/mlp"), ("att", "2/att")):
        p = by_pos[pos]
        pi, score, gap, _ = top1(target["W_dec"][index], directions(p))
        assert pi >= 0 and gap > 1e-6, (pos, pi, gap)
        trials = []
        co = (zt[:, index] > 0) & (z[pos][:, pi] > 0)
        for r in ANALYSIS_RS:
            layer, point = hook_site(p["hook"])
            steered, new_loss = windowed(tiny.gpt2_forward, cfg, w, tokens, window,
                                         {(layer, point): site_edit([(p, pi, "scale", r)],
                                                                    slice(None))})
            z_new = encode(target, sae_input(target, steered))[0][:, index]
            if decisions_margin(target, sae_input(target, steered), index) < DECISION_MARGIN:
                raise SystemExit(f"causal: {pos}/{pi} r={r} leaves the target near 0")
            old = zt[co, index]
            trials.append({"r": r, "co_active": int(co.sum()),
                           "activation_change": float((1 - z_new[co] / old).mean())
                           if co.any() else None,
                           "success": float((z_new[co] <= 0).double().mean())
                           if co.any() else None,
                           "loss": new_loss, "loss_change": (new_loss - loss) / loss})
        preds.append({"feature": f"{pos}/{pi}", "kind": kind, "score": score,
                      "trials": trials})
    doc = {"model": os.path.join("model", ANALYSIS_MODEL),
           "saes": os.path.join("steer", ANALYSIS_MODEL, "saes"), "text": text,
           "tokens": tokens, "groups": groups,
           "causal": {"feature": f"2/res/{index}", "target_active": int((zt[:, index] > 0).sum()),
                      "loss": loss, "predecessors": preds}}
    with open(os.path.join(root, "analysis.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(root, "analysis.json"), "w") as f:
        json.dump(doc, f, indent=1)


def main():
    outdir, stamp = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    root = os.path.join(outdir, "steer")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    models = [emit(root, os.path.join(outdir, "model"), name) for name in MODELS]
    analysis(root, os.path.join(outdir, "model"), SAES[ANALYSIS_MODEL])
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump({"models": models}, f, indent=1)
    with open(stamp, "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
