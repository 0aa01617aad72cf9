#!/usr/bin/env python3
"""Writes COUNT model-shaped torch.save files of about SIZE MB each for bench-pt.sh.

    python3 make_pt_checkpoints.py FOLDER COUNT SIZE_MB

Each file is {'epoch': k, 'state_dict': OrderedDict} (the paper's train.py shape) of float32
tensors: an embedding, then blocks of a square weight and its bias, scaled so the file holds
SIZE_MB of tensor data. Seeded, so runs compare the same bytes.
"""

import collections
import sys
from pathlib import Path

import torch


def main():
    folder, count, size_mb = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    floats = int(size_mb * 1e6 / 4)
    width = 1024
    blocks = max(1, (floats - 4 * width * width) // (width * width + width))
    generator = torch.Generator().manual_seed(0)
    base = collections.OrderedDict()
    base["embedding.weight"] = torch.randn(4 * width, width, generator=generator)
    for block in range(blocks):
        base[f"blocks.{block}.weight"] = torch.randn(width, width, generator=generator)
        base[f"blocks.{block}.bias"] = torch.randn(width, generator=generator)
    for index in range(count):
        noise = torch.Generator().manual_seed(index + 1)
        state_dict = collections.OrderedDict((k, v + 0.01 * torch.randn(v.shape, generator=noise)) for k, v in base.items())
        torch.save({"epoch": index + 1, "state_dict": state_dict}, folder / f"checkpoint-{index + 1:03d}.pt")
    total = sum(v.numel() * 4 for v in base.values())
    print(f"{count} files of {total} bytes of tensors ({len(base)} tensors each)")


if __name__ == "__main__":
    main()
