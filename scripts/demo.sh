#!/usr/bin/env bash
# The whole pipeline on the shipped fixtures: a real 20-epoch SGD run of a small CNN on the
# digits data set with a fifth of the training labels wrong (cyclical learning rate from
# epoch 9, 2-epoch cycles), saved as zstd-compressed safetensors checkpoints. Ends with the
# results: the SWA-versus-FGE table, then the paper's line (SWA to SGD) and width.
set -euo pipefail
bin=$(cd "${1:-.build/release}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Run from a scratch folder that sees fixtures/, so that what it prints names no temporary path.
ln -s "$PWD/fixtures" "$out/fixtures"
cd "$out"
step() { printf '\n== %s\n' "$*"; }

step "the run: 20 checkpoints"
"$bin/swa-inspect" fixtures/checkpoints/ckpt-020.safetensors.zst | sed -n '1,3p'

step "1. swa-avg: average one checkpoint per cycle from epoch 10 (--start 10 --every 2)"
"$bin/swa-avg" fixtures/checkpoints -o swa.bin --start 10 --every 2

step "2. swa-bn-update: recompute the averaged model's BN statistics on the training data"
"$bin/swa-bn-update" swa.bin --data fixtures/data/train.npz -o swa-bn.bin

step "3. swa-eval: the SWA model against the FGE ensemble of the same 6 checkpoints, on the test data"
"$bin/swa-eval" swa-bn.bin --ensemble fixtures/checkpoints --start 10 --every 2 \
    --data fixtures/data/test.npz --before-bn swa.bin

step "4. swa-landscape line: from SWA (t = 0) to the last SGD checkpoint (t = 1), BN recomputed at every point"
"$bin/swa-landscape" line swa-bn.bin fixtures/checkpoints/ckpt-020.safetensors.zst \
    --train fixtures/data/train.npz --test fixtures/data/test.npz --steps=-0.5:1.5:9

step "5. swa-landscape width: 3 random directions from SWA and from SGD (the same directions for both)"
"$bin/swa-landscape" width swa-bn.bin fixtures/checkpoints/ckpt-020.safetensors.zst \
    --train fixtures/data/train.npz --test fixtures/data/test.npz --directions 3 --distances 0:10:6 --seed 1
