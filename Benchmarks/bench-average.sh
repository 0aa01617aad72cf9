#!/usr/bin/env bash
# swa-avg against `zstd -d`, measured in the same run on the same files (`make bench`).
#
# For each size (default 16 checkpoints of 100 MB, then 16 of 25 MB) it writes synthetic,
# model-shaped checkpoints into a temporary folder under /tmp, warms the page cache, then:
#   - wall time with hyperfine (one warm-up, then $SWA_BENCH_RUNS interleaved rounds) of
#       zstd -d   : one process decompressing all the files in sequence to /dev/null
#                   (`zstd -d -c -q f1 … f16`, stdout to /dev/null, checksums verified)
#       swa-avg   : `swa-avg DIR -o OUT --force -q` (reads, checks, averages and hashes all
#                   the inputs, compresses and writes the output)
#       swa-avg --dtype bf16 : the same with a half-size output
#   - peak RSS ("Maximum resident set size") of one run of each with GNU `/usr/bin/time -v`.
# It prints a markdown table: medians, the ratio swa-avg / zstd -d, peak RSS, the machine.
#
# Goals (docs/PERFORMANCE.md): ratio ≤ 1.3 at 16 × 100 MB; peak RSS ≤ 256 MiB and flat
# across checkpoint sizes.
#
# Environment: SWA_BENCH_COUNT (16), SWA_BENCH_SIZES ("100 25", MB of tensor data each),
# SWA_BENCH_RUNS (5), SWA_BENCH_RESULTS (a folder to keep the hyperfine JSON in),
# SWA_AVG (a prebuilt swa-avg to time instead), SWA_AVG_BASE (another swa-avg, e.g. a build of
# the previous commit, timed in the same rounds; the report says whether its output file is
# byte-identical to SWA_AVG's), SWA_BENCH_BF16 (1; 0 skips the --dtype bf16 command), TMPDIR (/tmp).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
count="${SWA_BENCH_COUNT:-16}"
sizes="${SWA_BENCH_SIZES:-100 25}"
runs="${SWA_BENCH_RUNS:-5}"
results="${SWA_BENCH_RESULTS:-}"

say() { printf 'bench: %s\n' "$*" >&2; }

# MARK: - Tools

. "$here/bench-common.sh"
require_tools hyperfine zstd time python3

# MARK: - Build

# swa-avg and the generator come from one release build of this package, which compiles the
# root package as a dependency with the same settings as `swift build -c release` there; the
# root's own .build is left alone. SWA_AVG=/path/to/swa-avg measures another binary instead.
say "building (release)"
swift build -c release --package-path "$here" --product make-synthetic-checkpoints >&2
swift build -c release --package-path "$here" --product swa-avg >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)"
swa_avg="${SWA_AVG:-$bin/swa-avg}"
generator="$bin/make-synthetic-checkpoints"

# MARK: - Work folder

work="$(mktemp -d "${TMPDIR:-/tmp}/swa-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
largest=0
for size in $sizes; do [ "${size%.*}" -gt "$largest" ] && largest="${size%.*}"; done
need_mb=$(( count * largest * 11 / 10 + 2 * largest + 100 ))
free_mb=$(df -Pm "$work" | awk 'NR == 2 { print $4 }')
if [ "$free_mb" -lt "$need_mb" ]; then
    say "need about $need_mb MB free in $work, have $free_mb MB"
    exit 1
fi

# Maximum resident set size of one run of "$@", in KiB.
peak_rss_kib() {
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
    awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt"
}

machine_cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
machine="$(nproc) cores, ${machine_cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM; $(zstd --version | sed -E 's/.*(v[0-9.]+).*/zstd \1/'); $(swift --version 2>/dev/null | head -1 | sed -E 's/.*(Swift version [0-9.]+).*/\1/')"
rows=()

for size in $sizes; do
    folder="$work/ckpt-$size"
    say "writing $count synthetic checkpoints of $size MB into $folder"
    "$generator" "$folder" "$count" "$size" >"$work/files.txt" 2>"$work/generator.txt"
    cat "$work/generator.txt" >&2
    files=("$folder"/*.safetensors.zst)
    on_disk_mb=$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { printf "%.0f", s / 1e6 }')
    payload_mb=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "bytes") printf "%.0f", $(i - 1) * '"$count"' / 1e6 }' "$work/generator.txt")

    # Write the new files back first, so that the kernel's writeback of the inputs does not
    # run during the timed rounds; then warm the page cache: both commands read from memory.
    sync
    cat "${files[@]}" >/dev/null

    zstd_command="zstd -d -c -q ${files[*]}"
    avg_command="$swa_avg $folder -o $work/average-$size.safetensors.zst --force -q"
    bf16_command="$swa_avg $folder -o $work/average-$size-bf16.safetensors.zst --force -q --dtype bf16"
    commands=(-n "zstd -d" "$zstd_command" -n "swa-avg" "$avg_command")
    if [ "${SWA_BENCH_BF16:-1}" != 0 ]; then commands+=(-n "swa-avg --dtype bf16" "$bf16_command"); fi
    base_command="${SWA_AVG_BASE:+$SWA_AVG_BASE $folder -o $work/average-$size-base.safetensors.zst --force -q}"
    if [ -n "$base_command" ]; then commands+=(-n "swa-avg (base)" "$base_command"); fi
    # hyperfine -N runs each command without a shell and sends its stdout to /dev/null, so
    # `zstd -d -c` writes the decompressed bytes there.
    # Interleaved rounds: each round runs every command once (hyperfine --runs 1), so a burst
    # of other work on the machine hits all commands alike instead of one command's runs.
    # /proc/stat before and after each round tells how much CPU other processes took.
    say "timing: warm-up, then $runs interleaved rounds"
    hyperfine -N --warmup 1 --runs 1 --style basic "${commands[@]}" >/dev/null 2>&1
    for round in $(seq 1 "$runs"); do
        busy_before=$(cpu_busy_ticks)
        hyperfine -N --runs 1 --style basic --export-json "$work/hyperfine-$size-$round.json" "${commands[@]}" >/dev/null 2>&1
        echo "$busy_before $(cpu_busy_ticks)" >"$work/busy-$size-$round.txt"
    done
    output_mb=$(stat -c %s "$work/average-$size.safetensors.zst" | awk '{ printf "%.0f", $1 / 1e6 }')
    output_bf16_mb=$({ stat -c %s "$work/average-$size-bf16.safetensors.zst" 2>/dev/null || echo 0; } | awk '{ printf "%.0f", $1 / 1e6 }')
    same_output=""
    if [ -n "$base_command" ]; then
        same_output=$(cmp -s "$work/average-$size.safetensors.zst" "$work/average-$size-base.safetensors.zst" && echo yes || echo NO)
    fi

    say "peak RSS"
    rss_zstd=$(peak_rss_kib $zstd_command)
    rss_avg=$(peak_rss_kib $avg_command)
    rss_bf16=0; if [ "${SWA_BENCH_BF16:-1}" != 0 ]; then rss_bf16=$(peak_rss_kib $bf16_command); fi
    rss_base=0; if [ -n "$base_command" ]; then rss_base=$(peak_rss_kib $base_command); fi

    if [ -n "$results" ]; then mkdir -p "$results" && cp "$work"/hyperfine-"$size"-*.json "$results/"; fi
    rows+=("$(python3 - "$work" "$runs" "$count" "$size" "$payload_mb" "$on_disk_mb" "$output_mb" "$output_bf16_mb" \
        "$rss_zstd" "$rss_avg" "$rss_bf16" "$(getconf CLK_TCK)" "$rss_base" "$same_output" "${SWA_BENCH_BF16:-1}" <<'PY'
import json, statistics, sys
work, runs, count, size, payload, disk, output, output_bf16, rss_zstd, rss_avg, rss_bf16, ticks, rss_base, same, bf16 = sys.argv[1:]
names = ["zstd -d", "swa-avg"] + (["swa-avg --dtype bf16"] if bf16 != "0" else []) + (["swa-avg (base)"] if same else [])
wall = {name: [] for name in names}
cpu = {name: [] for name in names}
others = []
for round in range(1, int(runs) + 1):
    results = {r["command"]: r for r in json.load(open(f"{work}/hyperfine-{size}-{round}.json"))["results"]}
    for name in names:
        wall[name].append(results[name]["median"])
        cpu[name].append(results[name]["user"] + results[name]["system"])
    before, after = map(int, open(f"{work}/busy-{size}-{round}.txt").read().split())
    others.append((after - before) / int(ticks) - sum(results[name]["user"] + results[name]["system"] for name in names))
reference = statistics.median(wall["zstd -d"])
rss = {"zstd -d": rss_zstd, "swa-avg": rss_avg, "swa-avg --dtype bf16": rss_bf16, "swa-avg (base)": rss_base}
label = {"zstd -d": "`zstd -d`", "swa-avg": f"`swa-avg` ({output} MB out)", "swa-avg --dtype bf16": f"`swa-avg --dtype bf16` ({output_bf16} MB out)",
         "swa-avg (base)": f"`swa-avg`, base build (output byte-identical: {same})"}
for name in names:
    median = statistics.median(wall[name])
    ratios = sorted(w / z for w, z in zip(wall[name], wall["zstd -d"]))
    print(f"| {count} × {size} MB ({payload} MB raw, {disk} MB zstd) | {label[name]} | {median:.3f} "
          f"| {min(wall[name]):.3f}–{max(wall[name]):.3f} | {statistics.median(cpu[name]):.2f} | **{median / reference:.2f}x** "
          f"| {ratios[0]:.2f}–{ratios[-1]:.2f} | {int(rss[name]) / 1024:.1f} | {max(0, sum(others)):.1f} |")
PY
)")
    rm -rf "$folder"
done

# MARK: - Report

cat <<EOF

### swa-avg vs zstd -d, $(date -u +%Y-%m-%d)

Machine: $machine. Inputs in the page cache; 1 warm-up, then $runs interleaved rounds of every
command (hyperfine --runs 1 each). \`zstd -d\` is one process decompressing every file in sequence
to /dev/null. Ratio = median / median of \`zstd -d\`; "per round" is the range of the ratio within
one round. "Other CPU s" is CPU time other processes (and the hypervisor's steal) took during all
rounds of that size: near 0 on a quiet machine; large values mean the times are not clean.

| inputs | command | median s | min–max s | CPU s (user+sys) | ratio | ratio per round | peak RSS MiB | other CPU s |
|---|---|---:|---:|---:|---:|---:|---:|---:|
EOF
printf '%s\n' "${rows[@]}"
