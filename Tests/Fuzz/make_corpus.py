#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (docs/RELIABILITY.md, "Fuzzing") into
Tests/Fuzz/corpus/<target>/: small valid inputs, a few KB each, so that libFuzzer starts
from the structures the parsers accept. Deterministic: the same bytes on every run.

Needs numpy, torch and zstandard (never at test time). Run from the repository root:
    python3 Tests/Fuzz/make_corpus.py
"""
import io
import json
import os
import pickle
import shutil
import struct
import zipfile

import numpy as np
import torch
import zstandard

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(ROOT))
CORPUS = os.path.join(ROOT, "corpus")
FIXTURES = os.path.join(REPO, "fixtures")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy(target, name, fixture):
    with open(os.path.join(FIXTURES, fixture), "rb") as f:
        put(target, name, f.read())


# MARK: - safetensors and the checkpoint format (docs/FORMAT.md)

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype name, shape, raw bytes) in storage order."""
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def array(name, values, dtype_name):
    a = np.asarray(values, dtype=DTYPES[dtype_name]) if dtype_name != "BF16" else None
    if dtype_name == "BF16":
        f = np.asarray(values, dtype="<f4").view("<u4") >> 16
        return (name, "BF16", np.shape(values), f.astype("<u2").tobytes())
    return (name, dtype_name, a.shape, a.tobytes())


def small_model(seed=0):
    rng = np.random.default_rng(seed)
    return [
        array("conv.weight", rng.standard_normal((2, 1, 3, 3)), "F32"),
        array("bn.weight", rng.standard_normal(2), "F32"),
        array("bn.bias", rng.standard_normal(2), "F32"),
        array("bn.running_mean", rng.standard_normal(2), "F32"),
        array("bn.running_var", rng.random(2) + 0.5, "F32"),
        array("bn.num_batches_tracked", 7, "I64"),
        array("fc.weight", rng.standard_normal((3, 2)), "F32"),
        array("fc.bias", rng.standard_normal(3), "F32"),
    ]


GRAPH = {"format": "swa.graph", "version": 2, "input": {"name": "x", "shape": [1, 4, 4]},
         "nodes": [
             {"name": "conv", "op": "conv2d", "inputs": ["x"], "tensors": {"weight": "conv.weight"},
              "attrs": {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1, "bias": False}},
             {"name": "bn", "op": "batchnorm2d", "inputs": ["conv"], "attrs": {"num_features": 2, "eps": 1e-5},
              "tensors": {"weight": "bn.weight", "bias": "bn.bias", "running_mean": "bn.running_mean",
                          "running_var": "bn.running_var", "num_batches_tracked": "bn.num_batches_tracked"}},
             {"name": "act", "op": "hardswish", "inputs": ["bn"]},
             {"name": "pool", "op": "adaptive_avgpool2d", "inputs": ["act"], "attrs": {"output_size": 1}},
             {"name": "flat", "op": "flatten", "inputs": ["pool"]},
             {"name": "fc", "op": "linear", "inputs": ["flat"], "attrs": {"in_features": 2, "out_features": 3},
              "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}],
         "output": "fc"}

METADATA = {"swa.epoch": "3", "swa.step": "300", "swa.n_averaged": "2", "swa.bn": "stale",
            "swa.preprocess": json.dumps({"layout": "nchw", "mean": [0.5], "std": [0.25], "scale": 1 / 255})}


def frames_with_seek_table(payload, frame_bytes, checksums_in_table=False, skippable_first=False):
    """The writer's layout: independent frames with content checksums, then the seekable
    format's seek table (facebook/zstd contrib/seekable_format) in a skippable frame."""
    compressor = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True)
    out, entries = b"", []
    if skippable_first:
        # The seek table lists every frame of the file, a skippable one with 0 bytes of content.
        out += struct.pack("<II", 0x184D2A50, 4) + b"swa!"
        entries.append((12, 0, 0))
    for start in range(0, len(payload), frame_bytes):
        chunk = payload[start:start + frame_bytes]
        frame = compressor.compress(chunk)
        entries.append((len(frame), len(chunk), hash32(chunk)))
        out += frame
    table = b""
    for compressed, decompressed, checksum in entries:
        table += struct.pack("<II", compressed, decompressed)
        if checksums_in_table:
            table += struct.pack("<I", checksum)
    table += struct.pack("<IBI", len(entries), 0x80 if checksums_in_table else 0, 0x8F92EAB1)
    return out + struct.pack("<II", 0x184D2A5E, len(table)) + table


def hash32(chunk):
    # The seekable format's optional checksum is the low 32 bits of XXH64; readers may ignore it.
    # Without xxhash installed, the frame's own checksum is taken from the zstd frame itself.
    frame = zstandard.ZstdCompressor(write_checksum=True).compress(chunk)
    return struct.unpack("<I", frame[-4:])[0]


def checkpoints():
    plain = safetensors(small_model(), {**METADATA, "swa.graph": json.dumps(GRAPH)})
    put("safetensors-header", "model.safetensors", plain)
    every_dtype = [array(f"t.{d.lower()}", [[1, 0, -1], [2, 3, 4]] if d not in ("U8", "BOOL") else [[1, 0, 1], [0, 1, 1]], d)
                   for d in ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]]
    put("safetensors-header", "dtypes.safetensors", safetensors(every_dtype))
    put("safetensors-header", "scalar-and-empty.safetensors",
        safetensors([array("scalar", 1.5, "F32"), ("empty", "F32", (0, 3), b"")], {}))
    put("safetensors-header", "no-tensors.safetensors", safetensors([], {"swa.epoch": "1"}))

    payload = safetensors(small_model(1), {**METADATA, "swa.graph": json.dumps(GRAPH)})
    many = frames_with_seek_table(payload, 512)
    for target in ("zstd-stream", "seek-table"):
        put(target, "frames-512.safetensors.zst", many)
        put(target, "one-frame.safetensors.zst", frames_with_seek_table(payload, 1 << 22))
        put(target, "table-checksums.safetensors.zst", frames_with_seek_table(payload, 700, checksums_in_table=True))
        put(target, "skippable-first.safetensors.zst", frames_with_seek_table(payload, 1024, skippable_first=True))
    # Frames without a recorded content size and without a seek table, as `zstd --no-content-size` writes.
    stock = zstandard.ZstdCompressor(level=1, write_content_size=False, write_checksum=True)
    put("zstd-stream", "stock.safetensors.zst", stock.compress(payload[:800]) + stock.compress(payload[800:]))


# MARK: - NumPy


def npy_bytes(a, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, a, version=version, allow_pickle=False)
    return buffer.getvalue()


def numpy_files():
    rng = np.random.default_rng(2)
    put("npy", "f32-nchw.npy", npy_bytes(rng.standard_normal((2, 1, 2, 2)).astype("<f4")))
    put("npy", "u8-v2.npy", npy_bytes(np.arange(12, dtype="u1").reshape(3, 4), version=(2, 0)))
    put("npy", "i64-scalar.npy", npy_bytes(np.array(5, dtype="<i8")))
    put("npy", "f64-v3.npy", npy_bytes(np.zeros((0, 3), dtype="<f8"), version=(3, 0)))
    put("npy", "refused-fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
    x = rng.standard_normal((4, 1, 2, 2)).astype("<f4")
    y = np.array([0, 1, 2, 1], dtype="<i8")
    for name, save in (("stored.npz", np.savez), ("deflated.npz", np.savez_compressed)):
        buffer = io.BytesIO()
        save(buffer, x=x, y=y)
        put("npz", name, buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(8, dtype="u1").reshape(2, 2, 2, 1), y=np.array([1, 0], dtype="<i4"))
    put("npz", "u8-nhwc.npz", buffer.getvalue())


# MARK: - Graph JSON, the Hugging Face index, partial results


def json_files():
    put("graph-json", "small.json", json.dumps(GRAPH, indent=1).encode())
    copy("graph-json", "newcomer.json", "newcomer/graph.json")
    copy("hf-index", "model.safetensors.index.json", "hf/output/checkpoint-10/model.safetensors.index.json")
    put("hf-index", "minimal.json", json.dumps({"metadata": {"total_size": 48},
        "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.bias": "model-00002-of-00002.safetensors"}}).encode())
    record = {"version": 1, "kind": "eval", "shard": "0/2",
              "run": {"inputs": [{"name": "model.safetensors.zst", "sha256": "ab" * 32},
                                 {"name": "test.npz", "sha256": "cd" * 32}],
                      "options": {"batch_size": "8"}}, "tool": "swa-eval 0.4.0"}
    sums = [array("correct", [3], "I64"), array("nll_sum", [1.25, 0.5], "F64"), array("count", [4], "I64")]
    plain = safetensors(sums, {"swa.partial": json.dumps(record)})
    put("partial-result", "eval-0-of-2.safetensors", plain)
    put("partial-result", "eval-0-of-2.partial", frames_with_seek_table(plain, 1 << 22))


# MARK: - Pickles and torch.save


def state_dict():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, bias=False), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(2, 3))
    return model.state_dict()


def torch_files():
    buffer = io.BytesIO()
    torch.save({"epoch": 4, "state_dict": state_dict()}, buffer)
    zipped = buffer.getvalue()
    put("pytorch-zip", "checkpoint.pt", zipped)
    buffer = io.BytesIO()
    torch.save({"model": {"w": torch.arange(6, dtype=torch.float16).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int32)}}, buffer)
    put("pytorch-zip", "dtypes.pt", buffer.getvalue())
    copy("pytorch-zip", "averaged.pt", "pytorch/averaged.pt")
    buffer = io.BytesIO()
    torch.save({"epoch": 4, "state_dict": state_dict()}, buffer, _use_new_zipfile_serialization=False)
    put("pytorch-legacy", "checkpoint.pt", buffer.getvalue())
    copy("pytorch-legacy", "legacy.pt", "pytorch/legacy.pt")
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
        put("pickle", "torch-data.pkl", archive.read(name))
    for protocol in range(0, 6):
        put("pickle", f"plain-protocol-{protocol}.pkl",
            pickle.dumps({"epoch": 3, "name": "run", "lr": 0.05, "steps": [1, 2, 3], b"key": (True, None, -7, -2**40)}, protocol=protocol))


# MARK: - CIFAR and images


def cifar_and_images():
    copy("cifar-python", "data_batch_1", "images/cifar-10-batches-py/data_batch_1")
    with open(os.path.join(FIXTURES, "images/cifar-100-binary/test.bin"), "rb") as f:
        records = f.read()
    put("cifar-binary", "two-records.bin", records[:2 * 3074])
    put("cifar-binary", "one-record.bin", records[3074:2 * 3074])
    for name in ("china/a_baseline.jpg", "china/c_progressive.jpeg", "china/d_gray.jpg", "china/e_cmyk.jpg", "digits/digit-1.jpg"):
        copy("jpeg", os.path.basename(name), "images/folder/" + name)
    for name in ("flower/b_palette.png", "flower/d_gray.png", "flower/e_gray_alpha.png", "digits/digit-0.png", "digits/digit-2.png"):
        copy("png", os.path.basename(name), "images/folder/" + name)


# MARK: - Crafted limits (regressions: each must be refused cleanly, without allocating)

REGRESSIONS = os.path.join(ROOT, "regressions")


def crafted(target, name, data):
    """A hand-made hostile input kept under regressions/TARGET/crafted-NAME; inputs the fuzzer
    found are kept beside them under their libFuzzer artifact names."""
    folder = os.path.join(REGRESSIONS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "crafted-" + name), "wb") as f:
        f.write(data)


def png_chunk(kind, body):
    import zlib
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def crafted_limits():
    huge = 1 << 40
    header = json.dumps({"w": {"dtype": "F32", "shape": [huge], "data_offsets": [0, 4 * huge]}}).encode()
    header += b" " * (-len(header) % 8)
    crafted("safetensors-header", "2e40-elements.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 16)
    crafted("safetensors-header", "length-2e63.safetensors", struct.pack("<Q", 1 << 63) + b"{}      ")
    crafted("safetensors-header", "length-zero.safetensors", struct.pack("<Q", 0))
    crafted("safetensors-header", "length-past-end.safetensors", struct.pack("<Q", 4096) + b"{}      ")
    overflow = json.dumps({"w": {"dtype": "F64", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 8]}}).encode()
    overflow += b" " * (-len(overflow) % 8)
    crafted("safetensors-header", "shape-overflow.safetensors", struct.pack("<Q", len(overflow)) + overflow + b"\0" * 8)
    # A zstd frame whose header declares 2^40 bytes of content (FCS field of 8 bytes), then a raw block of 4.
    frame = struct.pack("<I", 0xFD2FB528) + bytes([0xE0]) + struct.pack("<Q", huge) + bytes([0x21, 0x00, 0x00]) + b"\x08\0\0\0"
    crafted("zstd-stream", "content-size-2e40.zst", frame)
    crafted("seek-table", "4e9-frames.zst", struct.pack("<II", 0x184D2A5E, 9) + struct.pack("<IBI", 0xFFFFFFFF, 0, 0x8F92EAB1))
    entries = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFFF) * 2
    table = entries + struct.pack("<IBI", 2, 0, 0x8F92EAB1)
    crafted("seek-table", "4e9-byte-frames.zst", struct.pack("<II", 0x184D2A5E, len(table)) + table)
    npy_header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"
    npy_header += b" " * (-(len(npy_header) + 11) % 64) + b"\n"
    crafted("npy", "2e80-elements.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(npy_header)) + npy_header)
    crafted("npy", "header-4GiB.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(npy_header)) + npy_header)
    crafted("npz", "2e80-elements.npz", buffer.getvalue())
    crafted("pickle", "binbytes8-2e62.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b".")
    crafted("pickle", "binunicode8-2e62.pkl", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b".")
    crafted("pickle", "long4-2e31.pkl", b"\x80\x02\x8b" + struct.pack("<i", 0x7FFFFFFF) + b".")
    crafted("pickle", "accepted-deep-nesting.pkl", b"\x80\x02" + b"]" * 20000 + b"a" * 19999 + b".")
    crafted("pickle", "accepted-memo-2e32.pkl", b"\x80\x02N" + b"r" + struct.pack("<I", 0xFFFFFFFF) + b"j" + struct.pack("<I", 0xFFFFFFFF) + b".")
    crafted("cifar-binary", "half-record.bin", b"\x01" * 1537)
    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 8, 2, 0, 0, 0)
    crafted("png", "65535x65535.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    # A JPEG start of frame declaring 65500 x 65500 pixels, and nothing after it.
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65500, 65500, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    crafted("jpeg", "65500x65500.jpg", b"\xff\xd8" + sof + b"\xff\xd9")
    crafted("graph-json", "deep-nesting.json", b"[" * 20000 + b"]" * 20000)
    crafted("hf-index", "deep-nesting.json", b"{\"a\":" * 20000 + b"1" + b"}" * 20000)


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    checkpoints()
    numpy_files()
    json_files()
    torch_files()
    cifar_and_images()
    for old in (os.path.join(d, f) for d, _, fs in os.walk(REGRESSIONS) for f in fs if f.startswith("crafted-")):
        os.remove(old)
    crafted_limits()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        print(f"{target}: {len(files)} seeds, {size} bytes")
