#!/usr/bin/env python3
"""Does a real CNN learn from a column order? Train one and see.

Trains a small CNN (conv3-32, conv3-32, maxpool 2, conv3-64, global average
pool, linear; Adam 2e-3, batch 64) on each Parquet file given, 2D when
--shape H,W is given and 1D otherwise, and prints the test accuracy per seed.
Seeds are paired: for one seed every file gets the same 70/30 split of the
rows, the same initial weights and the same batch order, so the files differ
only in where the features sit. Rows must line up across the files (as
`entangle arrange` keeps them).

    pip install torch pyarrow numpy
    python benches/cnn_check.py --array pixels --shape 16,16 --label texture \
        natural=sample_data/textures_2d.parquet \
        shuffled=sample_data/textures_2d_shuffled.parquet

Not part of the tests: a benchmark of the arrangement's use, on CPU.
"""

import argparse
import json
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn


def load(path, array, prefix, label):
    """Features (rows × N, in file order) and integer class codes."""
    table = pq.read_table(path)
    if label not in table.column_names:
        sys.exit(f"{path}: no label column '{label}'")
    if array:
        column = table.column(array).combine_chunks()
        width = len(column[0]) if len(column) else 0
        x = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        x = x.reshape(len(column), width)
    else:
        names = [n for n in table.column_names if n.startswith(prefix) and n != label]
        if not names:
            sys.exit(f"{path}: no columns start with '{prefix}'")
        x = np.stack([table.column(n).to_numpy().astype(np.float32) for n in names], axis=1)
    y = table.column(label).to_numpy(zero_copy_only=False)
    _, codes = np.unique(y, return_inverse=True)
    return x, codes.astype(np.int64)


def model(dims, classes):
    conv, pool, avg = (
        (nn.Conv2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d)
        if dims == 2
        else (nn.Conv1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d)
    )
    return nn.Sequential(
        conv(1, 32, 3, padding=1),
        nn.ReLU(),
        conv(32, 32, 3, padding=1),
        nn.ReLU(),
        pool(2),
        conv(32, 64, 3, padding=1),
        nn.ReLU(),
        avg(1),
        nn.Flatten(),
        nn.Linear(64, classes),
    )


def accuracy(x, y, shape, seed, epochs, batch):
    """Test accuracy of the CNN trained on a seeded 70/30 split."""
    rows = len(y)
    split = np.random.default_rng(seed).permutation(rows)
    train, test = split[: int(0.7 * rows)], split[int(0.7 * rows) :]
    # Standardize each feature on the training rows.
    mean, sd = x[train].mean(axis=0), x[train].std(axis=0)
    sd[sd == 0] = 1.0
    x = (x - mean) / sd
    x = torch.from_numpy(x.reshape((rows, 1, *shape)))
    y = torch.from_numpy(y)
    torch.manual_seed(seed)
    net = model(len(shape), int(y.max()) + 1)
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(seed)
    train_t = torch.from_numpy(train)
    for _ in range(epochs):
        net.train()
        for idx in train_t[torch.randperm(len(train_t), generator=order)].split(batch):
            optimiser.zero_grad()
            loss(net(x[idx]), y[idx]).backward()
            optimiser.step()
    net.eval()
    with torch.no_grad():
        predicted = net(x[torch.from_numpy(test)]).argmax(dim=1)
    return float((predicted == y[torch.from_numpy(test)]).float().mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="NAME=PATH")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--array", help="array column holding the features")
    where.add_argument("--features-prefix", help="prefix of the wide feature columns")
    parser.add_argument("--label", required=True)
    parser.add_argument("--shape", help="H,W for a 2D CNN (default: 1D)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {}
    for spec in args.files:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"give files as NAME=PATH, got '{spec}'")
        x, y = load(path, args.array, args.features_prefix, args.label)
        shape = [int(s) for s in args.shape.split(",")] if args.shape else [x.shape[1]]
        if int(np.prod(shape)) != x.shape[1]:
            sys.exit(f"{path}: {x.shape[1]} features do not fill the shape {shape}")
        start = time.time()
        results[name] = [accuracy(x, y, shape, s, args.epochs, args.batch) for s in seeds]
        seconds = time.time() - start
        per_seed = "  ".join(f"{100 * a:5.1f}" for a in results[name])
        mean = 100 * float(np.mean(results[name]))
        print(f"{name:>10}  {per_seed}   mean {mean:5.1f}%   ({seconds:.0f} s)", flush=True)
    if args.json:
        print(json.dumps({"seeds": seeds, "accuracy": results}))


if __name__ == "__main__":
    main()
