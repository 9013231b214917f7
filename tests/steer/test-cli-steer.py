#!/usr/bin/python3
"""flowscope-cli generate --steer / --steer-graph on the tiny models and the
SAEs of make-steer-fixtures.py:

  - the JSON document's shape: baseline, steered, interventions, per run
    text, tokens, stop reason, perplexity, KL per step and mean, theme;
  - the baseline is what plain `generate` gives with the same seed;
  - perplexities against NumPy on the logits of `flowscope-cli logits`;
  - scale 1 and add 0 change nothing (same tokens, KL exactly 0);
  - the same output bit for bit across repeats and 1 or 2 threads;
  - bad requests refused before anything is generated, with exit 2 when the
    request does not parse and 1 when it does not fit the files;
  - flow-graph strategies: which features, which coefficients;
  - units: JumpReLU thresholds and decoder norms from the SAE files;
  - theme scores from keywords and both classifier formats.
"""
import json
import math
import os
import struct
import subprocess
import tempfile

import numpy as np

from testlib import CLI, FIXTURES, check, cli, finish

ROOT = os.path.join(FIXTURES, "steer")
expected = json.load(open(os.path.join(ROOT, "expected.json")))
tmp = tempfile.mkdtemp(prefix="flowscope-steer-")
GEN = ["--max-tokens", "12", "--seed", "5", "--temperature", "1.5", "--ignore-eos"]


def ids(tokens):
    return ",".join(map(str, tokens))


def run(*args, threads=None, expect_rc=0):
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    if threads is not None:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, env=env, timeout=120)
    check(proc.returncode == expect_rc,
          f"{' '.join(map(str, args))}: exit {proc.returncode}, expected {expect_rc}\n"
          f"{proc.stderr.decode()}")
    return proc


def steer_json(*args, **kw):
    proc = run("generate", *args, "--json", **kw)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def read_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = np.frombuffer(blob[8 + n + b:8 + n + e], "<u2" if info["dtype"] == "BF16" else "<f4")
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = raw.astype(np.float64).reshape(info["shape"])
    return out


def log_softmax(x):
    x = x.astype(np.float64)
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


def check_run_shape(name, run, with_theme):
    for key in ("text", "tokens", "stop_reason", "perplexity", "kl", "kl_mean"):
        check(key in run, f"{name}: run without “{key}”")
    check(len(run.get("kl", [])) == len(run.get("tokens", [])), f"{name}: one KL per token")
    check(all(k >= 0 for k in run.get("kl", [])), f"{name}: KL is never negative")
    check(("theme" in run) == with_theme, f"{name}: theme present iff asked")


for m in expected["models"]:
    name = m["name"]
    model = os.path.join(FIXTURES, m["model"])
    saes = os.path.join(ROOT, name, "saes")
    prompt = m["tokens"][:6]
    base = ["--model", model, "--prompt-ids", ids(prompt), "--saes", saes, *GEN]
    sae = {s["name"]: s for s in m["saes"]}
    jump, mlp = sae["0-res"]["feature"], sae["1-mlp"]["feature"]

    # Shape, and the baseline is plain generation.
    doc = steer_json(*base, "--steer", f"{jump}:scale=0", "--steer", f"{mlp}:add=4")
    check(set(doc) >= {"baseline", "steered", "interventions", "prompt_tokens", "units",
                       "steer_tokens"}, f"{name}: top-level keys {sorted(doc)}")
    for which in ("baseline", "steered"):
        check_run_shape(f"{name} {which}", doc.get(which, {}), False)
    plain = json.loads(run("generate", "--model", model, "--prompt-ids", ids(prompt), *GEN,
                           "--json").stdout)
    check(doc["baseline"]["tokens"] == plain["generated_tokens"],
          f"{name}: baseline {doc['baseline']['tokens']} != generate {plain['generated_tokens']}")
    check(doc["baseline"]["tokens"] != doc["steered"]["tokens"], f"{name}: steering changed nothing")
    check(doc["steered"]["kl_mean"] > 0, f"{name}: steered KL mean {doc['steered']['kl_mean']}")
    items = doc["interventions"]
    check([(i["feature"], i["op"], i["value"], i["unit"]) for i in items]
          == [(jump, "scale", 0, "ratio"), (mlp, "add", 4, "raw")], f"{name}: {items}")
    check(items[0]["hook"] == "blocks.0.hook_resid_post"
          and items[1]["hook"] == "blocks.1.hook_mlp_out", f"{name}: hooks {items}")

    # Perplexity of each run: the unsteered model's logits, through `logits`.
    for which in ("baseline", "steered"):
        gen = doc[which]["tokens"]
        out = os.path.join(tmp, f"{name}-{which}.npy")
        cli("logits", "--model", model, "--prompt-ids", ids(prompt + gen[:-1]), "-o", out)
        lp = log_softmax(np.load(out))[len(prompt) - 1:]
        want = math.exp(-np.mean([lp[t, tok] for t, tok in enumerate(gen)]))
        got = doc[which]["perplexity"]
        check(abs(got - want) <= 1e-4 * want, f"{name} {which}: perplexity {got} != {want}")

    # No-op interventions: the very same run, KL exactly zero.
    doc = steer_json(*base, "--steer", f"{jump}:scale=1", "--steer", f"{mlp}:add=0",
                     "--steer", f"{sae['1-res']['feature']}:scale=1")
    check(doc["steered"]["tokens"] == doc["baseline"]["tokens"], f"{name}: no-op changed tokens")
    check(doc["steered"]["perplexity"] == doc["baseline"]["perplexity"], f"{name}: no-op ppl")
    check(all(k == 0 for k in doc["baseline"]["kl"] + doc["steered"]["kl"]),
          f"{name}: no-op KL {doc['steered']['kl']}")

    # Repeats and thread counts: the same bytes.
    args = [*base, "--steer", f"{sae['1-res']['feature']}:clamp=2", "--steer", f"{mlp}:add=3",
            "--steer-tokens", "generated", "--json"]
    outputs = [run("generate", *args, threads=t).stdout for t in (1, 2, 1, 2)]
    check(len(set(outputs)) == 1, f"{name}: output differs across repeats or thread counts")

    # Positions: the last prompt position predicts the first token, so
    # generated-only steering leaves step 0 alone and prompt-only does not.
    doc = steer_json(*base, "--steer", f"{mlp}:add=4", "--steer-tokens", "generated")
    check(doc["steered"]["kl"][0] == 0 and doc["steer_tokens"] == "generated",
          f"{name}: generated-only steering changed the first step")
    doc = steer_json(*base, "--steer", f"{mlp}:add=4", "--steer-tokens", "prompt")
    check(doc["steered"]["kl"][0] > 0, f"{name}: prompt-only steering changed nothing")

    # Units: thresholds for JumpReLU, 1 / decoder norm otherwise.
    doc = steer_json(*base, "--units", "typical", "--steer", f"{jump}:add=2",
                     "--steer", f"{mlp}:clamp=3")
    w_jump = read_safetensors(os.path.join(saes, "0-res", "sae_weights.safetensors"))
    w_mlp = read_safetensors(os.path.join(saes, "1-mlp", "sae_weights.safetensors"))
    theta = w_jump["threshold"][sae["0-res"]["index"]]
    norm = np.linalg.norm(w_mlp["W_dec"][sae["1-mlp"]["index"]])
    got = [(i["unit"], i["raw_value"]) for i in doc["interventions"]]
    check(doc["units"] == "typical" and got[0][0] == "threshold" and got[1][0] == "unit-norm"
          and abs(got[0][1] - 2 * theta) <= 1e-6 and abs(got[1][1] - 3 / norm) <= 1e-6,
          f"{name}: typical units {got}, want threshold {theta}, norm {norm}")

# Typical activations measured on a text, then read from the cache.
m = expected["models"][0]
model, saes = os.path.join(FIXTURES, m["model"]), os.path.join(ROOT, m["name"], "saes")
text = os.path.join(tmp, "text.txt")
open(text, "w").write("the quick brown fox jumps over the lazy dog " * 8)
mlp_sae = next(s for s in m["saes"] if s["name"] == "1-mlp")
args = ["--model", model, "--prompt-ids", "1,2,3", "--saes", saes, *GEN, "--units", "typical",
        "--typical-text", text, "--steer", f"{mlp_sae['feature']}:add=2"]
first = steer_json(*args)["interventions"][0]
check(first["unit"] == "measured" and first["unit_factor"] > 0, f"measured unit: {first}")
cache = os.path.join(tmp, "cache", "flowscope", "typical-activations.json")
check(os.path.exists(cache), "no typical-activation cache written")
second = steer_json(*args)["interventions"][0]
check(second == first, f"cached unit differs: {second} != {first}")
doc = json.load(open(cache))
for entry in doc["entries"].values():
    entry["features"][str(mlp_sae["index"])] = [0.25, 3]
json.dump(doc, open(cache, "w"))
third = steer_json(*args)["interventions"][0]
check(third["unit_factor"] == 0.25 and third["raw_value"] == 0.5, f"cache not read: {third}")
run("generate", *args[:-2], "--units", "raw", "--steer", f"{mlp_sae['feature']}:add=2",
    expect_rc=2)

# ---------------------------------------------------------------- refusals

m = expected["models"][0]
model = os.path.join(FIXTURES, m["model"])
saes = os.path.join(ROOT, m["name"], "saes")
base = ["generate", "--model", model, "--prompt-ids", "1,2,3", "--saes", saes, "--json"]
mlp = next(s for s in m["saes"] if s["name"] == "1-mlp")["feature"]
for spec in ("1/mlp/3", "1/mlp/3:add", "1/mlp/3:add=", "1/mlp/3:add=x", "1/mlp/3:push=1",
             "1/mlp/3:add=nan", "1/mlp/3:scale=inf", "1/mlp/3:clamp=-inf", "1/mlpx/3:add=1",
             "one/mlp/3:add=1", "1/mlp/-3:add=1", "1/mlp/3:add=1e999"):
    proc = run(*base, "--steer", f"{mlp}:add=1", "--steer", spec, expect_rc=2)
    check(proc.stdout == b"" and spec.encode() in proc.stderr,
          f"{spec}: stdout {proc.stdout[:80]!r}, stderr {proc.stderr!r}")
for spec, words in (("1/att/0:add=1", "no SAE at 1/att"), ("9/res/0:add=1", "no SAE at 9/res"),
                    ("1/mlp/100000:add=1", "out of range"),
                    ("embed/mlp/0:add=1", "no SAE at embed/mlp")):
    proc = run(*base, "--steer", f"{mlp}:add=1", "--steer", spec, expect_rc=1)
    check(proc.stdout == b"" and words.encode() in proc.stderr,
          f"{spec}: stdout {proc.stdout[:80]!r}, stderr {proc.stderr!r}")
for extra, rc in ((["--steer-tokens", "some"], 2), (["--units", "sigmas"], 2),
                  (["--strategy", "linear"], 2), (["--classifier", "/nonexistent.json"], 1),
                  (["--steer-graph", "/nonexistent.json:add=1"], 1),
                  (["--steer-graph", "graph.json"], 2), (["--steer-graph", "g.json:add=1",
                                                          "--alpha", "x"], 2)):
    proc = run(*base, "--steer", f"{mlp}:add=1", *extra, expect_rc=rc)
    check(proc.stdout == b"", f"{extra}: printed {proc.stdout[:80]!r}")
run("generate", "--model", model, "--prompt-ids", "1,2,3", "--steer", f"{mlp}:add=1",
    expect_rc=2)
# A GPT-2 SAE on the Llama model: refused before generating.
llama = next(x for x in expected["models"] if x["name"] == "llama-f32")
proc = run("generate", "--model", os.path.join(FIXTURES, llama["model"]), "--prompt-ids", "1,2",
           "--saes", saes, "--steer", f"{mlp}:add=1", "--json", expect_rc=1)
check(proc.stdout == b"" and b"hook_mlp_out" in proc.stderr, f"width mismatch: {proc.stderr!r}")

# ---------------------------------------------------------------- graphs

graph_path = os.path.join(tmp, "graph.json")
proc = run("graph", "--saes", saes, "--feature", "2/res/5", "--t-res", "0", "--t-mlp", "0",
           "--t-att", "0", "-o", graph_path)
graph = json.load(open(graph_path))
nodes = [(n["layer"], n["site"], n["index"]) for n in graph["nodes"]]
layers = sorted({n[0] for n in nodes})
lo, hi = layers[0], layers[-1]


def node_id(n):
    return f"{'embed' if n[0] < 0 else n[0]}/{n[1]}/{n[2]}"


def graph_doc(*extra):
    doc = steer_json("--model", model, "--prompt-ids", "1,2,3,4", "--saes", saes, *GEN, *extra)
    return {i["feature"]: i["value"] for i in doc.get("interventions", [])}, doc


got, doc = graph_doc("--steer-graph", f"{graph_path}:add=2")
check(got == {node_id(n): 2 for n in nodes}, f"constant: {got}")
check(doc["strategy"]["name"] == "constant" and doc["strategy"]["span"] == [lo, hi],
      f"strategy {doc.get('strategy')}")
got, _ = graph_doc("--steer-graph", f"{graph_path}:scale=0", "--strategy", "single")
check(got == {node_id(n): 0 for n in nodes if n[0] == 2}, f"single at the seed's layer: {got}")
got, _ = graph_doc("--steer-graph", f"{graph_path}:scale=0", "--strategy", "single",
                   "--steer-layer", "0")
check(got == {node_id(n): 0 for n in nodes if n[0] == 0}, f"single at 0: {got}")
got, _ = graph_doc("--steer-graph", f"{graph_path}:scale=-4", "--strategy", "linear",
                   "--steer-layer", "1")
k = (1 - -4) / (hi - lo)
want = {node_id(n): k * n[0] + (-4 - k * lo) for n in nodes if n[0] <= 1}
check(got.keys() == want.keys() and all(abs(got[f] - want[f]) < 1e-12 for f in want),
      f"linear: {got} != {want}")
got, _ = graph_doc("--steer-graph", f"{graph_path}:add=3", "--strategy", "exponential",
                   "--alpha", "-0.5")
want = {node_id(n): 3 * math.exp(-0.5 * n[0]) for n in nodes}
check(got.keys() == want.keys() and all(abs(got[f] - want[f]) < 1e-12 for f in want),
      f"exponential: {got} != {want}")
proc = run(*base, "--steer-graph", f"{graph_path}:add=1", "--strategy", "single",
           "--steer-layer", "7", expect_rc=1)
check(b"no feature at layer 7" in proc.stderr, f"single beyond the graph: {proc.stderr!r}")
hand = os.path.join(tmp, "hand.json")
json.dump({"nodes": [{"layer": 1, "site": "mlp", "index": 3}, {"id": "0/res/4"}]},
          open(hand, "w"))
got, _ = graph_doc("--steer-graph", f"{hand}:clamp=1")
check(got == {"0/res/4": 1, "1/mlp/3": 1}, f"hand-written graph: {got}")

# ---------------------------------------------------------------- themes

vocab = 96
dense = {"classes": ["low", "high"], "log_prior": [math.log(0.5)] * 2,
         "log_prob": [[math.log(2 / 144 if i < vocab // 2 else 1 / 144) for i in range(vocab)],
                      [math.log(1 / 144 if i < vocab // 2 else 2 / 144) for i in range(vocab)]],
         "ignore_token_ids": [95]}
sparse = {"classes": ["low", "high"], "priors": [math.log(0.5)] * 2,
          "weights": {str(i): [dense["log_prob"][0][i], dense["log_prob"][1][i]]
                      for i in range(vocab)}, "ignore_token_ids": [95]}
for label, content in (("dense", dense), ("sparse", sparse)):
    path = os.path.join(tmp, label + ".json")
    json.dump(content, open(path, "w"))
    doc = steer_json("--model", model, "--prompt-ids", "1,2,3", "--saes", saes, *GEN,
                     "--steer", f"{mlp}:add=3", "--classifier", path, "--keywords", "a*,Z")
    for which in ("baseline", "steered"):
        r = doc[which]
        check_run_shape(f"{label} {which}", r, True)
        toks = [t for t in r["tokens"] if t != 95]
        high = sum(1 for t in toks if t >= vocab // 2)
        score = [math.log(0.5) + sum(dense["log_prob"][c][t] for t in toks) for c in range(2)]
        cl = r["theme"]["classifier"]
        check(cl["tokens"] == len(toks) and cl["class"] == ("high" if score[1] > score[0]
                                                            else "low"),
              f"{label} {which}: classifier {cl}, {high} of {len(toks)} high")
        lo_odds = (score[0] - score[1]) / max(len(toks), 1)
        check(abs(cl["classes"][0]["log_odds_per_token"] - lo_odds) < 1e-9,
              f"{label}: log odds {cl['classes'][0]}")
        text = r["text"]
        words = [w for w in "".join(ch if ch.isalnum() else " " for ch in text).split()]
        hits = sum(1 for w in words if w.lower().startswith("a") or w.lower() == "z")
        kw = r["theme"]["keywords"]
        check(kw["words"] == len(words) and kw["hits"] == hits, f"keywords {kw} for {text!r}")

finish()
