#!/usr/bin/env bash
# swa-eval with an FGE ensemble of K members (docs/PERFORMANCE.md, "FGE evaluation"): wall time
# and peak RSS of the whole command, this build against another (SWA_BIN_BEFORE, e.g. one built
# from main before the one-pass evaluation), alternating in the same rounds, medians; and whether
# their JSON reports are identical (timings aside).
#
# Workloads (random weights, seeded; members carry swa.step so they sort):
#   - folder: an image folder of JPEGs of 300-500 px (Benchmarks/make_image_folder.py) with
#     --preprocess imagenet (Resize 256, CenterCrop 224), a tiny model (1x1 conv, BN, global pool,
#     linear: Benchmarks/tiny-bn-model.json), K members: the time is the data pipeline's, which
#     the old evaluation paid K + 1 times.
#   - npz: N uint8 32x32x3 samples with 100 classes, a small model (3x3 conv to 16 channels, BN,
#     ReLU, global pool, linear to 100), K members: the old evaluation held every member's
#     N x 100 Float64 probabilities (N x 100 x 8 x K bytes) for the curve and the member pairs.
# Needs python3 with numpy, safetensors, Pillow and scikit-learn (the image folder), and GNU time.
#   SWA_BIN_BEFORE=/path/to/old/release bash Benchmarks/bench-fge.sh
# Environment: SWA_BIN (this build's folder; else `swift build -c release`), SWA_BIN_BEFORE
# (optional), SWA_BENCH_IMAGES (256), SWA_BENCH_SAMPLES (20000), SWA_BENCH_MEMBERS (8 folder,
# 12 npz as "8 12"), SWA_BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'bench-fge: %s\n' "$*" >&2; }
. Benchmarks/bench-common.sh
require_tools time
bin=${SWA_BIN:-$(swift build -c release --show-bin-path)}
[ -x "$bin/swa-eval" ] || swift build -c release --product swa-eval
before=${SWA_BIN_BEFORE:-}
images=${SWA_BENCH_IMAGES:-256}
samples=${SWA_BENCH_SAMPLES:-20000}
read -r folder_members npz_members <<< "${SWA_BENCH_MEMBERS:-8 12}"
rounds=${SWA_BENCH_ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 Benchmarks/make_image_folder.py "$work/images" "$images"
python3 - "$work" "$folder_members" "$npz_members" "$samples" <<'PY'
import json, sys
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file

work, folder_members, npz_members, samples = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(14)
tiny = json.load(open("Benchmarks/tiny-bn-model.json"))
small = {"format": "swa.graph", "version": 1, "input": {"name": "x", "shape": [3, 32, 32]}, "nodes": [
    {"name": "conv", "op": "conv2d", "inputs": ["x"],
     "attrs": {"in_channels": 3, "out_channels": 16, "kernel_size": [3, 3], "padding": [1, 1], "bias": False},
     "tensors": {"weight": "conv.weight"}},
    {"name": "bn", "op": "batchnorm2d", "inputs": ["conv"], "attrs": {"num_features": 16},
     "tensors": {"weight": "bn.weight", "bias": "bn.bias", "running_mean": "bn.running_mean", "running_var": "bn.running_var"}},
    {"name": "relu", "op": "relu", "inputs": ["bn"]},
    {"name": "pool", "op": "global_avgpool2d", "inputs": ["relu"]},
    {"name": "fc", "op": "linear", "inputs": ["pool"], "attrs": {"in_features": 16, "out_features": 100},
     "tensors": {"weight": "fc.weight", "bias": "fc.bias"}}],
    "output": "fc"}

def weights(graph_channels, inputs, kernel, classes):
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    return {"conv.weight": f(graph_channels, inputs, kernel, kernel), "bn.weight": 1 + 0.1 * f(graph_channels),
            "bn.bias": 0.1 * f(graph_channels), "bn.running_mean": 0.1 * f(graph_channels),
            "bn.running_var": np.abs(1 + 0.1 * f(graph_channels)), "fc.weight": f(classes, graph_channels),
            "fc.bias": 0.1 * f(classes)}

for name, graph, count, shape in [("folder", tiny, folder_members, (4, 3, 1, 4)), ("npz", small, npz_members, (16, 3, 3, 100))]:
    members = work / f"{name}-members"
    members.mkdir()
    for step in range(count + 1):
        path = work / f"{name}-model.safetensors" if step == count else members / f"ckpt-{step + 1:03d}.safetensors"
        save_file(weights(*shape), str(path), metadata={"swa.graph": json.dumps(graph), "swa.step": str(step + 1)})
np.savez(work / "test.npz", x=rng.integers(0, 256, size=(samples, 32, 32, 3), dtype=np.uint8),
         y=rng.integers(0, 100, size=samples).astype(np.int64))
PY

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/swa-eval" --version | tail -2
[ -n "$before" ] && echo "before: $before"

# run NAME BIN: one swa-eval of workload NAME; prints "seconds peak_kib" and keeps the JSON.
run() {
  local args
  if [ "$1" = folder ]; then
    args=("$work/folder-model.safetensors" --ensemble "$work/folder-members" --data "$work/images" --preprocess imagenet --batch-size 64)
  else
    args=("$work/npz-model.safetensors" --ensemble "$work/npz-members" --data "$work/test.npz" --layout nhwc
          --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 --batch-size 128)
  fi
  /usr/bin/time -f "%e %M" -o "$work/time" "$2/swa-eval" "${args[@]}" --json > "$work/$1-$3.json" 2> "$work/stderr" \
      || { cat "$work/stderr" >&2; exit 1; }
  cat "$work/time"
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
same_reports() {  # whether two --json reports are identical once every "seconds" is dropped
  python3 - "$1" "$2" <<'PY'
import json, sys
def strip(value):
    if isinstance(value, dict): return {k: strip(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list): return [strip(v) for v in value]
    return value
a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
print("identical" if a == b else "DIFFERENT")
PY
}

for workload in folder npz; do
  members=$([ "$workload" = folder ] && echo "$folder_members" || echo "$npz_members")
  size=$([ "$workload" = folder ] && echo "$images JPEGs" || echo "$samples samples")
  times=(); rss=(); old_times=(); old_rss=()
  for round in $(seq 1 "$rounds"); do
    read -r t m <<< "$(run "$workload" "$bin" after)"; times+=("$t"); rss+=("$m")
    line="round $round: after ${t} s, ${m} KiB"
    if [ -n "$before" ]; then
      read -r t m <<< "$(run "$workload" "$before" before)"; old_times+=("$t"); old_rss+=("$m")
      line="$line; before ${t} s, ${m} KiB"
    fi
    echo "$workload ($size, K = $members) $line; load $(cut -d' ' -f1 /proc/loadavg)"
  done
  summary="$workload ($size, K = $members): median $(median "${times[@]}") s, peak RSS $(median "${rss[@]}") KiB"
  if [ -n "$before" ]; then
    summary="$summary; before $(median "${old_times[@]}") s, $(median "${old_rss[@]}") KiB"
    summary="$summary; time ratio after/before $(python3 -c "print(f'{$(median "${times[@]}") / $(median "${old_times[@]}"):.2f}')")"
    summary="$summary; reports $(same_reports "$work/$workload-after.json" "$work/$workload-before.json")"
  fi
  echo "$summary"
done
