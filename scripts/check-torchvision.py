#!/usr/bin/env python3
"""Full-size torchvision models end to end against PyTorch (`make check-torchvision`).

    python3 scripts/check-torchvision.py --bin .build/release [--models resnet18,...] [--samples 8] [--batch-size 4]
        [--size 224] [--table docs/TORCHVISION.md]

For each model: torchvision's constructor with random weights (seeded; no download), BN
affine parameters and running statistics randomised; tools/export_graph.py exports the
graph and writes the weights in swa's format; then on the same random images
  - `swa-bn-update MODEL --data DATA` against `torch.optim.swa_utils.update_bn` (float64, with
    dropout and stochastic depth in eval mode, as swa runs them: docs/GRAPH.md): the largest
    difference of any running mean or variance, relative to its layer's largest value;
  - `swa-eval` of the updated model against PyTorch's `model.eval()` logits of the same
    updated model: the NLL and accuracy swa reports against those of PyTorch's logits, and the
    largest logit of PyTorch (for scale).
Writes a Markdown table (stdout, and --table). Exit 1 if any model fails its tolerance
(BN statistics 1e-4 relative, NLL 1e-4 relative) or cannot be exported.
"""
import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import safetensors.torch
import zstandard
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import export_graph  # noqa: E402

MODELS = ["resnet18", "resnet50", "resnext50_32x4d", "regnet_x_400mf", "mobilenet_v2", "mobilenet_v3_small",
          "densenet121", "efficientnet_b0"]


def randomise_batch_norms(model, generator):
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.weight.copy_(0.5 + torch.rand(module.num_features, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.num_features, generator=generator))
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))


def read_checkpoint(path):
    with open(path, "rb") as f:
        return safetensors.torch.load(zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read())


def check(name, args, work, x, y):
    import torchvision.models as models
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    model = getattr(models, name)(weights=None)
    randomise_batch_norms(model, generator)
    model.eval()
    started = time.time()
    graph, model = export_graph.export_model(model, list(x.shape[1:]), name)
    weights = work / f"{name}.pt"
    torch.save(model.state_dict(), weights)
    checkpoint = work / f"{name}.safetensors.zst"
    export_graph.write_weights(graph, model, str(weights), str(checkpoint))
    weights.unlink()
    export_s = time.time() - started

    data = work / "data.npz"
    updated = work / f"{name}-bn.bin"
    started = time.time()
    subprocess.run([f"{args.bin}/swa-bn-update", str(checkpoint), "--data", str(data), "--batch-size", str(args.batch_size),
                    "-o", str(updated), "--force", "-q"], check=True)
    swa_bn_s = time.time() - started
    report = json.loads(subprocess.run([f"{args.bin}/swa-eval", str(updated), "--data", str(data), "--batch-size",
                                        str(args.batch_size), "--json", "-q"], check=True, capture_output=True,
                                       text=True).stdout)

    # PyTorch: update_bn in float64 with stochastic layers in eval mode, then eval logits.
    double = copy.deepcopy(model).double()
    for module in double.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) or export_graph.is_stochastic_depth(module):
            module.train = lambda mode=True, m=module: nn.Module.train(m, False)
    update_bn(DataLoader(TensorDataset(x.double()), batch_size=args.batch_size), double)
    double.eval()
    with torch.no_grad():
        logits = double(x.double())
    swa_state = read_checkpoint(updated)
    worst_stat = 0.0
    for key, value in double.state_dict().items():
        if key.endswith("running_mean") or key.endswith("running_var"):
            expected = value.double()
            scale = expected.abs().max().clamp_min(1e-12)
            worst_stat = max(worst_stat, float(((swa_state[key].double() - expected).abs() / scale).max()))
    nll = float(F.cross_entropy(logits, y))
    accuracy = float((logits.argmax(1) == y).double().mean())
    swa_model = report["model"]
    nll_rel = abs(swa_model["nll"] - nll) / max(abs(nll), 1e-30)
    ok = worst_stat <= 1e-4 and nll_rel <= 1e-4
    return {"model": name, "nodes": len(graph["nodes"]), "parameters": sum(p.numel() for p in model.parameters()),
            "bn_rel": worst_stat, "nll_swa": swa_model["nll"], "nll_torch": nll, "nll_rel": nll_rel,
            "acc_swa": swa_model["accuracy"], "acc_torch": accuracy, "logit_max": float(logits.abs().max()),
            "export_s": export_s, "swa_bn_s": swa_bn_s, "ok": ok}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="folder holding swa-bn-update and swa-eval")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--table", help="also write the table to this Markdown file")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    generator = torch.Generator().manual_seed(2024)
    x = torch.randn(args.samples, 3, args.size, args.size, generator=generator)
    y = torch.randint(0, 1000, (args.samples,), generator=generator)
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="swa-check-torchvision.") as folder:
        work = Path(folder)
        np.savez(work / "data.npz", x=x.numpy().astype(np.float32), y=y.numpy().astype(np.int64))
        for name in args.models.split(","):
            print(f"check-torchvision: {name}", file=sys.stderr)
            try:
                rows.append(check(name, args, work, x, y))
                if not rows[-1]["ok"]:
                    failed.append(name)
            except (export_graph.ExportError, subprocess.CalledProcessError) as error:
                print(f"check-torchvision: {name}: {error}", file=sys.stderr)
                failed.append(name)
                rows.append({"model": name, "error": str(error)})
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    lines = [f"### Full-size torchvision models against PyTorch, {time.strftime('%Y-%m-%d', time.gmtime())}", "",
             f"`make check-torchvision`: random weights (seeded), {args.samples} random images 3×{args.size}×{args.size}, "
             f"batch size {args.batch_size}; PyTorch {torch.__version__} in float64 with stochastic layers in eval mode; "
             f"{os.cpu_count()} cores, {cpu}. BN: largest |swa − PyTorch| of any running mean or variance, relative to "
             "its layer's largest value. NLL of swa-eval against the NLL of PyTorch's logits (relative difference).", "",
             "| model | nodes | parameters | BN stats max rel. diff | NLL swa | NLL PyTorch | NLL rel. diff | accuracy swa / PyTorch | result |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['model']} | | | | | | | | FAILED: {row['error']} |")
            continue
        lines.append(f"| {row['model']} | {row['nodes']} | {row['parameters']:,} | {row['bn_rel']:.1e} | {row['nll_swa']:.6f} "
                     f"| {row['nll_torch']:.6f} | {row['nll_rel']:.1e} | {row['acc_swa']:.3f} / {row['acc_torch']:.3f} "
                     f"| {'pass' if row['ok'] else 'FAIL'} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.table:
        Path(args.table).write_text(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
