#!/usr/bin/env python3
"""Writes a GPT-2 tokenizer.json (the Hugging Face `tokenizers` format, as
the hub's gpt2/tokenizer.json has it) from the legacy pair:

    make-gpt2-tokenizer-json.py VOCAB.json MERGES.txt OUT.json [--pairs]

VOCAB.json is GPT-2's encoder.json (token -> id), MERGES.txt its vocab.bpe
("#version: 0.2" then "a b" lines). Merges are written as "a b" strings,
or with --pairs as ["a", "b"] arrays (the newer form).
"""
import json
import sys


def main():
    vocab_path, merges_path, out_path = sys.argv[1:4]
    pairs = "--pairs" in sys.argv[4:]
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [line for i, line in enumerate(lines)
              if line and not (i == 0 and line.startswith("#version"))]
    if pairs:
        merges = [line.split(" ") for line in merges]

    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{
            "id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "single_word": False,
            "lstrip": False, "rstrip": False, "normalized": True, "special": True,
        }],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {"type": "ByteLevel", **byte_level, "trim_offsets": False},
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None,
            "continuing_subword_prefix": "", "end_of_word_suffix": "",
            "fuse_unk": False, "byte_fallback": False,
            "vocab": vocab, "merges": merges,
        },
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
