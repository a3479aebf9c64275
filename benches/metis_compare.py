#!/usr/bin/env python3
"""Compare entangle's arrangement with the paper's METIS procedure (a yardstick,
not a dependency): |Pearson correlation| graph, recursive METIS splits into the
canonical tree's children (2 in 1D, 4 in 2D), sizes repaired to the tree's
exact node sizes, leaves read in order. Prints the per-level mean surrogate
(cut |correlation|) of the input order, the METIS order and entangle's order,
all computed here with numpy from the same weights.

    pip install pymetis numpy pyarrow
    python3 benches/metis_compare.py target/release/entangle FILE.parquet \\
        (--features-prefix P | --array COL) [--shape H,W]
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow.parquet as pq
import pymetis


def load(path, prefix, array):
    table = pq.read_table(path)
    if array:
        col = table.column(array).combine_chunks()
        n = len(col[0])
        return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float64).reshape(-1, n)
    names = [f.name for f in table.schema if f.name.startswith(prefix)]
    return np.column_stack([table.column(n).to_numpy().astype(np.float64) for n in names])


def weights(x):
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.abs(cov / np.outer(sd, sd))
    w[~np.isfinite(w)] = 0.0
    np.fill_diagonal(w, 0.0)
    return w


def tree(shape):
    """Nodes as (depth, leaves-range, children) in preorder, and the leaf order
    (DFS position -> row-major index), exactly as the canonical partitions
    (docs/conventions.md#canonical-partitions) define them."""
    nodes, leaf_order = [], []

    def build(start, length, depth):
        idx = len(nodes)
        first = len(leaf_order)
        nodes.append([depth, None, []])
        if all(l == 1 for l in length):
            r = 0
            for s, side in zip(start, shape):
                r = r * side + s
            leaf_order.append(r)
        else:
            halves = [[(s, (l + 1) // 2), (s + (l + 1) // 2, l - (l + 1) // 2)] if l >= 2 else [(s, l)]
                      for s, l in zip(start, length)]
            combos = [[]]
            for h in halves:
                combos = [c + [x] for c in combos for x in h]
            for c in combos:
                nodes[idx][2].append(build([b[0] for b in c], [b[1] for b in c], depth + 1))
        nodes[idx][1] = (first, len(leaf_order))
        return idx

    build([0] * len(shape), list(shape), 0)
    return nodes, leaf_order


def level_means(w, nodes, leaf_order, order, levels):
    """order[g] = feature at grid position g. Mean cut per level (1D level 1: one partition)."""
    feat_at_leaf = [order[g] for g in leaf_order]
    out = []
    for level in levels:
        ids = [i for i, nd in enumerate(nodes) if nd[0] == level]
        if level == 1 and len(nodes[0][2]) == 2:
            ids = ids[:1]
        cuts = []
        for i in ids:
            a, b = nodes[i][1]
            inside = feat_at_leaf[a:b]
            outside = feat_at_leaf[:a] + feat_at_leaf[b:]
            cuts.append(w[np.ix_(inside, outside)].sum())
        out.append(float(np.mean(cuts)))
    return out


def metis_split(w, feats, sizes):
    k = len(sizes)
    sub = w[np.ix_(feats, feats)]
    n = len(feats)
    xadj, adjncy, eweights = [0], [], []
    for i in range(n):
        for j in range(n):
            if i != j:
                adjncy.append(j)
                eweights.append(max(1, int(round(sub[i, j] * 1000))))
        xadj.append(len(adjncy))
    _, parts = pymetis.part_graph(k, xadj=xadj, adjncy=adjncy, eweights=eweights)
    groups = [[] for _ in range(k)]
    for i, p in enumerate(parts):
        groups[p].append(i)
    # Repair to the exact sizes: move the member losing least from an
    # oversized group to an undersized one until all sizes match.
    while any(len(g) != s for g, s in zip(groups, sizes)):
        big = max(range(k), key=lambda g: len(groups[g]) - sizes[g])
        small = min(range(k), key=lambda g: len(groups[g]) - sizes[g])
        best = max(groups[big], key=lambda i: sub[i, groups[small]].sum() - sub[i, groups[big]].sum())
        groups[big].remove(best)
        groups[small].append(best)
    return [[feats[i] for i in g] for g in groups]


def metis_order(w, nodes, leaf_order):
    n = len(leaf_order)
    feat_at_leaf = [None] * n

    def assign(idx, feats):
        depth, (a, b), children = nodes[idx]
        if not children:
            feat_at_leaf[a] = feats[0]
            return
        sizes = [nodes[c][1][1] - nodes[c][1][0] for c in children]
        groups = metis_split(w, feats, sizes) if len(feats) > 1 else [feats]
        for c, g in zip(children, groups):
            assign(c, g)

    assign(0, list(range(n)))
    order = [0] * n
    for pos, f in enumerate(feat_at_leaf):
        order[leaf_order[pos]] = f
    return order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("entangle")
    ap.add_argument("input")
    ap.add_argument("--features-prefix", default=None)
    ap.add_argument("--array", default=None)
    ap.add_argument("--shape", default=None)
    args = ap.parse_args()
    x = load(args.input, args.features_prefix or "", args.array)
    n = x.shape[1]
    shape = [int(s) for s in args.shape.replace("x", ",").split(",")] if args.shape else [n]
    w = weights(x)
    nodes, leaf_order = tree(shape)
    levels = list(range(1, min(int(math.log2(s)) for s in shape if s >= 2) + 1))

    selection = ["--array", args.array] if args.array else ["--features-prefix", args.features_prefix or ""]
    if args.shape:
        selection += ["--shape", args.shape]
    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [args.entangle, "arrange", args.input, "-o", f"{d}/out.parquet", "--json", "--max-samples", "16"] + selection,
            check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)["order"]
    rows = {
        "input order": level_means(w, nodes, leaf_order, list(range(n)), levels),
        "METIS (paper)": level_means(w, nodes, leaf_order, metis_order(w, nodes, leaf_order), levels),
        "entangle": level_means(w, nodes, leaf_order, ours, levels),
    }
    print(f"{args.input}: {n} features, grid {shape}, mean surrogate per level")
    print(f"{'order':<16}" + "".join(f"{'level ' + str(l):>12}" for l in levels) + f"{'mean':>12}")
    for name, vals in rows.items():
        print(f"{name:<16}" + "".join(f"{v:>12.4f}" for v in vals) + f"{np.mean(vals):>12.4f}")


if __name__ == "__main__":
    sys.exit(main())
