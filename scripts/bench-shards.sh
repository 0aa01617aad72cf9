#!/usr/bin/env bash
# make bench-shards: what a shard costs against the single process, shards run as local
# processes at the same time (docs/SCALE.md, "Measured").
#
#   scripts/bench-shards.sh [BIN]    BIN: folder of the swa-* tools (default .build/release)
#
# In one run, on the same files, wall time (median of SWA_BENCH_RUNS, default 3) of:
#   swa-avg     the single process over K synthetic plain-safetensors checkpoints
#               (SWA_BENCH_COUNT x SWA_BENCH_MB, default 8 x 64 MB, 24 tensors of mixed sizes);
#               N tensor-range shards (all N at once) and the merge that writes the index;
#               N checkpoint-range partial sums (all N at once) and the merge;
#               sha256sum of every input: what each tensor-range shard pays to hash them.
#   swa-landscape  a line of SWA_BENCH_POINTS points on the fixtures: single, N shards at once, merge.
#   swa-bn-update  the fixture SWA model over the fixture training data: single, N shards, merge.
#   swa-eval       the fixture model and its 20-checkpoint ensemble on the test data: the same.
# N is SWA_BENCH_SHARDS (default 2, the cores here). Prints a markdown table of seconds and of
# ratios to the single process, and the CPU and BLAS kernels.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/.build/release}" && pwd)
count=${SWA_BENCH_COUNT:-8} megabytes=${SWA_BENCH_MB:-64} shards=${SWA_BENCH_SHARDS:-2}
runs=${SWA_BENCH_RUNS:-3} points=${SWA_BENCH_POINTS:-6}
work=$(mktemp -d "${TMPDIR:-/tmp}/swa-bench-shards.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 - "$work/run" "$count" "$megabytes" <<'PY'
import json, os, struct, sys
import numpy as np
folder, count, megabytes = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
os.makedirs(folder)
# 24 tensors: a few large matrices and many small ones, like a network's layers.
sizes = [int(megabytes * 1e6 / 4 * f) for f in [0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03] + [0.04 / 16] * 16]
rng = np.random.default_rng(0)
base = [rng.integers(0, 2**32, size=n, dtype=np.uint32).tobytes() for n in sizes]
for k in range(count):
    header, offset, blobs = {}, 0, []
    for i, n in enumerate(sizes):
        blobs.append(base[i])
        header[f"layer{i}.weight"] = {"dtype": "F32", "shape": [n], "data_offsets": [offset, offset + 4 * n]}
        offset += 4 * n
    header["__metadata__"] = {"swa.step": str(100 * (k + 1))}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(f"{folder}/ckpt-{k + 1:03d}.safetensors", "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for data in blobs:
            # Random mantissas and signs, exponent 127 (|x| in [1, 2)), scaled per checkpoint: finite values.
            a = (np.frombuffer(data, dtype=np.uint32) & np.uint32(0x807FFFFF)) | np.uint32(127 << 23)
            out.write((a.view(np.float32) * np.float32(1 + k / count)).astype(np.float32).tobytes())
PY

now() { date +%s.%N; }
median() { python3 -c 'import statistics, sys; print("%.3f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
# time_once CMD...: seconds of one run.
time_once() { local start; start=$(now); "$@" >/dev/null; python3 -c "print($(now) - $start)"; }
# time_shards CMD-TEMPLATE: the N shards at once (I replaced by the index); prints the slowest shard's seconds.
time_shards() {
  local template=$1 start; start=$(now)
  local pids=() i
  for ((i = 0; i < shards; i++)); do bash -c "${template//@I@/$i}" >/dev/null & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  python3 -c "print($(now) - $start)"
}

declare -A results
measure() {  # measure NAME COMMAND (a bash string)
  local name=$1 command=$2 values=() r
  for ((r = 0; r < runs; r++)); do
    rm -rf "$work/out"; mkdir -p "$work/out"
    values+=("$(time_once bash -c "$command")")
  done
  results[$name]=$(median "${values[@]}")
}
measure_sharded() {  # NAME SHARD-TEMPLATE MERGE-COMMAND
  local name=$1 template=$2 merge=$3 shard_values=() merge_values=() r
  for ((r = 0; r < runs; r++)); do
    rm -rf "$work/out"; mkdir -p "$work/out"
    shard_values+=("$(time_shards "$template")")
    merge_values+=("$(time_once bash -c "$merge")")
  done
  results[$name shards]=$(median "${shard_values[@]}")
  results[$name merge]=$(median "${merge_values[@]}")
}

run="$work/run" out="$work/out" avg="$bin/swa-avg" landscape="$bin/swa-landscape"
cat "$run"/* > /dev/null   # warm the page cache
measure "avg single" "$avg $run -o $out/single.safetensors -q"
measure_sharded "avg tensors" "$avg $run -o $out/swa/ --shard @I@/$shards -q" "$avg --merge $out/swa/ -q"
measure_sharded "avg sums" "$avg $run --shard @I@/$shards --partial $out/p@I@.swa -q" "$avg --merge $out/p*.swa -o $out/merged.safetensors -q"
measure "sha256 of the inputs" "sha256sum $run/* > /dev/null"
line="line $root/fixtures/checkpoints/ckpt-020.safetensors.zst $root/fixtures/checkpoints/ckpt-010.safetensors.zst --train $root/fixtures/data/train.npz --test $root/fixtures/data/test.npz --steps 0:1:$points"
measure "landscape single" "$landscape $line --quiet"
measure_sharded "landscape" "$landscape $line --shard @I@/$shards --partial $out/l@I@.swa --quiet" "$landscape $line --merge $out/l*.swa --quiet"

fixtures=$root/fixtures bn="$bin/swa-bn-update" eval="$bin/swa-eval"
"$avg" "$fixtures/checkpoints" -o "$work/swa.bin" -q
"$bn" "$work/swa.bin" --data "$fixtures/data/train.npz" -o "$work/swa-bn.bin" -q
bn_args="$work/swa.bin --data $fixtures/data/train.npz"
measure "bn single" "$bn $bn_args -o $out/bn.bin -q"
measure_sharded "bn" "$bn $bn_args --shard @I@/$shards --partial $out/b@I@.swa -q" "$bn $work/swa.bin --merge $out/b*.swa -o $out/bn.bin -q"
eval_args="$work/swa-bn.bin --ensemble $fixtures/checkpoints --data $fixtures/data/test.npz"
measure "eval single" "$eval $eval_args --json"
measure_sharded "eval" "$eval $eval_args --shard @I@/$shards --partial $out/e@I@.swa -q" "$eval --merge $out/e*.swa --json"

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
total_mb=$(python3 -c "print(round($count * $megabytes))")
echo "swa-avg over $count checkpoints x $megabytes MB ($total_mb MB), swa-landscape line of $points points on the fixtures; $shards shards at once; median of $runs"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores); $("$avg" --version | sed -n 's/^BLAS: //p')"
echo
echo "| work | single process s | N shards at once s (slowest) | shards ÷ single | merge s | merge ÷ single |"
echo "|---|---|---|---|---|---|"
s=${results[avg single]}
for kind in "avg tensors" "avg sums"; do
  echo "| swa-avg, $kind | $s | ${results[$kind shards]} | $(ratio "${results[$kind shards]}" "$s") | ${results[$kind merge]} | $(ratio "${results[$kind merge]}" "$s") |"
done
l=${results[landscape single]}
echo "| swa-landscape line | $l | ${results[landscape shards]} | $(ratio "${results[landscape shards]}" "$l") | ${results[landscape merge]} | $(ratio "${results[landscape merge]}" "$l") |"
for kind in bn eval; do
  b=${results[$kind single]}
  echo "| swa-$([ $kind = bn ] && echo bn-update || echo eval) (fixtures) | $b | ${results[$kind shards]} | $(ratio "${results[$kind shards]}" "$b") | ${results[$kind merge]} | $(ratio "${results[$kind merge]}" "$b") |"
done
echo
echo "sha256sum of all inputs (what each tensor-range shard hashes): ${results[sha256 of the inputs]} s = $(ratio "${results[sha256 of the inputs]}" "$s") of the single average"
