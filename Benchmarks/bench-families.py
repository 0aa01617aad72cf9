#!/usr/bin/env python3
"""The BN pass of swa-bn-update against PyTorch's update_bn for each torchvision family, in
the same run (part of `make bench-forward`).

    python3 Benchmarks/bench-families.py --bin FOLDER [--models ...] [--samples 64] [--batch-size 16]
        [--size 160] [--threads 2] [--runs 2]

Per model (torchvision's full-size constructor, random seeded weights, exported with
tools/export_graph.py): swa is timed as its whole `swa-bn-update` command (process start,
reading the data and the checkpoint, writing the output included), PyTorch as
`update_bn` alone inside one process with the data in memory, float32, torch.set_num_threads
(THREADS); best of RUNS for both, after one warm-up each. Ratio = PyTorch seconds ÷ swa
seconds (> 1: swa faster). The comparison favours PyTorch. Prints a Markdown table.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import export_graph  # noqa: E402

FAMILIES = [("resnet18", "ResNet, basic"), ("resnet50", "ResNet, bottleneck"), ("resnext50_32x4d", "ResNeXt (grouped)"),
            ("regnet_x_400mf", "RegNet (grouped)"), ("mobilenet_v2", "MobileNetV2 (depthwise)"),
            ("mobilenet_v3_small", "MobileNetV3 (depthwise, SE)"), ("densenet121", "DenseNet (cat)"),
            ("efficientnet_b0", "EfficientNet (depthwise, SE)"),
            ("depthwise_stack", "depthwise 3×3 convs alone (96 channels)")]


class DepthwiseStack(nn.Module):
    """The direct depthwise kernel in isolation: a 1×1 stem to 96 channels, then six depthwise
    3×3 convolutions (strides 1, 2, 1, 2, 1, 1), each with batch norm and ReLU6."""

    def __init__(self, channels=96):
        super().__init__()
        layers = [nn.Conv2d(3, channels, 1, bias=False), nn.BatchNorm2d(channels)]
        for stride in (1, 2, 1, 2, 1, 1):
            layers += [nn.Conv2d(channels, channels, 3, stride=stride, padding=1, groups=channels, bias=False),
                       nn.BatchNorm2d(channels), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def best_of(runs, body):
    body()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        body()
        times.append(time.perf_counter() - started)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--models", default=",".join(name for name, _ in FAMILIES))
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import torchvision.models as models
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(args.samples, 3, args.size, args.size, generator=generator)
    labels = dict(FAMILIES)
    rows = []
    environment = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="swa-bench-families.") as folder:
        work = Path(folder)
        data = work / "data.npz"
        np.savez(data, x=x.numpy().astype(np.float32), y=np.zeros(args.samples, dtype=np.int64))
        for name in args.models.split(","):
            print(f"bench-families: {name}", file=sys.stderr)
            torch.manual_seed(0)
            model = (DepthwiseStack() if name == "depthwise_stack" else getattr(models, name)(weights=None)).eval()
            graph, model = export_graph.export_model(model, [3, args.size, args.size], name)
            weights = work / f"{name}.pt"
            torch.save(model.state_dict(), weights)
            checkpoint = work / f"{name}.safetensors.zst"
            export_graph.write_weights(graph, model, str(weights), str(checkpoint))
            weights.unlink()
            command = [f"{args.bin}/swa-bn-update", str(checkpoint), "--data", str(data), "--batch-size", str(args.batch_size),
                       "-o", str(work / "out.bin"), "--force", "-q"]
            swa_s = best_of(args.runs, lambda: subprocess.run(command, check=True, env=environment))
            loader = DataLoader(TensorDataset(x), batch_size=args.batch_size)
            torch_s = best_of(args.runs, lambda: update_bn(loader, model))
            depthwise = sum(1 for n in graph["nodes"] if n["op"] == "conv2d" and n["attrs"]["groups"] > 1
                            and n["attrs"]["groups"] == n["attrs"]["in_channels"])
            grouped = sum(1 for n in graph["nodes"] if n["op"] == "conv2d" and 1 < n["attrs"]["groups"] != n["attrs"]["in_channels"])
            rows.append((name, labels.get(name, ""), depthwise, grouped, args.samples / swa_s, args.samples / torch_s, torch_s / swa_s))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"\n### BN pass per torchvision family vs PyTorch, {time.strftime('%Y-%m-%d', time.gmtime())}\n")
    print(f"{os.cpu_count()} cores, {cpu}; load average at end {open('/proc/loadavg').read().split()[:3]}; PyTorch {torch.__version__} "
          f"with set_num_threads({args.threads}); {args.samples} random images 3×{args.size}×{args.size}, batch size {args.batch_size}; "
          f"best of {args.runs} after a warm-up. swa: whole `swa-bn-update` command; PyTorch: `update_bn` in process.\n")
    print("| model | family | depthwise convs | grouped convs | swa images/s | PyTorch images/s | ratio (> 1: swa faster) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, family, depthwise, grouped, swa_ips, torch_ips, ratio in rows:
        print(f"| {name} | {family} | {depthwise} | {grouped} | {swa_ips:.1f} | {torch_ips:.1f} | **{ratio:.2f}** |")


if __name__ == "__main__":
    main()
