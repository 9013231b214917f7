#!/usr/bin/python3
"""Rebuild Flowscope's bundled demo world (data/demo/).

Stages (run in this order; each caches its output and is skipped when the
output exists, unless --force names it):

  corpus      Debian text packages -> labelled, cleaned, balanced documents,
              train/test split (work dir)
  tokenizer   byte-level BPE (GPT-2 scheme) trained on the train split ->
              OUT/model/tokenizer.json; token streams per source (work dir)
  model       small GPT-2 trained with torch -> OUT/model/{config.json,
              model.safetensors}
  saes        activations from the model -> TopK SAEs in SAELens v6 folders
              OUT/saes/<L>-<site>/
  labels      per-feature statistics on the corpus -> OUT/labels.json
              (Neuronpedia explanations) and OUT/feature-stats.json
  classifier  multinomial naive Bayes theme classifier ->
              OUT/theme-classifier.json

Usage: /usr/bin/python3 make-demo.py [--work-dir DIR] [--out DIR] [--tiny]
                                     [--force STAGE,...] [STAGE ...|all]

Only final artefacts are written under --out (default: this folder).
Intermediate data (corpus text, token streams, checkpoints, logs) live in
--work-dir (default ~/.cache/flowscope-demo, or ~/.cache/flowscope-demo-tiny
with --tiny).  Needs the Debian packages listed in install-packages.sh.
"""

import argparse
import base64
import gzip
import hashlib
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
MODEL_ID = "flowscope-demo"

# --------------------------------------------------------------------------
# configuration

FULL = dict(
    cap_bytes=1_200_000,      # text per source (train + test)
    test_every=10,            # every 10th document (after shuffling) -> test
    vocab_size=4096,          # incl. <|endoftext|>
    n_layer=4, n_embd=128, n_head=4, n_ctx=256,
    batch=8, steps=3600, lr=3e-3, warmup=100,
    eval_windows=64,          # per source, for test loss
    sae_tokens=1_000_000,     # activations collected (balanced over sources)
    sae_test_tokens=50_000,   # from the test split, for FVU / L0 / dead
    d_sae=1024, sae_k=24, sae_steps=3000, sae_batch=1024, sae_lr=3e-3,
    # attn_out of a model this small spans few directions: a full-width
    # dictionary leaves most of its features dead there
    att_d_sae=512, att_k=16,
    label_tokens=100_000, label_top=50,
)
TINY = dict(
    cap_bytes=10_000, test_every=10, vocab_size=300,
    n_layer=1, n_embd=32, n_head=2, n_ctx=64,
    batch=4, steps=20, lr=3e-3, warmup=5, eval_windows=4,
    sae_tokens=4_000, sae_test_tokens=1_000, d_sae=64, sae_k=4, sae_steps=20, sae_batch=256, sae_lr=2e-3,
    att_d_sae=32, att_k=4,
    label_tokens=2_000, label_top=10,
)

SOURCES = ["scripture", "dictionary", "computing", "quotations", "chemistry"]
PACKAGES = ["bible-kjv", "bible-kjv-text", "dict-gcide", "dict-jargon",
            "dict-foldoc", "fortunes", "fortunes-min", "dict-elements"]
FORTUNE_SKIP = {"ascii-art", "computers", "debian", "linux", "linuxcookie",
                "perl"}
DICTD = "/usr/share/dictd"
FORTUNES = "/usr/share/games/fortunes"


def log(*a):
    print(*a, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path, obj, indent=None):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --------------------------------------------------------------------------
# safetensors (written and read here; no safetensors module on Debian 12)

_ST_DT = {np.dtype("float32"): "F32", np.dtype("float16"): "F16",
          np.dtype("int64"): "I64", np.dtype("int32"): "I32"}
_ST_NP = {v: k for k, v in _ST_DT.items()}


def save_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, numpy array) in file order."""
    header = {}
    off = 0
    blobs = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        b = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_DT[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=_ST_NP[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


# --------------------------------------------------------------------------
# stage: corpus

def pkg_version(name):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64num(s):
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def dictd_entries(name):
    """Entries of a dictd database, in index order, deduplicated by offset."""
    raw = gzip.open(os.path.join(DICTD, name + ".dict.dz")).read()
    seen = set()
    out = []
    with open(os.path.join(DICTD, name + ".index"), encoding="utf-8",
              errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00"):
                continue
            off, ln = _b64num(parts[1]), _b64num(parts[2])
            if off in seen:
                continue
            seen.add(off)
            out.append((off, raw[off:off + ln].decode("utf-8", "replace")))
    out.sort()
    return [t for _, t in out]


_CITE = re.compile(r"^\s*\[[^\]]*(Webster|WordNet|PJC|Century|Note|Source|"
                   r"Chambers|MW|Johnson|Sheridan|Standard)[^\]]*\]\s*$")
_PRON = re.compile(r"\\[^\\\n]*\\")
_DATE = re.compile(r"^\s*\(\d{4}-\d{2}-\d{2}\)\s*$")


def clean_dict_entry(text):
    """Unwrap dictd paragraphs, drop citation/date lines, braces, pron."""
    text = _PRON.sub("", text)
    text = text.replace("{", "").replace("}", "")
    paras, cur = [], []
    for line in text.split("\n"):
        if _CITE.match(line) or _DATE.match(line):
            continue
        s = line.strip()
        if not s:
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(s)
    if cur:
        paras.append(" ".join(cur))
    out = "\n".join(re.sub(r"\s+", " ", p).replace(" ,", ",") for p in paras)
    return out.strip()


def read_bible():
    txt = subprocess.run(["bible", "-f", "gen1:1-rev22:21"],
                         stdin=subprocess.DEVNULL, capture_output=True,
                         check=True).stdout.decode("utf-8", "replace")
    chapters = {}
    order = []
    for line in txt.split("\n"):
        m = re.match(r"^(\S+?)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key not in chapters:
            chapters[key] = []
            order.append(key)
        chapters[key].append(m.group(4).strip())
    return ["\n".join(chapters[k]) for k in order]


def read_fortunes():
    docs = []
    for name in sorted(os.listdir(FORTUNES)):
        p = os.path.join(FORTUNES, name)
        if ("." in name or os.path.islink(p) or name in FORTUNE_SKIP
                or not os.path.isfile(p)):
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            parts = re.split(r"^%\s*$", f.read(), flags=re.M)
        for part in parts:
            t = "\n".join(l.rstrip() for l in part.strip("\n").split("\n"))
            t = t.replace("\t", "    ").strip()
            if len(t) >= 20:
                docs.append(t)
    return docs


def gather_sources():
    docs = {s: [] for s in SOURCES}
    docs["scripture"] = read_bible()
    for e in dictd_entries("gcide"):
        c = clean_dict_entry(e)
        if len(c) < 40:
            continue
        if "(Chem.)" in c or "(Org. Chem.)" in c:
            docs["chemistry"].append(c)
        else:
            docs["dictionary"].append(c)
    for e in dictd_entries("elements"):
        c = clean_dict_entry(e)
        if len(c) >= 40:
            docs["chemistry"].append(c)
    comp_j = [c for c in map(clean_dict_entry, dictd_entries("jargon"))
              if len(c) >= 40]
    comp_f = [c for c in map(clean_dict_entry, dictd_entries("foldoc"))
              if len(c) >= 40]
    docs["computing"] = (comp_j, comp_f)   # balanced half/half below
    docs["quotations"] = read_fortunes()
    return docs


def take_capped(docs, cap, rng, test_every=10):
    """Shuffle (seeded), then take documents until cap bytes; keep taking
    while the train split (documents i % test_every != 0) is still empty
    (only matters for tiny caps)."""
    docs = list(docs)
    rng.shuffle(docs)
    out, n = [], 0
    for d in docs:
        if n >= cap and len(out) > 1:
            break
        out.append(d)
        n += len(d.encode()) + 1
    return out


def stage_corpus(cfg, work, out):
    path = os.path.join(work, "corpus.jsonl")
    if os.path.exists(path):
        log("corpus: cached", path)
        return
    t0 = time.time()
    raw = gather_sources()
    sel = {}
    for s in SOURCES:
        rng = random.Random(f"{SEED}-{s}")
        if s == "computing":
            j, f = raw[s]
            sel[s] = (take_capped(j, cfg["cap_bytes"] // 2, rng)
                      + take_capped(f, cfg["cap_bytes"] // 2, rng))
            rng.shuffle(sel[s])
        else:
            sel[s] = take_capped(raw[s], cfg["cap_bytes"], rng)
    stats = {}
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for s in SOURCES:
            st = {"train_docs": 0, "test_docs": 0, "train_bytes": 0,
                  "test_bytes": 0,
                  "available_docs": (len(raw[s][0]) + len(raw[s][1])
                                     if s == "computing" else len(raw[s]))}
            for i, d in enumerate(sel[s]):
                split = "test" if i % cfg["test_every"] == 0 else "train"
                f.write(json.dumps({"source": s, "split": split, "text": d},
                                   ensure_ascii=False) + "\n")
                st[split + "_docs"] += 1
                st[split + "_bytes"] += len(d.encode())
            stats[s] = st
    os.replace(path + ".tmp", path)
    files = {}
    for pkg in PACKAGES:
        v = pkg_version(pkg)
        if v is None:
            continue
        lst = subprocess.run(["dpkg", "-L", pkg], capture_output=True,
                             text=True).stdout.split("\n")
        for p in lst:
            if (p.startswith(("/usr/share/dictd/", "/usr/lib/bible",
                              FORTUNES + "/", "/usr/bin/bible"))
                    and os.path.isfile(p) and not os.path.islink(p)):
                files[p] = sha256_file(p)
    manifest = {
        "packages": {p: pkg_version(p) for p in PACKAGES},
        "source_files_sha256": files,
        "sources": stats,
        "corpus_sha256": sha256_file(path),
        "seconds": round(time.time() - t0, 1),
    }
    write_json(os.path.join(work, "corpus-manifest.json"), manifest, indent=1)
    log("corpus:", json.dumps(stats))
    log("corpus: done in %.1fs" % (time.time() - t0))


def read_corpus(work):
    with open(os.path.join(work, "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(l) for l in f]


# --------------------------------------------------------------------------
# stage: tokenizer (GPT-2 byte-level BPE)

GPT2_PAT = (r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
            r"""|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class Encoder:
    """GPT-2 scheme: regex pre-tokens, byte->unicode, lowest-rank merge first.
    <|endoftext|> in the text is matched as the special token."""

    def __init__(self, vocab, merges):
        import regex
        self.pat = regex.compile(GPT2_PAT)
        self.vocab = vocab
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.u2b = {u: b for b, u in self.b2u.items()}
        self.cache = {}
        self.eot = vocab[EOT]

    @classmethod
    def from_file(cls, path):
        tj = read_json(path)
        m = tj["model"]["merges"]
        m = [x if isinstance(x, str) else " ".join(x) for x in m]
        return cls(tj["model"]["vocab"], m)

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            a, b = parts[bi], parts[bi + 1]
            new, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    new.append(a + b)
                    i += 2
                else:
                    new.append(parts[i])
                    i += 1
            parts = new
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 500_000:
            self.cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for k, chunk in enumerate(text.split(EOT)):
            if k:
                ids.append(self.eot)
            for w in self.pat.findall(chunk):
                ids.extend(self.bpe("".join(self.b2u[b] for b in w.encode())))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.inv[int(i)]
            if t == EOT:
                out += t.encode()
            else:
                out += bytes(self.u2b[c] for c in t)
        return out.decode("utf-8", "replace")

    def token_str(self, i):
        t = self.inv[int(i)]
        if t == EOT:
            return t
        return bytes(self.u2b[c] for c in t).decode("utf-8", "replace")


def train_bpe(texts, vocab_size):
    import heapq
    import regex
    pat = regex.compile(GPT2_PAT)
    b2u = bytes_to_unicode()
    counts = {}
    for t in texts:
        for w in pat.findall(t):
            counts[w] = counts.get(w, 0) + 1
    # symbols are ints; 0..255 = bytes
    sym = [b2u[b] for b in range(256)]
    words, wc = [], []
    for w in sorted(counts):
        words.append(list(w.encode()))
        wc.append(counts[w])
    pc, where = {}, {}
    for wi, w in enumerate(words):
        for p in zip(w, w[1:]):
            pc[p] = pc.get(p, 0) + wc[wi]
            where.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pc.items()]
    heapq.heapify(heap)
    merges = []
    n_merges = vocab_size - 256 - 1
    while len(merges) < n_merges and heap:
        negc, p = heapq.heappop(heap)
        if pc.get(p, 0) != -negc or -negc <= 0:
            continue
        if -negc < 2:
            break
        a, b = p
        new_id = len(sym)
        sym.append(sym[a] + sym[b])
        merges.append(sym[a] + " " + sym[b])
        changed = set()
        for wi in sorted(where.pop(p, ())):
            w = words[wi]
            c = wc[wi]
            if len(w) < 2:
                continue
            for q in zip(w, w[1:]):
                pc[q] -= c
                changed.add(q)
            nw, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    nw.append(new_id)
                    i += 2
                else:
                    nw.append(w[i])
                    i += 1
            words[wi] = nw
            for q in zip(nw, nw[1:]):
                pc[q] = pc.get(q, 0) + c
                where.setdefault(q, set()).add(wi)
                changed.add(q)
        pc.pop(p, None)
        for q in changed:
            c = pc.get(q, 0)
            if c > 0:
                heapq.heappush(heap, (-c, q))
            else:
                pc.pop(q, None)
    vocab = {s: i for i, s in enumerate(sym)}
    vocab[EOT] = len(sym)
    return vocab, merges


def tokenizer_json(vocab, merges):
    eot = vocab[EOT]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot, "content": EOT, "single_word": False,
                          "lstrip": False, "rstrip": False,
                          "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                          "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                    "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def stage_tokenizer(cfg, work, out):
    tpath = os.path.join(out, "model", "tokenizer.json")
    spath = os.path.join(work, "tokens.npz")
    if os.path.exists(tpath) and os.path.exists(spath):
        log("tokenizer: cached", tpath)
        return
    t0 = time.time()
    docs = read_corpus(work)
    train_texts = [d["text"] for d in docs if d["split"] == "train"]
    vocab, merges = train_bpe(train_texts, cfg["vocab_size"])
    os.makedirs(os.path.dirname(tpath), exist_ok=True)
    write_json(tpath, tokenizer_json(vocab, merges))
    t1 = time.time()
    log("tokenizer: %d tokens, %d merges, trained in %.1fs"
        % (len(vocab), len(merges), t1 - t0))
    enc = Encoder.from_file(tpath)
    streams = {}
    nbytes = {}
    for split in ("train", "test"):
        for s in SOURCES:
            ids = []
            nb = 0
            for d in docs:
                if d["source"] == s and d["split"] == split:
                    ids.extend(enc.encode(d["text"]))
                    ids.append(enc.eot)
                    nb += len(d["text"].encode()) + 1
            streams[f"{split}/{s}"] = np.array(ids, dtype=np.uint16)
            nbytes[f"{split}/{s}"] = nb
    # round trip check on a few documents
    for d in docs[::max(1, len(docs) // 50)]:
        assert enc.decode(enc.encode(d["text"])) == d["text"], d["text"][:80]
    np.savez(spath + ".tmp.npz", **{k.replace("/", "__"): v
                                    for k, v in streams.items()})
    os.replace(spath + ".tmp.npz", spath)
    info = {k: {"tokens": int(len(v)), "bytes": nbytes[k],
                "bytes_per_token": round(nbytes[k] / max(1, len(v)), 3)}
            for k, v in streams.items()}
    info["seconds_train"] = round(t1 - t0, 1)
    info["seconds_total"] = round(time.time() - t0, 1)
    info["tokenizer_sha256"] = sha256_file(tpath)
    write_json(os.path.join(work, "tokens-manifest.json"), info, indent=1)
    log("tokenizer:", json.dumps(info))


def load_streams(work):
    z = np.load(os.path.join(work, "tokens.npz"))
    return {k.replace("__", "/"): z[k].astype(np.int64) for k in z.files}


# --------------------------------------------------------------------------
# the model: GPT-2, parameters named and laid out as in transformers

# "cpu" (the default: Debian's python3-torch on 2 cores) or "cuda" (--device;
# the same computation, faster, with other floats).
DEVICE = "cpu"


def torch_setup():
    import torch
    torch.set_num_threads(2)
    if DEVICE == "cuda":
        # cuBLAS is deterministic only with a fixed workspace; set before
        # its first use.  warn_only: some CUDA kernels (index_add_) have no
        # deterministic variant, and a warning beats refusing to run.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_default_device("cuda")
    else:
        torch.use_deterministic_algorithms(True)
    return torch


def to_torch(array):
    """A numpy array as a tensor on DEVICE."""
    torch = torch_setup()
    return torch.from_numpy(array).to(DEVICE)


def to_numpy(tensor):
    return tensor.detach().cpu().numpy()


def make_gpt2(cfg, vocab_size):
    torch = torch_setup()
    import torch.nn as nn
    import torch.nn.functional as F

    class GPT2(nn.Module):
        def __init__(self):
            super().__init__()
            d, L = cfg["n_embd"], cfg["n_layer"]
            self.d, self.L, self.H = d, L, cfg["n_head"]
            self.eps = 1e-5
            P = nn.ParameterDict()
            g = torch.Generator().manual_seed(SEED)

            def normal(*shape, std=0.02):
                return nn.Parameter(
                    torch.randn(*shape, generator=g, device="cpu").to(DEVICE) * std)
            P["wte__weight"] = normal(vocab_size, d)
            P["wpe__weight"] = normal(cfg["n_ctx"], d, std=0.01)
            for i in range(L):
                p = f"h__{i}__"
                for ln in ("ln_1", "ln_2"):
                    P[p + ln + "__weight"] = nn.Parameter(torch.ones(d))
                    P[p + ln + "__bias"] = nn.Parameter(torch.zeros(d))
                P[p + "attn__c_attn__weight"] = normal(d, 3 * d)
                P[p + "attn__c_attn__bias"] = nn.Parameter(torch.zeros(3 * d))
                P[p + "attn__c_proj__weight"] = normal(
                    d, d, std=0.02 / math.sqrt(2 * L))
                P[p + "attn__c_proj__bias"] = nn.Parameter(torch.zeros(d))
                P[p + "mlp__c_fc__weight"] = normal(d, 4 * d)
                P[p + "mlp__c_fc__bias"] = nn.Parameter(torch.zeros(4 * d))
                P[p + "mlp__c_proj__weight"] = normal(
                    4 * d, d, std=0.02 / math.sqrt(2 * L))
                P[p + "mlp__c_proj__bias"] = nn.Parameter(torch.zeros(d))
            P["ln_f__weight"] = nn.Parameter(torch.ones(d))
            P["ln_f__bias"] = nn.Parameter(torch.zeros(d))
            self.P = P

        def hf_state(self):
            return [(k.replace("__", "."), v) for k, v in self.P.items()]

        def forward(self, idx, hooks=None, logits=True):
            """idx [B, T] -> logits [B, T, V].  hooks: dict to fill with
            TransformerLens-named activations (resid_pre 0, attn_out,
            mlp_out, resid_post per layer)."""
            P, d, H = self.P, self.d, self.H
            B, T = idx.shape
            x = P["wte__weight"][idx] + P["wpe__weight"][:T][None]
            if hooks is not None:
                hooks["blocks.0.hook_resid_pre"] = x
            mask = torch.ones(T, T, dtype=torch.bool, device=idx.device).triu(1)
            for i in range(self.L):
                p = f"h__{i}__"
                h = F.layer_norm(x, (d,), P[p + "ln_1__weight"],
                                 P[p + "ln_1__bias"], self.eps)
                qkv = h @ P[p + "attn__c_attn__weight"] + P[p + "attn__c_attn__bias"]
                q, k, v = qkv.split(d, dim=2)
                q = q.view(B, T, H, d // H).transpose(1, 2)
                k = k.view(B, T, H, d // H).transpose(1, 2)
                v = v.view(B, T, H, d // H).transpose(1, 2)
                att = (q @ k.transpose(-2, -1)) / math.sqrt(d // H)
                att = att.masked_fill(mask, float("-inf")).softmax(-1)
                y = (att @ v).transpose(1, 2).reshape(B, T, d)
                a = y @ P[p + "attn__c_proj__weight"] + P[p + "attn__c_proj__bias"]
                x = x + a
                h = F.layer_norm(x, (d,), P[p + "ln_2__weight"],
                                 P[p + "ln_2__bias"], self.eps)
                h = F.gelu(h @ P[p + "mlp__c_fc__weight"] + P[p + "mlp__c_fc__bias"],
                           approximate="tanh")
                m = h @ P[p + "mlp__c_proj__weight"] + P[p + "mlp__c_proj__bias"]
                x = x + m
                if hooks is not None:
                    hooks[f"blocks.{i}.hook_attn_out"] = a
                    hooks[f"blocks.{i}.hook_mlp_out"] = m
                    hooks[f"blocks.{i}.hook_resid_post"] = x
            if not logits:
                return None
            x = F.layer_norm(x, (d,), P["ln_f__weight"], P["ln_f__bias"], self.eps)
            return x @ P["wte__weight"].t()

    return GPT2()


def load_model(cfg, out):
    torch = torch_setup()
    mcfg = read_json(os.path.join(out, "model", "config.json"))
    c = dict(cfg, n_layer=mcfg["n_layer"], n_embd=mcfg["n_embd"],
             n_head=mcfg["n_head"], n_ctx=mcfg["n_positions"])
    model = make_gpt2(c, mcfg["vocab_size"])
    st = load_safetensors(os.path.join(out, "model", "model.safetensors"))
    with torch.no_grad():
        for k, v in model.P.items():
            v.copy_(to_torch(st[k.replace("__", ".")].astype(np.float32)))
    model.eval()
    return model


def sample_windows(streams, split, n_per_source, T, rng):
    """Windows of T+1 tokens from single-source streams."""
    rows, srcs = [], []
    for si, s in enumerate(SOURCES):
        st = streams[f"{split}/{s}"]
        for _ in range(n_per_source):
            o = rng.integers(0, len(st) - T - 1)
            rows.append(st[o:o + T + 1])
            srcs.append(si)
    return np.stack(rows), np.array(srcs)


def eval_loss(model, streams, split, cfg):
    torch = torch_setup()
    import torch.nn.functional as F
    rng = np.random.default_rng(SEED + 7)
    T = cfg["n_ctx"]
    win, src = sample_windows(streams, split, cfg["eval_windows"], T, rng)
    res = {}
    with torch.no_grad():
        x = to_torch(win)
        losses = []
        for i in range(0, len(x), 32):
            lg = model(x[i:i + 32, :-1])
            l = F.cross_entropy(lg.reshape(-1, lg.shape[-1]),
                                x[i:i + 32, 1:].reshape(-1), reduction="none")
            losses.append(l.view(-1, T).mean(1))
        losses = to_numpy(torch.cat(losses))
    for si, s in enumerate(SOURCES):
        res[s] = round(float(losses[src == si].mean()), 4)
    res["all"] = round(float(losses.mean()), 4)
    return res


def stage_model(cfg, work, out):
    mpath = os.path.join(out, "model", "model.safetensors")
    if os.path.exists(mpath):
        log("model: cached", mpath)
        return
    torch = torch_setup()
    import torch.nn.functional as F
    torch.manual_seed(SEED)
    streams = load_streams(work)
    tok = read_json(os.path.join(out, "model", "tokenizer.json"))
    V = len(tok["model"]["vocab"])
    model = make_gpt2(cfg, V)
    decay = [p for k, p in model.P.items() if p.dim() == 2]
    nodecay = [p for k, p in model.P.items() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=(0.9, 0.95), eps=1e-8)
    steps, T, B = cfg["steps"], cfg["n_ctx"], cfg["batch"]
    rng = np.random.default_rng(SEED)
    lens = [len(streams[f"train/{s}"]) for s in SOURCES]
    ckpt = os.path.join(work, "model-ckpt.pt")
    start = 0
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rng = st["rng"]
        start = st["step"]
        log("model: resuming at step", start)
    t0 = time.time()
    hist = []
    for step in range(start, steps):
        lr = cfg["lr"] * min(1.0, (step + 1) / cfg["warmup"])
        if step >= cfg["warmup"]:
            pr = (step - cfg["warmup"]) / max(1, steps - cfg["warmup"])
            lr = cfg["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * pr)))
        for g in opt.param_groups:
            g["lr"] = lr
        # each row: one source (uniform over sources), random offset
        src = rng.integers(0, len(SOURCES), size=B)
        rows = []
        for s in src:
            o = rng.integers(0, lens[s] - T - 1)
            rows.append(streams[f"train/{SOURCES[s]}"][o:o + T + 1])
        x = to_torch(np.stack(rows))
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append(loss.item())
        if (step + 1) % 50 == 0 or step == steps - 1:
            el = time.time() - t0
            log("model: step %d/%d loss %.4f lr %.2e  %.1f s, %.0f tok/s"
                % (step + 1, steps, np.mean(hist[-50:]), lr, el,
                   (step + 1 - start) * B * T / el))
        if (step + 1) % 500 == 0 and step + 1 < steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "rng": rng, "step": step + 1}, ckpt)
    train_seconds = time.time() - t0
    model.eval()
    losses = {"train": eval_loss(model, streams, "train", cfg),
              "test": eval_loss(model, streams, "test", cfg)}
    log("model: loss", json.dumps(losses))
    d = cfg["n_embd"]
    conf = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
        "bos_token_id": V - 1, "eos_token_id": V - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-5,
        "model_type": "gpt2",
        "n_ctx": T, "n_embd": d, "n_head": cfg["n_head"], "n_inner": None,
        "n_layer": cfg["n_layer"], "n_positions": T,
        "reorder_and_upcast_attn": False,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": V,
    }
    write_json(os.path.join(out, "model", "config.json"), conf, indent=2)
    tensors = [(k, to_numpy(v).astype(np.float32))
               for k, v in model.hf_state()]
    save_safetensors(mpath, tensors, {"format": "pt"})
    info = {"steps": steps, "batch": B, "n_ctx": T,
            "tokens_seen": steps * B * T,
            "params": int(sum(v.numel() for v in model.P.values())),
            "train_seconds": round(train_seconds, 1),
            "final_train_batch_loss": round(float(np.mean(hist[-100:])), 4)
            if hist else None,
            "loss": losses}
    write_json(os.path.join(work, "model-manifest.json"), info, indent=1)
    if os.path.exists(ckpt):
        os.remove(ckpt)
    log("model:", json.dumps(info))


# --------------------------------------------------------------------------
# stage: saes (TopK, SAELens v6 folders)

def sae_specs(n_layer):
    """(folder name, hook name, site) for every SAE."""
    specs = [("emb-res", "blocks.0.hook_resid_pre", "res")]
    for L in range(n_layer):
        specs.append((f"{L}-res", f"blocks.{L}.hook_resid_post", "res"))
        specs.append((f"{L}-mlp", f"blocks.{L}.hook_mlp_out", "mlp"))
        specs.append((f"{L}-att", f"blocks.{L}.hook_attn_out", "att"))
    return specs


def collect_activations(model, windows, hook_names, drop_first=True, bs=16):
    """Run windows [N, T] through the model; return {hook: float16 [M, d]}
    (position 0 of every window dropped when drop_first)."""
    torch = torch_setup()
    out = {h: [] for h in hook_names}
    with torch.no_grad():
        for i in range(0, len(windows), bs):
            hooks = {}
            model(to_torch(windows[i:i + bs]), hooks=hooks, logits=False)
            for h in hook_names:
                a = hooks[h]
                if drop_first:
                    a = a[:, 1:]
                out[h].append(a.reshape(-1, a.shape[-1]).to(torch.float16))
    return {h: torch.cat(v) for h, v in out.items()}


def balanced_windows(streams, split, n_tokens, T, seed):
    """Non-overlapping windows of T tokens, the same number per source,
    chosen at random (seeded) from each source's stream."""
    rng = np.random.default_rng(seed)
    per = max(1, n_tokens // (len(SOURCES) * (T - 1)))
    rows, src = [], []
    for si, s in enumerate(SOURCES):
        st = streams[f"{split}/{s}"]
        n_avail = len(st) // T
        pick = rng.permutation(n_avail)[:per]
        for w in np.sort(pick):
            rows.append(st[w * T:(w + 1) * T])
            src.append(si)
    return np.stack(rows), np.array(src)


class TopKSAE:
    """Training-side TopK SAE: z = topk(relu((x - b_dec) W_enc + b_enc)),
    x_hat = z W_dec + b_dec; W_dec rows kept at unit norm."""

    def __init__(self, d, F, k, x_mean, seed):
        torch = torch_setup()
        g = torch.Generator().manual_seed(seed)
        W_dec = torch.randn(F, d, generator=g, device="cpu").to(DEVICE)
        W_dec /= W_dec.norm(dim=1, keepdim=True)
        self.W_enc = W_dec.t().clone().contiguous().requires_grad_()
        self.W_dec = W_dec.requires_grad_()
        self.b_enc = torch.zeros(F, requires_grad=True)
        self.b_dec = x_mean.detach().clone().requires_grad_()
        self.k = k
        self.params = [self.W_enc, self.b_enc, self.W_dec, self.b_dec]

    def pre(self, x):
        return (x - self.b_dec) @ self.W_enc + self.b_enc

    def encode_sparse(self, x):
        torch = torch_setup()
        v, i = self.pre(x).topk(self.k, dim=1)
        return torch.relu(v), i

    def decode_sparse(self, v, i):
        import torch.nn.functional as F
        return F.embedding_bag(i, self.W_dec, per_sample_weights=v,
                               mode="sum") + self.b_dec


def sae_grads(sae, x, var, dead, k_aux, aux_coef=1 / 32):
    """Loss and hand-written gradients of a TopK SAE step (the dense
    autograd path through topk is several times slower on CPU).  Loss =
    |x - x_hat|^2 / var, plus AuxK (Gao et al. 2024): the dead latents' top
    k_aux pre-activations reconstruct the residual error, weight aux_coef."""
    torch = torch_setup()
    import torch.nn.functional as F
    B, d = x.shape
    We, be, Wd, bd = sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec
    xc = x - bd
    pre = xc @ We + be
    v, i = pre.topk(sae.k, dim=1)
    v = torch.relu(v)
    xh = F.embedding_bag(i, Wd, per_sample_weights=v, mode="sum") + bd
    err = xh - x
    loss = float(err.pow(2).sum()) / (B * var)
    g = err * (2.0 / (B * var))                         # dL/dx_hat
    dWd = torch.zeros_like(Wd)
    dWd.index_add_(0, i.reshape(-1), (v[:, :, None] * g[:, None, :]).reshape(-1, d))
    dpre = (g @ Wd.t()).gather(1, i) * (v > 0)
    idx, dp = [i], [dpre]
    db_dec = g.sum(0)
    aux = 0.0
    n_dead = int(dead.sum())
    if n_dead > 0 and k_aux > 0:
        ka = min(k_aux, n_dead)
        va, ia = pre.masked_fill(~dead, float("-inf")).topk(ka, dim=1)
        va = torch.relu(va)
        e = -err                                       # x - x_hat (target)
        eh = F.embedding_bag(ia, Wd, per_sample_weights=va, mode="sum")
        ra = eh - e
        aux = float(ra.pow(2).sum()) / (B * var)
        ga = ra * (2.0 * aux_coef / (B * var))
        dWd.index_add_(0, ia.reshape(-1),
                       (va[:, :, None] * ga[:, None, :]).reshape(-1, d))
        idx.append(ia)
        dp.append((ga @ Wd.t()).gather(1, ia) * (va > 0))
    dWeT = torch.zeros(We.shape[1], d, device=x.device)
    dbe = torch.zeros(We.shape[1], device=x.device)
    WeT = We.t().contiguous()
    for ii, dd in zip(idx, dp):
        dWeT.index_add_(0, ii.reshape(-1),
                        (dd[:, :, None] * xc[:, None, :]).reshape(-1, d))
        dbe.index_add_(0, ii.reshape(-1), dd.reshape(-1))
        db_dec -= F.embedding_bag(ii, WeT, per_sample_weights=dd,
                                  mode="sum").sum(0)
    return loss + aux_coef * aux, i, v, [dWeT.t().contiguous(), dbe, dWd, db_dec]


def sae_size(cfg, site):
    """(d_sae, k) of the SAEs at a site."""
    if site == "att":
        return cfg["att_d_sae"], cfg["att_k"]
    return cfg["d_sae"], cfg["sae_k"]


def resample_dead(sae, opt, dead, x):
    """Points dead latents at what the SAE reconstructs worst (Bricken et
    al. 2023): each takes the normalised error of one of the worst-
    reconstructed inputs in x as its decoder row, and as its encoder column
    at the live columns' mean norm, so it can win a TopK slot; their Adam
    moments restart.  AuxK alone cannot revive latents on sites whose
    activations span few directions (attn_out here): the residual error it
    trains them on is already tiny."""
    torch = torch_setup()
    idx = dead.nonzero().squeeze(1)
    with torch.no_grad():
        v, i = sae.encode_sparse(x)
        err = x - sae.decode_sparse(v, i)
        worst = err.pow(2).sum(1).topk(min(len(idx), len(x))).indices
        worst = worst.repeat(len(idx) // len(worst) + 1)[:len(idx)]
        dirs = err[worst]
        dirs /= dirs.norm(dim=1, keepdim=True).clamp_min(1e-8)
        enc_norm = sae.W_enc[:, ~dead].norm(dim=0).mean()
        sae.W_dec[idx] = dirs
        sae.W_enc[:, idx] = dirs.t() * enc_norm
        sae.b_enc[idx] = 0.0
        for p_, rows in ((sae.W_enc, (slice(None), idx)), (sae.b_enc, idx),
                         (sae.W_dec, idx)):
            for moment in ("exp_avg", "exp_avg_sq"):
                opt.state[p_][moment][rows] = 0.0
    return len(idx)


def train_sae(acts, test_acts, cfg, seed, name, site):
    torch = torch_setup()
    torch.manual_seed(seed)
    N, d = acts.shape
    Fs, k = sae_size(cfg, site)
    sample = acts[::max(1, N // 50_000)].float()   # all sources
    x_mean = sample.mean(0)
    sae = TopKSAE(d, Fs, k, x_mean, seed)
    for p_ in sae.params:
        p_.requires_grad_(False)
    opt = torch.optim.Adam(sae.params, lr=cfg["sae_lr"], betas=(0.9, 0.999))
    steps, B = cfg["sae_steps"], cfg["sae_batch"]
    g = torch.Generator().manual_seed(seed + 1)
    last_fired = torch.zeros(Fs, dtype=torch.long)   # step of last firing
    dead_after = max(20, steps // 20)                 # steps
    resample_every = max(2 * dead_after, steps // 8)
    k_aux = min(d // 2, Fs // 2)
    var = float((sample - x_mean).pow(2).sum(1).mean())
    perm = torch.randperm(N, generator=g, device="cpu")
    pos = 0
    t0 = time.time()
    for step in range(steps):
        if pos + B > N:
            perm = torch.randperm(N, generator=g, device="cpu")
            pos = 0
        x = acts[perm[pos:pos + B]].float()
        pos += B
        lr = cfg["sae_lr"] * min(1.0, (step + 1) / 50)
        if step > 0.7 * steps:
            lr *= (steps - step) / (0.3 * steps)
        for gr in opt.param_groups:
            gr["lr"] = lr
        dead = (step - last_fired) > dead_after
        loss, i, v, grads = sae_grads(sae, x, var, dead, k_aux)
        fired = torch.zeros(Fs, dtype=torch.bool)
        fired[i[v > 0]] = True
        last_fired[fired] = step
        for p_, g_ in zip(sae.params, grads):
            p_.grad = g_
        opt.step()
        sae.W_dec /= sae.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)
        # resample in the first half only, so the revived latents settle
        if (step + 1) % resample_every == 0 and step < steps // 2:
            dead = (step - last_fired) > dead_after
            if dead.any():
                n = resample_dead(sae, opt, dead, x)
                last_fired[dead] = step
                log("  %s step %d: resampled %d dead latents" % (name, step + 1, n))
        if (step + 1) % 100 == 0 or step == steps - 1:
            log("  %s step %d/%d loss %.4f dead(train) %d  %.1fs"
                % (name, step + 1, steps, loss, int(dead.sum()),
                   time.time() - t0))
    # evaluate on the test split
    with torch.no_grad():
        se, sv, l0, cnt = 0.0, 0.0, 0.0, torch.zeros(Fs)
        tm = test_acts.float().mean(0)
        for j in range(0, len(test_acts), 8192):
            x = test_acts[j:j + 8192].float()
            v, i = sae.encode_sparse(x)
            xh = sae.decode_sparse(v, i)
            se += float((x - xh).pow(2).sum())
            sv += float((x - tm).pow(2).sum())
            act = v > 0
            l0 += float(act.sum())
            cnt.index_add_(0, i[act], torch.ones(int(act.sum())))
        M = len(test_acts)
    metrics = {"fvu": round(se / sv, 4), "l0": round(l0 / M, 2),
               "dead_frac": round(float((cnt == 0).float().mean()), 4),
               "test_tokens": M, "train_tokens_seen": steps * B,
               "seconds": round(time.time() - t0, 1)}
    density = cnt / M
    return sae, metrics, density


def save_sae(path, sae, cfg, hook, name, density, n_ctx):
    torch = torch_setup()
    os.makedirs(path, exist_ok=True)
    with torch.no_grad():
        tensors = [("W_enc", to_numpy(sae.W_enc).astype(np.float32)),
                   ("W_dec", to_numpy(sae.W_dec).astype(np.float32)),
                   ("b_enc", to_numpy(sae.b_enc).astype(np.float32)),
                   ("b_dec", to_numpy(sae.b_dec).astype(np.float32))]
    save_safetensors(os.path.join(path, "sae_weights.safetensors"), tensors,
                     {"format": "pt"})
    sp = np.log10(to_numpy(density).astype(np.float64) + 1e-10).astype(np.float32)
    save_safetensors(os.path.join(path, "sparsity.safetensors"),
                     [("sparsity", sp)], {"format": "pt"})
    d = sae.W_dec.shape[1]
    conf = {
        "architecture": "topk",
        "d_in": d,
        "d_sae": sae.W_dec.shape[0],
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "k": sae.k,
        "rescale_acts_by_decoder_norm": False,
        "metadata": {
            "sae_lens_version": "6.0.0",
            "sae_lens_training_version": "6.0.0",
            "model_name": MODEL_ID,
            "model_class_name": "HookedTransformer",
            "hook_name": hook,
            "hook_head_index": None,
            "prepend_bos": False,
            "context_size": n_ctx,
            "seqpos_slice": [1, None],
            "dataset_path": "flowscope-demo corpus (train split)",
            "neuronpedia_id": f"{MODEL_ID}/{name}",
            "model_from_pretrained_kwargs": {},
            "trainer": "data/demo/make-demo.py (TopK + AuxK, unit-norm decoder)",
        },
    }
    write_json(os.path.join(path, "cfg.json"), conf, indent=2)


def load_sae(path):
    """Inference-side SAE from a folder written by save_sae."""
    torch = torch_setup()
    st = load_safetensors(os.path.join(path, "sae_weights.safetensors"))
    conf = read_json(os.path.join(path, "cfg.json"))
    sae = TopKSAE.__new__(TopKSAE)
    sae.W_enc = to_torch(st["W_enc"].astype(np.float32))
    sae.W_dec = to_torch(st["W_dec"].astype(np.float32))
    sae.b_enc = to_torch(st["b_enc"].astype(np.float32))
    sae.b_dec = to_torch(st["b_dec"].astype(np.float32))
    sae.k = conf["k"]
    return sae, conf


def stage_saes(cfg, work, out):
    mpath = os.path.join(work, "sae-metrics.json")
    if os.path.exists(mpath):
        log("saes: cached", mpath)
        return
    torch = torch_setup()
    model = load_model(cfg, out)
    streams = load_streams(work)
    T = model.P["wpe__weight"].shape[0]
    specs = sae_specs(model.L)
    hooks = [h for _, h, _ in specs]
    t0 = time.time()
    win, _ = balanced_windows(streams, "train", cfg["sae_tokens"], T, SEED + 11)
    acts = collect_activations(model, win, hooks)
    twin, _ = balanced_windows(streams, "test", cfg["sae_test_tokens"], T,
                               SEED + 12)
    tacts = collect_activations(model, twin, hooks)
    log("saes: collected %d train / %d test activations per hook in %.1fs"
        % (len(acts[hooks[0]]), len(tacts[hooks[0]]), time.time() - t0))
    metrics = {"collect_seconds": round(time.time() - t0, 1)}
    os.makedirs(os.path.join(work, "sae-metrics"), exist_ok=True)
    for n, (name, hook, site) in enumerate(specs):
        folder = os.path.join(out, "saes", name)
        one = os.path.join(work, "sae-metrics", name + ".json")
        if (os.path.exists(one)
                and os.path.exists(os.path.join(folder, "cfg.json"))):
            metrics[name] = read_json(one)
            log("saes: %s cached" % name)
            continue
        sae, m, density = train_sae(acts[hook], tacts[hook], cfg,
                                    SEED + 100 + n, name, site)
        save_sae(folder, sae, cfg, hook, name, density, T)
        m["hook_name"] = hook
        write_json(one, m, indent=1)
        metrics[name] = m
        log("saes: %-8s %-28s FVU %.4f  L0 %.1f  dead %.1f%%  (%.0fs)"
            % (name, hook, m["fvu"], m["l0"], 100 * m["dead_frac"],
               m["seconds"]))
        del acts[hook]
    metrics["seconds"] = round(time.time() - t0, 1)
    write_json(mpath, metrics, indent=1)


# --------------------------------------------------------------------------
# stage: labels (Neuronpedia-style explanations + feature statistics)

SHORT = {"scripture": "bible", "dictionary": "gcide", "computing":
         "jargon/foldoc", "quotations": "fortunes", "chemistry": "chem"}


def _tok_repr(s):
    s = s.replace("\n", "\\n")
    return "'" + s + "'"


def describe(shares, top_tokens, density, label_top):
    if density == 0:
        return "dead (never active on the demo corpus)"
    best = int(np.argmax(shares))
    toks = ", ".join(_tok_repr(t) for t in top_tokens[:3])
    if shares[best] >= 0.5:
        return "%s: %s (%d%% %s)" % (SOURCES[best], toks,
                                     round(100 * shares[best]),
                                     SHORT[SOURCES[best]])
    order = np.argsort(-shares)
    return "mixed: %s (%d%% %s, %d%% %s)" % (
        toks, round(100 * shares[order[0]]), SHORT[SOURCES[order[0]]],
        round(100 * shares[order[1]]), SHORT[SOURCES[order[1]]])


def stage_labels(cfg, work, out):
    lpath = os.path.join(out, "labels.json")
    if os.path.exists(lpath):
        log("labels: cached", lpath)
        return
    torch = torch_setup()
    t0 = time.time()
    model = load_model(cfg, out)
    enc = Encoder.from_file(os.path.join(out, "model", "tokenizer.json"))
    streams = load_streams(work)
    T = model.P["wpe__weight"].shape[0]
    specs = sae_specs(model.L)
    win, wsrc = balanced_windows(streams, "train", cfg["label_tokens"], T,
                                 SEED + 21)
    acts = collect_activations(model, win, [h for _, h, _ in specs])
    M = len(acts[specs[0][1]])
    tok = torch.from_numpy(win[:, 1:].reshape(-1))
    src = torch.from_numpy(np.repeat(wsrc, T - 1))
    ntop = cfg["label_top"]
    labels, stats = [], {"format": "flowscope-demo feature stats v1",
                         "sources": SOURCES, "label_tokens": M,
                         "top_n": ntop, "saes": {}}

    def context(flat):
        w, p = divmod(int(flat), T - 1)
        p += 1
        left = enc.decode(win[w, max(0, p - 8):p])
        mid = enc.decode(win[w, p:p + 1])
        right = enc.decode(win[w, p + 1:p + 3])
        left = left.split("<|endoftext|>")[-1]
        s = (left[-40:] + "[[" + mid + "]]" + right[:16])
        return s.replace("\n", " ")

    for name, hook, site in specs:
        sae, conf = load_sae(os.path.join(out, "saes", name))
        Fs = sae.W_dec.shape[0]
        topv = torch.full((ntop, Fs), -1.0)
        topi = torch.zeros((ntop, Fs), dtype=torch.long)
        cnt = torch.zeros(Fs)
        ssum = torch.zeros(Fs)
        with torch.no_grad():
            for j in range(0, M, 8192):
                x = acts[hook][j:j + 8192].float()
                v, i = sae.encode_sparse(x)
                z = torch.zeros(len(x), Fs).scatter_(1, i, v)
                cnt += (z > 0).sum(0)
                ssum += z.sum(0)
                cv = torch.cat([topv, z])
                ci = torch.cat([topi, torch.arange(j, j + len(x))[:, None]
                                .expand(-1, Fs)])
                topv, sel = cv.topk(ntop, dim=0)
                topi = ci.gather(0, sel)
        # per-feature bookkeeping below is small and scalar: on the CPU
        topv, topi, cnt, ssum = (t.cpu() for t in (topv, topi, cnt, ssum))
        feats = []
        for f in range(Fs):
            ok = topv[:, f] > 0
            idx = topi[ok, f]
            density = float(cnt[f]) / M
            shares = np.zeros(len(SOURCES))
            if len(idx):
                sc = torch.bincount(src[idx], minlength=len(SOURCES)).numpy()
                shares = sc / sc.sum()
            tc = {}
            for t in tok[idx].tolist():
                tc[t] = tc.get(t, 0) + 1
            top_tokens = [enc.token_str(t) for t, _ in
                          sorted(tc.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
            desc = describe(shares, top_tokens, density, ntop)
            labels.append({"modelId": MODEL_ID, "layer": name, "index": str(f),
                           "description": desc,
                           "explanationModelName": "flowscope-demo-labeler",
                           "typeName": "auto"})
            feats.append({
                "density": round(density, 6),
                "mean_act": round(float(ssum[f]) / max(1.0, float(cnt[f])), 4),
                "max_act": round(float(topv[0, f]) if len(idx) else 0.0, 4),
                "shares": [round(float(x), 3) for x in shares],
                "top_tokens": top_tokens,
                "contexts": [context(i) for i in idx[:3].tolist()],
            })
        stats["saes"][name] = {"hook_name": conf["metadata"]["hook_name"],
                               "neuronpedia_id": conf["metadata"]["neuronpedia_id"],
                               "features": feats}
        dom = {}
        for l in labels[-Fs:]:
            key = l["description"].split(":")[0].split(" ")[0]
            dom[key] = dom.get(key, 0) + 1
        log("labels: %-8s %s" % (name, json.dumps(dom, sort_keys=True)))
        del acts[hook]
    write_json(os.path.join(out, "feature-stats.json"), stats)
    write_json(lpath, labels)
    log("labels: %d explanations in %.1fs" % (len(labels), time.time() - t0))


# --------------------------------------------------------------------------
# stage: classifier (multinomial naive Bayes over token ids)

def nb_scores(clf, ids):
    """Log-probability (up to a constant) of each class for token ids."""
    W = np.asarray(clf["log_prob"])
    ig = set(clf["ignore_token_ids"])
    ids = [i for i in ids if i not in ig]
    return np.asarray(clf["log_prior"]) + W[:, ids].sum(1)


def stage_classifier(cfg, work, out):
    cpath = os.path.join(out, "theme-classifier.json")
    if os.path.exists(cpath):
        log("classifier: cached", cpath)
        return
    t0 = time.time()
    streams = load_streams(work)
    tok = read_json(os.path.join(out, "model", "tokenizer.json"))
    V = len(tok["model"]["vocab"])
    eot = tok["model"]["vocab"][EOT]
    alpha = 0.5
    counts = np.zeros((len(SOURCES), V))
    for c, s in enumerate(SOURCES):
        counts[c] = np.bincount(streams[f"train/{s}"], minlength=V)
    counts[:, eot] = 0
    logp = np.log((counts + alpha) / (counts + alpha).sum(1, keepdims=True))
    logp[:, eot] = 0.0
    clf = {
        "format": "flowscope-theme-classifier",
        "version": 1,
        "description": (
            "Multinomial naive Bayes over the token ids of model/tokenizer.json. "
            "Score a text: encode it with the tokenizer, drop ignore_token_ids, "
            "score[c] = log_prior[c] + sum over tokens t of log_prob[c][t]; "
            "the predicted class is argmax score; class probabilities are "
            "softmax(score). For steering reports use the uniform prior "
            "(log_prior is uniform here: the training sources are balanced) and "
            "report per-token mean log-odds of a class vs the rest if the text "
            "length varies."),
        "tokenizer": "model/tokenizer.json",
        "vocab_size": V,
        "classes": SOURCES,
        "class_sources": {"scripture": "bible-kjv-text", "dictionary": "dict-gcide",
                          "computing": "dict-jargon + dict-foldoc",
                          "quotations": "fortunes",
                          "chemistry": "dict-elements + dict-gcide (Chem.) entries"},
        "smoothing_alpha": alpha,
        "log_prior": [round(-math.log(len(SOURCES)), 6)] * len(SOURCES),
        "ignore_token_ids": [eot],
        "log_prob": [[round(float(x), 4) for x in row] for row in logp],
    }
    # test-split accuracy: whole documents and 32/64-token chunks
    acc = {}
    for chunk in (32, 64, "doc"):
        res = {}
        for c, s in enumerate(SOURCES):
            st = streams[f"test/{s}"]
            if chunk == "doc":
                cut = np.where(st == eot)[0]
                pieces = np.split(st, cut + 1)
            else:
                pieces = [st[i:i + chunk] for i in range(0, len(st) - chunk + 1,
                                                         chunk)]
            pieces = [p[p != eot] for p in pieces]
            pieces = [p for p in pieces if len(p)]
            ok = sum(int(np.argmax(nb_scores(clf, p.tolist())) == c)
                     for p in pieces)
            res[s] = round(ok / max(1, len(pieces)), 4)
        res["mean"] = round(float(np.mean([res[s] for s in SOURCES])), 4)
        acc[str(chunk)] = res
    clf["test_accuracy"] = acc
    write_json(cpath, clf)
    log("classifier: test accuracy", json.dumps(acc))
    log("classifier: done in %.1fs" % (time.time() - t0))


# --------------------------------------------------------------------------
# report: Markdown summary of what the stages recorded (for README.md)

def report(cfg, work, out):
    def rj(name):
        p = os.path.join(work, name)
        return read_json(p) if os.path.exists(p) else {}
    cm, tm, mm = rj("corpus-manifest.json"), rj("tokens-manifest.json"), \
        rj("model-manifest.json")
    sm, times = rj("sae-metrics.json"), rj("timings.json")
    L = []
    L.append("### Packages\n")
    L.append("| package | version |\n|---|---|")
    for p, v in cm.get("packages", {}).items():
        L.append("| %s | %s |" % (p, v))
    L.append("\n### Corpus\n")
    L.append("| source | train docs | train bytes | train tokens | test docs |"
             " test bytes | test tokens |\n|---|---|---|---|---|---|---|")
    for s in SOURCES:
        st = cm.get("sources", {}).get(s, {})
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            s, st.get("train_docs"), st.get("train_bytes"),
            tm.get("train/" + s, {}).get("tokens"), st.get("test_docs"),
            st.get("test_bytes"), tm.get("test/" + s, {}).get("tokens")))
    L.append("\ncorpus.jsonl sha256 `%s`; tokenizer.json sha256 `%s`"
             % (cm.get("corpus_sha256"), tm.get("tokenizer_sha256")))
    if mm:
        L.append("\n### Model\n")
        L.append("%d parameters, %d steps x %d x %d tokens = %d tokens, %.0f s."
                 % (mm["params"], mm["steps"], mm["batch"], mm["n_ctx"],
                    mm["tokens_seen"], mm["train_seconds"]))
        L.append("\n| loss (nats/token) | " + " | ".join(SOURCES) +
                 " | all |\n|---|" + "---|" * (len(SOURCES) + 1))
        for sp in ("train", "test"):
            L.append("| %s | " % sp + " | ".join(
                str(mm["loss"][sp][s]) for s in SOURCES + ["all"]) + " |")
    if sm:
        L.append("\n### SAEs (test split, %s tokens)\n"
                 % next((v["test_tokens"] for v in sm.values()
                         if isinstance(v, dict)), "?"))
        L.append("| SAE | hook | FVU | mean L0 | dead | seconds |\n"
                 "|---|---|---|---|---|---|")
        for k, v in sm.items():
            if isinstance(v, dict):
                L.append("| %s | %s | %.4f | %.1f | %.1f%% | %.0f |" % (
                    k, v["hook_name"], v["fvu"], v["l0"],
                    100 * v["dead_frac"], v["seconds"]))
    cp = os.path.join(out, "theme-classifier.json")
    if os.path.exists(cp):
        acc = read_json(cp)["test_accuracy"]
        L.append("\n### Theme classifier (test-split accuracy)\n")
        L.append("| unit | " + " | ".join(SOURCES) + " | mean |\n|---|" +
                 "---|" * (len(SOURCES) + 1))
        for u, r in acc.items():
            L.append("| %s | " % (u if u == "doc" else u + " tokens") +
                     " | ".join(str(r[s]) for s in SOURCES + ["mean"]) + " |")
    if times:
        L.append("\n### Stage timings (seconds, where each stage last ran)\n")
        L.append("| stage | seconds |\n|---|---|")
        for k, v in times.items():
            L.append("| %s | %s |" % (k, v))
    sizes = []
    for root, _, files in os.walk(out):
        for f in files:
            p = os.path.join(root, f)
            sizes.append((os.path.relpath(p, out), os.path.getsize(p)))
    L.append("\n### Files\n")
    L.append("| file | bytes |\n|---|---|")
    for f, n in sorted(sizes):
        L.append("| %s | %d |" % (f, n))
    L.append("| total | %d |" % sum(n for _, n in sizes))
    print("\n".join(L))


# --------------------------------------------------------------------------
# main

STAGES = ["corpus", "tokenizer", "model", "saes", "labels", "classifier"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stages", nargs="*", default=["all"],
                    help="stages to run: %s or all; or report (print a "
                    "Markdown summary of the recorded metrics)" % " ".join(STAGES))
    ap.add_argument("--work-dir", help="cache for intermediate data")
    ap.add_argument("--out", default=HERE, help="where final artefacts go")
    ap.add_argument("--tiny", action="store_true",
                    help="tiny configuration for smoke tests")
    ap.add_argument("--force", default="",
                    help="comma-separated stages whose outputs are rebuilt")
    ap.add_argument("--set", action="append", default=[],
                    help="override a configuration value, KEY=VALUE")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="where torch trains (cuda: faster, other floats)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    cfg = dict(TINY if args.tiny else FULL)
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = type(cfg[k])(float(v)) if k in cfg else v
    work = args.work_dir or os.path.expanduser(
        "~/.cache/flowscope-demo" + ("-tiny" if args.tiny else ""))
    os.makedirs(work, exist_ok=True)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if args.stages == ["report"]:
        report(cfg, work, out)
        return
    stages = STAGES if "all" in args.stages else args.stages
    for s in stages:
        if s not in STAGES:
            ap.error("unknown stage " + s)
    force = [s for s in args.force.split(",") if s]
    for s in STAGES:
        if s not in stages:
            continue
        if s in force:
            forget(s, work, out)
        t0 = time.time()
        globals()["stage_" + s](cfg, work, out)
        times = os.path.join(work, "timings.json")
        tm = read_json(times) if os.path.exists(times) else {}
        if time.time() - t0 > 1:        # not just "cached"
            tm[s] = round(time.time() - t0, 1)
        write_json(times, tm, indent=1)
        log("== stage %s: %.1f s" % (s, time.time() - t0))


def forget(stage, work, out):
    paths = {
        "corpus": [os.path.join(work, "corpus.jsonl")],
        "tokenizer": [os.path.join(out, "model", "tokenizer.json"),
                      os.path.join(work, "tokens.npz")],
        "model": [os.path.join(out, "model", "model.safetensors"),
                  os.path.join(work, "model-ckpt.pt")],
        # the per-SAE metrics too: they mark trained SAEs as done
        "saes": [os.path.join(work, "sae-metrics.json"),
                 os.path.join(work, "sae-metrics")],
        "labels": [os.path.join(out, "labels.json")],
        "classifier": [os.path.join(out, "theme-classifier.json")],
    }[stage]
    for p in paths:
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)
    times = os.path.join(work, "timings.json")
    if os.path.exists(times):
        tm = read_json(times)
        tm.pop(stage, None)
        write_json(times, tm, indent=1)


if __name__ == "__main__":
    main()
