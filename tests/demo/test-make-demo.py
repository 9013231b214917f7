#!/usr/bin/python3
"""Smoke test for data/demo/make-demo.py: build a tiny demo world in a
temporary folder and check that every artefact exists and parses.

Needs the Debian packages of data/demo/install-packages.sh; exits 77
(skipped) when they are missing."""

import importlib.util
import sys
sys.dont_write_bytecode = True
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "data", "demo", "make-demo.py")

NEEDED_FILES = ["/usr/bin/bible", "/usr/lib/bible.data",
                "/usr/share/dictd/gcide.dict.dz", "/usr/share/dictd/jargon.dict.dz",
                "/usr/share/dictd/foldoc.dict.dz",
                "/usr/share/dictd/elements.dict.dz",
                "/usr/share/games/fortunes/wisdom"]

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


def load_module():
    spec = importlib.util.spec_from_file_location("make_demo", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DT_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4,
           "U8": 1}


def read_safetensors_header(path):
    """Validate a safetensors file by the rules of the reference reader and
    return its header."""
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) >= 8, path + ": shorter than 8 bytes"
    n = struct.unpack("<Q", data[:8])[0]
    assert n <= 100_000_000 and 8 + n <= len(data), path + ": bad header size"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            assert all(isinstance(v, str) for v in info.values())
            continue
        elems = 1
        for s in info["shape"]:
            elems *= s
        a, b = info["data_offsets"]
        assert b - a == elems * DT_SIZE[info["dtype"]], path + ": " + name
        spans.append((a, b))
    spans.sort()
    pos = 0
    for a, b in spans:
        assert a == pos, path + ": hole or overlap"
        pos = b
    assert pos == len(data) - 8 - n, path + ": trailing bytes"
    return header


def np_tensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    dt = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b],
                                  dtype=dt[info["dtype"]]).reshape(
                                      info["shape"]).astype(np.float64)
    return out


def numpy_gpt2(W, conf, ids):
    """Independent reference: transformers' GPT-2 forward (Conv1D [in, out],
    pre-LN, gelu_new, 1/sqrt(d_head) scale, tied head) in numpy."""
    import numpy as np
    d, H, eps = conf["n_embd"], conf["n_head"], conf["layer_norm_epsilon"]

    def ln(x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * W[p + ".weight"] + W[p + ".bias"]

    def gelu_new(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

    T = len(ids)
    x = W["wte.weight"][ids] + W["wpe.weight"][:T]
    dh = d // H
    for i in range(conf["n_layer"]):
        p = "h.%d." % i
        h = ln(x, p + "ln_1")
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, axis=-1)
        y = np.zeros_like(q)
        for hd in range(H):
            s = slice(hd * dh, (hd + 1) * dh)
            a = q[:, s] @ k[:, s].T / np.sqrt(dh)
            a = a + np.triu(np.full((T, T), -1e30), 1)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            y[:, s] = a @ v[:, s]
        x = x + y @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2")
        h = gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return ln(x, "ln_f") @ W["wte.weight"].T


def main():
    for f in NEEDED_FILES:
        if not os.path.exists(f):
            skip("missing %s (see data/demo/install-packages.sh)" % f)
    try:
        import numpy as np
        import regex  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        skip("missing Python module: %s" % e)

    tmp = tempfile.mkdtemp(prefix="flowscope-demo-test-")
    try:
        work, out = os.path.join(tmp, "work"), os.path.join(tmp, "out")
        t0 = time.time()
        r = subprocess.run([sys.executable, SCRIPT, "--tiny", "--work-dir", work,
                            "--out", out, "all"], capture_output=True, text=True)
        print(r.stdout[-3000:])
        if r.returncode != 0:
            print(r.stderr[-5000:])
            check(False, "make-demo.py --tiny failed (%d)" % r.returncode)
            return
        print("tiny build: %.1f s" % (time.time() - t0))
        # a second run must be incremental (all stages cached)
        r2 = subprocess.run([sys.executable, SCRIPT, "--tiny", "--work-dir", work,
                             "--out", out], capture_output=True, text=True)
        check(r2.returncode == 0 and r2.stdout.count("cached") == 6,
              "second run is not fully cached:\n" + r2.stdout)
        check(not os.path.exists(os.path.join(out, "corpus.jsonl")),
              "intermediate data leaked into --out")

        md = load_module()

        # tokenizer.json
        tpath = os.path.join(out, "model", "tokenizer.json")
        tj = json.load(open(tpath))
        check(tj["pre_tokenizer"]["type"] == "ByteLevel", "pre_tokenizer")
        check(tj["decoder"]["type"] == "ByteLevel", "decoder")
        check(tj["model"]["type"] == "BPE", "model type")
        vocab, merges = tj["model"]["vocab"], tj["model"]["merges"]
        check(len(vocab) == 300, "vocab size %d" % len(vocab))
        check(sorted(vocab.values()) == list(range(len(vocab))), "vocab ids dense")
        check([a["content"] for a in tj["added_tokens"]] == ["<|endoftext|>"],
              "added tokens")
        for m in merges:
            a, b = m.split(" ")
            check(a in vocab and b in vocab and a + b in vocab, "merge " + m)
        enc = md.Encoder.from_file(tpath)
        docs = [json.loads(l) for l in open(os.path.join(work, "corpus.jsonl"))]
        streams = md.load_streams(work)
        for s in md.SOURCES:
            ids = []
            for d in docs:
                if d["source"] == s and d["split"] == "train":
                    ids += enc.encode(d["text"]) + [enc.eot]
            check(ids == streams["train/" + s].tolist(),
                  "token stream of %s differs from tokenizer.json encoding" % s)
        for text in ["Hello, world!  It's 42 degrees\n\n\tthou hast",
                     "Ünïcødé — ✓ <|endoftext|> end", d["text"]]:
            check(enc.decode(enc.encode(text)) == text, "round trip " + text[:30])
        check(enc.encode("a<|endoftext|>b")[1] == vocab["<|endoftext|>"],
              "special token")

        # model
        conf = json.load(open(os.path.join(out, "model", "config.json")))
        for k in ["model_type", "n_layer", "n_head", "n_embd", "n_positions",
                  "vocab_size", "layer_norm_epsilon", "activation_function",
                  "bos_token_id", "eos_token_id"]:
            check(k in conf, "config.json lacks " + k)
        check(conf["model_type"] == "gpt2" and conf["activation_function"] == "gelu_new",
              "config model_type/activation")
        mpath = os.path.join(out, "model", "model.safetensors")
        hdr = read_safetensors_header(mpath)
        d, L, V = conf["n_embd"], conf["n_layer"], conf["vocab_size"]
        want = {"wte.weight": [V, d], "wpe.weight": [conf["n_positions"], d],
                "ln_f.weight": [d], "ln_f.bias": [d]}
        for i in range(L):
            p = "h.%d." % i
            want.update({p + "ln_1.weight": [d], p + "ln_1.bias": [d],
                         p + "ln_2.weight": [d], p + "ln_2.bias": [d],
                         p + "attn.c_attn.weight": [d, 3 * d],
                         p + "attn.c_attn.bias": [3 * d],
                         p + "attn.c_proj.weight": [d, d], p + "attn.c_proj.bias": [d],
                         p + "mlp.c_fc.weight": [d, 4 * d], p + "mlp.c_fc.bias": [4 * d],
                         p + "mlp.c_proj.weight": [4 * d, d],
                         p + "mlp.c_proj.bias": [d]})
        got = {k: v["shape"] for k, v in hdr.items() if k != "__metadata__"}
        check(got == want, "model tensors/shapes differ: %s" %
              sorted(set(got.items()) ^ set(want.items()) if False else
                     sorted(set(got) ^ set(want))))
        # torch model (as trained) == independent numpy GPT-2
        import torch
        model = md.load_model(md.TINY, out)
        ids = streams["test/scripture"][:40].tolist()
        with torch.no_grad():
            lt = model(torch.tensor([ids]))[0].numpy()
        ln_ = numpy_gpt2(np_tensors(mpath), conf, ids)
        err = float(np.abs(lt - ln_).max())
        check(err < 1e-3, "numpy GPT-2 reference differs from torch: %g" % err)

        # SAEs
        saes = sorted(os.listdir(os.path.join(out, "saes")))
        check(len(saes) == 1 + 3 * L, "SAE folders: %s" % saes)
        labels = json.load(open(os.path.join(out, "labels.json")))
        by = {}
        for e in labels:
            for k in ["modelId", "layer", "index", "description",
                      "explanationModelName", "typeName"]:
                check(k in e, "label lacks " + k)
            check(isinstance(e["index"], str), "index must be a string")
            by.setdefault(e["layer"], set()).add(e["index"])
        for name in saes:
            folder = os.path.join(out, "saes", name)
            c = json.load(open(os.path.join(folder, "cfg.json")))
            for k in ["architecture", "d_in", "d_sae", "dtype", "k",
                      "apply_b_dec_to_input", "normalize_activations", "metadata"]:
                check(k in c, "%s cfg.json lacks %s" % (name, k))
            m = c["metadata"]
            for k in ["sae_lens_version", "model_name", "hook_name", "prepend_bos",
                      "context_size", "neuronpedia_id"]:
                check(k in m, "%s metadata lacks %s" % (name, k))
            check(m["sae_lens_version"].startswith("6."), "sae_lens_version")
            check(m["neuronpedia_id"] == "flowscope-demo/" + name, "neuronpedia_id")
            h = read_safetensors_header(os.path.join(folder, "sae_weights.safetensors"))
            F_, din = c["d_sae"], c["d_in"]
            check(h["W_enc"]["shape"] == [din, F_] and h["W_dec"]["shape"] == [F_, din]
                  and h["b_enc"]["shape"] == [F_] and h["b_dec"]["shape"] == [din],
                  name + " SAE tensor shapes")
            sp = read_safetensors_header(os.path.join(folder, "sparsity.safetensors"))
            check(sp["sparsity"]["shape"] == [F_], name + " sparsity shape")
            W = np_tensors(os.path.join(folder, "sae_weights.safetensors"))
            norms = np.linalg.norm(W["W_dec"], axis=1)
            check(np.allclose(norms, 1, atol=1e-4), name + " decoder rows not unit")
            check(by.get(name) == {str(i) for i in range(F_)},
                  name + ": labels do not cover every feature")
        stats = json.load(open(os.path.join(out, "feature-stats.json")))
        check(sorted(stats["saes"]) == saes, "feature-stats SAEs")

        # classifier
        clf = json.load(open(os.path.join(out, "theme-classifier.json")))
        check(clf["classes"] == md.SOURCES, "classifier classes")
        check(len(clf["log_prob"]) == len(clf["classes"])
              and all(len(r) == V for r in clf["log_prob"]), "classifier shape")
        check("test_accuracy" in clf, "classifier accuracy")
        sc = md.nb_scores(clf, enc.encode("And the LORD said unto Moses"))
        check(len(sc) == len(clf["classes"]), "classifier scoring")
        print("total: %.1f s" % (time.time() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
