#!/bin/bash
# The whole SWA post-processing of one run on a Slurm cluster, as one chain of jobs:
#
#   avg (array) -> avg-merge -> bn-update (array) -> bn-merge -> eval (array) -> eval-merge
#
# each started only when the one before it succeeded (--dependency=afterok); a failure cancels
# what waits on it (--kill-on-invalid-dep=yes) instead of leaving it pending for ever.
#
#   RUN=ckpts/ TRAIN=train/ TEST=test/ WORK=/shared/swa examples/slurm/submit-all.sh
#
# Array sizes: AVG_SHARDS (8), BN_SHARDS (32), EVAL_SHARDS (8). With WAIT=1 the last sbatch
# blocks until the chain has finished and exits non-zero if any job failed (make test-slurm).
# Run it from the folder that holds examples/ (the jobs find env.sh through $SLURM_SUBMIT_DIR),
# or set SWA_EXAMPLES to this folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SWA_EXAMPLES=${SWA_EXAMPLES:-$here}
: "${RUN:?set RUN}" "${TRAIN:?set TRAIN}" "${TEST:?set TEST}"
avg_shards=${AVG_SHARDS:-8} bn_shards=${BN_SHARDS:-32} eval_shards=${EVAL_SHARDS:-8}
after() { echo "--dependency=afterok:$1 --kill-on-invalid-dep=yes"; }

avg=$(sbatch --parsable --array=0-$((avg_shards - 1)) "$here/avg.sbatch")
avg_merge=$(sbatch --parsable $(after "$avg") "$here/avg-merge.sbatch")
bn=$(sbatch --parsable --array=0-$((bn_shards - 1)) $(after "$avg_merge") "$here/bn-update.sbatch")
bn_merge=$(sbatch --parsable $(after "$bn") "$here/bn-merge.sbatch")
evaluation=$(sbatch --parsable --array=0-$((eval_shards - 1)) $(after "$bn_merge") "$here/eval.sbatch")
echo "submitted: avg $avg, avg-merge $avg_merge, bn-update $bn, bn-merge $bn_merge, eval $evaluation"
if [ "${WAIT:-0}" = 1 ]; then
  sbatch --wait $(after "$evaluation") "$here/eval-merge.sbatch"
else
  sbatch $(after "$evaluation") "$here/eval-merge.sbatch"
fi
