#!/usr/bin/python3
"""Writes tiny random transformer models and their golden outputs:
OUTDIR/model/<name>/.

Usage: make-tiny-models.py OUTDIR STAMP

Every model is a Hugging Face folder (config.json + model.safetensors, or
shards + model.safetensors.index.json) with random weights from a fixed
torch seed. The safetensors files are written by hand from the format
description. The golden outputs come from the forward passes below, written
here from the transformers semantics (GPT2LMHeadModel, Gemma2ForCausalLM,
LlamaForCausalLM) in float64 on the stored (possibly BF16/F16-rounded)
weights; nothing here calls Flowscope.

Per model:
  logits.npy          float32 [T, V]: logits at every position of `tokens`
  hooks.npz           float32 hook activations, TransformerLens names
                      (blocks.L.hook_resid_pre, blocks.L.attn.hook_z, ...)
  logits-ablated.npy  logits with head 1 of layer 0's hook_z and layer 1's
                      hook_mlp_out zeroed
  hooks-tl.npz        (GPT-2) the activations of TransformerLens' processed
                      model: writing weights centred, value biases folded
expected.json lists the models, tokens, greedy continuations and the error
fixtures with the text their message must contain.
"""

import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch

torch.manual_seed(20240917)
torch.set_num_threads(1)

F64 = torch.float64
SEQ_LEN = 20
GREEDY_PROMPT, GREEDY_NEW = 6, 10


# ---------------------------------------------------------------- safetensors

def stored_bytes(t, dtype):
    """Little-endian bytes of tensor `t` in a safetensors dtype."""
    if dtype == "F32":
        return t.to(torch.float32).numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2").tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(dtype)


def rounded(t, dtype):
    """The values a reader of `dtype` sees, as float64."""
    torch_dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    return t.to(torch_dtype).to(F64)


def write_safetensors(path, tensors, dtype):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, t in tensors.items():
        b = stored_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def write_model(folder, config, tensors, dtype, shards=1):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, dtype)
        return
    names = list(tensors)
    weight_map = {}
    for s in range(shards):
        shard = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        write_safetensors(os.path.join(folder, shard), part, dtype)
        weight_map.update({n: shard for n in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


# ---------------------------------------------------------------- building blocks

def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps, plus_one):
    y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    return y * (1 + w) if plus_one else y * w


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + torch.exp(-x))


def rope(x, inv_freq):
    """x [T, H, dh], rotate_half convention (first half pairs with second)."""
    pos = torch.arange(x.shape[0], dtype=F64)
    angles = pos[:, None] * inv_freq[None, :]
    cos = torch.cat([angles.cos(), angles.cos()], -1)[:, None, :]
    sin = torch.cat([angles.sin(), angles.sin()], -1)[:, None, :]
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


def attention(q, k, v, scale, softcap=None, window=None):
    """q [T, H, dh], k/v [T, KV, dh] -> z [T, H * dh] (heads concatenated)."""
    T, H, dh = q.shape
    group = H // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    s = torch.einsum("qhd,khd->hqk", q, k) * scale
    if softcap is not None:
        s = softcap * torch.tanh(s / softcap)
    qi = torch.arange(T)[:, None]
    ki = torch.arange(T)[None, :]
    masked = ki > qi
    if window is not None:
        masked |= (qi - ki) >= window
    s = s.masked_fill(masked[None], float("-inf"))
    p = torch.softmax(s, -1)
    return torch.einsum("hqk,khd->qhd", p, v).reshape(T, H * dh)


class Hooks:
    """Records every hook activation; applies ablations {(layer, point): fn}."""

    def __init__(self, edits=None):
        self.acts, self.edits = {}, edits or {}

    def __call__(self, layer, point, x):
        key = (layer, point)
        if key in self.edits:
            x = self.edits[key](x.clone())
        name = f"blocks.{layer}.attn.hook_z" if point == "z" else f"blocks.{layer}.hook_{point}"
        self.acts[name] = x.clone()
        return x


# ---------------------------------------------------------------- GPT-2

def gpt2_forward(cfg, w, tokens, hooks):
    d, H = cfg["n_embd"], cfg["n_head"]
    dh, eps = d // H, cfg["layer_norm_epsilon"]
    T = len(tokens)
    x = w["wte"][tokens] + w["wpe"][:T]
    for L in range(cfg["n_layer"]):
        p = f"h.{L}."
        x = hooks(L, "resid_pre", x)
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.reshape(T, H, dh) for t in qkv.split(d, -1))
        z = hooks(L, "z", attention(q, k, v, 1 / math.sqrt(dh)))
        attn_out = z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        x = x + hooks(L, "attn_out", attn_out)
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        h = gelu_tanh(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        mlp_out = h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        x = x + hooks(L, "mlp_out", mlp_out)
        x = hooks(L, "resid_post", x)
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w.get("unembed", w["wte"]).T


def transformerlens_process(cfg, w):
    """TransformerLens' center_writing_weights and fold_value_biases, done
    on the weights: every vector written to the residual loses its mean over
    d_model, and the value bias moves into the output bias."""
    w = dict(w, unembed=w["wte"])  # the tied unembedding is a separate, uncentred copy
    d = cfg["n_embd"]
    for name in ("wte", "wpe"):
        w[name] = w[name] - w[name].mean(-1, keepdim=True)
    for L in range(cfg["n_layer"]):
        for part in ("attn.c_proj", "mlp.c_proj"):
            p = f"h.{L}.{part}."
            w[p + "weight"] = w[p + "weight"] - w[p + "weight"].mean(-1, keepdim=True)
            w[p + "bias"] = w[p + "bias"] - w[p + "bias"].mean()
        p = f"h.{L}.attn."
        b = w[p + "c_attn.bias"].clone()
        w[p + "c_proj.bias"] = w[p + "c_proj.bias"] + b[2 * d:] @ w[p + "c_proj.weight"]
        b[2 * d:] = 0
        w[p + "c_attn.bias"] = b
    return w


def make_gpt2(d, H, layers, vocab, n_pos, prefix):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab,
           "n_positions": n_pos, "n_ctx": n_pos, "n_embd": d, "n_layer": layers, "n_head": H,
           "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
           "bos_token_id": vocab - 1, "eos_token_id": vocab - 1, "scale_attn_weights": True,
           "tie_word_embeddings": True}
    w = {"wte": torch.randn(vocab, d), "wpe": 0.5 * torch.randn(n_pos, d),
         "ln_f.weight": 1 + 0.1 * torch.randn(d), "ln_f.bias": 0.1 * torch.randn(d)}
    for L in range(layers):
        p = f"h.{L}."
        w[p + "ln_1.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "ln_1.bias"] = 0.1 * torch.randn(d)
        w[p + "attn.c_attn.weight"] = torch.randn(d, 3 * d) / math.sqrt(d) * 1.5
        w[p + "attn.c_attn.bias"] = 0.3 * torch.randn(3 * d)
        w[p + "attn.c_proj.weight"] = torch.randn(d, d) / math.sqrt(d)
        w[p + "attn.c_proj.bias"] = 0.1 * torch.randn(d) + 0.3
        w[p + "ln_2.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "ln_2.bias"] = 0.1 * torch.randn(d)
        w[p + "mlp.c_fc.weight"] = torch.randn(d, 4 * d) / math.sqrt(d)
        w[p + "mlp.c_fc.bias"] = 0.1 * torch.randn(4 * d)
        w[p + "mlp.c_proj.weight"] = torch.randn(4 * d, d) / math.sqrt(4 * d)
        w[p + "mlp.c_proj.bias"] = 0.1 * torch.randn(d) - 0.2
    stored = {prefix + (n + ".weight" if n in ("wte", "wpe") else n): t for n, t in w.items()}
    # The causal-mask buffer of old checkpoints: must be ignored.
    stored[prefix + "h.0.attn.bias"] = torch.tril(torch.ones(1, 1, n_pos, n_pos))
    return cfg, w, stored, gpt2_forward


# ---------------------------------------------------------------- Gemma 2

def gemma2_forward(cfg, w, tokens, hooks):
    d, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh, eps = cfg["head_dim"], cfg["rms_norm_eps"]
    T = len(tokens)
    inv_freq = 1.0 / cfg["rope_theta"] ** (torch.arange(0, dh, 2, dtype=F64) / dh)
    # transformers multiplies by sqrt(d) cast to the activation dtype (float32 here).
    x = w["model.embed_tokens.weight"][tokens] * float(np.float32(d ** 0.5))
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        x = hooks(L, "resid_pre", x)
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps, True)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, dh)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, KV, dh)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, KV, dh)
        window = cfg["sliding_window"] if L % 2 == 0 else None
        z = attention(rope(q, inv_freq), rope(k, inv_freq), v,
                      cfg["query_pre_attn_scalar"] ** -0.5, cfg["attn_logit_softcapping"], window)
        z = hooks(L, "z", z)
        o = z @ w[p + "self_attn.o_proj.weight"].T
        x = x + hooks(L, "attn_out", rms_norm(o, w[p + "post_attention_layernorm.weight"], eps, True))
        m = rms_norm(x, w[p + "pre_feedforward_layernorm.weight"], eps, True)
        g = gelu_tanh(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)
        mlp = g @ w[p + "mlp.down_proj.weight"].T
        x = x + hooks(L, "mlp_out", rms_norm(mlp, w[p + "post_feedforward_layernorm.weight"], eps, True))
        x = hooks(L, "resid_post", x)
    x = rms_norm(x, w["model.norm.weight"], eps, True)
    logits = x @ w["model.embed_tokens.weight"].T
    cap = cfg["final_logit_softcapping"]
    return cap * torch.tanh(logits / cap) if cap is not None else logits


def make_gemma2(d, H, KV, dh, d_mlp, layers, vocab, window, caps):
    cfg = {"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"], "vocab_size": vocab,
           "hidden_size": d, "intermediate_size": d_mlp, "num_hidden_layers": layers,
           "num_attention_heads": H, "num_key_value_heads": KV, "head_dim": dh,
           "hidden_activation": "gelu_pytorch_tanh", "hidden_act": "gelu_pytorch_tanh",
           "max_position_embeddings": 320, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
           "attention_bias": False, "attention_dropout": 0.0, "query_pre_attn_scalar": 24,
           "sliding_window": window, "final_logit_softcapping": caps[1],
           "attn_logit_softcapping": caps[0], "bos_token_id": 2, "eos_token_id": 1,
           "pad_token_id": 0, "tie_word_embeddings": True, "cache_implementation": "hybrid"}
    w = {"model.embed_tokens.weight": torch.randn(vocab, d) / math.sqrt(d),
         "model.norm.weight": 0.2 * torch.randn(d)}
    for L in range(layers):
        p = f"model.layers.{L}."
        for norm in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                     "post_feedforward_layernorm"):
            w[p + norm + ".weight"] = 0.2 * torch.randn(d)
        w[p + "self_attn.q_proj.weight"] = torch.randn(H * dh, d) / math.sqrt(d) * 2
        w[p + "self_attn.k_proj.weight"] = torch.randn(KV * dh, d) / math.sqrt(d) * 2
        w[p + "self_attn.v_proj.weight"] = torch.randn(KV * dh, d) / math.sqrt(d)
        w[p + "self_attn.o_proj.weight"] = torch.randn(d, H * dh) / math.sqrt(H * dh)
        w[p + "mlp.gate_proj.weight"] = torch.randn(d_mlp, d) / math.sqrt(d)
        w[p + "mlp.up_proj.weight"] = torch.randn(d_mlp, d) / math.sqrt(d)
        w[p + "mlp.down_proj.weight"] = torch.randn(d, d_mlp) / math.sqrt(d_mlp)
    return cfg, w, dict(w), gemma2_forward


# ---------------------------------------------------------------- Llama 3

def llama3_inv_freq(cfg, dh):
    inv_freq = 1.0 / cfg["rope_theta"] ** (torch.arange(0, dh, 2, dtype=F64) / dh)
    s = cfg.get("rope_scaling")
    if s is None:
        return inv_freq
    factor, lo, hi = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old = s["original_max_position_embeddings"]
    out = []
    for f in inv_freq.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < old / hi:
            out.append(f)
        elif wavelen > old / lo:
            out.append(f / factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=F64)


def llama_forward(cfg, w, tokens, hooks):
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh, eps = cfg["head_dim"], cfg["rms_norm_eps"]
    T = len(tokens)
    inv_freq = llama3_inv_freq(cfg, dh)
    x = w["model.embed_tokens.weight"][tokens]
    for L in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{L}."
        x = hooks(L, "resid_pre", x)
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps, False)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, dh)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, KV, dh)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, KV, dh)
        z = hooks(L, "z", attention(rope(q, inv_freq), rope(k, inv_freq), v, dh ** -0.5))
        x = x + hooks(L, "attn_out", z @ w[p + "self_attn.o_proj.weight"].T)
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps, False)
        g = silu(m @ w[p + "mlp.gate_proj.weight"].T) * (m @ w[p + "mlp.up_proj.weight"].T)
        x = x + hooks(L, "mlp_out", g @ w[p + "mlp.down_proj.weight"].T)
        x = hooks(L, "resid_post", x)
    x = rms_norm(x, w["model.norm.weight"], eps, False)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def make_llama(d, H, KV, dh, d_mlp, layers, vocab, tied):
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": vocab,
           "hidden_size": d, "intermediate_size": d_mlp, "num_hidden_layers": layers,
           "num_attention_heads": H, "num_key_value_heads": KV, "head_dim": dh,
           "max_position_embeddings": 320, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
           "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                            "original_max_position_embeddings": 64, "rope_type": "llama3"},
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
           "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": [2, 3]}
    w = {"model.embed_tokens.weight": torch.randn(vocab, d),
         "model.norm.weight": 1 + 0.1 * torch.randn(d)}
    if not tied:
        w["lm_head.weight"] = torch.randn(vocab, d) / math.sqrt(d) * 3
    for L in range(layers):
        p = f"model.layers.{L}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        w[p + "self_attn.q_proj.weight"] = torch.randn(H * dh, d) / math.sqrt(d) * 2
        w[p + "self_attn.k_proj.weight"] = torch.randn(KV * dh, d) / math.sqrt(d) * 2
        w[p + "self_attn.v_proj.weight"] = torch.randn(KV * dh, d) / math.sqrt(d)
        w[p + "self_attn.o_proj.weight"] = torch.randn(d, H * dh) / math.sqrt(H * dh)
        w[p + "mlp.gate_proj.weight"] = torch.randn(d_mlp, d) / math.sqrt(d)
        w[p + "mlp.up_proj.weight"] = torch.randn(d_mlp, d) / math.sqrt(d)
        w[p + "mlp.down_proj.weight"] = torch.randn(d, d_mlp) / math.sqrt(d_mlp)
    return cfg, w, dict(w), llama_forward


# ---------------------------------------------------------------- outputs

def greedy(forward, cfg, w, prompt, n_new):
    """Greedy continuation, recomputing the whole sequence at each step and
    stopping after an end-of-sequence token; also the smallest gap between
    the best and second-best logit."""
    eos = cfg["eos_token_id"]
    eos = set(eos if isinstance(eos, list) else [eos])
    tokens, gap = list(prompt), float("inf")
    for _ in range(n_new):
        last = forward(cfg, w, tokens, Hooks())[-1]
        top = torch.topk(last, 2).values
        gap = min(gap, float(top[0] - top[1]))
        tokens.append(int(last.argmax()))
        if tokens[-1] in eos:
            break
    return tokens[len(prompt):], gap


def ablate_head(width, head, dh):
    def edit(x):
        x[:, head * dh:(head + 1) * dh] = 0
        return x
    return edit


def save_npz(path, acts):
    np.savez(path, **{k: v.to(torch.float32).numpy() for k, v in acts.items()})


def emit(root, name, maker, args, dtype, shards=1, tl=False):
    cfg, w, stored, forward = maker(*args)
    cfg = dict(cfg, torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
    folder = os.path.join(root, name)
    write_model(folder, cfg, stored, dtype, shards)
    # The reference sees exactly the stored values.
    w = {k: rounded(t, dtype) for k, t in w.items()}
    vocab = cfg["vocab_size"]
    gen = torch.Generator().manual_seed(len(name))
    tokens = torch.randint(0, vocab, (SEQ_LEN,), generator=gen).tolist()

    hooks = Hooks()
    logits = forward(cfg, w, tokens, hooks)
    np.save(os.path.join(folder, "logits.npy"), logits.to(torch.float32).numpy())
    save_npz(os.path.join(folder, "hooks.npz"), hooks.acts)

    H = cfg.get("n_head", cfg.get("num_attention_heads"))
    dh = cfg.get("head_dim", cfg.get("n_embd", 0) // H)
    ablated = forward(cfg, w, tokens, Hooks({(0, "z"): ablate_head(H * dh, 1, dh),
                                              (1, "mlp_out"): lambda x: x * 0}))
    np.save(os.path.join(folder, "logits-ablated.npy"), ablated.to(torch.float32).numpy())
    if tl:
        tl_hooks = Hooks()
        tl_logits = forward(cfg, transformerlens_process(cfg, w), tokens, tl_hooks)
        save_npz(os.path.join(folder, "hooks-tl.npz"), tl_hooks.acts)
        assert torch.allclose(tl_logits, logits, atol=1e-9)

    continuation, gap = greedy(forward, cfg, w, tokens[:GREEDY_PROMPT], GREEDY_NEW)
    assert gap > 1e-3, f"{name}: greedy margin {gap} too small for a stable test"
    return {"name": name, "model_type": cfg["model_type"], "dtype": dtype, "tokens": tokens,
            "n_layers": cfg.get("n_layer", cfg.get("num_hidden_layers")), "vocab": vocab,
            "n_heads": H, "d_head": dh, "greedy_prompt": tokens[:GREEDY_PROMPT],
            "greedy": continuation, "greedy_margin": gap, "transformerlens": tl,
            "max_positions": cfg.get("n_positions", cfg.get("max_position_embeddings"))}


def write_tokenizer(folder, vocab_size):
    """A byte-level BPE tokenizer.json without merges: printable ASCII, "Ġ"
    (space) and <|endoftext|> as the last id; each character is a token."""
    chars = [chr(c) for c in range(33, 127)] + ["\u0120"]
    assert len(chars) + 1 == vocab_size
    vocab = {c: i for i, c in enumerate(chars)}
    eot = {"id": vocab_size - 1, "content": "<|endoftext|>", "single_word": False,
           "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [eot],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": []},
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)


def write_config(folder, config):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config))


def make_errors(root):
    """Broken folders and the text their error message must contain."""
    good = os.path.join(root, "gpt2-f32")
    cfg = json.load(open(os.path.join(good, "config.json")))
    errors = []

    def add(name, config, message, weights=True, drop=None, reshape=None):
        folder = os.path.join(root, name)
        write_config(folder, config)
        if weights:
            header_len = struct.unpack("<Q", open(os.path.join(good, "model.safetensors"), "rb").read(8))[0]
            blob = open(os.path.join(good, "model.safetensors"), "rb").read()
            header = json.loads(blob[8:8 + header_len])
            data = blob[8 + header_len:]
            tensors = {}
            for n, info in header.items():
                if n == "__metadata__" or n == drop:
                    continue
                b, e = info["data_offsets"]
                shape = reshape[1] if reshape and n == reshape[0] else info["shape"]
                tensors[n] = torch.from_numpy(np.frombuffer(data[b:e], "<f4").copy()).reshape(shape)
            write_safetensors(os.path.join(folder, "model.safetensors"), tensors, "F32")
        errors.append({"name": name, "message": message})

    add("bad-missing-tensor", cfg, "transformer.h.1.mlp.c_fc.weight",
        drop="transformer.h.1.mlp.c_fc.weight")
    d = cfg["n_embd"]
    add("bad-shape", cfg, "transformer.h.0.attn.c_proj.weight",
        reshape=("transformer.h.0.attn.c_proj.weight", [d // 2, 2 * d]))
    add("bad-model-type", dict(cfg, model_type="mamba"), "mamba")
    add("bad-config-json", '{"model_type": "gpt2", "n_embd": ', "config.json")
    add("bad-heads", dict(cfg, n_head=5), "n_head")
    add("bad-no-weights", cfg, "model.safetensors", weights=False)
    add("bad-rope-scaling", {"model_type": "llama", "vocab_size": 16, "hidden_size": 8,
                             "intermediate_size": 8, "num_hidden_layers": 1,
                             "num_attention_heads": 2, "rope_scaling": {"rope_type": "yarn"}},
        "yarn", weights=False)
    return errors


def main():
    outdir, stamp = sys.argv[1], sys.argv[2]
    root = os.path.join(outdir, "model")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    models = [
        emit(root, "gpt2-f32", make_gpt2, (32, 4, 3, 96, 64, "transformer."), "F32", tl=True),
        emit(root, "gpt2-bf16", make_gpt2, (32, 4, 2, 96, 64, ""), "BF16", tl=True),
        emit(root, "gemma2-f32", make_gemma2, (48, 4, 2, 16, 96, 4, 128, 6, (8.0, 10.0)), "F32"),
        emit(root, "gemma2-bf16", make_gemma2, (48, 4, 2, 16, 96, 3, 128, 5, (50.0, 30.0)),
             "BF16", shards=2),
        emit(root, "llama-f32", make_llama, (64, 4, 2, 16, 80, 3, 128, False), "F32"),
        emit(root, "llama-f16", make_llama, (64, 4, 2, 16, 80, 2, 128, False), "F16"),
        emit(root, "llama-bf16-tied", make_llama, (64, 4, 1, 16, 80, 2, 128, True), "BF16",
             shards=3),
    ]
    write_tokenizer(os.path.join(root, "gpt2-f32"), 96)
    errors = make_errors(root)
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump({"models": models, "errors": errors}, f, indent=1)
    with open(stamp, "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
