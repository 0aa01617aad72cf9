#!/usr/bin/env python3
"""Compares what a sharded run wrote with what the single process wrote (make test-slurm).

  compare-outputs.py tensors A B [--ulps N] [--ignore-metadata KEY]...
      A and B are plain .safetensors files or Hugging Face folders (model.safetensors.index.json
      and its shards). Same tensor names, dtypes, shapes and bytes; with --ulps N, float tensors
      may differ by N units in the last place. Metadata (the union over a folder's shards) must
      be equal but for the keys ignored.
  compare-outputs.py json A B [--ignore KEY]...
      Every field of B (the single process's --json) is in A with the same value: integers and
      strings and floats exactly (a merge adds the per-batch Float64 sums in the single process's
      order, docs/SCALE.md). Keys ignored at any depth (timings).

Standard library only: the check runs on a fresh machine without numpy."""
import json
import math
import os
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        data = handle.read()
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = (info["dtype"], tuple(info["shape"]), data[start:end])
    return tensors, metadata


def read_checkpoint(path):
    if os.path.isdir(path):
        with open(os.path.join(path, "model.safetensors.index.json")) as handle:
            index = json.load(handle)
        tensors, metadata = {}, {}
        for shard in sorted(set(index["weight_map"].values())):
            shard_tensors, shard_metadata = read_safetensors(os.path.join(path, shard))
            tensors.update(shard_tensors)
            metadata.update(shard_metadata)
        missing = set(index["weight_map"]) - set(tensors)
        if missing:
            raise SystemExit(f"{path}: index names tensors no shard holds: {sorted(missing)[:3]}")
        return tensors, metadata
    return read_safetensors(path)


FLOAT_FORMATS = {"F32": ("<i", 4), "F64": ("<q", 8), "F16": ("<h", 2), "BF16": ("<h", 2)}


def ulp_distance(dtype, a, b):
    fmt, size = FLOAT_FORMATS[dtype]
    count = len(a) // size
    xs = struct.unpack(f"<{count}{fmt[1]}", a)
    ys = struct.unpack(f"<{count}{fmt[1]}", b)
    sign = 1 << (size * 8 - 1)
    def key(v):
        return v if v >= 0 else -(v + sign)
    return max((abs(key(x) - key(y)) for x, y in zip(xs, ys)), default=0)


def compare_tensors(a_path, b_path, ulps, ignored):
    a, a_meta = read_checkpoint(a_path)
    b, b_meta = read_checkpoint(b_path)
    problems = []
    if set(a) != set(b):
        problems.append(f"tensor names differ: only in A {sorted(set(a) - set(b))[:3]}, only in B {sorted(set(b) - set(a))[:3]}")
    worst = 0
    for name in sorted(set(a) & set(b)):
        (a_dtype, a_shape, a_bytes), (b_dtype, b_shape, b_bytes) = a[name], b[name]
        if (a_dtype, a_shape) != (b_dtype, b_shape):
            problems.append(f"tensor '{name}': {a_dtype}{list(a_shape)} against {b_dtype}{list(b_shape)}")
        elif a_bytes != b_bytes:
            distance = ulp_distance(a_dtype, a_bytes, b_bytes) if a_dtype in FLOAT_FORMATS else math.inf
            worst = max(worst, distance)
            if distance > ulps:
                problems.append(f"tensor '{name}': differs by {distance} ulp (allowed {ulps})")
    for key in sorted((set(a_meta) | set(b_meta)) - set(ignored)):
        if a_meta.get(key) != b_meta.get(key):
            problems.append(f"metadata '{key}' differs")
    return problems, f"{len(b)} tensors, largest difference {worst} ulp"


def compare_json(merged, single, ignored, where="$"):
    problems = []
    if isinstance(single, dict):
        if not isinstance(merged, dict):
            return [f"{where}: not an object"]
        for key, value in single.items():
            if key in ignored:
                continue
            if key not in merged:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += compare_json(merged[key], value, ignored, f"{where}.{key}")
    elif isinstance(single, list):
        if not isinstance(merged, list) or len(merged) != len(single):
            return [f"{where}: lists differ in length"]
        for index, (m, s) in enumerate(zip(merged, single)):
            problems += compare_json(m, s, ignored, f"{where}[{index}]")
    elif isinstance(single, float) and isinstance(merged, (int, float)) and not isinstance(merged, bool):
        if merged != single:
            problems.append(f"{where}: {merged!r} against {single!r} (relative difference {abs(merged - single) / max(abs(single), 1e-300):.3g})")
    elif merged != single or type(merged) is not type(single):
        problems.append(f"{where}: {merged!r} against {single!r}")
    return problems


def main(argv):
    if len(argv) < 3 or argv[0] not in ("tensors", "json"):
        raise SystemExit(__doc__)
    kind, a, b, rest = argv[0], argv[1], argv[2], argv[3:]
    options = {"--ulps": [], "--ignore-metadata": [], "--ignore": []}
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        options[flag].append(value)
    if kind == "tensors":
        problems, summary = compare_tensors(a, b, int((options["--ulps"] or ["0"])[0]), options["--ignore-metadata"])
    else:
        with open(a) as ha, open(b) as hb:
            problems, summary = compare_json(json.load(ha), json.load(hb), set(options["--ignore"])), "JSON fields"
    for problem in problems[:10]:
        print(f"compare-outputs: {a} vs {b}: {problem}", file=sys.stderr)
    if not problems:
        print(f"compare-outputs: {a} equals {b} ({summary})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
