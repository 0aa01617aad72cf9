#!/usr/bin/env bash
# make test-slurm: the job files of examples/slurm/ on a real single-node Slurm cluster.
#
# As root: installs slurm-wlm and munge when missing, starts a private munged, slurmctld and
# slurmd (scripts/slurm-local.sh: configuration, state, logs, key and socket in a temporary
# folder, free ports, SLURM_CONF, nothing under /etc), submits the array and merge jobs on the
# fixtures with `sbatch --wait`, and checks that every merged output equals the single
# process's: the sharded average folder and the partial-sum average bit for bit, the BN
# update bit for bit or within 1 ulp of Float32, the evaluation's JSON field by field. The
# daemons are stopped by pid whatever happens. Not root: says why it skips, exits 0.
#
#   scripts/test-slurm.sh [BIN]     BIN: folder of the built swa-* tools (default .build/debug)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/.build/debug}" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "test-slurm: skipped: not root (it installs slurm-wlm and munge and starts munged, slurmctld and slurmd as root); run 'sudo make test-slurm'"
  exit 0
fi
for tool in swa-avg swa-bn-update swa-eval; do
  [ -x "$bin/$tool" ] || { echo "test-slurm: $bin/$tool is missing: run 'swift build' first"; exit 1; }
done
python3 "$root/scripts/check-k8s-examples.py"

dir=$(mktemp -d /tmp/swa-test-slurm.XXXXXX)
source "$root/scripts/slurm-local.sh"
finish() {
  local status=$?
  slurm_local_stop
  if [ $status -ne 0 ]; then
    echo "test-slurm: FAILED; job outputs and daemon logs follow"
    for f in "$dir"/submit/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
    tail -n 15 "$dir"/slurm/slurmctld.log "$dir"/slurm/slurmd.log 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit $status
}
trap finish EXIT
trap 'exit 130' INT TERM

# The supports of this build: BN and evaluation shards come with their own --merge.
supports_merge() { local help; help=$("$bin/$1" --help 2>&1 || true); [[ $help == *--merge* ]]; }
has_bn=0 has_eval=0
supports_merge swa-bn-update && has_bn=1
supports_merge swa-eval && has_eval=1
supports_merge swa-avg || { echo "test-slurm: swa-avg has no --merge in this build"; exit 1; }

export RUN="$root/fixtures/checkpoints" TRAIN="$root/fixtures/data/train.npz" TEST="$root/fixtures/data/test.npz"
export WORK="$dir/work" SWA_BIN="$bin" SWA_EXAMPLES="$root/examples/slurm"
export AVG_FLAGS="" BN_FLAGS="--batch-size 64" EVAL_FLAGS=""
mkdir -p "$dir/single" "$dir/submit"
"$bin/swa-avg" "$RUN" $AVG_FLAGS -o "$dir/single/avg.safetensors" --quiet

slurm_local_start "$dir/slurm"
cd "$dir/submit"
after() { echo "--dependency=afterok:$1 --kill-on-invalid-dep=yes"; }
started=$(date +%s)
# Averaging by checkpoint ranges first (3 tasks), in the background of the main chain.
sums=$(sbatch --parsable --array=0-2 "$SWA_EXAMPLES/avg-sums.sbatch")
if [ $has_bn = 1 ] && [ $has_eval = 1 ]; then
  AVG_SHARDS=3 BN_SHARDS=3 EVAL_SHARDS=2 WAIT=1 timeout 600 bash "$SWA_EXAMPLES/submit-all.sh"
else
  # The same chain as submit-all.sh, as far as this build's tools go.
  [ $has_bn = 1 ] || echo "test-slurm: swa-bn-update has no --merge in this build: its jobs are not run"
  [ $has_eval = 1 ] || echo "test-slurm: swa-eval has no --merge in this build: its jobs are not run"
  avg=$(sbatch --parsable --array=0-2 "$SWA_EXAMPLES/avg.sbatch")
  if [ $has_bn = 1 ]; then
    avg_merge=$(sbatch --parsable $(after "$avg") "$SWA_EXAMPLES/avg-merge.sbatch")
    bn=$(sbatch --parsable --array=0-2 $(after "$avg_merge") "$SWA_EXAMPLES/bn-update.sbatch")
    timeout 300 sbatch --wait $(after "$bn") "$SWA_EXAMPLES/bn-merge.sbatch"
  else
    timeout 300 sbatch --wait $(after "$avg") "$SWA_EXAMPLES/avg-merge.sbatch"
  fi
fi
timeout 300 sbatch --wait $(after "$sums") "$SWA_EXAMPLES/avg-sums-merge.sbatch"
echo "test-slurm: jobs done in $(( $(date +%s) - started )) s"

compare() { python3 "$root/scripts/compare-outputs.py" "$@"; }
checks=0
# A folder of 3 tensor-range shards plus the index: the single process's tensors and metadata
# (each shard also records which shard it is, swa.partial).
compare tensors "$WORK/swa" "$dir/single/avg.safetensors" --ignore-metadata swa.partial --ignore-metadata format
checks=$((checks + 1))
cmp "$WORK/swa-sums.safetensors" "$dir/single/avg.safetensors"
echo "test-slurm: the partial-sum average is byte for byte the single process's"
checks=$((checks + 1))
if [ $has_bn = 1 ]; then
  "$bin/swa-bn-update" "$WORK/swa/" --data "$TRAIN" $BN_FLAGS -o "$dir/single/bn.safetensors" --quiet
  if cmp -s "$WORK/swa-bn.safetensors" "$dir/single/bn.safetensors"; then
    echo "test-slurm: the merged BN update is byte for byte the single process's"
  else
    compare tensors "$WORK/swa-bn.safetensors" "$dir/single/bn.safetensors" --ulps 1 --ignore-metadata swa.bn
  fi
  checks=$((checks + 1))
fi
if [ $has_bn = 1 ] && [ $has_eval = 1 ]; then
  "$bin/swa-eval" "$WORK/swa-bn.safetensors" --ensemble "$RUN" --data "$TEST" $EVAL_FLAGS --json > "$dir/single/eval.json"
  compare json "$WORK/eval.json" "$dir/single/eval.json" --ignore seconds --ignore backend
  checks=$((checks + 1))
fi
echo "test-slurm: $checks checks passed"
