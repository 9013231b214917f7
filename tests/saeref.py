"""The independent references of tests/model/make-tiny-models.py (forward
passes of GPT-2, Gemma 2 and Llama, float64) and tests/steer/make-steer-
fixtures.py (reading models and SAELens SAEs, encoding), loaded for the
Python tests that check features on prompts. Nothing here calls Flowscope."""
import importlib.util
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "steer_fixtures", os.path.join(HERE, "steer", "make-steer-fixtures.py"))
steer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(steer)
tiny = steer.tiny


def load_model(folder):
    """(cfg, weights as float64 tensors) with GPT-2 names unprefixed."""
    return steer.read_model(folder)


def load_sae(folder):
    """A SAELens folder as the parameter dict make-steer-fixtures' encode takes."""
    cfg = json.load(open(os.path.join(folder, "cfg.json")))
    p = steer.read_safetensors(os.path.join(folder, "sae_weights.safetensors"))
    p.update(arch=cfg["architecture"], norm=cfg.get("normalize_activations", "none"),
             k=cfg.get("k"), hook=cfg["metadata"]["hook_name"], name=os.path.basename(folder))
    return p


def feature_id(p, index):
    return steer.feature_id(p, index)


def hook_acts(cfg, w, tokens):
    """Every hook's activations on `tokens`, by TransformerLens name."""
    hooks = tiny.Hooks()
    steer.FORWARDS[cfg["model_type"]](cfg, w, tokens, hooks)
    return hooks.acts


def encode(p, acts):
    """z [T, d_sae] of the SAE on the activations of its hook."""
    z, _ = steer.encode(p, steer.sae_input(p, acts))
    return z


def pre_activations(p, acts):
    """What the SAE's nonlinearity sees, [T, d_sae], for decision margins."""
    x = steer.sae_input(p, acts)
    if p["norm"] == "constant_norm_rescale":
        x = x * (x.shape[1] ** 0.5) / x.norm(dim=1, keepdim=True)
    return (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]


def margins(p, acts):
    """[T, d_sae]: how far each latent is from flipping its activity, so that
    float32 rounding cannot explain a difference beyond it."""
    pre = pre_activations(p, acts)
    if p["arch"] == "jumprelu":
        return (pre - p["threshold"]).abs()
    if p["arch"] == "topk":
        top = torch.topk(pre, p["k"] + 1, dim=1).values
        kth, after = top[:, p["k"] - 1:p["k"]], top[:, p["k"]:p["k"] + 1]
        inside = pre >= kth
        return torch.where(inside, pre - after, kth - pre)
    return torch.full_like(pre, float("inf"))  # ReLU is continuous
