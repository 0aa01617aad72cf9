#!/usr/bin/env bash
# The pipeline on the shipped fixtures: a real 20-epoch SGD run of a small CNN on the
# digits data set, saved as zstd-compressed safetensors checkpoints.
set -euo pipefail
bin=${1:-.build/release}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== the run: 20 checkpoints, cyclical learning rate from epoch 9 (2-epoch cycles)"
"$bin/swa-inspect" fixtures/checkpoints/ckpt-020.safetensors.zst | sed -n '1,4p'
echo
echo "== swa-avg: one checkpoint per cycle from epoch 10 (--start 10 --every 2)"
"$bin/swa-avg" fixtures/checkpoints -o "$out/swa.bin" --start 10 --every 2 --dry-run
"$bin/swa-avg" fixtures/checkpoints -o "$out/swa.bin" --start 10 --every 2
echo
echo "== swa-bn-update: recompute the averaged model's BN statistics on the training data"
"$bin/swa-bn-update" "$out/swa.bin" --data fixtures/data/train.npz -o "$out/swa-bn.bin"
echo
echo "== swa-inspect of the result"
"$bin/swa-inspect" "$out/swa-bn.bin" | sed -n '1,12p'
