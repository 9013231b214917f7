#!/usr/bin/python3
"""Benchmark: `flowscope-cli info` over a synthetic Gemma-Scope-sized SAE set
(26 layers x res/mlp/att, 16384 x 2304, BF16, SAELens folders: 78 SAEs,
11.5 GB of weights on paper). Weight files are sparse (header, small vectors
written, matrices left as holes): info must only read headers, and a reader
that copied the matrices would show it in its resident memory.

Prints the median wall time of several runs, the peak resident memory, and the
same-run baseline of merely reading every cfg.json and safetensors header
with Python (the I/O any reader needs).

Usage: bench-info.py FLOWSCOPE_CLI [WORK_DIR] [RUNS]
"""
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time

LAYERS, D_IN, D_SAE = 26, 2304, 16384
cli = sys.argv[1]
work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="flowscope-bench-")
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
hooks = {"res": "hook_resid_post", "mlp": "hook_mlp_out", "att": "hook_attn_out"}


def write_sae(folder, layer, site):
    os.makedirs(folder, exist_ok=True)
    shapes = [("W_enc", [D_IN, D_SAE]), ("W_dec", [D_SAE, D_IN]), ("b_enc", [D_SAE]),
              ("b_dec", [D_IN]), ("threshold", [D_SAE])]
    header, offset = {}, 0
    for name, shape in shapes:
        size = 2
        for d in shape:
            size *= d
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(folder, "sae_weights.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + offset)  # a hole: no disk, reads as zeros
    cfg = {"architecture": "jumprelu", "d_in": D_IN, "d_sae": D_SAE, "dtype": "bfloat16",
           "apply_b_dec_to_input": False, "normalize_activations": "none",
           "metadata": {"sae_lens_version": "6.0.0",
                        "hook_name": f"blocks.{layer}.{hooks[site]}"}}
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    return 8 + len(text) + offset


total = 0
for layer in range(LAYERS):
    for site in hooks:
        total += write_sae(os.path.join(work, f"layer_{layer}_{site}"), layer, site)


def baseline():
    for name in sorted(os.listdir(work)):
        folder = os.path.join(work, name)
        json.load(open(os.path.join(folder, "cfg.json")))
        with open(os.path.join(folder, "sae_weights.safetensors"), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            json.loads(f.read(n))


times, base_times = [], []
for _ in range(runs):
    start = time.perf_counter()
    out = subprocess.run([cli, "info", "--json", "--saes", work], capture_output=True,
                         text=True, check=True).stdout
    times.append(time.perf_counter() - start)
    start = time.perf_counter()
    baseline()
    base_times.append(time.perf_counter() - start)

n_saes = len(json.loads(out)["saes"])
assert n_saes == 3 * LAYERS, n_saes
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
median, base = statistics.median(times), statistics.median(base_times)
print(f"info over {n_saes} SAEs ({total / 1e9:.1f} GB of BF16 weights)")
print(f"median wall time: {median * 1000:.1f} ms over {runs} runs "
      f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
print(f"baseline, Python reading every cfg.json and header: {base * 1000:.1f} ms "
      f"(ratio {median / base:.2f})")
print(f"peak resident memory: {peak_kb / 1024:.1f} MB")
