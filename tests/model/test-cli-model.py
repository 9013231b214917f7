#!/usr/bin/python3
"""flowscope-cli logits and generate on the tiny models of make-tiny-models.py:
logits against the PyTorch reference, greedy continuations against the
reference's, identical tokens and logits whatever the thread counts, seeded
sampling reproducible, BOS handling, the text path through tokenizer.json,
and broken model folders refused with exit 1 and a message naming the
problem."""
import json
import os
import subprocess
import tempfile

import numpy as np

from testlib import CLI, FIXTURES, check, cli, cli_json, finish

ROOT = os.path.join(FIXTURES, "model")
expected = json.load(open(os.path.join(ROOT, "expected.json")))
tmp = tempfile.mkdtemp(prefix="flowscope-model-")


def ids(tokens):
    return ",".join(map(str, tokens))


def relative_error(got, want):
    return float(np.max(np.abs(got.astype(np.float64) - want)) / np.max(np.abs(want)))


def run_with_threads(threads, *args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, env=env, timeout=120)
    check(proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return proc.stdout


for m in expected["models"]:
    name, folder = m["name"], os.path.join(ROOT, m["name"])
    tokens = m["tokens"]

    # Logits of every position, written as .npy.
    out = os.path.join(tmp, name + ".npy")
    cli("logits", "--model", folder, "--prompt-ids", ids(tokens), "-o", out)
    got, want = np.load(out), np.load(os.path.join(folder, "logits.npy"))
    check(got.shape == want.shape and got.dtype == np.float32, f"{name}: logits shape {got.shape}")
    err = relative_error(got, want)
    check(err < 1e-4, f"{name}: logits relative error {err:.3g}")
    print(f"# {name:16s} CLI logits relative error {err:.2e}")

    # --json: the best token at every position is the reference's.
    doc = cli_json("logits", "--model", folder, "--prompt-ids", ids(tokens), "--top", "3")
    check(doc.get("tokens") == tokens, f"{name}: JSON tokens")
    best = [p["top"][0]["id"] for p in doc.get("positions", [])]
    check(best == [int(i) for i in want.argmax(-1)], f"{name}: JSON top tokens {best}")
    check(all(abs(sum(t["prob"] for t in p["top"])) <= 1 + 1e-9 for p in doc["positions"]),
          f"{name}: probabilities")

    # Greedy continuation, stopping after an EOS token as the reference does.
    doc = cli_json("generate", "--model", folder, "--prompt-ids", ids(m["greedy_prompt"]),
                   "--greedy", "--max-tokens", len(m["greedy"]) if m["greedy"] else 1)
    check(doc.get("generated_tokens") == m["greedy"],
          f"{name}: greedy {doc.get('generated_tokens')} != {m['greedy']}")
    check(doc.get("prompt_tokens") == m["greedy_prompt"], f"{name}: prompt tokens")

    # Thread counts change nothing: logits bit for bit, tokens greedy or sampled.
    outputs = {}
    for threads in (1, 2):
        npy = os.path.join(tmp, f"{name}-{threads}.npy")
        run_with_threads(threads, "logits", "--model", folder, "--prompt-ids", ids(tokens),
                         "-o", npy)
        outputs[threads] = [np.load(npy).tobytes()]
        for extra in (["--greedy"], ["--seed", "7", "--temperature", "0.9", "--top-p", "0.9",
                                     "--top-k", "40"], ["--seed", "11", "--temperature", "4"],
                      ["--seed", "12", "--temperature", "4"]):
            doc = json.loads(run_with_threads(threads, "generate", "--model", folder,
                                              "--prompt-ids", ids(tokens[:5]), "--max-tokens",
                                              "24", "--ignore-eos", "--json", *extra))
            outputs[threads].append(doc["generated_tokens"])
    check(outputs[1][0] == outputs[2][0], f"{name}: logits differ between 1 and 2 threads")
    check(outputs[1][1:] == outputs[2][1:], f"{name}: tokens differ between 1 and 2 threads")
    check(outputs[1][3] != outputs[1][4] and len(outputs[1][3]) == 24,
          f"{name}: different seeds gave the same sample")

# BOS: --bos prepends config.json's bos_token_id; text prompts get it by default
# for Llama and Gemma, never for GPT-2.
llama = os.path.join(ROOT, "llama-f32")
a = cli_json("logits", "--model", llama, "--prompt-ids", "5,6", "--bos")
b = cli_json("logits", "--model", llama, "--prompt-ids", "1,5,6")
check(a.get("tokens") == [1, 5, 6] and a.get("positions") == b.get("positions"), "--bos")
a = cli_json("logits", "--model", llama, "--prompt-ids", "5,6")
check(a.get("tokens") == [5, 6], "ids are taken as they are")

# The text path: tokenizer.json of gpt2-f32 (one token per character).
gpt2 = os.path.join(ROOT, "gpt2-f32")
chars = [chr(c) for c in range(33, 127)] + [" "]
text = "hi there"
want = [chars.index(c) for c in text]
doc = cli_json("logits", "--model", gpt2, "--prompt", text)
check(doc.get("tokens") == want, f"text prompt tokens {doc.get('tokens')}")
check(doc["positions"][0].get("text") == "h", "token text")
doc = cli_json("logits", "--model", gpt2, "--prompt", text, "--bos")
check(doc.get("tokens") == [95] + want, "--bos on GPT-2 gives <|endoftext|>")
doc = cli_json("generate", "--model", gpt2, "--prompt", text, "--seed", "3", "--max-tokens", "12",
               "--ignore-eos")
gen = doc.get("generated_tokens", [])
decoded = "".join("<|endoftext|>" if t == 95 else chars[t] for t in gen)
check(len(gen) == 12 and doc.get("text") == decoded, f"generated text {doc.get('text')!r}")
check(doc.get("prompt_tokens") == want and doc.get("stop_reason") == "length", "generate JSON")
streamed, _ = cli("generate", "--model", gpt2, "--prompt", text, "--seed", "3", "--max-tokens",
                  "12", "--ignore-eos")
check(streamed == text + decoded + "\n", f"streamed text {streamed!r}")
doc = cli_json("generate", "--model", gpt2, "--prompt", text, "--greedy", "--max-tokens", "50")
check(doc.get("stop_reason") in ("eos", "length"), "stop reason")

# Broken folders: exit 1 with the file and the problem.
for e in expected["errors"]:
    _, err = cli("logits", "--model", os.path.join(ROOT, e["name"]), "--prompt-ids", "1",
                 expect_rc=1)
    check(err.startswith("flowscope-cli: error: ") and e["message"] in err,
          f"{e['name']}: {err!r} lacks {e['message']!r}")
_, err = cli("generate", "--model", llama, "--prompt-ids", "5,1000", expect_rc=1)
check("vocabulary" in err, f"token outside the vocabulary: {err!r}")
_, err = cli("logits", "--model", llama, "--prompt", "hello", expect_rc=1)
check("tokenizer" in err or "vocab.json" in err, f"text prompt without tokenizer: {err!r}")
out, _ = cli("generate", "--model", gpt2, "--prompt-ids", ",".join(["1"] * 60), "--max-tokens",
             "10", "--ignore-eos", "--json")
check(json.loads(out).get("stop_reason") == "context", "generation stops at the context limit")

# Usage errors: exit 2.
cli("logits", "--model", llama, expect_rc=2)
cli("logits", "--model", llama, "--prompt-ids", "1,x", expect_rc=2)
cli("logits", "--model", llama, "--prompt-ids", "1", "--bos", "--no-bos", expect_rc=2)
cli("generate", "--model", llama, "--prompt-ids", "1", "--top-p", "0", expect_rc=2)
cli("generate", "--model", llama, "--prompt-ids", "1", "stray", expect_rc=2)

finish()
