#!/usr/bin/env bash
# Points per second of `swa-landscape width` on the fixtures against the same loop in PyTorch
# (Benchmarks/landscape_reference.py: update_bn + evaluation per point), in the same run.
# `bash Benchmarks/bench-landscape.sh` (or `make bench-landscape`).
#
# Both evaluate the model itself and K directions × the distances (no distance 0): K·N + 1
# points, each a BN pass over the 1,300 training digits and inference over the 1,300 training
# and 497 test digits, batches of 128. swa: the sweep's own clock (`seconds` in --json: data
# decoded, models loaded, then the sweep; process start excluded) and the whole command's wall
# time; PyTorch: the loop inside one process, data already normalised in memory.
#
# Environment: SWA_BENCH_DIRECTIONS (4), SWA_BENCH_DISTANCES (1,2,...,10), SWA_BENCH_THREADS
# (nproc), SWA_BIN (a folder holding swa-landscape: skips the build).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
directions="${SWA_BENCH_DIRECTIONS:-4}"
distances="${SWA_BENCH_DISTANCES:-1,2,3,4,5,6,7,8,9,10}"
threads="${SWA_BENCH_THREADS:-$(nproc)}"
say() { printf 'bench-landscape: %s\n' "$*" >&2; }

if ! python3 -c 'import torch, numpy, safetensors, sklearn, zstandard' 2>/dev/null; then
    say "python3 with torch, numpy, safetensors, scikit-learn and zstandard is needed for the PyTorch side"
    exit 1
fi
if [ -n "${SWA_BIN:-}" ]; then
    bin="$SWA_BIN"
else
    say "building (release)"
    (cd "$root" && swift build -c release --product swa-landscape >&2)
    bin="$(cd "$root" && swift build -c release --show-bin-path)"
fi

cd "$root"
ckpt=fixtures/checkpoints/ckpt-020.safetensors.zst
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
say "swa-landscape width: $directions directions × distances $distances, --threads $threads"
started=$(date +%s.%N)
"$bin/swa-landscape" width "$ckpt" --train fixtures/data/train.npz --test fixtures/data/test.npz \
    --directions "$directions" --distances "$distances" --seed 1 --threads "$threads" --json -q >"${TMPDIR:-/tmp}/bench-landscape-swa.json"
ended=$(date +%s.%N)
say "PyTorch loop (torch.set_num_threads($threads))"
python3 Benchmarks/landscape_reference.py --checkpoint "$ckpt" --directions "$directions" --distances "$distances" \
    --threads "$threads" >"${TMPDIR:-/tmp}/bench-landscape-torch.json"
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "${TMPDIR:-/tmp}/bench-landscape-swa.json" "${TMPDIR:-/tmp}/bench-landscape-torch.json" "$started" "$ended" \
    "$load_start" "$load_end" "$threads" <<'PY'
import json, sys
swa = json.load(open(sys.argv[1])); torch = json.load(open(sys.argv[2]))
started, ended, load_start, load_end, threads = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
models = len(swa["models"])
evaluated = len(swa["points"]) - sum(1 for p in swa["points"] if p["t"] == 0) + models  # distance 0 once per model
cpu = next((l.split(": ", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
sweep_rate = evaluated / swa["seconds"]
wall_rate = evaluated / (ended - started)
print(f"CPU: {cpu}; load average at start {load_start}, at end {load_end}; torch {torch['torch']}")
print(f"| side | points | seconds | points/s | ratio swa ÷ PyTorch |")
print(f"|---|---:|---:|---:|---:|")
print(f"| swa-landscape width, sweep ({threads} points at once) | {evaluated} | {swa['seconds']:.2f} | {sweep_rate:.2f} | **{sweep_rate / torch['points_per_s']:.2f}** |")
print(f"| swa-landscape width, whole command | {evaluated} | {ended - started:.2f} | {wall_rate:.2f} | {wall_rate / torch['points_per_s']:.2f} |")
print(f"| PyTorch loop (set_num_threads({torch['threads']})) | {torch['points']} | {torch['seconds']:.2f} | {torch['points_per_s']:.2f} | 1 |")
PY
