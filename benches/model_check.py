#!/usr/bin/env python3
"""Do real networks learn from a column order? Train some and see.

Trains locally connected models of several families on each Parquet file
given (one file per column order) and prints the test accuracy per order and
model, mean over seeds and per seed:

* cnn1d: a small 1D CNN (conv3-32, conv3-32, maxpool 2, conv3-64, global
  average pool, linear);
* s4d: a diagonal state-space model (S4D; Gu, Gupta, Goel and Re 2022, "On
  the Parameterization and Initialization of Diagonal State Space Models"):
  linear encoder 1 -> 64, three S4D layers (S4D-Lin initialisation, zero-order
  hold, kernel applied by FFT convolution, D skip, GELU, GLU output),
  residual and LayerNorm, mean pool, linear;
* local_attention: a transformer encoder (2 layers, d = 64, 4 heads) whose
  self-attention is masked to a window |i - j| <= 4, learned positional
  embeddings, mean pool, linear;
* gru: a 2-layer GRU (hidden 64) over the sequence, last hidden state,
  linear;
* cnn2d: the 2D version of cnn1d (conv3x3), for --shape H,W.

With --shape H,W only cnn2d runs by default, otherwise the four 1D families
(a 1D model given --shape reads the features as one sequence, in file
order). Every model trains with Adam 2e-3, batch 64, on a 70/30 split of the
rows, for its own number of epochs (EPOCHS below; --epochs or --epochs-scale
change them), on features standardised with the training rows' statistics.
Seeds are paired: for one seed every file gets the same split, the same
initial weights and the same batch order, so the files differ only in where
the features sit. Rows must line up across the files (as `entangle arrange`
keeps them).

    pip install torch pyarrow numpy
    python benches/model_check.py --features-prefix s --label class \\
        natural=sample_data/templates_1d.parquet \\
        shuffled=sample_data/templates_1d_shuffled.parquet

Not part of the tests: a benchmark of the arrangement's use, on CPU.
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn

# Epochs per model: enough for each to converge on the 3000-row samples.
EPOCHS = {"cnn1d": 15, "cnn2d": 15, "s4d": 15, "local_attention": 20, "gru": 15}
MODELS_1D = ["cnn1d", "s4d", "local_attention", "gru"]
WIDTH = 64  # channels of the sequence models


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


def cnn(dims, classes):
    """The small CNN, 1D or 2D; input (batch, 1, L) or (batch, 1, H, W)."""
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


class Cnn1d(nn.Module):
    """cnn(1, …) on (batch, L, 1) sequences."""

    def __init__(self, length, classes):
        super().__init__()
        self.net = cnn(1, classes)

    def forward(self, x):
        return self.net(x.transpose(1, 2))


class S4DKernel(nn.Module):
    """The convolution kernel of H independent diagonal SSMs (S4D).

    Per channel h and state n (N/2 states; the other N/2 are their complex
    conjugates, hence 2·Re below): x'(t) = A x(t) + B u(t), y(t) = Re C x(t).
    S4D-Lin initialisation A_n = -1/2 + iπn, B_n = 1, C_n ~ N(0, 1) complex,
    log Δ ~ U(log 0.001, log 0.1). Zero-order hold gives Ā = exp(ΔA) and
    B̄ = (exp(ΔA) - 1)/A · B, and the SSM's output is the convolution of u
    with K_l = 2 Re Σ_n C_n B̄_n Ā_n^l, l = 0..L-1 (a Vandermonde product).
    Re A is kept negative (A = -exp(log_a_real) + i·a_imag): stable.
    """

    def __init__(self, channels, states=64, dt_min=1e-3, dt_max=1e-1):
        super().__init__()
        half = states // 2
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.log_a_real = nn.Parameter(torch.log(0.5 * torch.ones(channels, half)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(half, dtype=torch.float32).repeat(channels, 1))
        self.b = nn.Parameter(torch.view_as_real(torch.ones(channels, half, dtype=torch.cfloat)))
        self.c = nn.Parameter(torch.view_as_real(torch.randn(channels, half, dtype=torch.cfloat)))

    def forward(self, length):
        dt = torch.exp(self.log_dt).unsqueeze(-1)  # (H, 1)
        a = torch.complex(-torch.exp(self.log_a_real), self.a_imag)  # (H, N/2)
        dta = a * dt
        b_bar = (torch.exp(dta) - 1.0) / a * torch.view_as_complex(self.b)
        cb = torch.view_as_complex(self.c) * b_bar  # (H, N/2)
        powers = torch.exp(dta.unsqueeze(-1) * torch.arange(length))  # Ā^l: (H, N/2, L)
        return 2.0 * torch.einsum("hn,hnl->hl", cb, powers).real  # (H, L)


class S4DLayer(nn.Module):
    """y = GELU(K * u + D u) per channel, then a position-wise GLU mixing channels."""

    def __init__(self, channels):
        super().__init__()
        self.kernel = S4DKernel(channels)
        self.d = nn.Parameter(torch.randn(channels))
        self.out = nn.Sequential(nn.Linear(channels, 2 * channels), nn.GLU(dim=-1))

    def forward(self, u):  # (batch, L, H)
        length = u.shape[1]
        u = u.transpose(1, 2)  # (batch, H, L)
        k = self.kernel(length)
        # Causal convolution by FFT, zero-padded to 2L (no wrap-around).
        y = torch.fft.irfft(torch.fft.rfft(u, n=2 * length) * torch.fft.rfft(k, n=2 * length), n=2 * length)
        y = y[..., :length] + u * self.d.unsqueeze(-1)
        return self.out(nn.functional.gelu(y).transpose(1, 2))


class S4D(nn.Module):
    """Encoder 1 -> H, S4D layers with residual and (post-)LayerNorm, mean pool, linear."""

    def __init__(self, length, classes, layers=3):
        super().__init__()
        self.encoder = nn.Linear(1, WIDTH)
        self.layers = nn.ModuleList(S4DLayer(WIDTH) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(WIDTH) for _ in range(layers))
        self.head = nn.Linear(WIDTH, classes)

    def forward(self, x):  # (batch, L, 1)
        x = self.encoder(x)
        for layer, norm in zip(self.layers, self.norms):
            x = norm(x + layer(x))
        return self.head(x.mean(dim=1))


class LocalAttention(nn.Module):
    """Transformer encoder with attention only within |i - j| <= window."""

    def __init__(self, length, classes, window=4, layers=2):
        super().__init__()
        self.encoder = nn.Linear(1, WIDTH)
        self.position = nn.Parameter(0.02 * torch.randn(length, WIDTH))
        i = torch.arange(length)
        far = (i[:, None] - i[None, :]).abs() > window
        self.register_buffer("mask", torch.zeros(length, length).masked_fill(far, float("-inf")))
        block = nn.TransformerEncoderLayer(
            WIDTH, nhead=4, dim_feedforward=2 * WIDTH, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, classes)

    def forward(self, x):  # (batch, L, 1)
        x = self.blocks(self.encoder(x) + self.position, mask=self.mask)
        return self.head(self.norm(x).mean(dim=1))


class Gru(nn.Module):
    """GRU over the sequence; its last hidden state -> linear."""

    def __init__(self, length, classes, layers=2):
        super().__init__()
        self.gru = nn.GRU(1, WIDTH, num_layers=layers, batch_first=True)
        self.head = nn.Linear(WIDTH, classes)

    def forward(self, x):  # (batch, L, 1)
        _, hidden = self.gru(x)
        return self.head(hidden[-1])


SEQUENCE_MODELS = {"cnn1d": Cnn1d, "s4d": S4D, "local_attention": LocalAttention, "gru": Gru}


def accuracy(x, y, shape, model, seed, epochs, batch):
    """Test accuracy of `model` trained on a seeded 70/30 split."""
    rows = len(y)
    split = np.random.default_rng(seed).permutation(rows)
    train, test = split[: int(0.7 * rows)], split[int(0.7 * rows) :]
    # Standardize each feature on the training rows.
    mean, sd = x[train].mean(axis=0), x[train].std(axis=0)
    sd[sd == 0] = 1.0
    x = (x - mean) / sd
    classes = int(y.max()) + 1
    torch.manual_seed(seed)
    if model == "cnn2d":
        x = torch.from_numpy(x.reshape((rows, 1, *shape)))
        net = cnn(2, classes)
    else:  # a sequence (batch, L, 1), whatever the shape
        x = torch.from_numpy(x.reshape((rows, -1, 1)))
        net = SEQUENCE_MODELS[model](x.shape[1], classes)
    y = torch.from_numpy(y)
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


def table(results, models, seeds):
    """Rows = orders, columns = models: mean % over seeds [per seed]."""
    cell = lambda accs: f"{100 * np.mean(accs):5.1f} [" + " ".join(f"{100 * a:5.1f}" for a in accs) + "]"
    width = max(len(cell([0.5] * len(seeds))), *(len(m) for m in models))
    name_width = max(5, *(len(n) for n in results))
    lines = [f"{'order':<{name_width}}  " + "  ".join(f"{m:<{width}}" for m in models)]
    for name, by_model in results.items():
        lines.append(f"{name:<{name_width}}  " + "  ".join(f"{cell(by_model[m]):<{width}}" for m in models))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="NAME=PATH")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--array", help="array column holding the features")
    where.add_argument("--features-prefix", help="prefix of the wide feature columns")
    parser.add_argument("--label", required=True)
    parser.add_argument("--shape", help="H,W of 2D data (then cnn2d is the default model)")
    parser.add_argument(
        "--models",
        help=f"comma-separated, of {','.join(MODELS_1D + ['cnn2d'])} "
        "(default: cnn2d with a 2D --shape, the 1D families otherwise)",
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, help="epochs of every model (default: its own, EPOCHS)")
    parser.add_argument(
        "--epochs-scale", type=float, default=1.0, help="multiply every model's epochs (at least 1), for a quick check"
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    seeds = [int(s) for s in args.seeds.split(",")]
    shape = [int(s) for s in args.shape.split(",")] if args.shape else None
    if args.models:
        models = args.models.split(",")
    else:
        models = ["cnn2d"] if shape and len(shape) == 2 else MODELS_1D
    for m in models:
        if m not in EPOCHS:
            sys.exit(f"unknown model '{m}': choose from {', '.join(EPOCHS)}")
        if m == "cnn2d" and (not shape or len(shape) != 2):
            sys.exit("cnn2d needs --shape H,W")
    if args.epochs is not None and args.epochs < 1 or args.epochs_scale <= 0:
        sys.exit("--epochs and --epochs-scale must be positive")
    epochs = {m: max(1, round((args.epochs or EPOCHS[m]) * args.epochs_scale)) for m in models}
    print("epochs: " + ", ".join(f"{m} {e}" for m, e in epochs.items()), flush=True)
    results, seconds = {}, {}
    for spec in args.files:
        name, _, path = spec.partition("=")
        if not path:
            sys.exit(f"give files as NAME=PATH, got '{spec}'")
        x, y = load(path, args.array, args.features_prefix, args.label)
        file_shape = shape or [x.shape[1]]
        if int(np.prod(file_shape)) != x.shape[1]:
            sys.exit(f"{path}: {x.shape[1]} features do not fill the shape {file_shape}")
        results[name], seconds[name] = {}, {}
        for m in models:
            results[name][m], seconds[name][m] = [], []
            for s in seeds:
                start = time.time()
                results[name][m].append(accuracy(x, y, file_shape, m, s, epochs[m], args.batch))
                seconds[name][m].append(time.time() - start)
                print(
                    f"{name:>10}  {m:<15}  seed {s}  {100 * results[name][m][-1]:5.1f}%"
                    f"  ({seconds[name][m][-1]:.1f} s)",
                    flush=True,
                )
    print(f"\ntest accuracy %, mean over seeds {','.join(map(str, seeds))} [per seed]:")
    print(table(results, models, seeds), flush=True)
    if args.json:
        means = {n: {m: float(np.mean(a)) for m, a in r.items()} for n, r in results.items()}
        print(
            json.dumps(
                {
                    "seeds": seeds,
                    "models": models,
                    "epochs": epochs,
                    "accuracy": results,
                    "mean": means,
                    "seconds": seconds,
                }
            )
        )


if __name__ == "__main__":
    main()
