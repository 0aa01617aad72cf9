#!/usr/bin/env python3
"""PyTorch side of the landscape benchmark (Benchmarks/bench-landscape.sh): the loop of
`swa-landscape width` written the way a PyTorch user would, on the fixture model and data.

    python3 Benchmarks/landscape_reference.py --checkpoint F --directions K --distances D,D,... \
        --batch-size 128 --threads T

For the model itself and then each of K random unit directions (Gaussian over the trainable
weights, normalised globally) and each distance: load w + t·d, torch.optim.swa_utils.update_bn
over the training data (batches of 128, file order), then model.eval() and score train loss,
train error, test error, test NLL under torch.no_grad(). The data is normalised once, in
memory, before the clock starts (swa-landscape decodes it once too). Prints one JSON object:
points, seconds, points_per_s.
"""

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
import make_fixtures as fx  # noqa: E402


@torch.no_grad()
def scores(model, x, y, batch_size):
    model.eval()
    wrong, nll = 0, 0.0
    for start in range(0, len(y), batch_size):
        logits = model(x[start:start + batch_size]).double()
        target = y[start:start + batch_size]
        nll += F.cross_entropy(logits, target, reduction="sum").item()
        wrong += (logits.argmax(dim=1) != target).sum().item()
    return wrong / len(y), nll / len(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--directions", type=int, default=2)
    parser.add_argument("--distances", default="1,2,3,4,5")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    train_set, test_set = fx.load_data()
    preprocess = fx.preprocess_of(train_set[0])
    x_train, y_train = fx.normalise(train_set[0], preprocess), torch.from_numpy(train_set[1])
    x_test, y_test = fx.normalise(test_set[0], preprocess), torch.from_numpy(test_set[1])
    model = fx.build_model()
    state, _ = fx.read_checkpoint(args.checkpoint)
    model.load_state_dict(state)
    base = {name: p.detach().clone() for name, p in model.named_parameters()}
    distances = [float(d) for d in args.distances.split(",")]
    loader = DataLoader(TensorDataset(x_train), batch_size=args.batch_size, shuffle=False)

    def evaluate(weights):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(weights[name])
        update_bn(loader, model)
        return scores(model, x_train, y_train, args.batch_size) + scores(model, x_test, y_test, args.batch_size)

    started = time.perf_counter()
    points = 1
    evaluate(base)
    for _ in range(args.directions):
        d = {name: torch.randn_like(p) for name, p in base.items()}
        norm = torch.sqrt(sum((v.double() ** 2).sum() for v in d.values()))
        d = {name: (v.double() / norm).float() for name, v in d.items()}
        for t in distances:
            evaluate({name: base[name] + t * d[name] for name in base})
            points += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"points": points, "seconds": seconds, "points_per_s": points / seconds, "threads": args.threads,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
