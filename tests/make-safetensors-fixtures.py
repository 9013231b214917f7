#!/usr/bin/python3
"""Writes the safetensors test fixtures: OUTDIR/safetensors/*.

Usage: make-safetensors-fixtures.py OUTDIR STAMP

The files are written by hand from the format description (struct + json),
independently of Flowscope, from a fixed seed. expected.json lists, for each
valid fixture, every tensor's dtype, shape and values (as float64), and for
each corrupt fixture the text its error message must contain.
"""

import json
import os
import struct
import sys

import numpy as np

SEED = 20240611

# dtype name -> (numpy little-endian type, bytes per element); BF16 is
# stored as raw uint16 bits since NumPy has no bfloat16.
DTYPES = {
    "F32": ("<f4", 4),
    "F16": ("<f2", 2),
    "BF16": ("<u2", 2),
    "F64": ("<f8", 8),
}


def f32_to_bf16_bits(values):
    """Rounds float32 to bfloat16 bits, nearest with ties to even."""
    bits = np.asarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def bf16_bits_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view("<f4").astype(np.float64)


class Tensor:
    """One tensor: name, dtype, shape, stored bytes and exact float64 values."""

    def __init__(self, name, dtype, shape, values):
        self.name = name
        self.dtype = dtype
        self.shape = list(shape)
        if dtype == "BF16":
            stored = f32_to_bf16_bits(np.asarray(values, dtype=np.float32).reshape(shape))
            self.values = bf16_bits_to_f64(stored)
        else:
            stored = np.asarray(values).reshape(shape).astype(DTYPES[dtype][0])
            self.values = stored.astype(np.float64)
        self.data = stored.tobytes(order="C")


def random_tensor(rng, name, dtype, shape):
    count = int(np.prod(shape, dtype=np.int64))
    return Tensor(name, dtype, shape, rng.standard_normal(count))


def header_bytes(header, length=None):
    """JSON text, padded with spaces to `length` bytes if given."""
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    if length is not None:
        assert length >= len(text)
        text += b" " * (length - len(text))
    return text


def layout(tensors, metadata=None):
    """The header dict and data buffer of tensors stored back to back."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for t in tensors:
        header[t.name] = {"dtype": t.dtype, "shape": t.shape,
                          "data_offsets": [len(data), len(data) + len(t.data)]}
        data += t.data
    return header, data


def assemble(header_text, data):
    return struct.pack("<Q", len(header_text)) + header_text + data


def write(folder, name, content):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(content)


def describe(tensors):
    return [{"name": t.name, "dtype": t.dtype, "shape": t.shape,
             "values": [float(v) for v in t.values.ravel()]} for t in tensors]


def make_valid(rng, folder):
    """Valid files: name -> (tensors, metadata)."""
    cases = {}

    def add(name, tensors, metadata=None, header_length=None, unaligned=False):
        header, data = layout(tensors, metadata)
        text = header_bytes(header)
        if unaligned:
            # Pad so the data buffer starts at an odd file offset (8 + N odd).
            target = len(text) + (1 if len(text) % 2 == 0 else 0)
            text = header_bytes(header, target)
            assert (8 + len(text)) % 2 == 1
        elif header_length is not None:
            text = header_bytes(header, header_length)
        write(folder, name, assemble(text, data))
        cases[name] = {"file": name, "kind": "file", "metadata": metadata or {},
                       "tensors": describe(tensors)}

    add("f32.safetensors", [random_tensor(rng, "weight", "F32", [3, 4]),
                            random_tensor(rng, "bias", "F32", [4])])
    add("f16.safetensors", [random_tensor(rng, "h", "F16", [2, 3, 5])])
    add("bf16.safetensors", [random_tensor(rng, "w", "BF16", [4, 6]),
                             # exact ties: 1 + 2^-8 rounds down, 1 + 3 * 2^-8 rounds up
                             Tensor("ties", "BF16", [2], [1.00390625, 1.01171875])])
    add("f64.safetensors", [random_tensor(rng, "d", "F64", [5])])
    add("scalar-empty.safetensors", [
        Tensor("scalar", "F32", [], [3.5]),
        Tensor("empty", "F32", [0, 3], []),
        random_tensor(rng, "middle", "F16", [3]),
        Tensor("empty_end", "BF16", [0], []),
    ])
    add("metadata.safetensors", [random_tensor(rng, "x", "F32", [2])],
        metadata={"format": "pt", "note": "héllo wörld", "empty": ""})
    add("unaligned.safetensors", [random_tensor(rng, "odd", "F16", [3]),
                                  random_tensor(rng, "after_odd", "F32", [2, 2]),
                                  random_tensor(rng, "wide", "F64", [3]),
                                  random_tensor(rng, "tail", "BF16", [5])],
        unaligned=True)
    add("mixed-4d.safetensors", [random_tensor(rng, "a", "BF16", [2, 1, 3, 2]),
                                 random_tensor(rng, "b", "F32", [1, 1, 1, 1, 1, 1, 1, 2])])
    add("padded.safetensors", [random_tensor(rng, "p", "F32", [3])], header_length=128)
    add("no-tensors.safetensors", [], metadata={"only": "metadata"})
    return cases


def make_sharded(rng, folder):
    """model.safetensors.index.json + 2 shards; shard 2 holds one extra tensor
    that is not in the weight_map (ignored by readers)."""
    shard1 = [random_tensor(rng, "embed.weight", "F32", [4, 3]),
              random_tensor(rng, "layers.0.w", "BF16", [3, 3])]
    shard2 = [random_tensor(rng, "layers.1.w", "F16", [3, 3]),
              random_tensor(rng, "norm.weight", "F32", [3])]
    extra = random_tensor(rng, "unmapped", "F32", [2])
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    for shard_name, tensors in zip(names, [shard1, shard2 + [extra]]):
        header, data = layout(tensors, {"format": "pt"})
        write(folder, shard_name, assemble(header_bytes(header), data))

    weight_map = {t.name: names[0] for t in shard1}
    weight_map.update({t.name: names[1] for t in shard2})
    total = sum(len(t.data) for t in shard1 + shard2)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    write(folder, "model.safetensors.index.json", json.dumps(index, indent=2).encode())
    valid = {"file": "model.safetensors.index.json", "kind": "index",
             "metadata": {"total_size": str(total)}, "tensors": describe(shard1 + shard2)}

    def bad_index(name, weight_map, error, text=None):
        content = text if text is not None else json.dumps({"weight_map": weight_map}).encode()
        write(folder, name, content)
        return {"file": name, "kind": "index", "error": error}

    corrupt = [
        bad_index("index-missing-tensor.json", {"ghost": names[0]},
                  "tensor “ghost” is missing from its shard"),
        bad_index("index-parent-dir.json", {"embed.weight": "../" + names[0]},
                  "is not a plain file name"),
        bad_index("index-dotdot.json", {"embed.weight": ".."}, "is not a plain file name"),
        bad_index("index-not-string.json", {"embed.weight": 1}, "is not a shard file name"),
        bad_index("index-no-weight-map.json", None, "weight_map is missing",
                  text=b'{"metadata": {}}'),
        bad_index("index-not-json.json", None, "index is not valid JSON",
                  text=b'{"weight_map": {'),
        bad_index("index-missing-shard.json", {"x": "absent.safetensors"},
                  "absent.safetensors"),
        bad_index("index-duplicate.json", None, "duplicate tensor name “embed.weight”",
                  text=('{"weight_map": {"embed.weight": "%s", "embed.weight": "%s"}}'
                        % (names[0], names[0])).encode()),
    ]
    return valid, corrupt


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def make_corrupt(folder):
    """One file per rule of the reference reader: (name, content, substring)."""
    cases = []

    def raw(name, content, error):
        write(folder, name, content)
        cases.append({"file": name, "kind": "file", "error": error})

    def with_header(name, header, data, error):
        text = header if isinstance(header, bytes) else header_bytes(header)
        raw(name, assemble(text, data), error)

    eight = bytes(8)
    raw("short.safetensors", b"\x05\x00\x00\x00\x00", "shorter than 8 bytes")
    raw("empty.safetensors", b"", "shorter than 8 bytes")
    raw("header-too-large.safetensors", struct.pack("<Q", 100_000_001) + b"{}",
        "header length 100000001 exceeds the limit of 100000000")
    raw("header-huge.safetensors", struct.pack("<Q", 1 << 63) + b"{}",
        "exceeds the limit")
    raw("header-past-end.safetensors", struct.pack("<Q", 1000) + b"{}" + bytes(40),
        "runs past the end of the file")
    with_header("not-utf8.safetensors", b'{"a\xff": 1}', b"", "header is not valid UTF-8")
    with_header("nul-in-header.safetensors", b'{}\x00', b"", "header is not valid UTF-8")
    with_header("not-json.safetensors", b'{"a": {"dtype": "F32", ', b"",
                "header is not valid JSON")
    with_header("empty-header.safetensors", b"", b"", "header is not valid JSON")
    with_header("header-trailing-garbage.safetensors", b"{} x", b"",
                "header is not valid JSON")
    with_header("not-object.safetensors", b"[1, 2]", b"", "header is not a JSON object")
    with_header("entry-not-object.safetensors", {"a": 5}, b"",
                "tensor “a”: entry is not a JSON object")
    with_header("missing-dtype.safetensors",
                {"a": {"shape": [2], "data_offsets": [0, 8]}}, eight,
                "dtype is missing or not a string")
    with_header("dtype-not-string.safetensors", {"a": entry(dtype=32)}, eight,
                "dtype is missing or not a string")
    with_header("missing-shape.safetensors",
                {"a": {"dtype": "F32", "data_offsets": [0, 8]}}, eight,
                "shape is missing or not a list")
    with_header("shape-negative.safetensors", {"a": entry(shape=(-2,))}, eight,
                "shape is not a list of non-negative integers")
    with_header("shape-fraction.safetensors", {"a": entry(shape=(2.5,))}, eight,
                "shape is not a list of non-negative integers")
    with_header("shape-string.safetensors", {"a": entry(shape=("2",))}, eight,
                "shape is not a list of non-negative integers")
    with_header("shape-beyond-2p53.safetensors", {"a": entry(shape=(2 ** 60,))}, eight,
                "shape is not a list of non-negative integers")
    with_header("too-many-dims.safetensors", {"a": entry(shape=[1] * 8 + [2])}, eight,
                "has 9 dimensions")
    with_header("missing-offsets.safetensors", {"a": {"dtype": "F32", "shape": [2]}}, eight,
                "data_offsets is missing or not two non-negative integers")
    with_header("offsets-three.safetensors", {"a": entry(offsets=(0, 4, 8))}, eight,
                "data_offsets is missing or not two non-negative integers")
    with_header("offsets-negative.safetensors", {"a": entry(offsets=(-8, 0))}, eight,
                "data_offsets is missing or not two non-negative integers")
    with_header("offsets-fraction.safetensors", {"a": entry(offsets=(0, 7.5))}, eight,
                "data_offsets is missing or not two non-negative integers")
    with_header("offsets-reversed.safetensors", {"a": entry(shape=(0,), offsets=(8, 0))},
                eight, "data_offsets [8, 0] end before they begin")
    for dtype in ["I64", "F8_E4M3", "BOOL", "U8"]:
        with_header("dtype-%s.safetensors" % dtype.lower(),
                    {"a": entry(dtype=dtype, shape=(1,))}, eight,
                    "unsupported dtype %s" % dtype)
    with_header("shape-overflow.safetensors",
                {"a": entry(shape=(2 ** 52, 2 ** 52), offsets=(0, 0))}, b"",
                "shape [4503599627370496, 4503599627370496] overflows")
    with_header("size-mismatch.safetensors",
                {"a": entry(shape=(2, 2), offsets=(0, 12))}, bytes(12),
                "data_offsets hold 12 bytes but F32 [2, 2] needs 16")
    with_header("first-not-at-zero.safetensors", {"a": entry(offsets=(4, 12))}, bytes(12),
                "tensor “a” starts at offset 4 but the first tensor must start at 0")
    with_header("hole.safetensors",
                {"a": entry(offsets=(0, 8)), "b": entry(offsets=(12, 20))}, bytes(20),
                "tensor “b” starts at offset 12, leaving a hole")
    with_header("overlap.safetensors",
                {"a": entry(offsets=(0, 8)), "b": entry(offsets=(4, 12))}, bytes(12),
                "tensor “b” starts at offset 4, overlapping “a”")
    with_header("same-offsets.safetensors",
                {"a": entry(offsets=(0, 8)), "b": entry(offsets=(0, 8))}, bytes(8),
                "starts at offset 0, overlapping")
    with_header("trailing-bytes.safetensors", {"a": entry()}, bytes(9),
                "data buffer is 9 bytes but the tensors end at 8 (trailing bytes)")
    with_header("no-tensors-trailing.safetensors", {}, bytes(1),
                "data buffer is 1 bytes but the tensors end at 0 (trailing bytes)")
    with_header("data-too-short.safetensors", {"a": entry()}, bytes(7),
                "data buffer is 7 bytes but the tensors end at 8 (file too short")
    with_header("duplicate-name.safetensors",
                ('{"a": %s, "a": %s}' % (json.dumps(entry()),
                                         json.dumps(entry(offsets=(8, 16))))).encode(),
                bytes(16), "duplicate tensor name “a”")
    with_header("metadata-not-string.safetensors",
                {"__metadata__": {"epochs": 3}, "a": entry()}, eight,
                "__metadata__ value of “epochs” is not a string")
    with_header("metadata-not-object.safetensors",
                {"__metadata__": ["format", "pt"], "a": entry()}, eight,
                "__metadata__ is not a JSON object")
    return cases


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-safetensors-fixtures.py OUTDIR STAMP")
    folder = os.path.join(sys.argv[1], "safetensors")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(SEED)

    valid = list(make_valid(rng, folder).values())
    index_valid, index_corrupt = make_sharded(rng, folder)
    valid.append(index_valid)
    corrupt = make_corrupt(folder) + index_corrupt

    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"valid": valid, "corrupt": corrupt}, f, indent=1, ensure_ascii=False)
    with open(sys.argv[2], "w"):
        pass


if __name__ == "__main__":
    main()
