//! Surrogate weights for many features (docs/conventions.md#scale).
//!
//! The dense route keeps N × N co-moments; near 20k features every such copy
//! is 3 GB. Beyond that the scan keeps the feature columns instead
//! ([`FeatureColumns`]), and correlations are computed blockwise, as GEMM
//! tiles of [`TILE`] × [`TILE`] features, never all at once:
//!
//! * [`strongest_neighbours`] keeps each feature's k largest |correlations|
//!   and returns their symmetric union as a sparse graph (O(N·k) memory);
//! * [`ordered_cuts`] sums, for a given feature order, the exact weight every
//!   canonical partition cuts (the surrogate profile), from all N² pairs.
//!
//! Both visit each unordered pair of tiles once. Accumulation order then
//! depends on thread scheduling, so per-feature sums are kept in fixed point
//! (integers add associatively): results are bit-identical run to run.

use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Choice;
use crate::math::moments::{SurrogateCuts, fixed_weight, from_fixed, seam_score};
use crate::math::tree::{CanonicalTree, Grid, Partition};

/// Features per side of a correlation tile (a 1024 × 1024 block is 8 MB).
pub const TILE: usize = 1024;

/// The values of every feature over all rows, column by column (the scan's
/// state when weights are sparse).
#[derive(Debug, Clone, Default)]
pub struct FeatureColumns {
    columns: Vec<Vec<f64>>,
}

impl FeatureColumns {
    pub fn new(features: usize) -> Self {
        FeatureColumns {
            columns: vec![Vec::new(); features],
        }
    }

    pub fn features(&self) -> usize {
        self.columns.len()
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Appends rows given as one slice per feature.
    pub fn extend_columns(&mut self, columns: &[&[f64]]) {
        assert_eq!(columns.len(), self.features());
        for (mine, theirs) in self.columns.iter_mut().zip(columns) {
            mine.extend_from_slice(theirs);
        }
    }

    /// Room for `rows` more rows in every column, reserved at once so that
    /// columns grow as [`Self::size_after`] says.
    pub fn reserve(&mut self, rows: usize) {
        for column in &mut self.columns {
            column.reserve(rows);
        }
    }

    /// Appends rows stored back to back (`values.len()` = rows × N).
    pub fn extend_rows(&mut self, values: &[f64]) {
        let n = self.features();
        self.reserve(values.len() / n.max(1));
        for row in values.chunks_exact(n) {
            for (column, &v) in self.columns.iter_mut().zip(row) {
                column.push(v);
            }
        }
    }

    /// Bytes the columns hold.
    pub fn size(&self) -> usize {
        8 * self.columns.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Bytes the columns hold at most once `more` rows are appended: a
    /// column grows as a `Vec` reserving them does.
    pub fn size_after(&self, more: usize) -> usize {
        8 * self
            .columns
            .iter()
            .map(|c| grown_capacity(c.capacity(), c.len() + more))
            .sum::<usize>()
    }

    /// The columns as given, one `Vec` per feature (to encode them).
    pub fn columns(&self) -> &[Vec<f64>] {
        &self.columns
    }

    /// Columns of equal length, as [`Self::columns`] gave them; `None` if
    /// their lengths differ.
    pub fn from_columns(columns: Vec<Vec<f64>>) -> Option<Self> {
        let rows = columns.first().map_or(0, Vec::len);
        columns
            .iter()
            .all(|c| c.len() == rows)
            .then_some(FeatureColumns { columns })
    }

    /// Appends another part's rows ([`Self::standardize`] reads the rows in
    /// a canonical order, so the order parts merge in does not matter).
    pub fn merge(&mut self, other: FeatureColumns) {
        for (mine, theirs) in self.columns.iter_mut().zip(other.columns) {
            mine.extend(theirs);
        }
    }

    /// Whether feature `j` is constant over the rows seen.
    pub fn is_constant(&self, j: usize) -> bool {
        let column = &self.columns[j];
        column.iter().all(|&v| v == column[0])
    }

    /// The rows sorted by their values: a row order that does not depend
    /// on how the rows were split into parts or in which order the parts
    /// arrived, so that sums over rows round the same way for any split.
    /// Rows compare by a hash of their bits first (one pass over the
    /// columns), then, on equal hashes, value by value.
    fn canonical_row_order(&self) -> Vec<usize> {
        let mut hashes = vec![0u64; self.rows()];
        for column in &self.columns {
            for (h, v) in hashes.iter_mut().zip(column) {
                *h = (h.rotate_left(5) ^ v.to_bits()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            }
        }
        let mut order: Vec<usize> = (0..self.rows()).collect();
        order.sort_unstable_by(|&a, &b| {
            hashes[a].cmp(&hashes[b]).then_with(|| {
                self.columns
                    .iter()
                    .map(|c| c[a].total_cmp(&c[b]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        order
    }

    /// Column j becomes (x_j − mean) / ‖x_j − mean‖, so that x_iᵀ x_j is the
    /// Pearson correlation; a constant feature becomes zeros (weight 0).
    /// Rows are taken in [`Self::canonical_row_order`].
    pub fn standardize(&self) -> Standardized {
        let (rows, n) = (self.rows(), self.features());
        let order = self.canonical_row_order();
        let mut data = Mat::<f64>::zeros(rows, n);
        let mut constant = Vec::new();
        for (j, column) in self.columns.iter().enumerate() {
            let out = data
                .col_mut(j)
                .try_as_col_major_mut()
                .expect("a Mat column");
            let out = out.as_slice_mut();
            let is_constant = self.is_constant(j);
            for (o, &r) in out.iter_mut().zip(&order) {
                *o = column[r];
            }
            let mean = out.iter().sum::<f64>() / rows as f64;
            let norm = out
                .iter()
                .map(|v| (v - mean) * (v - mean))
                .sum::<f64>()
                .sqrt();
            if is_constant || !(norm > 0.0 && norm.is_finite()) {
                out.fill(0.0);
                constant.push(j);
                continue;
            }
            for o in out.iter_mut() {
                *o = (*o - mean) / norm;
            }
        }
        Standardized { data, constant }
    }
}

/// The capacity of a `Vec<f64>` of capacity `capacity` after reserving
/// room for `needed` elements in all: at least doubled, as the standard
/// library grows it.
pub fn grown_capacity(capacity: usize, needed: usize) -> usize {
    if needed <= capacity {
        capacity
    } else {
        needed.max(capacity.saturating_mul(2)).max(4)
    }
}

/// How the surrogate weights are held: dense N × N co-moments, or the
/// feature columns for blockwise sparse weights (`--weights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weighting {
    /// Sparse above [`SPARSE_ABOVE`] features, dense otherwise.
    #[default]
    Auto,
    Dense,
    Sparse,
}

/// Features beyond which `Auto` weights are sparse.
pub const SPARSE_ABOVE: usize = 4096;
/// Default number of strongest neighbours kept per feature.
pub const DEFAULT_NEIGHBOURS: usize = 16;

impl Choice for Weighting {
    const ALL: &'static [Self] = &[Weighting::Auto, Weighting::Dense, Weighting::Sparse];

    fn name(self) -> &'static str {
        match self {
            Weighting::Auto => "auto",
            Weighting::Dense => "dense",
            Weighting::Sparse => "sparse",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Weighting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::deserialize_choice(deserializer)
    }
}

impl Weighting {
    /// Whether `features` features get sparse weights.
    pub fn is_sparse(self, features: usize) -> bool {
        match self {
            Weighting::Auto => features > SPARSE_ABOVE,
            Weighting::Dense => false,
            Weighting::Sparse => true,
        }
    }
}

/// Standardized columns (rows × N): dot products are correlations.
pub struct Standardized {
    data: Mat<f64>,
    /// Features with zero variance (all-zero columns, weight 0).
    pub constant: Vec<usize>,
}

impl Standardized {
    pub fn features(&self) -> usize {
        self.data.ncols()
    }

    pub fn as_ref(&self) -> MatRef<'_, f64> {
        self.data.as_ref()
    }

    /// |corr(i, j)| (0 on the diagonal), as the blockwise weights give it.
    pub fn weight(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 0.0;
        }
        let dot: f64 = self
            .data
            .col(i)
            .iter()
            .zip(self.data.col(j).iter())
            .map(|(a, b)| a * b)
            .sum();
        dot.abs().min(1.0)
    }
}

/// What [`visit_tile_pairs`] calls with each pair of tiles and their block.
type TileVisitor<'a> = dyn Fn(Range<usize>, Range<usize>, MatRef<'_, f64>) + Sync + 'a;

/// Calls `visit(I, J, block)` for every pair of tiles I ≤ J of the features
/// taken in `order` (position p holds feature `order[p]`) that `keep`
/// accepts, with block[(a, b)] = |corr(order[I.start + a], order[J.start + b])|
/// and a zero diagonal. Pairs run in parallel; each block is one GEMM.
fn visit_tile_pairs(
    x: MatRef<'_, f64>,
    order: &[usize],
    keep: &(dyn Fn(&Range<usize>, &Range<usize>) -> bool + Sync),
    visit: &TileVisitor<'_>,
) {
    let n = order.len();
    let tiles: Vec<Range<usize>> = (0..n).step_by(TILE).map(|s| s..(s + TILE).min(n)).collect();
    let pairs: Vec<(usize, usize)> = (0..tiles.len())
        .flat_map(|i| (i..tiles.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| keep(&tiles[i], &tiles[j]))
        .collect();
    let rows = x.nrows();
    pairs.into_par_iter().for_each_init(
        || {
            (
                Mat::<f64>::zeros(rows, TILE),
                Mat::<f64>::zeros(rows, TILE),
                Mat::<f64>::zeros(TILE, TILE),
            )
        },
        |(left, right, block), (i, j)| {
            let (ti, tj) = (tiles[i].clone(), tiles[j].clone());
            gather(x, &order[ti.clone()], left.as_mut());
            gather(x, &order[tj.clone()], right.as_mut());
            let mut out = block.as_mut().submatrix_mut(0, 0, ti.len(), tj.len());
            faer::linalg::matmul::matmul(
                out.as_mut(),
                Accum::Replace,
                left.as_ref().subcols(0, ti.len()).transpose(),
                right.as_ref().subcols(0, tj.len()),
                1.0,
                Par::Seq,
            );
            for b in 0..tj.len() {
                for a in 0..ti.len() {
                    let v = out[(a, b)].abs();
                    // Round-off can push |r| a hair above 1.
                    out[(a, b)] = if ti.start + a == tj.start + b {
                        0.0
                    } else {
                        v.min(1.0)
                    };
                }
            }
            visit(ti, tj, out.as_ref());
        },
    );
}

/// Copies the columns `features` of `x` into the first columns of `out`.
fn gather(x: MatRef<'_, f64>, features: &[usize], mut out: MatMut<'_, f64>) {
    for (k, &f) in features.iter().enumerate() {
        out.as_mut().col_mut(k).copy_from(x.col(f));
    }
}

/// Weights rounded to 1e-9, as the partitioner sees them (docs/conventions.md#rounded-weights).
pub fn rounded(w: f64) -> f64 {
    (w * 1e9).round() / 1e9
}

/// The k best (weight, neighbour) candidates of one feature: larger weight
/// first, ties to the smaller index; a strict order, so the kept set does not
/// depend on the order candidates arrive in.
#[derive(Debug, Clone)]
struct Strongest {
    kept: Vec<(f64, u32)>,
    capacity: usize,
    /// Position in `kept` of the worst candidate, once full.
    worst: usize,
}

impl Strongest {
    fn new(capacity: usize) -> Self {
        Strongest {
            kept: Vec::with_capacity(capacity),
            capacity,
            worst: 0,
        }
    }

    /// The candidates' order: `Greater` is better.
    fn rank(a: (f64, u32), b: (f64, u32)) -> std::cmp::Ordering {
        a.0.total_cmp(&b.0).then(b.1.cmp(&a.1))
    }

    fn offer(&mut self, weight: f64, neighbour: usize) {
        if self.kept.len() == self.capacity {
            // Most candidates lose by far; skip the rounding for them.
            if weight < self.kept[self.worst].0 - 1e-9 {
                return;
            }
            let candidate = (rounded(weight), neighbour as u32);
            if Self::rank(candidate, self.kept[self.worst]).is_le() {
                return;
            }
            self.kept[self.worst] = candidate;
        } else {
            self.kept.push((rounded(weight), neighbour as u32));
            if self.kept.len() < self.capacity {
                return;
            }
        }
        self.worst = (0..self.kept.len())
            .min_by(|&a, &b| Self::rank(self.kept[a], self.kept[b]))
            .expect("full");
    }
}

/// A symmetric weighted graph in compressed rows: the neighbours of feature
/// i are `targets[offsets[i]..offsets[i + 1]]` (ascending) with `weights`.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighbourGraph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
}

impl NeighbourGraph {
    /// The graph of undirected edges (i, j, w); each edge may appear in
    /// either direction, more than once (with the same weight).
    pub fn from_edges(n: usize, mut edges: Vec<(u32, u32, f64)>) -> Self {
        edges.retain(|e| e.0 != e.1 && e.2 > 0.0);
        let mut both: Vec<(u32, u32, f64)> = edges
            .iter()
            .flat_map(|&(i, j, w)| [(i, j, w), (j, i, w)])
            .collect();
        both.sort_unstable_by_key(|e| (e.0, e.1));
        both.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
        let mut offsets = vec![0; n + 1];
        for e in &both {
            offsets[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        NeighbourGraph {
            offsets,
            targets: both.iter().map(|e| e.1).collect(),
            weights: both.iter().map(|e| e.2).collect(),
        }
    }

    /// The graph of a dense weight matrix's nonzero entries.
    pub fn from_dense(w: MatRef<'_, f64>) -> Self {
        let n = w.nrows();
        let edges = (0..n)
            .flat_map(|j| (0..j).map(move |i| (i, j)))
            .filter(|&(i, j)| w[(i, j)] > 0.0)
            .map(|(i, j)| (i as u32, j as u32, w[(i, j)]))
            .collect();
        NeighbourGraph::from_edges(n, edges)
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of undirected edges.
    pub fn edges(&self) -> usize {
        self.targets.len() / 2
    }

    /// The neighbours of `i` and the weights to them.
    pub fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[i]..self.offsets[i + 1];
        self.targets[range.clone()]
            .iter()
            .zip(&self.weights[range])
            .map(|(&j, &w)| (j as usize, w))
    }

    /// The graph with every weight lowered by `tau` (edges left at 0 or
    /// below dropped).
    pub fn shrunk(&self, tau: f64) -> NeighbourGraph {
        let edges = (0..self.len())
            .flat_map(|i| {
                self.neighbours(i)
                    .map(move |(j, w)| (i as u32, j as u32, w - tau))
            })
            .collect();
        NeighbourGraph::from_edges(self.len(), edges)
    }

    /// The weight between i and j (0 if not neighbours).
    pub fn weight(&self, i: usize, j: usize) -> f64 {
        let range = self.offsets[i]..self.offsets[i + 1];
        match self.targets[range.clone()].binary_search(&(j as u32)) {
            Ok(k) => self.weights[range.start + k],
            Err(_) => 0.0,
        }
    }
}

/// Each feature's `k` strongest |correlations| (rounded to 1e-9), as the
/// symmetric union of the k-nearest-neighbour lists. Memory O(N·k) besides
/// one tile per thread.
pub fn strongest_neighbours(x: &Standardized, k: usize) -> NeighbourGraph {
    let identity: Vec<usize> = (0..x.features()).collect();
    let lists = NeighbourLists::new(&identity, k);
    visit_tile_pairs(x.as_ref(), &identity, &|_, _| true, &|ti, tj, block| {
        lists.add(ti, tj, block)
    });
    lists.into_graph()
}

/// Each feature's total weight Σ_j w_ij, in the fixed point of the cut sums
/// (exact, so the same whatever order the pairs came in).
pub type Degrees = Vec<u128>;

/// The k strongest neighbours, the exact surrogate cuts of `partitions` in
/// selection order and every feature's degree, from one pass over the tiles
/// (what `arrange` needs first: the graph to partition and the profile
/// before; the degrees spare the profile after most of its pass).
pub fn neighbours_and_cuts(
    x: &Standardized,
    k: usize,
    tree: &CanonicalTree,
    partitions: &[Partition],
) -> (NeighbourGraph, Vec<f64>, Degrees) {
    let by_leaf = tree.leaf_order();
    let lists = NeighbourLists::new(by_leaf, k);
    let sums = CutSums::new(tree, partitions);
    visit_tile_pairs(x.as_ref(), by_leaf, &|_, _| true, &|ti, tj, block| {
        lists.add(ti.clone(), tj.clone(), block);
        sums.add(ti, tj, block);
    });
    let (cuts, totals) = sums.cuts(partitions, None);
    let mut degrees = vec![0; by_leaf.len()];
    for (p, &feature) in by_leaf.iter().enumerate() {
        degrees[feature] = totals[p];
    }
    (lists.into_graph(), cuts, degrees)
}

/// Candidate lists filled from tiles whose position p holds `features[p]`.
struct NeighbourLists<'a> {
    features: &'a [usize],
    /// One list per position, in tiles.
    tiles: Vec<Mutex<Vec<Strongest>>>,
}

impl<'a> NeighbourLists<'a> {
    fn new(features: &'a [usize], k: usize) -> Self {
        let n = features.len();
        let k = k.min(n - 1).max(1);
        NeighbourLists {
            features,
            tiles: (0..n)
                .step_by(TILE)
                .map(|s| Mutex::new(vec![Strongest::new(k); TILE.min(n - s)]))
                .collect(),
        }
    }

    fn add(&self, ti: Range<usize>, tj: Range<usize>, block: MatRef<'_, f64>) {
        {
            let mut rows = self.tiles[ti.start / TILE].lock().expect("lock");
            for b in 0..tj.len() {
                let neighbour = self.features[tj.start + b];
                for (a, list) in rows.iter_mut().enumerate() {
                    list.offer(block[(a, b)], neighbour);
                }
            }
        }
        if ti != tj {
            let mut cols = self.tiles[tj.start / TILE].lock().expect("lock");
            for (b, list) in cols.iter_mut().enumerate() {
                for a in 0..ti.len() {
                    list.offer(block[(a, b)], self.features[ti.start + a]);
                }
            }
        }
    }

    fn into_graph(self) -> NeighbourGraph {
        let features = self.features;
        let edges = self
            .tiles
            .into_iter()
            .flat_map(|m| m.into_inner().expect("lock"))
            .enumerate()
            .flat_map(|(p, list)| {
                let i = features[p] as u32;
                list.kept.into_iter().map(move |(w, j)| (i, j, w))
            })
            .collect();
        NeighbourGraph::from_edges(features.len(), edges)
    }
}

/// Standardized columns taken in an order (`None`: selection order), as a
/// source of exact surrogate cuts.
pub struct OrderedColumns<'a> {
    pub columns: &'a Standardized,
    pub order: Option<&'a [usize]>,
    /// In selection order, the k-strongest-neighbour graph and the degrees
    /// are found in the same pass and kept here, if not there yet; in
    /// another order, the degrees (if there) spare most of the pass.
    pub cache: Option<PassCache<'a>>,
}

/// Where the first pass over the tiles leaves what later ones reuse.
#[derive(Clone, Copy)]
pub struct PassCache<'a> {
    pub neighbours: usize,
    pub graph: &'a OnceLock<NeighbourGraph>,
    pub degrees: &'a OnceLock<Degrees>,
}

impl SurrogateCuts for OrderedColumns<'_> {
    fn cuts(&self, tree: &CanonicalTree, partitions: &[Partition]) -> Vec<f64> {
        let degrees = self.cache.and_then(|c| c.degrees.get()).map(Vec::as_slice);
        match (self.order, self.cache) {
            (Some(order), _) => ordered_cuts(self.columns, order, tree, partitions, degrees),
            (None, Some(cache)) if cache.graph.get().is_none() => {
                let (graph, cuts, degrees) =
                    neighbours_and_cuts(self.columns, cache.neighbours, tree, partitions);
                let _ = cache.graph.set(graph);
                let _ = cache.degrees.set(degrees);
                cuts
            }
            (None, _) => {
                let identity: Vec<usize> = (0..self.columns.features()).collect();
                ordered_cuts(self.columns, &identity, tree, partitions, degrees)
            }
        }
    }
    fn seams(&self, grid: &Grid) -> f64 {
        let feature = |g: usize| self.order.map_or(g, |o| o[g]);
        seam_score(grid, |g, h| self.columns.weight(feature(g), feature(h)))
    }
}

/// Exact surrogate cuts Σ_{i∈K, j∉K} |corr_ij| of `partitions`, for the
/// features in `order` (`order[g]` = feature at row-major grid position g),
/// tile by tile. cut(K) = Σ_{i∈K} degree(i) − Σ_{i,j∈K} w_ij: given the
/// degrees, only the pairs inside a node of the shallowest level counted are
/// visited (half of all pairs in 1D, a quarter in 2D), with the same bits.
pub fn ordered_cuts(
    x: &Standardized,
    order: &[usize],
    tree: &CanonicalTree,
    partitions: &[Partition],
    degrees: Option<&[u128]>,
) -> Vec<f64> {
    assert_eq!(order.len(), tree.len());
    // Position p of the depth-first leaf order holds feature by_leaf[p].
    let by_leaf: Vec<usize> = tree.leaf_order().iter().map(|&g| order[g]).collect();
    let sums = CutSums::new(tree, partitions);
    let totals = degrees.map(|d| by_leaf.iter().map(|&f| d[f]).collect::<Vec<_>>());
    let shallowest = partitions.iter().map(|p| p.level).min();
    let nodes: Vec<Range<usize>> = match (degrees, shallowest) {
        (Some(_), Some(level)) => tree
            .level_nodes(level)
            .into_iter()
            .map(|v| tree.nodes()[v].leaves.clone())
            .collect(),
        _ => Vec::new(),
    };
    // The nodes (left to right) that a tile of positions overlaps.
    let overlapped = |t: &Range<usize>| {
        let first = nodes.partition_point(|r| r.end <= t.start);
        let end = nodes.partition_point(|r| r.start < t.end);
        first..end
    };
    let keep = |ti: &Range<usize>, tj: &Range<usize>| {
        if totals.is_none() {
            return true;
        }
        let (a, b) = (overlapped(ti), overlapped(tj));
        a.start < b.end && b.start < a.end
    };
    visit_tile_pairs(x.as_ref(), &by_leaf, &keep, &|ti, tj, block| {
        sums.add(ti, tj, block)
    });
    sums.cuts(partitions, totals).0
}

/// Per leaf position (tiles of positions in depth-first leaf order): the
/// total weight, and the weight inside its node at each level, in fixed point.
struct CutSums {
    levels: Vec<usize>,
    /// node_range[l][p]: the leaves of p's node at levels[l].
    node_range: Vec<Vec<Range<usize>>>,
    tiles: Vec<Mutex<PositionSums>>,
}

/// Fixed-point sums (see [`fixed_weight`]), exact whatever the order of the pairs.
struct PositionSums {
    total: Vec<u128>,
    inside: Vec<Vec<u128>>,
}

impl CutSums {
    fn new(tree: &CanonicalTree, partitions: &[Partition]) -> Self {
        let n = tree.len();
        let mut levels: Vec<usize> = partitions.iter().map(|p| p.level).collect();
        levels.sort_unstable();
        levels.dedup();
        let mut node_range = vec![vec![0..0; n]; levels.len()];
        for node in tree.nodes() {
            if let Ok(l) = levels.binary_search(&node.depth) {
                for p in node.leaves.clone() {
                    node_range[l][p] = node.leaves.clone();
                }
            }
        }
        let tiles = (0..n)
            .step_by(TILE)
            .map(|s| {
                let len = TILE.min(n - s);
                Mutex::new(PositionSums {
                    total: vec![0; len],
                    inside: vec![vec![0; levels.len()]; len],
                })
            })
            .collect();
        CutSums {
            levels,
            node_range,
            tiles,
        }
    }

    fn add(&self, ti: Range<usize>, tj: Range<usize>, block: MatRef<'_, f64>) {
        // Rows of ti read block's rows: transpose so every row is a contiguous column.
        let transposed = block.transpose().to_owned();
        self.add_rows(ti.clone(), tj.clone(), transposed.as_ref());
        if ti != tj {
            self.add_rows(tj, ti, block);
        }
    }

    /// Adds to positions `rows` their weights to positions `cols`, given as
    /// one column per row (weights[(c, r)]).
    fn add_rows(&self, rows: Range<usize>, cols: Range<usize>, weights: MatRef<'_, f64>) {
        let mut sums = self.tiles[rows.start / TILE].lock().expect("lock");
        let mut prefix = vec![0u128; cols.len() + 1];
        for (r, p) in rows.enumerate() {
            let column = weights.col(r);
            for c in 0..cols.len() {
                prefix[c + 1] = prefix[c] + fixed_weight(column[c]);
            }
            sums.total[r] += prefix[cols.len()];
            for (l, ranges) in self.node_range.iter().enumerate() {
                let node = &ranges[p];
                let (lo, hi) = (node.start.max(cols.start), node.end.min(cols.end));
                if lo < hi {
                    sums.inside[r][l] += prefix[hi - cols.start] - prefix[lo - cols.start];
                }
            }
        }
    }

    /// The cuts of `partitions`, and every position's total weight. With
    /// `totals` given (the degrees from an earlier pass), those are used and
    /// only the inside sums come from this pass.
    fn cuts(self, partitions: &[Partition], totals: Option<Vec<u128>>) -> (Vec<f64>, Vec<u128>) {
        let sums: Vec<PositionSums> = self
            .tiles
            .into_iter()
            .map(|m| m.into_inner().expect("lock"))
            .collect();
        let totals = totals.unwrap_or_else(|| sums.iter().flat_map(|s| s.total.clone()).collect());
        let inside = |p: usize, l: usize| sums[p / TILE].inside[p % TILE][l];
        let cuts = partitions
            .iter()
            .map(|part| {
                let l = self.levels.binary_search(&part.level).expect("a level");
                let cut: u128 = part.leaves.clone().map(|p| totals[p] - inside(p, l)).sum();
                from_fixed(cut)
            })
            .collect();
        (cuts, totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::moments::{CoMoments, surrogate_cuts};
    use crate::math::synthetic::smooth_field;
    use crate::math::tree::Grid;

    fn columns_of(x: MatRef<'_, f64>) -> FeatureColumns {
        let mut columns = FeatureColumns::new(x.ncols());
        let cols: Vec<Vec<f64>> = (0..x.ncols())
            .map(|j| x.col(j).iter().copied().collect())
            .collect();
        let slices: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        columns.extend_columns(&slices);
        columns
    }

    #[test]
    fn a_shrunk_graph_lowers_every_weight_and_drops_the_weakest() {
        let graph = NeighbourGraph::from_edges(3, vec![(0, 1, 0.5), (1, 2, 0.1), (0, 2, 0.3)]);
        let shrunk = graph.shrunk(0.2);
        assert_eq!(shrunk.len(), 3);
        assert!((shrunk.weight(0, 1) - 0.3).abs() < 1e-15);
        assert!((shrunk.weight(2, 0) - 0.1).abs() < 1e-15);
        assert_eq!(shrunk.weight(1, 2), 0.0);
        assert_eq!(shrunk.neighbours(1).count(), 1);
    }

    /// The dense weights of the same rows, by the streamed co-moments.
    fn dense_weights(x: MatRef<'_, f64>) -> Mat<f64> {
        let mut stats = CoMoments::new(x.ncols());
        stats.update(x, Par::Seq);
        stats.correlation_weights()
    }

    #[test]
    fn rows_and_columns_collect_the_same_values() {
        let x = smooth_field(25, &[7], 0.5, 1);
        let x = x.as_ref();
        let by_columns = columns_of(x);
        let mut by_rows = FeatureColumns::new(7);
        let (top, bottom) = (x.subrows(0, 10), x.subrows(10, 15));
        let row_major: Vec<f64> = (0..10)
            .flat_map(|r| (0..7).map(move |j| top[(r, j)]))
            .collect();
        by_rows.extend_rows(&row_major);
        let mut rest = columns_of(bottom);
        std::mem::swap(&mut rest, &mut by_rows);
        by_rows.merge(rest);
        // Rows 10.. then 0..10: correlations do not depend on row order.
        let (a, b) = (by_columns.standardize(), by_rows.standardize());
        assert_eq!(by_rows.rows(), 25);
        for i in 0..7 {
            for j in 0..7 {
                let dot = |s: &Standardized| s.as_ref().col(i).transpose() * s.as_ref().col(j);
                assert!((dot(&a) - dot(&b)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn neighbours_are_the_strongest_correlations() {
        // More features than one tile, with a constant feature.
        let n = TILE + 77;
        let sample = smooth_field(40, &[n], 0.8, 3);
        let mut x = sample.as_ref().to_owned();
        x.col_mut(5).fill(2.5);
        let dense = dense_weights(x.as_ref());
        let standardized = columns_of(x.as_ref()).standardize();
        assert_eq!(standardized.constant, vec![5]);
        let k = 6;
        let graph = strongest_neighbours(&standardized, k);
        for i in 0..n {
            // The k-th largest dense weight of row i.
            let mut row: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (rounded(dense[(i, j)]), j))
                .collect();
            row.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let kth = row[k - 1].0;
            let mine: Vec<(usize, f64)> = graph.neighbours(i).collect();
            assert!(mine.len() >= k.min(n - 1) || i == 5);
            for &(j, w) in &mine {
                assert!((w - dense[(i, j)]).abs() < 1e-8, "weight ({i}, {j})");
                assert_eq!(graph.weight(j, i), w, "symmetric");
            }
            // Every neighbour strictly stronger than the k-th is kept.
            for &(w, j) in row.iter().filter(|(w, _)| *w > kth + 1e-8) {
                assert!(graph.weight(i, j) > 0.0 || w == 0.0, "({i}, {j}) kept");
            }
        }
    }

    #[test]
    fn ordered_cuts_equal_the_dense_cuts() {
        for shape in [vec![TILE + 300], vec![40, 33]] {
            let n: usize = shape.iter().product();
            let sample = smooth_field(30, &shape, 0.6, 9);
            let x = sample.as_ref();
            let dense = dense_weights(x);
            let tree = CanonicalTree::new(Grid::new(shape.clone()).unwrap());
            let levels = tree.default_levels();
            let partitions = tree.canonical_partitions(&levels);
            // A scrambled order: feature at grid position g.
            let order: Vec<usize> = (0..n).map(|g| (g * 7919) % n).collect();
            let permuted = Mat::from_fn(n, n, |i, j| dense[(order[i], order[j])]);
            let expected = surrogate_cuts(permuted.as_ref(), &tree, &partitions);
            let standardized = columns_of(x).standardize();
            let cuts = ordered_cuts(&standardized, &order, &tree, &partitions, None);
            for (c, e) in cuts.iter().zip(&expected) {
                assert!((c - e).abs() <= 1e-8 * e.max(1.0), "{c} vs {e}");
            }
            // Bit-identical when run again (fixed-point sums).
            assert_eq!(
                cuts,
                ordered_cuts(&standardized, &order, &tree, &partitions, None)
            );
            // The first pass's degrees spare the pairs across the shallowest
            // nodes, with the same bits; and its own cuts are the identity's.
            let (_, first, degrees) = neighbours_and_cuts(&standardized, 8, &tree, &partitions);
            let identity: Vec<usize> = (0..n).collect();
            assert_eq!(
                first,
                ordered_cuts(&standardized, &identity, &tree, &partitions, None)
            );
            assert_eq!(
                cuts,
                ordered_cuts(&standardized, &order, &tree, &partitions, Some(&degrees))
            );
            let deeper = tree.canonical_partitions(&levels[1..]);
            assert_eq!(
                ordered_cuts(&standardized, &order, &tree, &deeper, None),
                ordered_cuts(&standardized, &order, &tree, &deeper, Some(&degrees)),
                "from level 2"
            );
        }
    }
}
