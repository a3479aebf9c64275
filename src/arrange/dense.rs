//! The rearrangement (docs/conventions.md#rearrangement): a permutation of
//! the features that makes the canonical partitions cut little surrogate
//! weight (|correlation|).
//!
//! Two phases, both keeping every tree node at exactly its size:
//!
//! 1. top down, each node's features are split among its children (2 in 1D,
//!    up to 4 in 2D) by greedy growth from several seeds followed by pairwise
//!    swap refinement of that cut;
//! 2. the finished order is then refined as a whole: pairs of positions are
//!    swapped whenever that lowers the objective itself, the mean over levels
//!    of the per-level mean cut, so every level (the finest included, which a
//!    top-down split settles last and by chance) is revisited together. A
//!    swap's effect is read from per-node affinity sums in O(depth).
//!
//! Deterministic: weights are rounded to 1e-9 so that the order does not
//! depend on how the input was split, ties break by index, and the seed only
//! chooses the order in which positions are scanned.

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::math::tree::CanonicalTree;

/// Swap passes over all positions at most, in the global refinement.
const MAX_PASSES: usize = 30;
/// Improvements smaller than this (relative to the objective) end refinement.
const MIN_GAIN: f64 = 1e-12;

/// Weights rounded to 1e-9, with a zero diagonal.
pub fn rounded_weights(weights: MatRef<'_, f64>) -> Mat<f64> {
    Mat::from_fn(weights.nrows(), weights.ncols(), |i, j| {
        if i == j {
            0.0
        } else {
            (weights[(i, j)] * 1e9).round() / 1e9
        }
    })
}

/// The arrangement: `order[g]` = the input index of the feature placed at grid
/// position `g` (row-major). `levels` are the levels whose mean cut is minimised.
pub fn arrange(
    weights: MatRef<'_, f64>,
    tree: &CanonicalTree,
    levels: &[usize],
    seed: u64,
) -> Vec<usize> {
    let n = tree.len();
    assert_eq!((weights.nrows(), weights.ncols()), (n, n));
    let w = rounded_weights(weights);
    grid_order(tree, &arrange_leaves(w.as_ref(), tree, levels, seed))
}

/// The dense arrangement as a leaf assignment: `leaf_feature[p]` = the feature
/// placed at leaf position p (depth-first order). `w` is already rounded.
pub(crate) fn arrange_leaves(
    w: MatRef<'_, f64>,
    tree: &CanonicalTree,
    levels: &[usize],
    seed: u64,
) -> Vec<usize> {
    let n = tree.len();
    let root = &tree.nodes()[0];
    if levels.is_empty() || root.children.is_empty() {
        let mut leaf_feature = vec![usize::MAX; n];
        split_top_down(w, tree, 0, (0..n).collect(), seed, &mut leaf_feature);
        return leaf_feature;
    }
    // The root split decides every level below it, and the one cutting
    // least at level 1 can cut more further down (grid-like data: a split a
    // few features off the natural one). So its near neighbours are completed
    // too, and the lowest objective over all levels wins (ties: the first).
    let split = split_exact(w, &(0..n).collect::<Vec<_>>(), &tree.child_sizes(0), seed);
    let mut root_splits = vec![split.clone()];
    if n <= LOOKAHEAD_MAX_FEATURES {
        root_splits.extend(KWaySplit::new(w, &split).nearby_splits());
    }
    let mut best: Option<(f64, Vec<usize>)> = None;
    for groups in root_splits {
        let mut leaf_feature = vec![usize::MAX; n];
        split_children(w, tree, 0, groups, seed, &mut leaf_feature);
        let value = refine_globally(w, tree, levels, seed, &mut leaf_feature);
        if best
            .as_ref()
            .is_none_or(|(b, _)| value < b - MIN_GAIN * b.abs())
        {
            best = Some((value, leaf_feature));
        }
    }
    best.expect("the root split itself").1
}

/// The order (`order[g]` = feature at grid position g) of a leaf assignment.
pub(crate) fn grid_order(tree: &CanonicalTree, leaf_feature: &[usize]) -> Vec<usize> {
    let mut order = vec![0; leaf_feature.len()];
    for (position, &feature) in leaf_feature.iter().enumerate() {
        order[tree.leaf_order()[position]] = feature;
    }
    order
}

/// Assigns `features` (exactly the node's size) to the node's leaves; `out`
/// holds the node's leaf positions.
fn split_top_down(
    w: MatRef<'_, f64>,
    tree: &CanonicalTree,
    node: usize,
    features: Vec<usize>,
    seed: u64,
    out: &mut [usize],
) {
    let info = &tree.nodes()[node];
    debug_assert_eq!((features.len(), out.len()), (info.size(), info.size()));
    if info.children.is_empty() {
        out[0] = features[0];
        return;
    }
    let groups = split_exact(w, &features, &tree.child_sizes(node), seed ^ node as u64);
    split_children(w, tree, node, groups, seed, out);
}

/// Arranges each child of `node` from its group (`out` holds the node's leaf
/// positions). Children own consecutive leaf ranges and depend on nothing
/// but their group, so they run in parallel with the same result.
fn split_children(
    w: MatRef<'_, f64>,
    tree: &CanonicalTree,
    node: usize,
    groups: Vec<Vec<usize>>,
    seed: u64,
    out: &mut [usize],
) {
    let children = &tree.nodes()[node].children;
    let mut slices = Vec::with_capacity(children.len());
    let mut rest = out;
    for &child in children {
        let (slice, tail) = rest.split_at_mut(tree.nodes()[child].size());
        slices.push(slice);
        rest = tail;
    }
    children
        .par_iter()
        .zip(groups)
        .zip(slices)
        .for_each(|((&child, group), slice)| split_top_down(w, tree, child, group, seed, slice));
}

/// Total weight between different groups.
fn cut_weight(w: MatRef<'_, f64>, groups: &[Vec<usize>]) -> f64 {
    let mut total = 0.0;
    for (g, a) in groups.iter().enumerate() {
        for b in &groups[g + 1..] {
            for &i in a {
                for &j in b {
                    total += w[(i, j)];
                }
            }
        }
    }
    total
}

/// Splits `features` into groups of exactly `sizes`, minimising the weight
/// between groups. Candidates are refined by swaps and the least cut wins
/// (ties: the first). Two groups: greedy growth from a few seeds and the
/// Fiedler vector. Four groups (a 2D node's quadrants, row-major): nested
/// bisections, rows first or columns first, and straight cuts in the spectral
/// embedding at several angles.
pub fn split_exact(
    w: MatRef<'_, f64>,
    features: &[usize],
    sizes: &[usize],
    seed: u64,
) -> Vec<Vec<usize>> {
    assert_eq!(sizes.iter().sum::<usize>(), features.len());
    match sizes.len() {
        1 => vec![features.to_vec()],
        2 => bisect(w, features, sizes[0], seed),
        4 => {
            // Quadrant pairs sharing a half: (0,1 | 2,3) for rows, (0,2 | 1,3) for columns.
            let mut candidates: Vec<Vec<Vec<usize>>> = [[0, 1, 2, 3], [0, 2, 1, 3]]
                .iter()
                .map(|pairing| {
                    let outer = bisect(w, features, sizes[pairing[0]] + sizes[pairing[1]], seed);
                    let first = bisect(w, &outer[0], sizes[pairing[0]], seed ^ 1);
                    let second = bisect(w, &outer[1], sizes[pairing[2]], seed ^ 2);
                    let mut groups = vec![Vec::new(); 4];
                    for (slot, group) in pairing.iter().zip(first.into_iter().chain(second)) {
                        groups[*slot] = group;
                    }
                    groups
                })
                .collect();
            if features.len() <= SPECTRAL_MAX_FEATURES {
                candidates.extend(spectral_quadrants(w, features, sizes));
            }
            best_refined(w, candidates)
        }
        _ => best_refined(
            w,
            vec![grow_groups(
                w,
                features,
                sizes,
                start_candidates(w, features, seed)[0],
            )],
        ),
    }
}

/// Bisection into `first` features and the rest.
fn bisect(w: MatRef<'_, f64>, features: &[usize], first: usize, seed: u64) -> Vec<Vec<usize>> {
    if first == 0 || first == features.len() {
        let (a, b) = features.split_at(first);
        return vec![a.to_vec(), b.to_vec()];
    }
    let sizes = [first, features.len() - first];
    let mut candidates: Vec<Vec<Vec<usize>>> = start_candidates(w, features, seed)
        .into_iter()
        .map(|start| grow_groups(w, features, &sizes, start))
        .collect();
    if features.len() <= SPECTRAL_MAX_FEATURES {
        candidates.extend(spectral_bisection(w, features, first));
    }
    best_refined(w, candidates)
}

/// Refines every candidate split (in parallel); the one cutting least wins
/// (ties: the first).
fn best_refined(w: MatRef<'_, f64>, candidates: Vec<Vec<Vec<usize>>>) -> Vec<Vec<usize>> {
    let refined: Vec<(f64, Vec<Vec<usize>>)> = candidates
        .into_par_iter()
        .map(|mut groups| {
            refine_swaps(w, &mut groups);
            (cut_weight(w, &groups), groups)
        })
        .collect();
    let mut best: Option<(f64, Vec<Vec<usize>>)> = None;
    for (cut, groups) in refined {
        if best.as_ref().is_none_or(|(b, _)| cut < *b) {
            best = Some((cut, groups));
        }
    }
    best.expect("at least one candidate").1
}

/// Largest set bisected spectrally (a dense eigendecomposition, O(n³)).
const SPECTRAL_MAX_FEATURES: usize = 1024;

/// The set's spectral embedding: the eigenvectors of its graph Laplacian for
/// the 2nd and 3rd smallest eigenvalues (columns 0 and 1 of the result).
fn spectral_embedding(w: MatRef<'_, f64>, features: &[usize]) -> Option<Mat<f64>> {
    let n = features.len();
    if n < 3 {
        return None;
    }
    let laplacian = Mat::from_fn(n, n, |i, j| {
        if i == j {
            features.iter().map(|&k| w[(features[i], k)]).sum()
        } else {
            -w[(features[i], features[j])]
        }
    });
    let eigen = laplacian.self_adjoint_eigen(faer::Side::Lower).ok()?;
    Some(Mat::from_fn(n, 2, |i, j| eigen.U()[(i, j + 1)]))
}

/// Members of `items` ranked by `key` (ties by value).
fn ranked(items: &[usize], key: &dyn Fn(usize) -> f64) -> Vec<usize> {
    let mut r = items.to_vec();
    r.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    r
}

/// Bisection by the Fiedler vector: the `first` features with the smallest
/// entries against the rest. Grid-like data gets straight cuts this way,
/// which greedy growth from one seed misses.
fn spectral_bisection(
    w: MatRef<'_, f64>,
    features: &[usize],
    first: usize,
) -> Option<Vec<Vec<usize>>> {
    let embedding = spectral_embedding(w, features)?;
    let order = ranked(&(0..features.len()).collect::<Vec<_>>(), &|k| {
        embedding[(k, 0)]
    });
    Some(vec![
        order[..first].iter().map(|&k| features[k]).collect(),
        order[first..].iter().map(|&k| features[k]).collect(),
    ])
}

/// Quadrant splits in the 2D spectral embedding, along axes at eight angles
/// (the 2nd and 3rd eigenvalues of a square grid coincide, so the embedding
/// may come rotated): halves by the first axis, then each half by the second.
fn spectral_quadrants(
    w: MatRef<'_, f64>,
    features: &[usize],
    sizes: &[usize],
) -> Vec<Vec<Vec<usize>>> {
    let Some(e) = spectral_embedding(w, features) else {
        return Vec::new();
    };
    let all: Vec<usize> = (0..features.len()).collect();
    (0..8)
        .map(|step| {
            let angle = std::f64::consts::PI * step as f64 / 8.0;
            let (c, s) = (angle.cos(), angle.sin());
            let u = |k: usize| c * e[(k, 0)] + s * e[(k, 1)];
            let v = |k: usize| -s * e[(k, 0)] + c * e[(k, 1)];
            let by_u = ranked(&all, &u);
            let (top, bottom) = by_u.split_at(sizes[0] + sizes[1]);
            let (top, bottom) = (ranked(top, &v), ranked(bottom, &v));
            let pick = |ks: &[usize]| ks.iter().map(|&k| features[k]).collect::<Vec<_>>();
            vec![
                pick(&top[..sizes[0]]),
                pick(&top[sizes[0]..]),
                pick(&bottom[..sizes[2]]),
                pick(&bottom[sizes[2]..]),
            ]
        })
        .collect()
}

/// Seeds for greedy growth: the most weakly attached feature (a periphery),
/// the feature least attached to that one (the other end), and two seeded picks.
fn start_candidates(w: MatRef<'_, f64>, features: &[usize], seed: u64) -> Vec<usize> {
    let strength = |i: usize| features.iter().map(|&j| w[(i, j)]).sum::<f64>();
    let weakest = *features
        .iter()
        .min_by(|&&a, &&b| strength(a).total_cmp(&strength(b)).then(a.cmp(&b)))
        .expect("non-empty");
    let farthest = *features
        .iter()
        .filter(|&&j| j != weakest)
        .min_by(|&&a, &&b| w[(weakest, a)].total_cmp(&w[(weakest, b)]).then(a.cmp(&b)))
        .unwrap_or(&weakest);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut starts = vec![weakest, farthest];
    starts.extend(features.choose_multiple(&mut rng, 2).copied());
    starts.dedup();
    starts
}

/// Greedy graph growing: fills groups one after another, each from the
/// remaining feature most attached to it (the first from `start`).
fn grow_groups(
    w: MatRef<'_, f64>,
    features: &[usize],
    sizes: &[usize],
    start: usize,
) -> Vec<Vec<usize>> {
    let mut remaining: Vec<usize> = features.to_vec();
    let mut groups = Vec::with_capacity(sizes.len());
    for (g, &size) in sizes.iter().enumerate() {
        if g == sizes.len() - 1 {
            groups.push(std::mem::take(&mut remaining));
            break;
        }
        let mut group = Vec::with_capacity(size);
        // Attachment of each remaining feature to the group minus to the rest.
        let rest_strength: Vec<f64> = remaining
            .iter()
            .map(|&i| remaining.iter().map(|&j| w[(i, j)]).sum())
            .collect();
        let mut gain: Vec<f64> = rest_strength.iter().map(|s| -s).collect();
        let first = if g == 0 {
            remaining.iter().position(|&f| f == start).unwrap_or(0)
        } else {
            argmax(&gain)
        };
        let mut pick = first;
        while group.len() < size {
            let chosen = remaining.swap_remove(pick);
            gain.swap_remove(pick);
            group.push(chosen);
            for (k, &i) in remaining.iter().enumerate() {
                gain[k] += 2.0 * w[(i, chosen)];
            }
            if group.len() < size {
                pick = argmax(&gain);
            }
        }
        groups.push(group);
    }
    groups
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = k;
        }
    }
    best
}

/// Relative size slacks tried by the single-move refinement (the result is
/// sensitive to it, so each is tried and the least cut kept).
const SLACKS: [f64; 3] = [0.0, 0.03, 0.1];
/// Swap moves tried per Kernighan–Lin pass (each costs O(n²)).
const KL_MOVES: usize = 48;
/// Largest arrangement whose root split's neighbours are completed as well.
/// Each completion costs about as much as the arrangement itself: at 1024
/// features the look-ahead made it 2.2–3.6 times slower for at most 0.01%.
const LOOKAHEAD_MAX_FEATURES: usize = 512;
/// Kernighan–Lin moves explored from the root split for its neighbours.
const LOOKAHEAD_MOVES: usize = 4;
/// How much more than the root split a neighbour may cut (relative).
const LOOKAHEAD_SLACK: f64 = 1e-3;

/// A k-way split under refinement: each member's group and its connection to
/// every group.
struct KWaySplit<'w> {
    w: MatRef<'w, f64>,
    ids: Vec<usize>,
    group_of: Vec<usize>,
    /// conn[x * k + g]: weight from member x to group g.
    conn: Vec<f64>,
    k: usize,
}

impl<'w> KWaySplit<'w> {
    fn new(w: MatRef<'w, f64>, groups: &[Vec<usize>]) -> Self {
        let k = groups.len();
        let (ids, group_of): (Vec<usize>, Vec<usize>) = groups
            .iter()
            .enumerate()
            .flat_map(|(g, f)| f.iter().map(move |&i| (i, g)))
            .unzip();
        let n = ids.len();
        let mut conn = vec![0.0; n * k];
        for x in 0..n {
            for y in 0..n {
                conn[x * k + group_of[y]] += w[(ids[x], ids[y])];
            }
        }
        KWaySplit {
            w,
            ids,
            group_of,
            conn,
            k,
        }
    }

    /// Decrease of the cut if members x and y (in different groups) trade groups.
    fn gain(&self, x: usize, y: usize) -> f64 {
        let (k, gx, gy) = (self.k, self.group_of[x], self.group_of[y]);
        self.conn[x * k + gy] - self.conn[x * k + gx] + self.conn[y * k + gx]
            - self.conn[y * k + gy]
            - 2.0 * self.w[(self.ids[x], self.ids[y])]
    }

    fn swap(&mut self, x: usize, y: usize) {
        let (k, gx, gy) = (self.k, self.group_of[x], self.group_of[y]);
        for z in 0..self.ids.len() {
            let (wx, wy) = (
                self.w[(self.ids[z], self.ids[x])],
                self.w[(self.ids[z], self.ids[y])],
            );
            self.conn[z * k + gx] += wy - wx;
            self.conn[z * k + gy] += wx - wy;
        }
        self.group_of.swap(x, y);
    }

    /// The swap of unlocked members x < y in different groups with the largest
    /// gain (ties to the smallest (x, y)). gain(x, y) = d_x + d_y − 2·w(x, y)
    /// with d the gain of moving one member alone and w ≥ 0, so with each
    /// group's members sorted by d the scan stops once d_x + d_y cannot reach
    /// the best gain found: near O(n log n) per call instead of O(n²).
    fn best_unlocked_swap(&self, locked: &[bool]) -> Option<(f64, usize, usize)> {
        let (n, k) = (self.ids.len(), self.k);
        // Round-off allowance between d_x + d_y and the gain's own sum.
        let slack = 1e-9
            * self
                .conn
                .iter()
                .fold(0.0f64, |m, c| m.max(c.abs()))
                .max(1.0);
        let mut best: Option<(f64, usize, usize)> = None;
        let better = |gain: f64, pair: (usize, usize), best: &Option<(f64, usize, usize)>| {
            best.is_none_or(|(g, x, y)| gain > g || (gain == g && pair < (x, y)))
        };
        for a in 0..k {
            for b in a + 1..k {
                // d of moving each unlocked member of a to b, and of b to a.
                let moving = |from: usize, to: usize| {
                    let mut d: Vec<(f64, usize)> = (0..n)
                        .filter(|&x| !locked[x] && self.group_of[x] == from)
                        .map(|x| (self.conn[x * k + to] - self.conn[x * k + from], x))
                        .collect();
                    d.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
                    d
                };
                let (from_a, from_b) = (moving(a, b), moving(b, a));
                let Some(&(top_b, _)) = from_b.first() else {
                    continue;
                };
                for &(dx, x) in &from_a {
                    let reachable = |best: &Option<(f64, usize, usize)>, bound: f64| {
                        best.is_none_or(|(g, _, _)| bound + slack >= g)
                    };
                    if !reachable(&best, dx + top_b) {
                        break;
                    }
                    for &(dy, y) in &from_b {
                        if !reachable(&best, dx + dy) {
                            break;
                        }
                        let pair = (x.min(y), x.max(y));
                        let gain = self.gain(pair.0, pair.1);
                        if better(gain, pair, &best) {
                            best = Some((gain, pair.0, pair.1));
                        }
                    }
                }
            }
        }
        best
    }

    /// Kernighan–Lin passes: take the best swap even when it loses, lock the
    /// pair, and keep the best prefix of the sequence, which climbs out of the
    /// local minima the greedy passes stop in.
    fn kernighan_lin(&mut self) {
        for _ in 0..MAX_PASSES {
            let (mut best_total, mut best_len, mut len) = (1e-12, 0, 0);
            let moves = self.locked_swaps(KL_MOVES, |_, total| {
                len += 1;
                if total > best_total {
                    best_total = total;
                    best_len = len;
                }
            });
            for &(x, y) in moves[best_len..].iter().rev() {
                self.swap(x, y);
            }
            if best_len == 0 {
                break;
            }
        }
    }

    /// One Kernighan–Lin sequence of at most `moves` swaps: the best swap
    /// each time, even when it loses, each member moved once. `after_each`
    /// sees the split and the total gain so far after every swap; returns the
    /// swaps made.
    fn locked_swaps(
        &mut self,
        moves: usize,
        mut after_each: impl FnMut(&Self, f64),
    ) -> Vec<(usize, usize)> {
        let n = self.ids.len();
        let mut locked = vec![false; n];
        let mut total = 0.0;
        let mut made = Vec::new();
        for _ in 0..moves.min(n / 2) {
            let Some((gain, x, y)) = self.best_unlocked_swap(&locked) else {
                break;
            };
            self.swap(x, y);
            locked[x] = true;
            locked[y] = true;
            made.push((x, y));
            total += gain;
            after_each(self, total);
        }
        made
    }

    /// The splits met along one Kernighan–Lin sequence from this one within
    /// LOOKAHEAD_MOVES swaps that cut at most LOOKAHEAD_SLACK (relative)
    /// more: the local minima next to this one, which a lower level may
    /// prefer.
    fn nearby_splits(mut self) -> Vec<Vec<Vec<usize>>> {
        let allowed = LOOKAHEAD_SLACK * self.cut();
        let mut nearby = Vec::new();
        self.locked_swaps(LOOKAHEAD_MOVES, |split, total| {
            if -total <= allowed {
                nearby.push(split.groups());
            }
        });
        nearby
    }

    /// Single moves with slack: members move to the group they are most
    /// attached to while every group stays within `slack` of its size, then
    /// the sizes are repaired exactly by the least-losing moves. Passing
    /// through unbalanced states escapes minima that size-keeping swaps
    /// cannot leave.
    fn moves_with_slack(&mut self, sizes: &[usize], slack: f64) {
        let (n, k) = (self.ids.len(), self.k);
        let mut count = vec![0usize; k];
        self.group_of.iter().for_each(|&g| count[g] += 1);
        let upper: Vec<usize> = sizes
            .iter()
            .map(|&s| s + ((s as f64 * slack).ceil() as usize).max(1))
            .collect();
        let lower: Vec<usize> = sizes
            .iter()
            .map(|&s| s.saturating_sub(((s as f64 * slack).ceil() as usize).max(1)))
            .collect();
        for _ in 0..MAX_PASSES {
            let mut moved = false;
            for x in 0..n {
                let gx = self.group_of[x];
                if count[gx] <= lower[gx] {
                    continue;
                }
                let best = (0..k)
                    .filter(|&g| g != gx && count[g] < upper[g])
                    .map(|g| (self.conn[x * k + g] - self.conn[x * k + gx], g))
                    .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
                if let Some((gain, g)) = best
                    && gain > 1e-12
                {
                    self.relocate(x, g);
                    count[gx] -= 1;
                    count[g] += 1;
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        // Exact sizes again: move the least-losing member of the most
        // oversized group to the most undersized one.
        while let Some(over) = (0..k)
            .filter(|&g| count[g] > sizes[g])
            .max_by_key(|&g| (count[g] - sizes[g], usize::MAX - g))
        {
            let under = (0..k)
                .filter(|&g| count[g] < sizes[g])
                .max_by_key(|&g| (sizes[g] - count[g], usize::MAX - g))
                .expect("sizes add up");
            let x = (0..n)
                .filter(|&x| self.group_of[x] == over)
                .max_by(|&a, &b| {
                    let gain = |x: usize| self.conn[x * k + under] - self.conn[x * k + over];
                    gain(a).total_cmp(&gain(b)).then(b.cmp(&a))
                })
                .expect("an oversized group has members");
            self.relocate(x, under);
            count[over] -= 1;
            count[under] += 1;
        }
    }

    /// Moves member x to group g.
    fn relocate(&mut self, x: usize, g: usize) {
        let (k, from) = (self.k, self.group_of[x]);
        for z in 0..self.ids.len() {
            let wx = self.w[(self.ids[z], self.ids[x])];
            self.conn[z * k + from] -= wx;
            self.conn[z * k + g] += wx;
        }
        self.group_of[x] = g;
    }

    /// Weight between groups.
    fn cut(&self) -> f64 {
        let k = self.k;
        (0..self.ids.len())
            .map(|x| {
                (0..k)
                    .filter(|&g| g != self.group_of[x])
                    .map(|g| self.conn[x * k + g])
                    .sum::<f64>()
            })
            .sum::<f64>()
            / 2.0
    }

    fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups = vec![Vec::new(); self.k];
        for (&id, &g) in self.ids.iter().zip(&self.group_of) {
            groups[g].push(id);
        }
        groups.iter_mut().for_each(|g| g.sort_unstable());
        groups
    }
}

/// Largest split refined by Kernighan–Lin (its passes cost O(KL_MOVES · n²)).
const KL_MAX_FEATURES: usize = 2048;

/// Refines a k-way split in place without changing the group sizes.
fn refine_swaps(w: MatRef<'_, f64>, groups: &mut [Vec<usize>]) {
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    let mut best: Option<(f64, Vec<Vec<usize>>)> = None;
    // Large splits (the top of a big tree) try no slack: each try costs O(n²) passes.
    let tries = if sizes.iter().sum::<usize>() <= SPECTRAL_MAX_FEATURES {
        SLACKS.len()
    } else {
        1
    };
    // The tries are independent: run in parallel, chosen in order.
    let start: &[Vec<usize>] = groups;
    let tried: Vec<(f64, Vec<Vec<usize>>)> = SLACKS[..tries]
        .par_iter()
        .map(|&slack| {
            let mut split = KWaySplit::new(w, start);
            if slack > 0.0 {
                split.moves_with_slack(&sizes, slack);
            }
            let n = split.ids.len();
            greedy_swaps(&mut split, 1e-12, || (0..n).collect());
            if n <= KL_MAX_FEATURES {
                split.kernighan_lin();
            }
            (split.cut(), split.groups())
        })
        .collect();
    for (cut, split) in tried {
        if best.as_ref().is_none_or(|(b, _)| cut < *b - 1e-12) {
            best = Some((cut, split));
        }
    }
    for (g, refined) in groups.iter_mut().zip(best.expect("slacks tried").1) {
        *g = refined;
    }
}

/// The objective's structure: the counted partitions (numbered compactly),
/// their coefficients 1 / (levels × partitions in the level), and for every
/// leaf position the counted nodes on its path from the root, top down.
struct Objective {
    coefficient: Vec<f64>,
    /// Leaf ranges of the counted nodes.
    ranges: Vec<std::ops::Range<usize>>,
    paths: Vec<Vec<usize>>,
}

impl Objective {
    fn new(tree: &CanonicalTree, levels: &[usize]) -> Self {
        let partitions = tree.canonical_partitions(levels);
        let mut coefficient = Vec::with_capacity(partitions.len());
        let mut ranges = Vec::with_capacity(partitions.len());
        let mut paths = vec![Vec::new(); tree.len()];
        // Depth-first (preorder) numbering keeps every path top down.
        let mut by_node: Vec<_> = partitions.iter().collect();
        by_node.sort_by_key(|p| p.node);
        for p in by_node {
            let count = partitions.iter().filter(|q| q.level == p.level).count();
            let index = coefficient.len();
            coefficient.push(1.0 / (levels.len() * count) as f64);
            ranges.push(p.leaves.clone());
            for leaf in p.leaves.clone() {
                paths[leaf].push(index);
            }
        }
        Objective {
            coefficient,
            ranges,
            paths,
        }
    }

    fn len(&self) -> usize {
        self.coefficient.len()
    }
}

/// Refines the order by swapping positions while that lowers
/// Σ_v c_v · cut(v) over the counted nodes v; returns that sum.
fn refine_globally(
    w: MatRef<'_, f64>,
    tree: &CanonicalTree,
    levels: &[usize],
    seed: u64,
    leaf_feature: &mut [usize],
) -> f64 {
    let mut placement = Placement::new(w, Objective::new(tree, levels), leaf_feature.to_vec());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut scan: Vec<usize> = (0..leaf_feature.len()).collect();
    let min_gain = placement.tolerance;
    greedy_swaps(&mut placement, min_gain, || {
        scan.shuffle(&mut rng);
        scan.clone()
    });
    leaf_feature.copy_from_slice(&placement.leaf_feature);
    placement.value()
}

/// Features placed on leaves, with the per-node affinity sums that make a
/// swap's effect on the objective an O(depth) computation.
struct Placement<'w> {
    w: MatRef<'w, f64>,
    objective: Objective,
    degree: Vec<f64>,
    /// affinity[x * nodes + v] = Σ_{j ∈ v} w(x, j) for the counted nodes v.
    affinity: Vec<f64>,
    leaf_feature: Vec<usize>,
    /// Gains below this are round-off.
    tolerance: f64,
}

impl<'w> Placement<'w> {
    fn new(w: MatRef<'w, f64>, objective: Objective, leaf_feature: Vec<usize>) -> Self {
        let n = leaf_feature.len();
        let nodes = objective.len();
        let degree: Vec<f64> = (0..n).map(|i| (0..n).map(|j| w[(i, j)]).sum()).collect();
        let mut affinity = vec![0.0; n * nodes];
        for (v, range) in objective.ranges.iter().enumerate() {
            for p in range.clone() {
                let j = leaf_feature[p];
                for x in 0..n {
                    affinity[x * nodes + v] += w[(x, j)];
                }
            }
        }
        let tolerance = MIN_GAIN * degree.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        Placement {
            w,
            objective,
            degree,
            affinity,
            leaf_feature,
            tolerance,
        }
    }

    /// The objective Σ_v c_v · cut(v): a feature x in v adds its degree less
    /// its affinity to v.
    fn value(&self) -> f64 {
        let nodes = self.objective.len();
        let mut total = 0.0;
        for (v, range) in self.objective.ranges.iter().enumerate() {
            let cut: f64 = self.leaf_feature[range.clone()]
                .iter()
                .map(|&x| self.degree[x] - self.affinity[x * nodes + v])
                .sum();
            total += self.objective.coefficient[v] * cut;
        }
        total
    }

    /// Change of the objective if the features at leaves p and q trade places.
    fn delta(&self, p: usize, q: usize) -> f64 {
        let (a, b) = (self.leaf_feature[p], self.leaf_feature[q]);
        swap_delta(
            &self.objective,
            &self.affinity,
            &self.degree,
            self.w[(a, b)],
            (a, p),
            (b, q),
        )
    }

    fn swap(&mut self, p: usize, q: usize) {
        let (a, b) = (self.leaf_feature[p], self.leaf_feature[q]);
        let (n, nodes) = (self.leaf_feature.len(), self.objective.len());
        // Nodes holding p but not q lose a and gain b; the other way round for q.
        for &v in only_in(&self.objective.paths[p], &self.objective.paths[q]) {
            for x in 0..n {
                self.affinity[x * nodes + v] += self.w[(x, b)] - self.w[(x, a)];
            }
        }
        for &v in only_in(&self.objective.paths[q], &self.objective.paths[p]) {
            for x in 0..n {
                self.affinity[x * nodes + v] += self.w[(x, a)] - self.w[(x, b)];
            }
        }
        self.leaf_feature.swap(p, q);
    }
}

impl SwapMoves for KWaySplit<'_> {
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn gain(&self, x: usize, y: usize) -> Option<f64> {
        (self.group_of[x] != self.group_of[y]).then(|| KWaySplit::gain(self, x, y))
    }
    fn swap(&mut self, x: usize, y: usize) {
        KWaySplit::swap(self, x, y)
    }
}

impl SwapMoves for Placement<'_> {
    fn len(&self) -> usize {
        self.leaf_feature.len()
    }
    fn gain(&self, p: usize, q: usize) -> Option<f64> {
        (p != q).then(|| -self.delta(p, q))
    }
    fn swap(&mut self, p: usize, q: usize) {
        Placement::swap(self, p, q)
    }
}

/// Something refined by swapping pairs of its members.
trait SwapMoves {
    fn len(&self) -> usize;
    /// How much swapping x and y improves things; `None` if not a move.
    fn gain(&self, x: usize, y: usize) -> Option<f64>;
    fn swap(&mut self, x: usize, y: usize);
}

/// Greedy passes: each member, in the order `scan` gives for the pass, takes
/// its best swap gaining more than `min_gain`; until a pass changes nothing.
fn greedy_swaps(
    moves: &mut (impl SwapMoves + Sync),
    min_gain: f64,
    mut scan: impl FnMut() -> Vec<usize>,
) {
    for _ in 0..MAX_PASSES {
        let mut improved = false;
        for x in scan() {
            if let Some(y) = best_swap(moves, x, min_gain) {
                moves.swap(x, y);
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
}

/// Members scanned per parallel task when looking for a swap partner.
const SWAP_SCAN_CHUNK: usize = 512;

/// The partner y of x with the largest gain above `min_gain` (ties: the
/// smallest y). Large scans are split among threads; each gain is computed
/// alone, so the choice is the same as a sequential scan's.
fn best_swap(moves: &(impl SwapMoves + Sync), x: usize, min_gain: f64) -> Option<usize> {
    let none = (min_gain, usize::MAX);
    let scan = |best: (f64, usize), y: usize| match moves.gain(x, y) {
        Some(gain) if gain > best.0 => (gain, y),
        _ => best,
    };
    let n = moves.len();
    let (_, y) = if n > SWAP_SCAN_CHUNK {
        (0..n)
            .into_par_iter()
            .with_min_len(SWAP_SCAN_CHUNK)
            .fold(|| none, scan)
            .reduce(
                || none,
                |a, b| {
                    if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
                        b
                    } else {
                        a
                    }
                },
            )
    } else {
        (0..n).fold(none, scan)
    };
    (y != usize::MAX).then_some(y)
}

/// The suffix of `path` below its common prefix with `other` (paths are top down).
fn only_in<'p>(path: &'p [usize], other: &[usize]) -> &'p [usize] {
    let common = path.iter().zip(other).take_while(|(a, b)| a == b).count();
    &path[common..]
}

/// Change of the objective if feature `a` (at leaf `p`) and feature `b`
/// (at leaf `q`) trade places.
fn swap_delta(
    objective: &Objective,
    affinity: &[f64],
    degree: &[f64],
    w_ab: f64,
    (a, p): (usize, usize),
    (b, q): (usize, usize),
) -> f64 {
    let nodes = objective.len();
    let mut delta = 0.0;
    for &v in only_in(&objective.paths[p], &objective.paths[q]) {
        // v loses a and gains b: cut(v) = Σ_{i∈v} degree(i) − 2 · internal weight.
        let inside = affinity[b * nodes + v] - w_ab - affinity[a * nodes + v];
        delta += objective.coefficient[v] * ((degree[b] - degree[a]) - 2.0 * inside);
    }
    for &v in only_in(&objective.paths[q], &objective.paths[p]) {
        let inside = affinity[a * nodes + v] - w_ab - affinity[b * nodes + v];
        delta += objective.coefficient[v] * ((degree[a] - degree[b]) - 2.0 * inside);
    }
    delta
}

/// The surrogate objective of an order: mean over levels of the per-level mean cut.
pub fn surrogate_objective(
    weights: MatRef<'_, f64>,
    tree: &CanonicalTree,
    levels: &[usize],
    order: &[usize],
) -> f64 {
    let n = tree.len();
    let permuted = Mat::from_fn(n, n, |i, j| weights[(order[i], order[j])]);
    let partitions = tree.canonical_partitions(levels);
    let cuts = crate::math::moments::surrogate_cuts(permuted.as_ref(), tree, &partitions);
    let mut total = 0.0;
    for &level in levels {
        let level_cuts: Vec<f64> = partitions
            .iter()
            .zip(&cuts)
            .filter(|(p, _)| p.level == level)
            .map(|(_, c)| *c)
            .collect();
        total += level_cuts.iter().sum::<f64>() / level_cuts.len() as f64;
    }
    total / levels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::moments::CoMoments;
    use crate::math::synthetic::smooth_field;
    use crate::math::tree::Grid;
    use faer::Par;
    use rand::Rng;

    fn tree(shape: &[usize]) -> CanonicalTree {
        CanonicalTree::new(Grid::new(shape.to_vec()).unwrap())
    }

    fn random_weights(n: usize, seed: u64) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut w = Mat::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..i {
                let v: f64 = rng.random();
                w[(i, j)] = v;
                w[(j, i)] = v;
            }
        }
        w
    }

    /// |correlation| of a smooth field whose features were shuffled by `perm`.
    fn field_weights(shape: &[usize], rows: usize, perm: &[usize]) -> Mat<f64> {
        let sample = smooth_field(rows, shape, 0.8, 5);
        let n = sample.features;
        let x = sample.as_ref();
        let shuffled = Mat::from_fn(rows, n, |r, j| x[(r, perm[j])]);
        let mut stats = CoMoments::new(n);
        stats.update(shuffled.as_ref(), Par::Seq);
        stats.correlation_weights()
    }

    #[test]
    fn parallel_swap_scan_chooses_as_the_sequential_one() {
        let n = 3 * SWAP_SCAN_CHUNK + 17;
        let random = random_weights(n, 9);
        // Coarse weights give equal gains, and uniform ones the same gain for
        // every partner, in every chunk: the smallest partner must still win.
        let coarse = Mat::from_fn(n, n, |i, j| (random[(i, j)] * 2.0).round());
        let uniform = Mat::from_fn(n, n, |i, j| if i == j { 0.0 } else { 1.0 });
        for w in [random, coarse, uniform] {
            // Uneven groups: the larger one's members span both halves of
            // the scan, so ties meet in the reduction.
            let groups: Vec<Vec<usize>> = (0..2)
                .map(|g| (0..n).filter(|x| usize::from(x % 3 == 0) == g).collect())
                .collect();
            let split = KWaySplit::new(w.as_ref(), &groups);
            for x in (0..n).step_by(97) {
                for min_gain in [f64::NEG_INFINITY, 0.0, 1e-12] {
                    let mut sequential = (min_gain, usize::MAX);
                    for y in 0..n {
                        if let Some(gain) = SwapMoves::gain(&split, x, y)
                            && gain > sequential.0
                        {
                            sequential = (gain, y);
                        }
                    }
                    let expected = (sequential.1 != usize::MAX).then_some(sequential.1);
                    assert_eq!(best_swap(&split, x, min_gain), expected, "x {x}");
                }
            }
        }
    }

    #[test]
    fn pruned_best_swap_equals_the_exhaustive_one() {
        for (n, k, seed) in [(24, 2, 1), (40, 4, 2), (33, 3, 3)] {
            let random = random_weights(n, seed);
            // Coarse weights too, so that equal gains occur and ties must
            // break as the exhaustive scan breaks them.
            let coarse = Mat::from_fn(n, n, |i, j| (random[(i, j)] * 4.0).round());
            for w in [random, coarse] {
                let groups: Vec<Vec<usize>> = (0..k)
                    .map(|g| {
                        (0..n)
                            .filter(|x| (x * 7 + seed as usize) % k == g)
                            .collect()
                    })
                    .collect();
                let split = KWaySplit::new(w.as_ref(), &groups);
                for lock_every in [0, 3, 5] {
                    let locked: Vec<bool> = (0..n)
                        .map(|x| lock_every > 0 && x % lock_every == 1)
                        .collect();
                    let mut exhaustive: Option<(f64, usize, usize)> = None;
                    for x in (0..n).filter(|&x| !locked[x]) {
                        for y in (x + 1..n)
                            .filter(|&y| !locked[y] && split.group_of[y] != split.group_of[x])
                        {
                            let gain = split.gain(x, y);
                            if exhaustive.is_none_or(|b| gain > b.0) {
                                exhaustive = Some((gain, x, y));
                            }
                        }
                    }
                    assert_eq!(
                        split.best_unlocked_swap(&locked),
                        exhaustive,
                        "n {n}, k {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn swap_delta_matches_the_objective() {
        let t = tree(&[6, 5]);
        let levels = t.default_levels();
        let w = rounded_weights(random_weights(30, 1).as_ref());
        let objective = Objective::new(&t, &levels);
        let mut leaf_feature: Vec<usize> = (0..30).rev().collect();
        let order_of = |lf: &[usize]| {
            let mut order = vec![0; 30];
            for (p, &f) in lf.iter().enumerate() {
                order[t.leaf_order()[p]] = f;
            }
            order
        };
        let nodes = objective.len();
        let mut affinity = vec![0.0; 30 * nodes];
        for (v, range) in objective.ranges.iter().enumerate() {
            for p in range.clone() {
                for x in 0..30 {
                    affinity[x * nodes + v] += w[(x, leaf_feature[p])];
                }
            }
        }
        let degree: Vec<f64> = (0..30).map(|i| (0..30).map(|j| w[(i, j)]).sum()).collect();
        let before = surrogate_objective(w.as_ref(), &t, &levels, &order_of(&leaf_feature));
        for (p, q) in [(0, 29), (3, 4), (10, 22), (7, 8)] {
            let (a, b) = (leaf_feature[p], leaf_feature[q]);
            let delta = swap_delta(&objective, &affinity, &degree, w[(a, b)], (a, p), (b, q));
            leaf_feature.swap(p, q);
            let after = surrogate_objective(w.as_ref(), &t, &levels, &order_of(&leaf_feature));
            leaf_feature.swap(p, q);
            assert!(
                (after - before - delta).abs() < 1e-9,
                "swap {p},{q}: {delta} vs {}",
                after - before
            );
        }
        let _ = &mut leaf_feature;
    }

    #[test]
    fn exact_split_keeps_sizes_and_separates_clusters() {
        // Two cliques {0..5} and {5..12} joined weakly.
        let w = Mat::from_fn(12, 12, |i, j| {
            if i == j {
                0.0
            } else if (i < 5) == (j < 5) {
                0.9
            } else {
                0.05
            }
        });
        let features: Vec<usize> = (0..12).collect();
        let groups = split_exact(w.as_ref(), &features, &[5, 7], 0);
        assert_eq!(groups[0], vec![0, 1, 2, 3, 4]);
        let groups = split_exact(w.as_ref(), &features, &[3, 3, 3, 3], 0);
        assert!(groups.iter().all(|g| g.len() == 3));
        let mut all: Vec<usize> = groups.concat();
        all.sort_unstable();
        assert_eq!(all, features);
    }

    #[test]
    fn arrangement_recovers_local_structure() {
        for shape in [vec![64], vec![8, 8]] {
            let n: usize = shape.iter().product();
            let t = tree(&shape);
            let levels = t.default_levels();
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
            let w = field_weights(&shape, 3000, &perm);
            let shuffled =
                surrogate_objective(w.as_ref(), &t, &levels, &(0..n).collect::<Vec<_>>());
            // The natural order of the field, expressed in shuffled indices.
            let mut natural = vec![0; n];
            for (j, &p) in perm.iter().enumerate() {
                natural[p] = j;
            }
            let natural_cost = surrogate_objective(w.as_ref(), &t, &levels, &natural);
            let order = arrange(w.as_ref(), &t, &levels, 0);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
            let arranged = surrogate_objective(w.as_ref(), &t, &levels, &order);
            assert!(
                arranged <= natural_cost * 1.001,
                "{shape:?}: arranged {arranged} vs natural {natural_cost}"
            );
            assert!(
                natural_cost < shuffled && arranged < shuffled,
                "{shape:?}: arranged {arranged} vs shuffled {shuffled}"
            );
            assert_eq!(order, arrange(w.as_ref(), &t, &levels, 0), "deterministic");
        }
    }
}
