#!/usr/bin/env python3
"""The PyTorch side of Benchmarks/bench-images.sh: decode and preprocess an image folder the way
a PyTorch user does (torchvision ImageFolder, Resize 256, CenterCrop 224, ToTensor, Normalize,
DataLoader with 2 workers), optionally with a model's update_bn, and print images per second."""
import argparse
import json
import time

import torch
import torchvision
from torchvision import transforms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", choices=["none", "resnet18"], default="none")
    args = parser.parse_args()
    torch.set_num_threads(2)
    transform = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    data = torchvision.datasets.ImageFolder(args.folder, transform=transform)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, num_workers=args.workers, shuffle=False)
    start = time.perf_counter()
    if args.model == "none":
        count = 0
        for x, _ in loader:
            count += x.shape[0]
    else:
        model = torchvision.models.resnet18(num_classes=10)
        torch.optim.swa_utils.update_bn(loader, model)
        count = len(data)
    seconds = time.perf_counter() - start
    print(json.dumps({"images": count, "seconds": seconds, "images_per_second": count / seconds}))


if __name__ == "__main__":
    main()
