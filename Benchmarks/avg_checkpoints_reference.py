#!/usr/bin/env python3
"""The reference for bench-pt.sh: what timm's avg_checkpoints.py does, on a folder of .pt files.

    python3 avg_checkpoints_reference.py FOLDER OUTPUT.safetensors

For each file in name order: torch.load(mmap=True, weights_only=True), take 'state_dict' if
present, add every tensor into a Float64 sum; then divide by the count, clamp to the float32
range and save float32 tensors with safetensors (timm's `--safetensors` output).
"""

import sys
from pathlib import Path

import safetensors.torch
import torch


def main():
    folder, output = Path(sys.argv[1]), sys.argv[2]
    sums, counts = {}, {}
    for path in sorted(folder.glob("*.pt")):
        checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        state_dict = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint
        for key, value in state_dict.items():
            if key not in sums:
                sums[key] = value.clone().to(dtype=torch.float64)
                counts[key] = 1
            else:
                sums[key] += value.to(dtype=torch.float64)
                counts[key] += 1
    info = torch.finfo(torch.float32)
    final = {key: (value / counts[key]).clamp(info.min, info.max).to(dtype=torch.float32) for key, value in sums.items()}
    safetensors.torch.save_file(final, output)


if __name__ == "__main__":
    main()
