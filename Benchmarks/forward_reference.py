#!/usr/bin/env python3
"""PyTorch side of the forward-pass benchmark (Benchmarks/bench-forward.sh).

Our own code: the paper's CIFAR models (timgaripov/swa `models/preresnet.py`, `vgg.py`,
`wide_resnet.py`) written from the facts in reference/swa-anchors.md §4, docs/GRAPH.md and
swa's presets (Sources/SWAEngine/Model/Presets/), with their exact state_dict key names, so a
`state_dict()` saved here binds to `swa-bn-update --arch A` for A = preresnetD, vgg16bn,
vgg16, vgg19bn, vgg19 or wrnDxK (e.g. wrn28x10).

Subcommands (each prints one JSON object on stdout):

    make     --arch A (or --depth D for preresnetD) --out DIR --samples N --seed S [--data-name F]
             DIR/A.safetensors (plain safetensors, metadata swa.preprocess) and
             DIR/data.npz (or DIR/F: x uint8 [N,3,32,32] random "CIFAR-like" images, y int64;
             np.savez, stored; left alone when it exists)
    update-bn --arch A --checkpoint F --data F --batch-size 128 --threads T [--runs R] [--out F]
             torch.optim.swa_utils.update_bn over the data; images/s of the pass only
    eval     (--arch A | --fixture) --checkpoint F --data F --batch-size 128 --threads T [--runs R]
             inference (model.eval(), torch.no_grad()): logits, log-softmax, accuracy, NLL; images/s
    compare  --swa F --torch F
             max differences of BN running statistics between swa-bn-update's output and ours
    platform
             PyTorch's version, its CPU capability (the ISA its ATen kernels use) and whether
             oneDNN (mkldnn) is built in, for the benchmark's report

Timing (update-bn, eval): the npz is loaded into memory with numpy first, the model is built
and its checkpoint loaded, then one untimed warm-up pass and R timed passes (median reported).
A timed pass is what a training script's BN update or evaluation loop does: a DataLoader over
a TensorDataset of the uint8 images (no workers), per batch uint8 → float / 255, normalise
(torchvision's ToTensor + Normalize arithmetic, in Float32), forward. The swa side is timed as
its whole command (process start, reading the npz and checkpoint, writing the output), so the
comparison favours PyTorch.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

# CIFAR-10 normalisation of the paper's code (reference/swa-anchors.md §3).
PREPROCESS = {"layout": "nchw", "mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.2010], "scale": 1.0}
NUM_CLASSES = 10


# MARK: - PreResNet (timgaripov/swa models/preresnet.py, rewritten from its description)

class BasicBlock(nn.Module):
    """Pre-activation basic block: conv2(relu(bn2(conv1(relu(bn1(x)))))) + residual."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        # The residual is downsampled from the block input (before bn1/relu).
        residual = self.downsample(x) if self.downsample is not None else x
        return out + residual


class Bottleneck(nn.Module):
    """Pre-activation bottleneck: 1x1 in→p, 3x3 p→p (stride), 1x1 p→4p, each after bn + relu."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        residual = self.downsample(x) if self.downsample is not None else x
        return out + residual


class PreResNet(nn.Module):
    def __init__(self, depth, num_classes=NUM_CLASSES):
        super().__init__()
        if depth >= 44:
            assert (depth - 2) % 9 == 0, "Bottleneck PreResNet depth must be 9n+2"
            n, block = (depth - 2) // 9, Bottleneck
        else:
            assert (depth - 2) % 6 == 0, "BasicBlock PreResNet depth must be 6n+2"
            n, block = (depth - 2) // 6, BasicBlock
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.layer1 = self._make_layer(block, 16, n)
        self.layer2 = self._make_layer(block, 32, n, stride=2)
        self.layer3 = self._make_layer(block, 64, n, stride=2)
        self.bn = nn.BatchNorm2d(64 * block.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = self.avgpool(self.relu(self.bn(x)))
        return self.fc(x.view(x.size(0), -1))


# MARK: - VGG (timgaripov/swa models/vgg.py)

VGG_LAYOUTS = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """`features`: 3x3 convs with bias (+ BN) + ReLU, 2x2 max pools; `classifier`: Dropout,
    Linear(512, 512), ReLU, Dropout, Linear(512, 512), ReLU, Linear(512, classes)."""

    def __init__(self, depth=16, batch_norm=True, num_classes=NUM_CLASSES):
        super().__init__()
        layers, channels = [], 3
        for width in VGG_LAYOUTS[depth]:
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            layers.append(nn.Conv2d(channels, width, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(512, 512), nn.ReLU(True),
            nn.Dropout(), nn.Linear(512, 512), nn.ReLU(True),
            nn.Linear(512, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


# MARK: - WideResNet (timgaripov/swa models/wide_resnet.py)

class WideBasic(nn.Module):
    """bn1, relu, conv1 (3x3), dropout, bn2, relu, conv2 (3x3, the block's stride), + shortcut
    (a 1x1 conv with bias where the shape changes); every conv has a bias."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, padding=1, bias=True)
        self.dropout = nn.Dropout(p=0.0)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=True))

    def forward(self, x):
        out = self.dropout(self.conv1(F.relu(self.bn1(x))))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + self.shortcut(x)


class WideResNet(nn.Module):
    def __init__(self, depth=28, widen=10, num_classes=NUM_CLASSES):
        super().__init__()
        assert (depth - 4) % 6 == 0, "WideResNet depth must be 6n+4"
        n = (depth - 4) // 6
        stages = [16, 16 * widen, 32 * widen, 64 * widen]
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, stages[0], kernel_size=3, padding=1, bias=True)
        self.layer1 = self._wide_layer(stages[1], n, stride=1)
        self.layer2 = self._wide_layer(stages[2], n, stride=2)
        self.layer3 = self._wide_layer(stages[3], n, stride=2)
        self.bn1 = nn.BatchNorm2d(stages[3], momentum=0.9)
        self.linear = nn.Linear(stages[3], num_classes)

    def _wide_layer(self, planes, blocks, stride):
        layers = []
        for block_stride in [stride] + [1] * (blocks - 1):
            layers.append(WideBasic(self.in_planes, planes, block_stride))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        out = F.avg_pool2d(F.relu(self.bn1(out)), 8)
        return self.linear(out.view(out.size(0), -1))


def make_model(arch, num_classes=NUM_CLASSES):
    """The model `swa-bn-update --arch ARCH` builds: preresnetD, vggD[bn], wrnDxK."""
    name = arch.lower()
    if name.startswith("preresnet"):
        return PreResNet(int(name[len("preresnet"):]), num_classes=num_classes)
    if name.startswith("vgg"):
        batch_norm = name.endswith("bn")
        return VGG(int(name[3:-2] if batch_norm else name[3:]), batch_norm=batch_norm, num_classes=num_classes)
    if name.startswith("wrn"):
        depth, widen = (int(part) for part in name[3:].split("x"))
        return WideResNet(depth, widen, num_classes=num_classes)
    raise SystemExit(f"unknown --arch {arch} (preresnetD, vgg16, vgg16bn, vgg19, vgg19bn, wrnDxK)")


CLASSIFIER_WEIGHT = {"preresnet": "fc.weight", "vgg": "classifier.6.weight", "wrn": "linear.weight"}


def arch_of(args):
    """--arch, or preresnetD from the older --depth D."""
    return args.arch if getattr(args, "arch", None) else f"preresnet{args.depth}"


def initialise(model, seed):
    """Seeded random init: conv N(0, sqrt(2/(k·k·out))) as the paper's code; BN affine and
    running statistics random too (not 1/0), so the affine step and the reset are exercised."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * math.sqrt(2.0 / fan))
                if module.bias is not None:
                    module.bias.copy_(0.01 * torch.randn(module.bias.shape, generator=generator))
            elif isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=generator))
                module.bias.copy_(0.1 * torch.randn(c, generator=generator))
                module.running_mean.copy_(torch.randn(c, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))
                module.num_batches_tracked.fill_(7)
            elif isinstance(module, nn.Linear):
                bound = 1 / math.sqrt(module.in_features)
                module.weight.copy_((torch.rand(module.weight.shape, generator=generator) * 2 - 1) * bound)
                module.bias.copy_((torch.rand(module.bias.shape, generator=generator) * 2 - 1) * bound)


# MARK: - Checkpoints and data

def read_checkpoint(path):
    """(state dict, metadata) of a plain or zstd-compressed safetensors file (zstd -d for the latter)."""
    raw = Path(path).read_bytes()
    if raw[:4] == b"\x28\xb5\x2f\xfd" or (raw[1:4] == b"\x2a\x4d\x18" and raw[0] & 0xF0 == 0x50):
        raw = subprocess.run(["zstd", "-d", "-c", "-q", str(path)], check=True, stdout=subprocess.PIPE).stdout
    header_length = int.from_bytes(raw[:8], "little")
    metadata = json.loads(raw[8:8 + header_length]).get("__metadata__", {})
    return safetensors.torch.load(raw), metadata


def build(args):
    """The model of --depth or --fixture, with its checkpoint loaded, and the preprocessing to use."""
    state, metadata = read_checkpoint(args.checkpoint)
    if getattr(args, "fixture", False):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
        from make_fixtures import build_model
        model = build_model()
    else:
        arch = arch_of(args)
        key = next(value for prefix, value in CLASSIFIER_WEIGHT.items() if arch.lower().startswith(prefix))
        model = make_model(arch, num_classes=state[key].shape[0])
    model.load_state_dict(state, strict=True)
    preprocess = json.loads(metadata["swa.preprocess"]) if "swa.preprocess" in metadata else PREPROCESS
    return model, preprocess


def load_data(path):
    """x and y of an npz, in memory (numpy), as tensors."""
    with np.load(path) as archive:
        x, y = archive["x"], archive["y"]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def normaliser(x_dtype, preprocess, channels):
    """Batch → model input, as swa's SampleConverter / torchvision: (raw·s − mean) / std in Float32."""
    def expand(values):
        values = values if len(values) > 1 else values * channels
        return torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)
    mean, std = expand(preprocess["mean"]), expand(preprocess["std"])
    scale = preprocess.get("scale") or 1.0
    if x_dtype == torch.uint8:
        return lambda batch: (batch.float() / 255 - mean) / std
    if scale == 1.0:
        return lambda batch: (batch.float() - mean) / std
    return lambda batch: (batch.float() * scale - mean) / std


def peak_rss_mib():
    """This process's peak RSS so far (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# MARK: - Subcommands

def command_make(args):
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    arch = arch_of(args)
    model = make_model(arch)
    initialise(model, args.seed)
    checkpoint = out / f"{arch}.safetensors"
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    safetensors.torch.save_file(state, str(checkpoint), metadata={"swa.preprocess": json.dumps(PREPROCESS)})
    data = out / (args.data_name or "data.npz")
    if not data.exists():
        rng = np.random.default_rng(args.seed)
        x = rng.integers(0, 256, size=(args.samples, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, NUM_CLASSES, size=args.samples, dtype=np.int64)
        np.savez(data, x=x, y=y)
    print(json.dumps({"checkpoint": str(checkpoint), "data": str(data), "keys": len(state),
                      "bn_layers": sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()),
                      "parameters": sum(p.numel() for p in model.parameters())}))


def timed_passes(args, one_pass):
    """One untimed warm-up, then args.runs timed passes; seconds of each."""
    one_pass()
    seconds = []
    for _ in range(args.runs):
        start = time.perf_counter()
        one_pass()
        seconds.append(time.perf_counter() - start)
    return seconds


def command_update_bn(args):
    torch.set_num_threads(args.threads)
    x, y = load_data(args.data)
    model, preprocess = build(args)
    normalise = normaliser(x.dtype, preprocess, x.shape[1])
    dataset = TensorDataset(x, y)
    rss_before = peak_rss_mib()

    def one_pass():
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False, num_workers=0)
        # update_bn resets every BN layer, runs the model in train mode over the loader with
        # momentum None (cumulative average), then restores the model's mode.
        update_bn((normalise(xb) for xb, _ in loader), model)

    seconds = timed_passes(args, one_pass)
    if args.out:
        state = {key: value.contiguous() for key, value in model.state_dict().items()}
        safetensors.torch.save_file(state, args.out)
    median = statistics.median(seconds)
    print(json.dumps({"pass": "update_bn", "samples": len(x), "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                      "seconds": seconds, "median_seconds": median, "images_per_s": len(x) / median,
                      "peak_rss_mib_before_pass": rss_before, "peak_rss_mib": peak_rss_mib()}))


def command_eval(args):
    torch.set_num_threads(args.threads)
    x, y = load_data(args.data)
    model, preprocess = build(args)
    model.eval()
    normalise = normaliser(x.dtype, preprocess, x.shape[1])
    dataset = TensorDataset(x, y)
    rss_before = peak_rss_mib()
    result = {}

    def one_pass():
        correct, nll = 0, 0.0
        with torch.no_grad():
            for xb, yb in DataLoader(dataset, batch_size=args.batch_size, shuffle=False, num_workers=0):
                log_p = F.log_softmax(model(normalise(xb)), dim=1)
                correct += int((log_p.argmax(1) == yb).sum())
                nll -= float(log_p.gather(1, yb.view(-1, 1)).double().sum())
        result.update(accuracy=correct / len(x), nll=nll / len(x))

    seconds = timed_passes(args, one_pass)
    median = statistics.median(seconds)
    print(json.dumps({"pass": "eval", "samples": len(x), "batch_size": args.batch_size, "threads": torch.get_num_threads(),
                      "seconds": seconds, "median_seconds": median, "images_per_s": len(x) / median,
                      "accuracy": result["accuracy"], "nll": result["nll"],
                      "peak_rss_mib_before_pass": rss_before, "peak_rss_mib": peak_rss_mib()}))


def command_compare(args):
    """BN statistics of two checkpoints: running_var by max |a−b|/|b|; running_mean by max
    |a−b|/|b| and, as means near 0 make that ratio meaningless, by max |a−b|/sqrt(var) (the
    difference in units of the channel's standard deviation). Weights must be bit-identical."""
    swa, _ = read_checkpoint(args.swa)
    ref, _ = read_checkpoint(args.torch)
    assert swa.keys() == ref.keys(), f"key sets differ: {sorted(set(swa) ^ set(ref))[:5]}"
    var_rel = mean_rel = mean_std = 0.0
    worst = {}
    counters_equal = weights_equal = True
    for key in ref:
        a, b = swa[key].double(), ref[key].double()
        if key.endswith("running_var"):
            value = float(((a - b).abs() / b.abs()).max())
            if value > var_rel:
                var_rel, worst["running_var"] = value, key
        elif key.endswith("running_mean"):
            var = ref[key[:-len("running_mean")] + "running_var"].double()
            rel = float(((a - b).abs() / b.abs().clamp_min(1e-30)).max())
            std = float(((a - b).abs() / var.sqrt()).max())
            if rel > mean_rel:
                mean_rel, worst["running_mean"] = rel, key
            mean_std = max(mean_std, std)
        elif key.endswith("num_batches_tracked"):
            counters_equal &= bool(torch.equal(swa[key], ref[key]))
        else:
            weights_equal &= bool(torch.equal(swa[key], ref[key]))
    print(json.dumps({"running_var_max_rel": var_rel, "running_mean_max_rel": mean_rel,
                      "running_mean_max_diff_in_std": mean_std, "max_rel": max(var_rel, mean_std),
                      "worst": worst, "num_batches_tracked_equal": counters_equal,
                      "weights_bit_identical": weights_equal}))


def command_platform(args):
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?"
    print(json.dumps({"torch": torch.__version__, "cpu_capability": capability,
                      "mkldnn": bool(torch.backends.mkldnn.is_available()),
                      "threads": torch.get_num_threads()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    make = sub.add_parser("make", help="a random PreResNet checkpoint and random uint8 images")
    which = make.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="preresnetD, vgg16bn, vgg16, vgg19bn, vgg19 or wrnDxK (e.g. wrn28x10)")
    which.add_argument("--depth", type=int, help="preresnetD (older form of --arch)")
    make.add_argument("--data-name", help="file name of the images in --out (data.npz)")
    make.add_argument("--out", required=True)
    make.add_argument("--samples", type=int, default=2560)
    make.add_argument("--seed", type=int, default=0)

    for name in ("update-bn", "eval"):
        p = sub.add_parser(name)
        model = p.add_mutually_exclusive_group(required=True)
        model.add_argument("--arch", help="preresnetD, vgg16bn, vgg16, vgg19bn, vgg19 or wrnDxK")
        model.add_argument("--depth", type=int, help="preresnetD (older form of --arch)")
        if name == "eval":
            model.add_argument("--fixture", action="store_true", help="the fixture model (fixtures/make_fixtures.py Net)")
        p.add_argument("--checkpoint", required=True)
        p.add_argument("--data", required=True)
        p.add_argument("--batch-size", type=int, default=128)
        p.add_argument("--threads", type=int, default=os.cpu_count())
        p.add_argument("--runs", type=int, default=3, help="timed passes after one warm-up (median reported)")
        if name == "update-bn":
            p.add_argument("--out", help="write the updated state_dict here (plain safetensors)")

    compare = sub.add_parser("compare")
    compare.add_argument("--swa", required=True)
    compare.add_argument("--torch", required=True)

    sub.add_parser("platform", help="PyTorch's version, CPU capability and oneDNN availability")

    args = parser.parse_args()
    {"make": command_make, "update-bn": command_update_bn, "eval": command_eval, "compare": command_compare,
     "platform": command_platform}[args.command](args)


if __name__ == "__main__":
    main()
