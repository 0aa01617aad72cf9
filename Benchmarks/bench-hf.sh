#!/usr/bin/env bash
# swa-avg over a Hugging Face sharded run against a Python script doing what timm's
# avg_checkpoints.py does, with safetensors, measured in the same run on the same files
# (`make bench-hf`).
#
# It writes two runs of $SWA_BENCH_COUNT (8) Trainer-like checkpoint folders of 2 shards ×
# $SWA_BENCH_SHARD_MB (100) MB of F32 tensors each (model.safetensors.index.json as transformers
# writes it, config.json, trainer_state.json) into a temporary folder: `same` splits the tensors
# over the shards the same way in every checkpoint (as a Trainer saves them: swa-avg streams in
# lockstep), `mixed` differently in every checkpoint (swa-avg reads in place: random access).
# It warms the page cache, then times $SWA_BENCH_RUNS interleaved rounds of
#   python (timm) : for each checkpoint, for each shard, safe_open(framework="pt") and
#                   get_tensor every key; sum in Float64 (timm: v.clone().to(torch.float64),
#                   then +=); divide by n; .to(float32) and save_file one plain .safetensors
#   swa-avg       : `swa-avg RUN -o OUT.safetensors --force -q` (reads, checks, averages and
#                   hashes all inputs, writes one plain .safetensors), on both runs
#   swa-avg -o DIR/ : the same into a Hugging Face folder (2 shards, index, config copied)
# each under GNU /usr/bin/time -v (wall time, peak RSS). It checks that the Python and swa-avg
# outputs hold the same bits, and prints a markdown table with medians and ratios to Python.
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
need_mb=$(( count * shard_mb * 4 + 10 * shard_mb + 100 ))
free_mb=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge "$need_mb" ] || { say "need about $need_mb MB free in $work, have $free_mb MB"; exit 1; }

# write_run FOLDER same|mixed: the checkpoint folders; `mixed` deals the tensors to the two shards
# by a different permutation in every checkpoint (the layouts then differ: random access).
write_run() {
python3 - "$1" "$count" "$shard_mb" "$2" <<'PY'
import json, os, sys
import numpy as np
from safetensors.numpy import save_file
out, count, shard_mb, layout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# Model-shaped: 1024-wide square layers of 4 MiB each, until each shard holds shard_mb MB.
per_shard = max(1, shard_mb * 1_000_000 // (1024 * 1024 * 4))
rng = np.random.default_rng(0)
for c in range(count):
    folder = os.path.join(out, f"checkpoint-{(c + 1) * 100}")
    os.makedirs(folder)
    weight_map, total = {}, 0
    keys = [f"model.layers.{i}.weight" for i in range(2 * per_shard)]
    if layout == "mixed":
        keys = [keys[i] for i in np.random.default_rng(100 + c).permutation(len(keys))]
    for s in range(2):
        name = f"model-{s + 1:05d}-of-00002.safetensors"
        tensors = {key: rng.standard_normal((1024, 1024), dtype=np.float32) for key in keys[s * per_shard:(s + 1) * per_shard]}
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
}
say "writing 2 runs of $count checkpoint folders of 2 × $shard_mb MB into $work (same sharding, mixed sharding)"
write_run "$work/same" same
write_run "$work/mixed" mixed
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

cat "$work"/*/*/*.safetensors >/dev/null   # warm the page cache

# Wall time of one run of "$@", in seconds; its peak RSS (KiB) goes to $work/rss.
timed() {
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time.txt"
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt" >"$work/rss"
}

# The measured commands: name and arguments, one per line, fields separated by |.
commands=(
    "python same|python3 $work/timm_average.py $work/same $work/python-same.safetensors"
    "swa-avg same|$swa_avg $work/same -o $work/swa-same.safetensors --force -q"
    "swa-avg same folder|$swa_avg $work/same -o $work/swa-folder/ --force -q"
    "python mixed|python3 $work/timm_average.py $work/mixed $work/python-mixed.safetensors"
    "swa-avg mixed|$swa_avg $work/mixed -o $work/swa-mixed.safetensors --force -q"
)
say "timing: $runs interleaved rounds of ${#commands[@]} commands"
: >"$work/times.txt"
for round in $(seq 1 "$runs"); do
    for entry in "${commands[@]}"; do
        name="${entry%%|*}"
        read -r -a argv <<<"${entry#*|}"
        seconds=$(timed "${argv[@]}")
        echo "$name|$seconds|$(cat "$work/rss")" >>"$work/times.txt"
    done
done

say "checking that Python and swa-avg outputs hold the same bits"
python3 - "$work" <<'PY'
import sys
from safetensors.numpy import load_file
work = sys.argv[1]
for layout in ["same", "mixed"]:
    a, b = load_file(f"{work}/python-{layout}.safetensors"), load_file(f"{work}/swa-{layout}.safetensors")
    assert a.keys() == b.keys() and all(a[k].tobytes() == b[k].tobytes() for k in a), f"outputs differ ({layout})"
PY

machine_cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
python3 - "$work/times.txt" "$count" "$shard_mb" \
    "$(nproc) cores, ${machine_cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM" \
    "$(python3 -c 'import torch, safetensors; print(f"torch {torch.__version__}, safetensors {safetensors.__version__}")')" <<'PY'
import collections, statistics, sys
path, count, shard_mb, machine, versions = sys.argv[1:]
times, rss = collections.defaultdict(list), {}
for line in open(path):
    name, seconds, kib = line.strip().split("|")
    times[name].append(float(seconds))
    rss[name] = max(rss.get(name, 0), int(kib))
labels = {
    "python same": "Python, timm's avg_checkpoints.py approach (safe_open, Float64 sums) → .safetensors",
    "swa-avg same": "`swa-avg RUN -o avg.safetensors` (lockstep)",
    "swa-avg same folder": "`swa-avg RUN -o avg/` (HF folder, 2 shards + index + config)",
    "python mixed": "Python, as above",
    "swa-avg mixed": "`swa-avg RUN -o avg.safetensors` (random access)",
}
print(f"\n{count} checkpoint folders × 2 shards × {shard_mb} MB (F32), page cache warm; {machine}; {versions}\n")
print("| sharding | command | median s | min–max s | ratio to Python | peak RSS MiB |")
print("|---|---|---|---|---|---|")
for name, label in labels.items():
    layout = name.split()[1]
    reference = statistics.median(times[f"python {layout}"])
    values = times[name]
    sharding = "same in every checkpoint" if layout == "same" else "different in every checkpoint"
    print(f"| {sharding} | {label} | {statistics.median(values):.2f} | {min(values):.2f}–{max(values):.2f} "
          f"| **{statistics.median(values) / reference:.2f}x** | {rss[name] / 1024:.0f} |")
PY
