#!/usr/bin/env bash
# swa-avg over a Hugging Face sharded run against a Python script doing what timm's
# avg_checkpoints.py does, with safetensors, measured in the same run on the same files
# (`make bench-hf`).
#
# It writes $SWA_BENCH_COUNT (8) Trainer-like checkpoint folders of 2 shards × $SWA_BENCH_SHARD_MB
# (100) MB of F32 tensors each (model.safetensors.index.json as transformers writes it, the same
# sharding in every checkpoint, as a Trainer saves them) into a temporary folder, warms the page
# cache, then times, interleaved, $SWA_BENCH_RUNS rounds of
#   python (timm) : for each checkpoint, for each shard, safe_open(framework="pt") and
#                   get_tensor every key; sum in Float64 (timm: v.clone().to(torch.float64),
#                   then +=); divide by n; .to(float32) and save_file one plain .safetensors
#   swa-avg       : `swa-avg RUN -o OUT.safetensors --force -q` (reads, checks, averages and
#                   hashes all inputs, writes one plain .safetensors)
#   swa-avg -o DIR/ : the same into a Hugging Face folder (2 shards, index, config copied)
# and the peak RSS of one run of each with GNU /usr/bin/time -v. It checks that the Python
# and swa-avg outputs hold the same bits, and prints a markdown table with medians and ratios.
#
# Environment: SWA_BENCH_COUNT (8), SWA_BENCH_SHARD_MB (100), SWA_BENCH_RUNS (3),
# SWA_AVG (a prebuilt swa-avg to time instead of a release build of this package), TMPDIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
count="${SWA_BENCH_COUNT:-8}"
shard_mb="${SWA_BENCH_SHARD_MB:-100}"
runs="${SWA_BENCH_RUNS:-3}"

say() { printf 'bench-hf: %s\n' "$*" >&2; }
. "$here/bench-common.sh"
require_tools time python3
python3 -c 'import torch, safetensors, numpy' 2>/dev/null || { say "needs python3 with torch, safetensors and numpy"; exit 1; }

if [ -z "${SWA_AVG:-}" ]; then
    say "building swa-avg (release)"
    swift build -c release --package-path "$root" --product swa-avg >&2
    swa_avg="$(swift build -c release --package-path "$root" --show-bin-path)/swa-avg"
else
    swa_avg="$SWA_AVG"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/swa-bench-hf.XXXXXX")"
trap 'rm -rf "$work"' EXIT
need_mb=$(( count * shard_mb * 2 + 6 * shard_mb + 100 ))
free_mb=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge "$need_mb" ] || { say "need about $need_mb MB free in $work, have $free_mb MB"; exit 1; }

say "writing $count checkpoint folders of 2 × $shard_mb MB into $work/output"
python3 - "$work/output" "$count" "$shard_mb" <<'PY'
import json, os, sys
import numpy as np
from safetensors.numpy import save_file
out, count, shard_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Model-shaped: 1024-wide square layers of 4 MiB each, until each shard holds shard_mb MB.
per_shard = max(1, shard_mb * 1_000_000 // (1024 * 1024 * 4))
rng = np.random.default_rng(0)
for c in range(count):
    folder = os.path.join(out, f"checkpoint-{(c + 1) * 100}")
    os.makedirs(folder)
    weight_map, total = {}, 0
    for s in range(2):
        name = f"model-{s + 1:05d}-of-00002.safetensors"
        tensors = {f"model.layers.{s * per_shard + i}.weight": rng.standard_normal((1024, 1024), dtype=np.float32)
                   for i in range(per_shard)}
        save_file(tensors, os.path.join(folder, name), metadata={"format": "pt"})
        for key, value in tensors.items():
            weight_map[key] = name
            total += value.nbytes
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2, sort_keys=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"model_type": "bench"}, f)
    with open(os.path.join(folder, "trainer_state.json"), "w") as f:
        json.dump({"global_step": (c + 1) * 100}, f)
PY
cat > "$work/timm_average.py" <<'PY'
# timm's avg_checkpoints.py, reading Hugging Face shards with safetensors instead of torch.load.
import glob, os, sys
import torch
from safetensors import safe_open
from safetensors.torch import save_file
run, output = sys.argv[1], sys.argv[2]
folders = sorted(glob.glob(os.path.join(run, "checkpoint-*")), key=lambda p: int(p.rsplit("-", 1)[1]))
avg = {}
for folder in folders:
    for shard in sorted(glob.glob(os.path.join(folder, "model-*.safetensors"))):
        with safe_open(shard, framework="pt") as f:
            for k in f.keys():
                v = f.get_tensor(k)
                if k not in avg:
                    avg[k] = v.clone().to(dtype=torch.float64)
                else:
                    avg[k] += v.to(dtype=torch.float64)
for k, v in avg.items():
    v.div_(len(folders))
float32_info = torch.finfo(torch.float32)
final = {k: v.clamp(float32_info.min, float32_info.max).to(dtype=torch.float32) for k, v in avg.items()}
save_file(final, output, metadata={"format": "pt"})
PY

run="$work/output"
cat "$run"/*/*.safetensors >/dev/null   # warm the page cache
python_command=(python3 "$work/timm_average.py" "$run" "$work/python.safetensors")
plain_command=("$swa_avg" "$run" -o "$work/swa.safetensors" --force -q)
folder_command=("$swa_avg" "$run" -o "$work/swa-folder/" --force -q)

# Wall time of one run of "$@", in seconds; peak RSS (KiB) of it in $work/rss.
timed() {
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt"
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt" >"$work/rss"
}

say "timing: $runs interleaved rounds"
python_times=() plain_times=() folder_times=()
for round in $(seq 1 "$runs"); do
    python_times+=("$(timed "${python_command[@]}")"); python_rss=$(cat "$work/rss")
    plain_times+=("$(timed "${plain_command[@]}")"); plain_rss=$(cat "$work/rss")
    folder_times+=("$(timed "${folder_command[@]}")"); folder_rss=$(cat "$work/rss")
done

say "checking that both outputs hold the same bits"
python3 - "$work/python.safetensors" "$work/swa.safetensors" <<'PY'
import sys
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert a.keys() == b.keys()
assert all(a[k].tobytes() == b[k].tobytes() for k in a), "outputs differ"
PY

machine_cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
python3 - "$count" "$shard_mb" "$python_rss" "$plain_rss" "$folder_rss" "${python_times[*]}" "${plain_times[*]}" "${folder_times[*]}" \
    "$(nproc) cores, ${machine_cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM" \
    "$(python3 -c 'import torch, safetensors; print(f"torch {torch.__version__}, safetensors {safetensors.__version__}")')" <<'PY'
import statistics, sys
count, shard_mb, rss_py, rss_plain, rss_folder, t_py, t_plain, t_folder, machine, versions = sys.argv[1:]
times = {name: [float(x) for x in text.split()] for name, text in [("py", t_py), ("plain", t_plain), ("folder", t_folder)]}
reference = statistics.median(times["py"])
rows = [("Python, timm's avg_checkpoints.py approach (safe_open, Float64 sums)", "py", rss_py),
        ("`swa-avg RUN -o avg.safetensors`", "plain", rss_plain),
        ("`swa-avg RUN -o avg/` (HF folder)", "folder", rss_folder)]
print(f"\n{count} checkpoint folders × 2 shards × {shard_mb} MB (F32), page cache warm; {machine}; {versions}\n")
print("| command | median s | min–max s | ratio to Python | peak RSS MiB |")
print("|---|---|---|---|---|")
for label, key, rss in rows:
    values = times[key]
    print(f"| {label} | {statistics.median(values):.2f} | {min(values):.2f}–{max(values):.2f} | **{statistics.median(values) / reference:.2f}x** | {int(rss) / 1024:.0f} |")
PY
