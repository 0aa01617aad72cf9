# Settings shared by the job files of this folder. Every job sources it, so export the
# variables before `sbatch` (Slurm passes the submitting environment on: --export=ALL) or
# edit the defaults here.
#
#   SWA_BIN   folder of the swa-* executables (empty: found on PATH)
#   RUN       the SGD run: a folder of checkpoints (averaged, and the FGE members)
#   TRAIN     training data for the BN update (.npz, CIFAR folder, image folder ...)
#   TEST      test data for the evaluation
#   WORK      where parts and results go; on a file system every node sees
#   AVG_FLAGS, BN_FLAGS, EVAL_FLAGS   more flags for swa-avg, swa-bn-update, swa-eval
#             (e.g. AVG_FLAGS="--start 161 --every 2", BN_FLAGS="--batch-size 256")
: "${RUN:?set RUN to the folder of checkpoints}"
: "${WORK:=$PWD/swa-work}"
: "${SWA_BIN:=}"
: "${AVG_FLAGS:=}" "${BN_FLAGS:=}" "${EVAL_FLAGS:=}"
swa() {  # swa TOOL ARGS...: runs $SWA_BIN/TOOL, or TOOL from PATH
  local tool=$1; shift
  if [ -n "$SWA_BIN" ]; then "$SWA_BIN/$tool" "$@"; else "$tool" "$@"; fi
}
mkdir -p "$WORK/parts"
