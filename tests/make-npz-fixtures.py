#!/usr/bin/python3
"""Writes the .npy/.npz test fixtures: OUTDIR/npz/*.

Usage: make-npz-fixtures.py OUTDIR STAMP

Valid files come from NumPy itself (np.save, numpy.lib.format.write_array,
np.savez, np.savez_compressed), from Python's zipfile, and from a small ZIP
writer below (struct + zlib) for what those never write:

* zip64.npz: every central directory entry saturates some of its 32-bit
  fields at 0xFFFFFFFF and carries them in a ZIP64 extra field (0x0001,
  after an unrelated 0x5455 field), and the end record saturates its counts
  and offsets and defers to a ZIP64 end record and locator.
* zip64_many.npz: zipfile itself writes a ZIP64 end record and locator
  because the archive holds more than 65535 entries (empty padding members).
* force_zip64.npz: zipfile's force_zip64=True, which only adds ZIP64 extras
  to the local headers (zipfile puts them in the central directory only for
  members above 2 GiB).

Corrupt and unsupported files are either written by hand or made by patching
one field of a valid archive. expected.json lists, for each valid fixture,
every tensor's name, dtype, shape and values (float64; sum and samples for
large arrays) and whether it is viewed in place (zero copy); for each invalid
fixture the text its error message must contain and the error code.
"""

import io
import json
import os
import struct
import sys
import warnings
import zipfile
import zlib

import numpy as np
import numpy.lib.format as npformat

SEED = 20240612
rng = np.random.default_rng(SEED)

OUT = os.path.join(sys.argv[1], "npz")
STAMP = sys.argv[2]

DTYPE_NAMES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<f8"): "F64"}
SMALL = 64          # arrays up to this many elements list every value

valid = []
invalid = []


# Arrays and their descriptions


def normal(shape, dtype="<f4"):
    return rng.standard_normal(shape).astype(dtype)


def describe(name, array, zero_copy):
    flat = np.ascontiguousarray(array).astype(np.float64).ravel()
    entry = {
        "name": name,
        "dtype": DTYPE_NAMES[array.dtype.newbyteorder("<")],
        "shape": list(array.shape),
        "zero_copy": zero_copy,
    }
    if flat.size <= SMALL:
        entry["values"] = flat.tolist()
    else:
        # Positive values, so the sum has no cancellation to blur it.
        entry["sum"] = float(flat.sum())
        picks = sorted({0, flat.size - 1, *rng.integers(0, flat.size, 8).tolist()})
        entry["samples"] = [[i, float(flat[i])] for i in picks]
    return entry


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def add_valid(name, kind, data, tensors):
    write(name, data)
    valid.append({"file": name, "kind": kind, "tensors": tensors})


def add_invalid(name, kind, data, error, code="INVALID"):
    write(name, data)
    invalid.append({"file": name, "kind": kind, "error": error, "code": code})


# .npy writers


def npy_bytes(array, version=None, allow_pickle=False):
    buf = io.BytesIO()
    npformat.write_array(buf, array, version=version, allow_pickle=allow_pickle)
    return buf.getvalue()


def raw_npy(header, payload=b"", version=1, pad=True):
    """A .npy from header text as given (padded like numpy unless pad=False)."""
    header = header.encode("latin1") if isinstance(header, str) else header
    prefix = 10 if version == 1 else 12
    if pad:
        header += b" " * ((64 - (prefix + len(header) + 1) % 64) % 64) + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + payload


# ZIP writing and patching


LOCAL = struct.Struct("<IHHHHHIIIHH")
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
END = struct.Struct("<IHHHHIIH")
END64 = struct.Struct("<IQHHIIQQQQ")
LOCATOR = struct.Struct("<IIQI")
SAT32 = 0xFFFFFFFF


def deflate(data):
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def make_zip(members, zip64_end=False, locator=True, comment=b""):
    """Writes members, dicts with: name (str or bytes), data, method (0 or 8),
    flags, zip64 (subset of "usize", "csize", "offset" saturated in the
    central directory and given in a ZIP64 extra), extra (other extra fields
    before it), zip64_extra (override of the ZIP64 extra's bytes), cd (dict
    overriding central directory fields: csize, usize, offset), stream
    (override of the stored bytes)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m["name"].encode() if isinstance(m["name"], str) else m["name"]
        data = m["data"]
        method = m.get("method", 0)
        stream = m.get("stream", deflate(data) if method == 8 else data)
        crc = zlib.crc32(data)
        offset = len(out)
        out += LOCAL.pack(0x04034B50, 20, m.get("flags", 0), method, 0, 0x21, crc,
                          len(stream), len(data), len(name), 0) + name + stream
        fields = {"usize": len(data), "csize": len(stream), "offset": offset}
        fields.update(m.get("cd", {}))
        saturated = m.get("zip64", ())
        wide = [fields[k] for k in ("usize", "csize", "offset") if k in saturated]
        zip64_extra = struct.pack("<HH", 1, 8 * len(wide)) + struct.pack(f"<{len(wide)}Q", *wide)
        extra = m.get("extra", b"") + (m.get("zip64_extra", zip64_extra) if saturated else b"")
        narrow = {k: (SAT32 if k in saturated else v) for k, v in fields.items()}
        central += CENTRAL.pack(0x02014B50, 45, 45 if saturated else 20, m.get("flags", 0),
                                method, 0, 0x21, crc, narrow["csize"], narrow["usize"],
                                len(name), len(extra), 0, 0, 0, 0, narrow["offset"])
        central += name + extra
    cd_offset = len(out)
    out += central
    n = len(members)
    if zip64_end:
        end64 = len(out)
        out += END64.pack(0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
        if locator:
            out += LOCATOR.pack(0x07064B50, 0, end64, 1)
        out += END.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, SAT32, SAT32, len(comment))
    else:
        out += END.pack(0x06054B50, 0, 0, n, n, len(central), cd_offset, len(comment))
    return bytes(out + comment)


def layout(data):
    """Offsets of the end record and of each central directory entry."""
    end = data.rfind(b"PK\x05\x06")
    n, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    entries = []
    pos = cd_offset
    for _ in range(n):
        entries.append(pos)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + name_len + extra_len + comment_len
    return end, entries


def entry_name(data, entry):
    name_len = struct.unpack_from("<H", data, entry + 28)[0]
    return data[entry + 46:entry + 46 + name_len].decode()


def local_offset(data, entry):
    return struct.unpack_from("<I", data, entry + 42)[0]


def member_data_offset(data, entry):
    local = local_offset(data, entry)
    name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
    return local + 30 + name_len + extra_len


def patch(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def savez(compressed=False, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


# Valid .npy files


def valid_npy(name, array, data=None):
    add_valid(name, "npy", npy_bytes(array) if data is None else data,
              [describe(name[:-4], array, True)])


def make_valid_npy():
    valid_npy("f4_v1.npy", normal((3, 4)))
    valid_npy("f2_v1.npy", normal((5,), "<f2"))
    valid_npy("f8_v1.npy", normal((2, 3, 2), "<f8"))
    a = normal((4, 3))
    valid_npy("f4_v2.npy", a, npy_bytes(a, version=(2, 0)))
    a = normal((6,), "<f8")
    valid_npy("f8_v3.npy", a, npy_bytes(a, version=(3, 0)))
    valid_npy("scalar_f4.npy", np.array(3.25, dtype="<f4"))
    valid_npy("empty_f4.npy", np.zeros((0,), dtype="<f4"))
    valid_npy("empty_f8_2d.npy", np.zeros((3, 0), dtype="<f8"))
    valid_npy("dims8.npy", normal((1, 2, 1, 2, 1, 1, 2, 1)))
    valid_npy("large_f4.npy", rng.uniform(0.5, 1.5, (64, 96)).astype("<f4"))

    # Dict forms numpy could write or accept: other key order, double quotes,
    # no trailing comma, spaces everywhere, Python 2 longs, '|' and '='.
    a = normal((2, 2))
    valid_npy("double_quotes.npy", a, raw_npy(
        '{"shape": (2, 2), "fortran_order": False, "descr": "<f4"}', a.tobytes()))
    valid_npy("spaces.npy", a, raw_npy(
        "{ 'shape' : ( 2 , 2 , ) ,\t'fortran_order' : False , 'descr' : '<f4' , }",
        a.tobytes()))
    a = normal((2, 3))
    valid_npy("py2_long.npy", a, raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", a.tobytes()))
    a = normal((3,))
    valid_npy("pipe_f4.npy", a, raw_npy(
        "{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }", a.tobytes()))
    a = normal((3,), "<f8")
    valid_npy("native_f8.npy", a, raw_npy(
        "{'descr': '=f8', 'fortran_order': False, 'shape': (3,), }", a.tobytes()))
    # No padding at all: the data starts unaligned.
    a = normal((3,), "<f2")
    valid_npy("unaligned_f2.npy", a, raw_npy(
        "{'descr': '<f2', 'fortran_order': False, 'shape': (3,)}", a.tobytes(), pad=False))
    a = normal((2,))
    valid_npy("v2_handwritten.npy", a, raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", a.tobytes(), version=2))


# Valid .npz files


def make_valid_npz():
    params = {
        "W_enc": normal((8, 16)),
        "W_dec": normal((16, 8)),
        "b_enc": normal((16,)),
        "b_dec": normal((8,)),
        "threshold": rng.uniform(0, 1, (16,)).astype("<f4"),
    }
    add_valid("params.npz", "npz", savez(**params),
              [describe(k, v, True) for k, v in params.items()])

    compressed = {
        "W_enc": rng.uniform(0.5, 1.5, (64, 96)).astype("<f4"),
        "b_enc": normal((16,), "<f2"),
        "scale": np.array(0.125, dtype="<f8"),
        "empty": np.zeros((0, 4), dtype="<f4"),
    }
    add_valid("params_compressed.npz", "npz", savez(True, **compressed),
              [describe(k, v, False) for k, v in compressed.items()])

    lower = {"w_enc": normal((4, 6)), "w_dec": normal((6, 4)), "b_enc": normal((6,))}
    add_valid("lowercase.npz", "npz", savez(**lower),
              [describe(k, v, True) for k, v in lower.items()])

    # Members that are not arrays are skipped; names keep their folders.
    w = normal((3, 5))
    b = normal((5,), "<f8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "not an array\n")
        zf.writestr("sub/", b"")
        zf.writestr("W_enc.npy", npy_bytes(w))
        zf.writestr("notes.json", '{"a": 1}', compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("W_enc.npy.txt", "also skipped")
        zf.writestr("nested/b_dec.npy", npy_bytes(b), compress_type=zipfile.ZIP_DEFLATED)
    add_valid("mixed.npz", "npz", buf.getvalue(),
              [describe("W_enc", w, True), describe("nested/b_dec", b, False)])

    # An archive comment; then one holding a fake end record signature,
    # which Python's zipfile takes for the real one (it picks the last
    # signature) but which Flowscope skips since its comment length does not
    # reach the end of the file.
    for name, comment in (("comment.npz", b"written by flowscope tests"),
                          ("comment_fake_end.npz", b"x PK\x05\x06" + bytes(18) + b" end")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("W_enc.npy", npy_bytes(w))
            zf.comment = comment
        add_valid(name, "npz", buf.getvalue(), [describe("W_enc", w, True)])

    # Written to an unseekable stream: data descriptors (flag bit 3) follow
    # the data and the local headers hold zero sizes.
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buf = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.buf += data
            return len(data)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w") as zf:
        with zf.open("W_enc.npy", "w") as f:
            f.write(npy_bytes(w))
        with zf.open("b_dec.npy", "w") as f:
            f.write(npy_bytes(b))
    add_valid("descriptor.npz", "npz", bytes(sink.buf),
              [describe("W_enc", w, True), describe("b_dec", b, True)])

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("W_enc.npy", "w", force_zip64=True) as f:
            f.write(npy_bytes(w))
        zf.compression = zipfile.ZIP_DEFLATED
        with zf.open("b_dec.npy", "w", force_zip64=True) as f:
            f.write(npy_bytes(b))
    add_valid("force_zip64.npz", "npz", buf.getvalue(),
              [describe("W_enc", w, True), describe("b_dec", b, False)])

    arrays = {"W_enc": normal((4, 4)), "W_dec": normal((4, 4), "<f2"),
              "b_enc": normal((4,), "<f8"), "b_dec": normal((4,))}
    timestamp = struct.pack("<HHBI", 0x5455, 5, 1, 0)
    members = [
        {"name": "W_enc.npy", "data": npy_bytes(arrays["W_enc"]),
         "zip64": ("usize", "csize", "offset"), "extra": timestamp},
        {"name": "W_dec.npy", "data": npy_bytes(arrays["W_dec"]), "method": 8,
         "zip64": ("offset",)},
        {"name": "b_enc.npy", "data": npy_bytes(arrays["b_enc"]), "method": 8,
         "zip64": ("usize", "csize")},
        {"name": "b_dec.npy", "data": npy_bytes(arrays["b_dec"]), "zip64": ("csize",)},
    ]
    add_valid("zip64.npz", "npz", make_zip(members, zip64_end=True),
              [describe(k, v, k in ("W_enc", "b_dec")) for k, v in arrays.items()])

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("W_enc.npy", npy_bytes(w))
        for i in range(65536):
            zf.writestr(f"{i:x}", b"")
        zf.writestr("b_dec.npy", npy_bytes(b), compress_type=zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    assert data.rfind(b"PK\x06\x07") > 0, "zipfile wrote no ZIP64 locator"
    add_valid("zip64_many.npz", "npz", data,
              [describe("W_enc", w, True), describe("b_dec", b, False)])


# Invalid .npy files


def make_invalid_npy():
    a = normal((4, 8))
    good = npy_bytes(a)
    dict_ = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 8), }"

    def bad(name, data, error, code="INVALID"):
        add_invalid(name, "npy", data, error, code)

    bad("bad_magic.npy", b"\x93NUMPZ" + good[6:], "bad magic")
    bad("empty.npy", b"", "bad magic")
    bad("short_preamble.npy", good[:7], "truncated")
    bad("truncated_header.npy", good[:40], "truncated")
    bad("bad_version.npy", good[:6] + b"\x04\x00" + good[8:], "version 4.0", "UNSUPPORTED")
    bad("not_dict.npy", raw_npy("['descr', '<f4']", a.tobytes()), "not a dict")
    bad("missing_key.npy", raw_npy("{'descr': '<f4', 'fortran_order': False, }"),
        "missing key 'shape'")
    bad("unknown_key.npy", raw_npy(dict_[:-1] + "'extra': 1, }", a.tobytes()),
        "unknown key 'extra'")
    bad("duplicate_key.npy", raw_npy(dict_[:-1] + "'descr': '<f4', }", a.tobytes()),
        "duplicate key 'descr'")
    bad("shape_not_tuple.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }"), "not a tuple")
    bad("negative_dim.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 8), }"),
        "non-negative integer")
    bad("huge_dim.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
        "too large")
    bad("overflow.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, "
                "'shape': (1099511627776, 1099511627776), }"),
        "overflows")
    bad("short_v2_preamble.npy", b"\x93NUMPY\x02\x00\x10\x00\x00", "truncated")
    bad("unquoted_key.npy", raw_npy("{descr: '<f4', }"), "expected a quoted key")
    bad("missing_colon.npy", raw_npy("{'descr' '<f4', }"), "expected ':' after 'descr'")
    bad("missing_comma.npy",
        raw_npy("{'descr': '<f4' 'fortran_order': False, 'shape': (4, 8), }", a.tobytes()),
        "expected ',' or '}' after a value")
    bad("shape_list.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': [4, 8], }", a.tobytes()),
        "'shape' is not a tuple")
    bad("shape_no_comma.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4 8), }", a.tobytes()),
        "expected ',' or ')' in the shape")
    bad("trailing_text.npy", raw_npy(dict_ + " junk", a.tobytes()), "unexpected text")
    bad("unterminated.npy", raw_npy("{'descr': '<f4"),
        "'descr' is not a string")
    bad("bad_bool.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': false, 'shape': (4, 8), }", a.tobytes()),
        "not True or False")
    bad("too_many_dims.npy",
        raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }",
                bytes(4)),
        "9 dimensions", "UNSUPPORTED")
    bad("big_endian.npy", npy_bytes(a.astype(">f4")), "big-endian dtype '>f4'", "UNSUPPORTED")
    bad("fortran.npy", npy_bytes(np.asfortranarray(a)), "Fortran", "UNSUPPORTED")
    bad("object.npy", npy_bytes(np.array([1, "a"], dtype=object), allow_pickle=True),
        "dtype '|O'", "UNSUPPORTED")
    bad("int64.npy", npy_bytes(np.arange(6, dtype="<i8")), "dtype '<i8'", "UNSUPPORTED")
    bad("bool.npy", npy_bytes(np.ones(3, dtype=bool)), "dtype '|b1'", "UNSUPPORTED")
    bad("structured.npy", npy_bytes(np.zeros(3, dtype=[("a", "<f4")])), "structured",
        "UNSUPPORTED")
    bad("data_short.npy", good[:-3], "truncated")
    bad("data_long.npy", good + bytes(5), "5 trailing bytes")


# Invalid .npz files


def make_invalid_npz():
    params = savez(W_enc=normal((4, 6)), b_enc=normal((6,)), b_dec=normal((4,)))
    end, entries = layout(params)
    assert [entry_name(params, e) for e in entries] == ["W_enc.npy", "b_enc.npy", "b_dec.npy"]
    cd_size, cd_offset = struct.unpack_from("<II", params, end + 12)
    blob = normal((3, 3))

    def bad(name, data, error, code="INVALID"):
        add_invalid(name, "npz", data, error, code)

    bad("not_zip.npz", rng.integers(0, 256, 200, dtype=np.uint8).tobytes(),
        "end of central directory")
    bad("empty.npz", b"", "end of central directory")
    bad("truncated_file.npz", params[:len(params) // 2], "end of central directory")
    bad("cd_truncated.npz", patch(params, end + 12, "<I", cd_size - 20),
        "entry 2: truncated")
    bad("cd_name_truncated.npz", patch(params, end + 12, "<I", cd_size - 5),
        "entry 2: truncated")
    bad("cd_outside.npz", patch(params, end + 16, "<I", len(params)),
        "lies outside the archive")
    bad("count_more.npz", patch(patch(params, end + 8, "<H", 4), end + 10, "<H", 4),
        "declares 4 entries")
    bad("count_less.npz", patch(patch(params, end + 8, "<H", 2), end + 10, "<H", 2),
        "entry count is wrong")
    bad("multi_disk.npz", patch(params, end + 4, "<H", 1), "multi-disk", "UNSUPPORTED")
    bad("cd_bad_signature.npz", patch(params, entries[1], "<I", 0x02014B51),
        "entry 1: bad signature")
    bad("bad_local_offset.npz", patch(params, entries[1] + 42, "<I", cd_offset + 8),
        "member b_enc.npy: local header offset")
    bad("bad_local_signature.npz",
        patch(params, entries[1] + 42, "<I", local_offset(params, entries[1]) + 1),
        "member b_enc.npy: no local header")
    size = struct.unpack_from("<I", params, entries[2] + 20)[0]
    overrun = patch(patch(params, entries[2] + 20, "<I", size + 100), entries[2] + 24, "<I",
                    size + 100)
    bad("member_overruns.npz", overrun, "member b_dec.npy: data")
    bad("stored_size_mismatch.npz", patch(params, entries[0] + 24, "<I", size + 1),
        "member W_enc.npy: stored member's compressed size")
    bzip2 = patch(params, entries[0] + 10, "<H", 12)
    bad("bzip2.npz", patch(bzip2, local_offset(params, entries[0]) + 8, "<H", 12),
        "member W_enc.npy: compression method 12", "UNSUPPORTED")
    encrypted = patch(params, entries[1] + 8, "<H", 1)
    bad("encrypted.npz", patch(encrypted, local_offset(params, entries[1]) + 6, "<H", 1),
        "member b_enc.npy: encrypted", "UNSUPPORTED")

    compressed = savez(True, W_enc=normal((16, 16)), b_enc=normal((16,)))
    _, centries = layout(compressed)
    start = member_data_offset(compressed, centries[0])
    corrupt = bytearray(compressed)
    corrupt[start] |= 0x06   # block type 3, which deflate reserves
    bad("deflate_corrupt.npz", bytes(corrupt), "member W_enc.npy: deflate stream is corrupt")

    npy = npy_bytes(blob)
    packed = deflate(npy)

    def deflated(**fields):
        return make_zip([{"name": "W_enc.npy", "data": npy, "method": 8, **fields}])

    bad("deflate_short.npz", deflated(cd={"csize": len(packed) - 10}),
        "member W_enc.npy: deflate stream ends early")
    bad("deflate_usize_big.npz", deflated(cd={"usize": len(npy) + 10}), "fewer than")
    bad("deflate_usize_small.npz", deflated(cd={"usize": len(npy) - 10}), "more than")
    bad("deflate_trailing.npz", deflated(stream=packed + b"\0\0"),
        "2 bytes follow the deflate stream")
    bad("deflate_bomb.npz", deflated(cd={"usize": 0x7FFFFFFF}),
        "more than %d deflated bytes can hold" % len(packed))

    def member(name, **fields):
        return {"name": name, "data": npy_bytes(blob), **fields}

    dup = io.BytesIO()
    with zipfile.ZipFile(dup, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zf.writestr("W_enc.npy", npy_bytes(blob))
        zf.writestr("W_enc.npy", npy_bytes(blob))
    bad("duplicate.npz", dup.getvalue(), "member W_enc.npy: duplicate member name")
    bad("empty_name.npz", make_zip([member("")]), "empty name")
    bad("dot_npy_name.npz", make_zip([member(".npy")]), "member .npy: empty array name")
    bad("bad_utf8_name.npz", make_zip([member(b"\xff.npy")]), "not valid UTF-8")
    bad("member_big_endian.npz", make_zip([{"name": "W_enc.npy", "data":
                                            npy_bytes(blob.astype(">f4"))}]),
        "member W_enc.npy: big-endian dtype '>f4'", "UNSUPPORTED")
    bad("member_truncated.npz", make_zip([member("W_dec.npy"), {"name": "b_enc.npy",
                                          "data": npy_bytes(blob)[:-4], "method": 8}]),
        "member b_enc.npy: truncated")
    bad("zip64_no_locator.npz", make_zip([member("W_enc.npy")], zip64_end=True, locator=False),
        "no ZIP64 locator")
    bad("zip64_extra_missing.npz",
        make_zip([member("W_enc.npy", zip64=("csize",), zip64_extra=b"")]),
        "member W_enc.npy: sizes defer to a ZIP64 extra field that is missing")
    bad("zip64_extra_short.npz",
        make_zip([member("W_enc.npy", zip64=("usize", "csize"),
                         zip64_extra=struct.pack("<HHQ", 1, 8, len(npy)))]),
        "ZIP64 extra field is too short")
    bad("zip64_extra_overrun.npz",
        make_zip([member("W_enc.npy", zip64=("usize",),
                         zip64_extra=struct.pack("<HHQ", 1, 16, len(npy)))]),
        "extra field runs past its entry")
    good64 = make_zip([member("W_enc.npy")], zip64_end=True)
    locator = good64.rfind(b"PK\x06\x07")
    bad("zip64_bad_record.npz", patch(good64, locator + 8, "<Q", 0),
        "no ZIP64 end of central directory record")
    record = good64.rfind(b"PK\x06\x06")
    bad("zip64_record_size.npz", patch(good64, record + 4, "<Q", 10),
        "ZIP64 end of central directory record has a bad size")
    bad("zip64_multi_disk.npz", patch(good64, locator + 16, "<I", 2), "multi-disk",
        "UNSUPPORTED")
    bad("zip64_record_outside.npz", patch(good64, locator + 8, "<Q", 1 << 40),
        "ZIP64 end of central directory offset")


def main():
    os.makedirs(OUT, exist_ok=True)
    make_valid_npy()
    make_valid_npz()
    make_invalid_npy()
    make_invalid_npz()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"seed": SEED, "valid": valid, "invalid": invalid}, f, indent=1)
    with open(STAMP, "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
