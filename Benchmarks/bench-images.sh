#!/usr/bin/env bash
# Image-folder throughput (docs/PERFORMANCE.md, "Image folders"): decoding plus preprocessing
# (Resize 256, CenterCrop 224, normalisation) of a folder of JPEGs, swa against PyTorch's
# DataLoader(num_workers=2) with PIL and torchvision transforms, in images per second, in the same
# run. swa's side is swa-bn-update with a tiny model (1x1 conv, BN, pool, linear: ~0.6 MFLOP per
# image), so its time is the data pipeline's. Needs torch, torchvision, Pillow, scikit-learn.
#   SWA_BIN=.build/release SWA_BENCH_IMAGES=512 bash Benchmarks/bench-images.sh
# SWA_BENCH_ROUNDS (5) rounds, each timing swa then PyTorch, and the median ratio; SWA_BIN_BEFORE
# adds another build to every round; SWA_BENCH_SKIP_RESNET=1 leaves out the resnet18 BN pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SWA_BIN:-$(swift build -c release --show-bin-path)}
[ -x "$bin/swa-bn-update" ] || swift build -c release --product swa-bn-update
count=${SWA_BENCH_IMAGES:-512}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 Benchmarks/make_image_folder.py "$work/images" "$count"
python3 - "$work/tiny.safetensors" <<'PY'
import json, sys, torch, safetensors.torch
torch.manual_seed(0)
tensors = {"conv.weight": torch.randn(4, 3, 1, 1), "bn.weight": torch.ones(4), "bn.bias": torch.zeros(4),
           "bn.running_mean": torch.zeros(4), "bn.running_var": torch.ones(4), "fc.weight": torch.randn(4, 4), "fc.bias": torch.zeros(4)}
graph = json.load(open("Benchmarks/tiny-bn-model.json"))
safetensors.torch.save_file(tensors, sys.argv[1], metadata={"swa.graph": json.dumps(graph)})
PY
avx2=$(grep -qw avx2 /proc/cpuinfo && echo "AVX2 resize kernels" || echo "no AVX2: Swift resize loops")
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $avx2; $count JPEGs of 300-500 px; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/swa-bn-update" --version | tail -1
# SWA_BIN_BEFORE: another build's folder (say, the previous commit's), timed in the same rounds.
before=${SWA_BIN_BEFORE:-}
rounds=${SWA_BENCH_ROUNDS:-5}
images_per_second() {  # the command's images per second, whole command
  local start end
  start=$(date +%s.%N)
  "$1/swa-bn-update" "$work/tiny.safetensors" --data "$work/images" --preprocess imagenet --batch-size 64 \
      -o "$work/out.safetensors" --force --quiet
  end=$(date +%s.%N)
  python3 -c "print(f'{$count / ($end - $start):.1f}')"
}
ratios=(); before_ratios=(); swa_rates=(); torch_rates=(); before_rates=()
for round in $(seq 1 "$rounds"); do
  swa=$(images_per_second "$bin")
  [ -n "$before" ] && old=$(images_per_second "$before")
  torch=$(python3 Benchmarks/images_reference.py "$work/images" --workers 2 | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['images_per_second']:.1f}\")")
  ratio=$(python3 -c "print(f'{$swa / $torch:.2f}')"); ratios+=("$ratio"); swa_rates+=("$swa"); torch_rates+=("$torch")
  line="round $round: swa $swa images/s (whole command), PyTorch DataLoader(num_workers=2) $torch images/s, ratio $ratio"
  if [ -n "$before" ]; then
    before_ratio=$(python3 -c "print(f'{$old / $torch:.2f}')"); before_ratios+=("$before_ratio"); before_rates+=("$old")
    line="$line; before: $old images/s, ratio $before_ratio"
  fi
  echo "$line; load $(cut -d' ' -f1 /proc/loadavg)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "medians over $rounds rounds: swa $(median "${swa_rates[@]}") images/s, PyTorch $(median "${torch_rates[@]}") images/s${before:+, before $(median "${before_rates[@]}") images/s}; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RATIO swa / PyTorch (decode + preprocess, median of $rounds rounds): $(median "${ratios[@]}")${before:+ (before: $(median "${before_ratios[@]}"))}; goal 2.00"
[ -n "${SWA_BENCH_SKIP_RESNET:-}" ] && exit 0

# A full BN pass: torchvision's resnet18 (10 classes, seeded random weights) exported with
# tools/export_graph.py, against PyTorch's update_bn over the same DataLoader, one round each.
python3 -c "import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), '$work/resnet18.pt')"
python3 tools/export_graph.py torchvision.models:resnet18 --kwargs '{"num_classes": 10}' --input-shape 3,224,224 \
    -o "$work/resnet18.json" --weights "$work/resnet18.pt" --weights-output "$work/resnet18.bin" > /dev/null
start=$(date +%s.%N)
"$bin/swa-bn-update" "$work/resnet18.bin" --data "$work/images" --preprocess imagenet --batch-size 64 \
    -o "$work/resnet18-bn.bin" --force --quiet
end=$(date +%s.%N)
swa=$(python3 -c "print(f'{$count / ($end - $start):.1f}')")
torch=$(python3 Benchmarks/images_reference.py "$work/images" --workers 2 --model resnet18 | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['images_per_second']:.1f}\")")
echo "resnet18 BN pass: swa $swa images/s (whole command), PyTorch update_bn over DataLoader(num_workers=2) $torch images/s, ratio $(python3 -c "print(f'{$swa / $torch:.2f}')")"
