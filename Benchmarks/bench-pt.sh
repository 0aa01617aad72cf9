#!/usr/bin/env bash
# swa-avg over PyTorch .pt files against timm's avg_checkpoints.py procedure in PyTorch,
# measured in the same run on the same files (`make bench-pt`).
#
# Writes $SWA_BENCH_COUNT (16) torch.save files of $SWA_BENCH_SIZE (100) MB of float32 tensors
# ({'epoch', 'state_dict'}) into a temporary folder, warms the page cache, then times with
# hyperfine ($SWA_BENCH_RUNS interleaved rounds after one warm-up):
#   PyTorch : Benchmarks/avg_checkpoints_reference.py (torch.load(mmap=True, weights_only=True),
#             Float64 sums, float32 safetensors out), torch's default threads
#   swa-avg : `swa-avg DIR -o OUT --force -q` (reads every tensor in place from the zip,
#             Float64 sums, hashes every input, writes a zstd-compressed checkpoint)
# and the peak RSS of one run of each with GNU /usr/bin/time -v. Prints a markdown table.
# Goal (docs/PERFORMANCE.md): swa-avg ≤ 0.3x PyTorch's time, memory bounded.
#
# Environment: SWA_BENCH_COUNT, SWA_BENCH_SIZE, SWA_BENCH_RUNS (3), SWA_AVG (a prebuilt
# swa-avg to time instead of the release build), TMPDIR (/tmp).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
count="${SWA_BENCH_COUNT:-16}"
size="${SWA_BENCH_SIZE:-100}"
runs="${SWA_BENCH_RUNS:-3}"

say() { printf 'bench-pt: %s\n' "$*" >&2; }
. "$here/bench-common.sh"
require_tools hyperfine time python3

if [ -z "${SWA_AVG:-}" ]; then
    say "building (release)"
    swift build -c release --package-path "$here" --product swa-avg >&2
fi
swa_avg="${SWA_AVG:-$(swift build -c release --package-path "$here" --show-bin-path)/swa-avg}"

work="$(mktemp -d "${TMPDIR:-/tmp}/swa-bench-pt.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "writing $count torch.save files of $size MB into $work/run"
python3 "$here/make_pt_checkpoints.py" "$work/run" "$count" "$size" >&2
cat "$work"/run/*.pt >/dev/null

torch_command="python3 $here/avg_checkpoints_reference.py $work/run $work/torch.safetensors"
avg_command="$swa_avg $work/run -o $work/swa.bin --force -q"
commands=(-n "PyTorch" "$torch_command" -n "swa-avg" "$avg_command")
say "timing: warm-up, then $runs interleaved rounds"
hyperfine -N --warmup 1 --runs 1 --style basic "${commands[@]}" >/dev/null 2>&1
for round in $(seq 1 "$runs"); do
    busy_before=$(cpu_busy_ticks)
    hyperfine -N --runs 1 --style basic --export-json "$work/round-$round.json" "${commands[@]}" >/dev/null 2>&1
    echo "$busy_before $(cpu_busy_ticks)" >"$work/busy-$round.txt"
done

peak_rss_kib() {
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt"
}
say "peak RSS"
rss_torch=$(peak_rss_kib $torch_command)
rss_avg=$(peak_rss_kib $avg_command)

# The two averages agree (both are Float64 sums rounded once to float32).
python3 - "$work" <<'PY' >&2
import sys, io, zstandard, safetensors.torch
work = sys.argv[1]
ours = safetensors.torch.load(zstandard.ZstdDecompressor().stream_reader(open(f"{work}/swa.bin", "rb")).read())
theirs = safetensors.torch.load_file(f"{work}/torch.safetensors")
assert ours.keys() == theirs.keys() and all(ours[k].equal(theirs[k]) for k in ours), "the averages differ"
print("bench-pt: the two averages are equal bit for bit")
PY

machine_cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
cat <<EOF

### swa-avg on .pt files vs PyTorch (timm avg_checkpoints.py), $(date -u +%Y-%m-%d)

Machine: $(nproc) cores, ${machine_cpu:-unknown CPU}; PyTorch $(python3 -c 'import torch; print(torch.__version__, "with", torch.get_num_threads(), "threads")').
$count × $size MB torch.save files in the page cache; 1 warm-up, then $runs interleaved rounds.

| command | median s | min–max s | CPU s (user+sys) | ratio to PyTorch | peak RSS MiB | other CPU s |
|---|---:|---:|---:|---:|---:|---:|
EOF
python3 - "$work" "$runs" "$rss_torch" "$rss_avg" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
work, runs, rss_torch, rss_avg, ticks = sys.argv[1:]
names = ["PyTorch", "swa-avg"]
wall = {n: [] for n in names}
cpu = {n: [] for n in names}
others = 0.0
for r in range(1, int(runs) + 1):
    results = {x["command"]: x for x in json.load(open(f"{work}/round-{r}.json"))["results"]}
    for n in names:
        wall[n].append(results[n]["median"])
        cpu[n].append(results[n]["user"] + results[n]["system"])
    before, after = map(int, open(f"{work}/busy-{r}.txt").read().split())
    others += (after - before) / int(ticks) - sum(cpu[n][-1] for n in names)
reference = statistics.median(wall["PyTorch"])
rss = {"PyTorch": rss_torch, "swa-avg": rss_avg}
for n in names:
    m = statistics.median(wall[n])
    print(f"| {n} | {m:.3f} | {min(wall[n]):.3f}–{max(wall[n]):.3f} | {statistics.median(cpu[n]):.2f} | **{m / reference:.2f}x** | {int(rss[n]) / 1024:.0f} | {max(0, others):.1f} |")
PY
