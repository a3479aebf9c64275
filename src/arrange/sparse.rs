//! The rearrangement on a sparse graph (docs/conventions.md#scale): for tens of
//! thousands of features, whose dense weights do not fit.
//!
//! Top down, every tree node larger than `dense_below` features is split
//! among its children with exact sizes by bisections of the sparse graph:
//! greedy growth from a peripheral feature and from its far end, each refined
//! by Fiduccia–Mattheyses passes that move features alternately between the
//! sides (so sizes are exact after every pair of moves) and keep the best
//! prefix. A node of at most `dense_below` features is a small instance of the
//! dense problem: its subtree is the canonical tree of the node's box, so it is
//! arranged by the dense partitioner with its global refinement, on the
//! graph's weights inside the node. Subtrees run in parallel.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use faer::Mat;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::arrange::dense::{arrange_leaves, grid_order};
use crate::arrange::neighbours::NeighbourGraph;
use crate::math::tree::{CanonicalTree, Grid};

/// Largest node handed to the dense partitioner by default (its refinement
/// holds n × nodes affinities, about 70 MB at 2048).
pub const DENSE_BELOW: usize = 2048;
/// Fiduccia–Mattheyses passes per bisection at most.
const FM_PASSES: usize = 12;

/// The arrangement on a sparse graph: `order[g]` = input feature at grid
/// position g. Nodes of at most `dense_below` features are arranged densely.
pub fn arrange_sparse(
    graph: &NeighbourGraph,
    tree: &CanonicalTree,
    levels: &[usize],
    seed: u64,
    dense_below: usize,
) -> Vec<usize> {
    let n = tree.len();
    assert_eq!(graph.len(), n);
    let placed = place(
        &Context {
            graph,
            tree,
            levels,
            seed,
            dense_below: dense_below.max(2),
        },
        0,
        (0..n).collect(),
    );
    let mut leaf_feature = vec![usize::MAX; n];
    for (p, f) in placed {
        leaf_feature[p] = f;
    }
    grid_order(tree, &leaf_feature)
}

struct Context<'a> {
    graph: &'a NeighbourGraph,
    tree: &'a CanonicalTree,
    levels: &'a [usize],
    seed: u64,
    dense_below: usize,
}

/// (leaf position, feature) for the node's leaves.
fn place(cx: &Context<'_>, node: usize, features: Vec<usize>) -> Vec<(usize, usize)> {
    let info = &cx.tree.nodes()[node];
    debug_assert_eq!(features.len(), info.size());
    if info.children.is_empty() {
        return vec![(info.leaves.start, features[0])];
    }
    if info.size() <= cx.dense_below {
        return place_densely(cx, node, &features);
    }
    let sizes = cx.tree.child_sizes(node);
    let groups = split_children(cx.graph, &features, &sizes, cx.seed ^ node as u64);
    let placed: Vec<Vec<(usize, usize)>> = info
        .children
        .par_iter()
        .zip(groups)
        .map(|(&child, group)| place(cx, child, group))
        .collect();
    placed.into_iter().flatten().collect()
}

/// The node's subtree is the canonical tree of its box: arrange it densely on
/// the graph's weights among its features.
fn place_densely(cx: &Context<'_>, node: usize, features: &[usize]) -> Vec<(usize, usize)> {
    let info = &cx.tree.nodes()[node];
    let subtree = CanonicalTree::new(Grid::new(info.shape.clone()).expect("a node's box"));
    let local = Local::new(cx.graph, features);
    let mut w = Mat::<f64>::zeros(features.len(), features.len());
    for x in 0..features.len() {
        for (y, weight) in local.neighbours(x) {
            w[(x, y)] = weight;
        }
    }
    let levels: Vec<usize> = cx
        .levels
        .iter()
        .filter(|&&l| l > info.depth && l - info.depth <= subtree.depth())
        .map(|&l| l - info.depth)
        .collect();
    arrange_leaves(w.as_ref(), &subtree, &levels, cx.seed ^ node as u64)
        .into_iter()
        .enumerate()
        .map(|(p, x)| (info.leaves.start + p, features[x]))
        .collect()
}

/// Splits `features` into groups of exactly `sizes` (a node's children in
/// row-major order of their halves) by nested bisections: the first half of
/// the children against the second, and so on. Four children (a 2D node)
/// also try pairing the columns first; the smaller cut wins.
fn split_children(
    graph: &NeighbourGraph,
    features: &[usize],
    sizes: &[usize],
    seed: u64,
) -> Vec<Vec<usize>> {
    let nested = |pairing: &[usize]| -> Vec<Vec<usize>> {
        let permuted: Vec<usize> = pairing.iter().map(|&c| sizes[c]).collect();
        let groups = nested_bisection(graph, features, &permuted, seed);
        let mut out = vec![Vec::new(); sizes.len()];
        for (&slot, group) in pairing.iter().zip(groups) {
            out[slot] = group;
        }
        out
    };
    let rows_first = nested(&(0..sizes.len()).collect::<Vec<_>>());
    if sizes.len() != 4 {
        return rows_first;
    }
    let columns_first = nested(&[0, 2, 1, 3]);
    if cut_of(graph, &columns_first) < cut_of(graph, &rows_first) {
        columns_first
    } else {
        rows_first
    }
}

fn nested_bisection(
    graph: &NeighbourGraph,
    features: &[usize],
    sizes: &[usize],
    seed: u64,
) -> Vec<Vec<usize>> {
    if sizes.len() == 1 {
        return vec![features.to_vec()];
    }
    let half = sizes.len() / 2;
    let first: usize = sizes[..half].iter().sum();
    let (a, b) = bisect(graph, features, first, seed);
    let mut groups = nested_bisection(graph, &a, &sizes[..half], seed ^ 1);
    groups.extend(nested_bisection(graph, &b, &sizes[half..], seed ^ 2));
    groups
}

/// Total weight between different groups.
fn cut_of(graph: &NeighbourGraph, groups: &[Vec<usize>]) -> f64 {
    let mut group_of = std::collections::HashMap::new();
    for (g, members) in groups.iter().enumerate() {
        for &f in members {
            group_of.insert(f, g);
        }
    }
    let mut cut = 0.0;
    for (g, members) in groups.iter().enumerate() {
        for &f in members {
            for (j, w) in graph.neighbours(f) {
                if let Some(&h) = group_of.get(&j)
                    && h > g
                {
                    cut += w;
                }
            }
        }
    }
    cut
}

/// The graph restricted to a set of features, renumbered 0..n.
struct Local {
    offsets: Vec<usize>,
    targets: Vec<usize>,
    weights: Vec<f64>,
}

impl Local {
    fn new(graph: &NeighbourGraph, features: &[usize]) -> Self {
        let index: std::collections::HashMap<usize, usize> =
            features.iter().enumerate().map(|(x, &f)| (f, x)).collect();
        let mut offsets = vec![0];
        let (mut targets, mut weights) = (Vec::new(), Vec::new());
        for &f in features {
            for (j, w) in graph.neighbours(f) {
                if let Some(&y) = index.get(&j) {
                    targets.push(y);
                    weights.push(w);
                }
            }
            offsets.push(targets.len());
        }
        Local {
            offsets,
            targets,
            weights,
        }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn neighbours(&self, x: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[x]..self.offsets[x + 1];
        self.targets[range.clone()]
            .iter()
            .copied()
            .zip(self.weights[range].iter().copied())
    }
}

/// A heap key: larger value first, ties to the smaller index.
#[derive(PartialEq)]
struct Key(f64, Reverse<usize>);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Bisection into `first` features and the rest, minimising the cut weight.
fn bisect(
    graph: &NeighbourGraph,
    features: &[usize],
    first: usize,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let local = Local::new(graph, features);
    let n = local.len();
    let strength: Vec<f64> = (0..n)
        .map(|x| local.neighbours(x).map(|(_, w)| w).sum())
        .collect();
    // A peripheral start (the most weakly attached feature), the far end of
    // a growth from it, and a seeded pick.
    let weakest = (0..n)
        .min_by(|&a, &b| strength[a].total_cmp(&strength[b]).then(a.cmp(&b)))
        .expect("non-empty");
    let far_end = *grow(&local, &strength, weakest, n)
        .last()
        .expect("non-empty");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let picked = *(0..n)
        .collect::<Vec<_>>()
        .choose(&mut rng)
        .expect("non-empty");
    let mut best: Option<(f64, Vec<bool>)> = None;
    let mut starts = vec![weakest, far_end, picked];
    starts.dedup();
    for start in starts {
        let mut side = vec![true; n];
        for x in grow(&local, &strength, start, first) {
            side[x] = false;
        }
        let cut = refine(&local, &mut side);
        if best.as_ref().is_none_or(|(b, _)| cut < *b) {
            best = Some((cut, side));
        }
    }
    let side = best.expect("a start").1;
    let (mut a, mut b) = (Vec::with_capacity(first), Vec::with_capacity(n - first));
    for (x, &s) in side.iter().enumerate() {
        if s { &mut b } else { &mut a }.push(features[x]);
    }
    (a, b)
}

/// Greedy growth from `start`: `count` features, each the remaining one most
/// attached to the group minus to the rest (gain 2·w(x, group) − strength(x)).
fn grow(local: &Local, strength: &[f64], start: usize, count: usize) -> Vec<usize> {
    let n = local.len();
    let mut gain: Vec<f64> = strength.iter().map(|s| -s).collect();
    let mut taken = vec![false; n];
    let mut heap: BinaryHeap<Key> = (0..n).map(|x| Key(gain[x], Reverse(x))).collect();
    let mut group = Vec::with_capacity(count);
    let mut next = Some(start);
    while group.len() < count {
        let x = match next.take() {
            Some(x) => x,
            None => loop {
                let Key(g, Reverse(x)) = heap.pop().expect("features remain");
                if !taken[x] && g == gain[x] {
                    break x;
                }
            },
        };
        taken[x] = true;
        group.push(x);
        for (y, w) in local.neighbours(x) {
            if !taken[y] {
                gain[y] += 2.0 * w;
                heap.push(Key(gain[y], Reverse(y)));
            }
        }
    }
    group
}

/// Fiduccia–Mattheyses refinement of a bisection in place, sizes unchanged;
/// returns the cut.
fn refine(local: &Local, side: &mut [bool]) -> f64 {
    let n = local.len();
    // d[x]: decrease of the cut if x alone changed sides.
    let gains = |side: &[bool]| -> Vec<f64> {
        (0..n)
            .map(|x| {
                local
                    .neighbours(x)
                    .map(|(y, w)| if side[y] != side[x] { w } else { -w })
                    .sum()
            })
            .collect()
    };
    let cut = |side: &[bool]| -> f64 {
        (0..n)
            .filter(|&x| !side[x])
            .flat_map(|x| local.neighbours(x))
            .filter(|&(y, _)| side[y])
            .map(|(_, w)| w)
            .sum()
    };
    let mut current = cut(side);
    for _ in 0..FM_PASSES {
        let mut d = gains(side);
        let mut locked = vec![false; n];
        let mut heaps = [BinaryHeap::new(), BinaryHeap::new()];
        for x in 0..n {
            heaps[usize::from(side[x])].push(Key(d[x], Reverse(x)));
        }
        let mut moves = Vec::new();
        let (mut total, mut best, mut best_len) = (0.0, 0.0, 0);
        let tolerance = 1e-12 * current.max(1.0);
        loop {
            // Alternate sides so that sizes are exact after every pair.
            let from = moves.len() % 2;
            let mut pick = None;
            while let Some(Key(g, Reverse(x))) = heaps[from].pop() {
                if !locked[x] && g == d[x] && usize::from(side[x]) == from {
                    pick = Some(x);
                    break;
                }
            }
            let Some(x) = pick else { break };
            locked[x] = true;
            total += d[x];
            let was = side[x];
            side[x] = !was;
            d[x] = -d[x];
            for (y, w) in local.neighbours(x) {
                d[y] += if side[y] == was { 2.0 * w } else { -2.0 * w };
                if !locked[y] {
                    heaps[usize::from(side[y])].push(Key(d[y], Reverse(y)));
                }
            }
            moves.push(x);
            if moves.len() % 2 == 0 && total > best + tolerance {
                (best, best_len) = (total, moves.len());
            }
        }
        for &x in &moves[best_len..] {
            side[x] = !side[x];
        }
        if best_len == 0 {
            break;
        }
        current = cut(side);
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrange::dense::{arrange, surrogate_objective};
    use crate::math::moments::CoMoments;
    use crate::math::synthetic::smooth_field;
    use faer::Par;
    use rand::seq::SliceRandom;

    #[test]
    fn bisection_keeps_sizes_and_cuts_a_chain_once() {
        // A path 0 - 1 - … - 99 with unit weights, features scrambled.
        let n = 100;
        let edges = (0..n - 1).map(|i| (i as u32, i as u32 + 1, 1.0)).collect();
        let graph = NeighbourGraph::from_edges(n, edges);
        let mut features: Vec<usize> = (0..n).collect();
        features.shuffle(&mut ChaCha8Rng::seed_from_u64(1));
        for first in [1, 37, 50, 99] {
            let (a, b) = bisect(&graph, &features, first, 7);
            assert_eq!((a.len(), b.len()), (first, n - first));
            assert_eq!(cut_of(&graph, &[a, b]), 1.0, "first = {first}");
        }
    }

    /// The weights and tree of a shuffled smooth field.
    fn shuffled_field(shape: &[usize], rows: usize) -> (Mat<f64>, CanonicalTree) {
        let n: usize = shape.iter().product();
        let sample = smooth_field(rows, shape, 0.8, 2);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
        let x = sample.as_ref();
        let shuffled = Mat::from_fn(rows, n, |r, j| x[(r, perm[j])]);
        let mut stats = CoMoments::new(n);
        stats.update(shuffled.as_ref(), Par::Seq);
        let tree = CanonicalTree::new(Grid::new(shape.to_vec()).unwrap());
        (stats.correlation_weights(), tree)
    }

    /// The sparse arrangement (deep sparse splits: dense only below 32
    /// features) cuts within 5% of the dense one and far below the shuffle.
    #[test]
    fn sparse_arrangement_is_close_to_the_dense_one() {
        for shape in [vec![512], vec![16, 32]] {
            let (w, tree) = shuffled_field(&shape, 300);
            let n = tree.len();
            let levels = tree.default_levels();
            let identity: Vec<usize> = (0..n).collect();
            let shuffled = surrogate_objective(w.as_ref(), &tree, &levels, &identity);
            let dense = arrange(w.as_ref(), &tree, &levels, 0);
            let dense_cut = surrogate_objective(w.as_ref(), &tree, &levels, &dense);
            // The k-nearest-neighbour graph, from the same rows' columns.
            let graph = {
                let rounded = crate::arrange::dense::rounded_weights(w.as_ref());
                knn_of_dense(rounded.as_ref(), 16)
            };
            let sparse = arrange_sparse(&graph, &tree, &levels, 0, 32);
            let mut sorted = sparse.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, identity, "a permutation");
            let sparse_cut = surrogate_objective(w.as_ref(), &tree, &levels, &sparse);
            assert!(
                sparse_cut <= 1.05 * dense_cut,
                "{shape:?}: sparse {sparse_cut} vs dense {dense_cut}"
            );
            eprintln!("{shape:?}: shuffled {shuffled} dense {dense_cut} sparse {sparse_cut}");
            assert!(
                sparse_cut < 0.8 * shuffled,
                "{sparse_cut} vs shuffled {shuffled}"
            );
            // Deterministic.
            assert_eq!(sparse, arrange_sparse(&graph, &tree, &levels, 0, 32));
        }
    }

    /// The symmetric k-nearest-neighbour graph of dense weights (reference).
    fn knn_of_dense(w: faer::MatRef<'_, f64>, k: usize) -> NeighbourGraph {
        let n = w.nrows();
        let mut edges = Vec::new();
        for i in 0..n {
            let mut row: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            row.sort_by(|&a, &b| w[(i, b)].total_cmp(&w[(i, a)]).then(a.cmp(&b)));
            edges.extend(row[..k].iter().map(|&j| (i as u32, j as u32, w[(i, j)])));
        }
        NeighbourGraph::from_edges(n, edges)
    }
}
