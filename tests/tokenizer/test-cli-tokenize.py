#!/usr/bin/env python3
"""flowscope-cli tokenize: output, options, and errors on malformed files
(exit 1, "flowscope-cli: error: <file>: <problem>"); usage errors exit 2."""
import json
import os
import shutil
import tempfile

from testlib import cli, check, finish

TINY = {
    "added_tokens": [{"id": 5, "content": "<bos>", "special": True, "normalized": False}],
    "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    "pre_tokenizer": None,
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}]},
    "model": {"type": "BPE", "byte_fallback": True,
              "vocab": {"a": 0, "b": 1, "▁": 2, "ab": 3, "<0xFF>": 4, "<bos>": 5, "<0xC3>": 6,
                        "<0xA9>": 7},
              "merges": [["a", "b"]]},
}


def write(directory, name, document):
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(document if isinstance(document, str) else json.dumps(document, ensure_ascii=False))
    return path


def broken(tmp, name, change):
    document = json.loads(json.dumps(TINY))
    change(document)
    return write(tmp, f"{name}/tokenizer.json", document)


def expect_error(path, problem):
    out, err = cli("tokenize", "--tokenizer", path, "--text", "ab", expect_rc=1)
    expected = f"flowscope-cli: error: {path}: {problem}"
    check(err.startswith(expected), f"stderr {err!r} should start with {expected!r}")
    check(out == "", f"nothing on stdout on errors, got {out!r}")


def main():
    tmp = tempfile.mkdtemp(prefix="fs-cli-tokenize-")
    try:
        work(tmp)
    finally:
        shutil.rmtree(tmp)
    finish()


def work(tmp):
    good = write(tmp, "model/tokenizer.json", TINY)
    model = os.path.dirname(good)

    out, _ = cli("tokenize", "--tokenizer", good, "--text", "ab a é", "--json")
    check(json.loads(out) == {"ids": [3, 2, 0, 2, 6, 7], "tokens": ["ab", "▁", "a", "▁", "<0xC3>", "<0xA9>"]},
          f"--json output: {out}")
    out, _ = cli("tokenize", "--model", model, "--text", "ab", "--json", "--bos")
    check(json.loads(out)["ids"] == [5, 3], f"--model with --bos: {out}")
    out, _ = cli("tokenize", "--model", model, "--text", "ab")
    check(out.startswith("1 token\n") and "ab" in out, f"human output: {out!r}")
    out, _ = cli("tokenize", "--tokenizer", model, "--text", "", "--json")
    check(json.loads(out) == {"ids": [], "tokens": []}, f"empty text: {out}")

    text_file = os.path.join(tmp, "text.bin")
    with open(text_file, "wb") as f:
        f.write(b"ab\xff a")
    out, _ = cli("tokenize", "--tokenizer", good, "--text-file", text_file, "--json")
    check(json.loads(out)["ids"] == [3, 4, 2, 0], f"--text-file with a byte that is not UTF-8: {out}")

    # Malformed files: exit 1, the file named first.
    expect_error(write(tmp, "notjson/tokenizer.json", "{\"model\": [}"), "not valid JSON")
    not_utf8 = os.path.join(tmp, "notutf8.json")
    with open(not_utf8, "wb") as f:
        f.write(b'{"model": "\xff"}')
    expect_error(not_utf8, "not UTF-8 text")
    expect_error(broken(tmp, "nomodel", lambda d: d.pop("model")), "no “model” object")
    expect_error(broken(tmp, "unigram", lambda d: d["model"].update(type="Unigram")),
                 "model type “Unigram” is not supported")
    expect_error(broken(tmp, "badmerge", lambda d: d["model"]["merges"].append(["b", "a"])),
                 "merges: entry 2: “ba” is not in the vocab")
    expect_error(broken(tmp, "unknownmerge", lambda d: d["model"]["merges"].append("a c")),
                 "merges: entry 2: “c” is not in the vocab")
    expect_error(broken(tmp, "range", lambda d: d["model"]["vocab"].update(b=1000)),
                 "vocab: the id of “b” must be an integer from 0 to 8")
    expect_error(broken(tmp, "duplicate", lambda d: d["model"]["vocab"].update(b=0)),
                 "vocab: id 0 is given to both “a” and “b”")
    expect_error(broken(tmp, "normalizer", lambda d: d.update(normalizer={"type": "Precompiled"})),
                 "normalizer type “Precompiled” is not supported")
    expect_error(broken(tmp, "pretok", lambda d: d.update(pre_tokenizer={"type": "Metaspace"})),
                 "pre_tokenizer type “Metaspace” is not supported")
    expect_error(os.path.join(tmp, "nowhere"), "no such file or folder")
    os.makedirs(os.path.join(tmp, "empty"))
    expect_error(os.path.join(tmp, "empty"), "no tokenizer.json, nor vocab.json with merges.txt")
    _, err = cli("tokenize", "--tokenizer", good, "--text-file", os.path.join(tmp, "missing.txt"),
                 expect_rc=1)
    check(err.startswith(f"flowscope-cli: error: {os.path.join(tmp, 'missing.txt')}: "), err)
    no_bos = broken(tmp, "nobos", lambda d: (d.pop("added_tokens"),
                                             d["model"]["vocab"].update(c=d["model"]["vocab"].pop("<bos>"))))
    _, err = cli("tokenize", "--tokenizer", no_bos, "--text", "a", "--bos", expect_rc=1)
    check("has no BOS token" in err, f"--bos without a BOS: {err!r}")

    # Usage errors: exit 2. Without --model or --tokenizer the bundled demo's
    # tokenizer is used; where there is no demo, that is a usage error.
    os.environ["FLOWSCOPE_DEMO_DIR"] = os.path.join(tmp, "no-demo")
    cli("tokenize", "--text", "a", expect_rc=2)
    cli("tokenize", "--tokenizer", good, expect_rc=2)
    cli("tokenize", "--tokenizer", good, "--model", model, "--text", "a", expect_rc=2)
    cli("tokenize", "--tokenizer", good, "--text", "a", "--text-file", text_file, expect_rc=2)
    cli("tokenize", "--tokenizer", good, "--text", "a", "stray", expect_rc=2)
    cli("tokenize", "--frobnicate", expect_rc=2)


if __name__ == "__main__":
    main()
