#!/usr/bin/env bash
# Two builds of the tools on the same inputs in the same run: is the candidate slower than the
# base? (`bash Benchmarks/bench-regression.sh BASE_BIN CANDIDATE_BIN`, each a folder holding
# swa-avg, swa-bn-update and swa-eval, e.g. two `swift build -c release --show-bin-path`.)
#
# Workloads:
#   - averaging: COUNT checkpoints of SIZE MB of random float32 tensors (safetensors written by
#     numpy + safetensors, compressed by the zstd CLI): `zstd -d` of all of them, base
#     `swa-avg`, candidate `swa-avg`, in one hyperfine invocation (-N, 1 warm-up, RUNS runs);
#   - forward pass (needs torch for the random PreResNet checkpoints; skipped without it):
#     `swa-bn-update --arch preresnetD` and `swa-eval` of base and candidate on SAMPLES random
#     uint8 32×32 images, batch 128, in one hyperfine invocation per command.
# Prints a markdown table: medians and candidate ÷ base (< 1: the candidate is faster).
#
# Environment: SWA_BENCH_COUNT (16), SWA_BENCH_SIZE (100), SWA_BENCH_RUNS (5),
# SWA_BENCH_SAMPLES (1280), SWA_BENCH_DEPTHS ("20 164"), TMPDIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
base="${1:?usage: bench-regression.sh BASE_BIN CANDIDATE_BIN}"
candidate="${2:?usage: bench-regression.sh BASE_BIN CANDIDATE_BIN}"
count="${SWA_BENCH_COUNT:-16}"
size="${SWA_BENCH_SIZE:-100}"
runs="${SWA_BENCH_RUNS:-5}"
samples="${SWA_BENCH_SAMPLES:-1280}"
depths="${SWA_BENCH_DEPTHS:-20 164}"

say() { printf 'bench-regression: %s\n' "$*" >&2; }

. "$here/bench-common.sh"
require_tools hyperfine zstd python3

work="$(mktemp -d "${TMPDIR:-/tmp}/swa-bench-regression.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# hyperfine_compare NAME CMD_A CMD_B [CMD_C]: one hyperfine run of the commands, JSON to $work/NAME.json.
hyperfine_compare() {
    local name="$1"; shift
    hyperfine -N --warmup 1 --runs "$runs" --style basic --export-json "$work/$name.json" "$@" >/dev/null 2>&1
}

# MARK: - Averaging

say "writing $count checkpoints of $size MB"
mkdir -p "$work/ckpts"
python3 - "$work/ckpts" "$count" "$size" <<'PY'
import sys, numpy as np
from safetensors.numpy import save_file
folder, count, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Conv-shaped tensors of one model, about `megabytes` MB of float32 in all.
shapes, total = [], 0
while total < megabytes * 1_000_000:
    shapes.append((256, 256, 3, 3)); total += 256 * 256 * 9 * 4
rng = np.random.default_rng(0)
for index in range(count):
    tensors = {f"layer{i}.weight": rng.standard_normal(shape, dtype=np.float32) for i, shape in enumerate(shapes)}
    save_file(tensors, f"{folder}/ckpt-{index:03d}.safetensors", metadata={"swa.epoch": str(index)})
PY
zstd -q -3 --rm "$work"/ckpts/*.safetensors
cat "$work"/ckpts/* >/dev/null
say "averaging: zstd -d, base swa-avg, candidate swa-avg"
hyperfine_compare average \
    -n "zstd -d" "zstd -d -c -q $(echo "$work"/ckpts/*)" \
    -n base "$base/swa-avg $work/ckpts -o $work/base.bin --force -q" \
    -n candidate "$candidate/swa-avg $work/ckpts -o $work/candidate.bin --force -q"
zstd -d -q "$work/base.bin" -o "$work/base.safetensors"
zstd -d -q "$work/candidate.bin" -o "$work/candidate.safetensors"
averaged_check="$(python3 - "$work/base.safetensors" "$work/candidate.safetensors" <<'PY'
import sys, numpy as np
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
same = a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a)
print("tensors bit-identical" if same else "tensors DIFFER")
PY
)"
rm -rf "$work/ckpts"

# MARK: - Forward pass

forward=()
if python3 -c 'import torch' 2>/dev/null; then
    for depth in $depths; do
        say "preresnet$depth: making the checkpoint and $samples images"
        python3 "$here/forward_reference.py" make --depth "$depth" --out "$work" --samples "$samples" --seed 0 >/dev/null
        ckpt="$work/preresnet$depth.safetensors"
        say "preresnet$depth: swa-bn-update, base and candidate"
        hyperfine_compare "bn-$depth" \
            -n base "$base/swa-bn-update $ckpt --arch preresnet$depth --data $work/data.npz -o $work/bn-base-$depth.bin --force -q" \
            -n candidate "$candidate/swa-bn-update $ckpt --arch preresnet$depth --data $work/data.npz -o $work/bn-candidate-$depth.bin --force -q"
        say "preresnet$depth: swa-eval, base and candidate"
        hyperfine_compare "eval-$depth" \
            -n base "$base/swa-eval $work/bn-base-$depth.bin --arch preresnet$depth --data $work/data.npz --json -q" \
            -n candidate "$candidate/swa-eval $work/bn-base-$depth.bin --arch preresnet$depth --data $work/data.npz --json -q"
        forward+=("bn-$depth" "eval-$depth")
    done
else
    say "no torch in python3: forward-pass rows skipped"
fi

# MARK: - Report

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
openblas_lib="$(readlink -f "$(ldd "$candidate/swa-bn-update" | awk '/openblas/ { print $3; exit }')" 2>/dev/null || echo '?')"
cat <<EOF

### Candidate against base, $(date -u +%Y-%m-%d)

Machine: $(nproc) cores, ${cpu:-unknown CPU}; OpenBLAS $openblas_lib (environment: $(env | grep '^OPENBLAS' | tr '\n' ' ' || true)).
Base: $base; candidate: $candidate. Median of $runs runs after 1 warm-up (hyperfine -N).
Averaging: $count × $size MB of random float32. Forward pass: $samples random 32×32 images, batch 128.

| workload | base s | candidate s | candidate ÷ base | zstd -d s | candidate ÷ zstd -d | check |
|---|---:|---:|---:|---:|---:|---|
EOF
python3 - "$work" "$averaged_check" "${forward[@]}" <<'PY'
import json, sys
work, check, forward = sys.argv[1], sys.argv[2], sys.argv[3:]
def medians(name):
    return {r["command"]: r["median"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
m = medians("average")
print(f"| swa-avg | {m['base']:.3f} | {m['candidate']:.3f} | **{m['candidate'] / m['base']:.2f}** | {m['zstd -d']:.3f} "
      f"| {m['candidate'] / m['zstd -d']:.2f} | {check} |")
for name in forward:
    m = medians(name)
    tool = "swa-bn-update" if name.startswith("bn") else "swa-eval"
    print(f"| {tool} preresnet{name.split('-')[1]} | {m['base']:.3f} | {m['candidate']:.3f} | **{m['candidate'] / m['base']:.2f}** | | | |")
PY
