#!/usr/bin/env python3
"""A folder of ImageNet-like JPEGs for Benchmarks/bench-images.sh: N images in 4 classes, each a
random crop of scikit-learn's sample photos resized to 300-500 pixels a side, quality 90; and a
tiny model (1x1 conv, BN, global pool, linear) as our format, to time decoding without a real network."""
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_images


def main(root, count):
    rng = np.random.default_rng(0)
    photos = [np.asarray(image) for image in load_sample_images().images]
    root = Path(root)
    for index in range(count):
        photo = photos[index % 2]
        height, width = int(rng.integers(200, 427)), int(rng.integers(200, 640))
        top, left = int(rng.integers(0, 427 - height + 1)), int(rng.integers(0, 640 - width + 1))
        size = (int(rng.integers(300, 500)), int(rng.integers(300, 500)))
        image = Image.fromarray(photo[top:top + height, left:left + width]).resize(size, Image.BILINEAR)
        folder = root / f"class{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"{index:05d}.jpg", quality=90)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
