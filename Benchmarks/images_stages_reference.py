#!/usr/bin/env python3
"""Where PyTorch's image pipeline spends its time (docs/PERFORMANCE.md, "Image folders, second
pass"): per-image milliseconds of each torchvision stage on a folder of JPEGs, one process.
    python3 Benchmarks/make_image_folder.py /tmp/images 384
    python3 Benchmarks/images_stages_reference.py /tmp/images"""
import glob
import sys
import time

import torch
from PIL import Image
from torchvision import transforms


def main(folder):
    files = sorted(glob.glob(f"{folder}/*/*.jpg"))
    torch.set_num_threads(1)
    stages = [("open", Image.open), ("decode (convert RGB)", lambda image: image.convert("RGB")),
              ("Resize 256", transforms.Resize(256)), ("CenterCrop 224", transforms.CenterCrop(224)),
              ("ToTensor", transforms.ToTensor()),
              ("Normalize", transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))]
    seconds = {name: 0.0 for name, _ in stages}
    for file in files:
        value = file
        for name, stage in stages:
            start = time.perf_counter()
            value = stage(value)
            seconds[name] += time.perf_counter() - start
    for name, total in seconds.items():
        print(f"{name}: {total / len(files) * 1e3:.2f} ms per image")
    print(f"total: {sum(seconds.values()) / len(files) * 1e3:.2f} ms per image")


if __name__ == "__main__":
    main(sys.argv[1])
