//! Streamed co-moments of the features over all rows, and the surrogate
//! entanglement built from them (docs/conventions.md#co-moments).
//!
//! Each batch contributes its own mean and centred cross-product matrix (a
//! GEMM), merged with Chan's pairwise update, so the result does not depend on
//! raw sums of x and x·y and differently split inputs agree to round-off.

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, ContiguousFwd, Mat, MatRef, Par};
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::math::exact_moments::ExactCoMoments;
use crate::math::tree::{CanonicalTree, Grid, Partition};

/// Count, means, co-moment matrix Σ (x − mean)(x − mean)ᵀ and ranges of N features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoMoments {
    count: f64,
    mean: Vec<f64>,
    #[serde(with = "square_matrix")]
    comoment: Mat<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Centred rows of the batch being added (not part of the state).
    #[serde(skip)]
    workspace: Vec<f64>,
}

/// A batch of rows in the layout [`CoMoments::update`] reads in place.
enum Batch<'a> {
    Rows(MatRef<'a, f64, usize, usize, isize, ContiguousFwd>),
    Columns(Vec<&'a [f64]>),
}

/// Elements of centred values [`CoMoments::update`] holds at a time (2 MiB):
/// large enough for the product to run at full speed, small enough to stay in cache.
const CENTRING_CHUNK_ELEMENTS: usize = 1 << 18;

impl CoMoments {
    pub fn new(features: usize) -> Self {
        CoMoments {
            count: 0.0,
            mean: vec![0.0; features],
            comoment: Mat::zeros(features, features),
            min: vec![f64::INFINITY; features],
            max: vec![f64::NEG_INFINITY; features],
            workspace: Vec::new(),
        }
    }

    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Number of rows seen.
    pub fn count(&self) -> u64 {
        self.count as u64
    }

    /// Adds a batch: `batch` is rows × N, in any layout (row-major blocks,
    /// such as list columns, are read row by row, column-major ones column by
    /// column, others copied first).
    pub fn update(&mut self, batch: MatRef<'_, f64>, par: Par) {
        if let Some(rows) = batch.try_as_row_major() {
            return self.add(Batch::Rows(rows), par);
        }
        let copy;
        let batch = match batch.try_as_col_major() {
            Some(batch) => batch,
            None => {
                copy = batch.to_owned();
                copy.as_ref()
                    .try_as_col_major()
                    .expect("a Mat is column-major")
            }
        };
        let columns = (0..batch.ncols())
            .map(|j| batch.col(j).as_slice())
            .collect();
        self.add(Batch::Columns(columns), par);
    }

    /// Adds a batch given as one slice per feature, all of the same length
    /// (a wide table's columns, read in place).
    pub fn update_columns(&mut self, columns: &[&[f64]], par: Par) {
        self.add(Batch::Columns(columns.to_vec()), par);
    }

    fn add(&mut self, batch: Batch<'_>, par: Par) {
        let n = self.features();
        let rows = match &batch {
            Batch::Rows(m) => {
                assert_eq!(m.ncols(), n);
                m.nrows()
            }
            Batch::Columns(columns) => {
                assert_eq!(columns.len(), n);
                let rows = columns.first().map_or(0, |c| c.len());
                assert!(columns.iter().all(|c| c.len() == rows));
                rows
            }
        };
        if rows == 0 {
            return;
        }
        let mut block = CoMoments::new(n);
        block.count = rows as f64;
        match &batch {
            Batch::Rows(m) => block.ranges_and_means(0..n, rows, |i| m.row(i).as_slice()),
            Batch::Columns(columns) => block.ranges_and_means_by_columns(columns),
        }
        // Σ = Σ_chunks Cᵀ·C over chunks of centred rows, held in a reused
        // workspace of CENTRING_CHUNK_ELEMENTS (a whole centred copy of a large
        // batch would cost as much in page faults as the product itself).
        let chunk_rows = (CENTRING_CHUNK_ELEMENTS / n).max(1);
        let mut workspace = std::mem::take(&mut self.workspace);
        workspace.resize(chunk_rows.min(rows) * n, 0.0);
        for start in (0..rows).step_by(chunk_rows) {
            let len = chunk_rows.min(rows - start);
            let chunk = &mut workspace[..len * n];
            // `centred` views the chunk as N × len either way.
            let centred = match &batch {
                Batch::Rows(m) => {
                    // Row i of the batch becomes column i: contiguous copies.
                    for (i, out) in chunk.chunks_exact_mut(n).enumerate() {
                        let row = m.row(start + i).as_slice();
                        for ((c, &v), &mean) in out.iter_mut().zip(row).zip(&block.mean) {
                            *c = v - mean;
                        }
                    }
                    MatRef::from_column_major_slice(chunk, n, len)
                }
                Batch::Columns(columns) => {
                    for ((out, column), &mean) in
                        chunk.chunks_exact_mut(len).zip(columns).zip(&block.mean)
                    {
                        for (c, &v) in out.iter_mut().zip(&column[start..start + len]) {
                            *c = v - mean;
                        }
                    }
                    MatRef::from_row_major_slice(chunk, n, len)
                }
            };
            // Σ is symmetric: only its lower triangle is computed (half the
            // flops) and mirrored below.
            triangular::matmul(
                block.comoment.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Add,
                centred,
                BlockStructure::Rectangular,
                centred.transpose(),
                BlockStructure::Rectangular,
                1.0,
                par,
            );
        }
        self.workspace = workspace;
        for j in 0..n {
            for i in 0..j {
                block.comoment[(i, j)] = block.comoment[(j, i)];
            }
        }
        self.merge(&block);
    }

    /// Sets mean, min and max from columns, eight at a time so that the sums
    /// run as independent chains (as they do by rows).
    fn ranges_and_means_by_columns(&mut self, columns: &[&[f64]]) {
        const GROUP: usize = 8;
        let rows = columns.first().map_or(0, |c| c.len());
        for (g, group) in columns.chunks(GROUP).enumerate() {
            let first = g * GROUP;
            self.ranges_and_means(first..first + group.len(), rows, |i| {
                let mut row = [0.0; GROUP];
                for (v, column) in row.iter_mut().zip(group) {
                    *v = column[i];
                }
                row
            });
        }
    }

    /// Sets mean, min and max of the features in `features` from their values
    /// row by row (`row(i)` yields at least `features.len()` values). The mean
    /// is two-pass: the correction removes most of the round-off of the plain
    /// sum when the offset dwarfs the spread. Every layout sums in row order,
    /// so the means do not depend on it.
    fn ranges_and_means<R: AsRef<[f64]>>(
        &mut self,
        features: Range<usize>,
        rows: usize,
        row: impl Fn(usize) -> R,
    ) {
        let min = &mut self.min[features.clone()];
        let max = &mut self.max[features.clone()];
        let mut rough = vec![0.0; features.len()];
        for i in 0..rows {
            for (j, &v) in row(i).as_ref().iter().take(features.len()).enumerate() {
                rough[j] += v;
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        rough.iter_mut().for_each(|s| *s /= rows as f64);
        let mut correction = vec![0.0; features.len()];
        for i in 0..rows {
            for ((s, &v), &r) in correction.iter_mut().zip(row(i).as_ref()).zip(&rough) {
                *s += v - r;
            }
        }
        for ((mean, r), c) in self.mean[features].iter_mut().zip(rough).zip(correction) {
            *mean = r + c / rows as f64;
        }
    }

    /// Chan's update: merges another set of co-moments into this one.
    pub fn merge(&mut self, other: &CoMoments) {
        assert_eq!(self.features(), other.features());
        if other.count == 0.0 {
            return;
        }
        if self.count == 0.0 {
            let workspace = std::mem::take(&mut self.workspace);
            *self = other.clone();
            self.workspace = workspace;
            return;
        }
        let n = self.features();
        let total = self.count + other.count;
        let delta: Vec<f64> = (0..n).map(|j| other.mean[j] - self.mean[j]).collect();
        let factor = self.count * other.count / total;
        for j in 0..n {
            for i in 0..n {
                self.comoment[(i, j)] += other.comoment[(i, j)] + factor * delta[i] * delta[j];
            }
            self.mean[j] += delta[j] * other.count / total;
            self.min[j] = self.min[j].min(other.min[j]);
            self.max[j] = self.max[j].max(other.max[j]);
        }
        self.count = total;
    }

    /// Whether feature `j` is constant (min equals max) over the rows seen.
    pub fn is_constant(&self, j: usize) -> bool {
        self.min[j] == self.max[j]
    }

    /// The surrogate weights w_ij = |Pearson correlation|, N × N with a zero
    /// diagonal; a constant feature gets weight 0.
    pub fn correlation_weights(&self) -> Mat<f64> {
        let n = self.features();
        let scale: Vec<f64> = (0..n)
            .map(|j| {
                let var = self.comoment[(j, j)];
                if self.is_constant(j) || var <= 0.0 {
                    0.0
                } else {
                    1.0 / var.sqrt()
                }
            })
            .collect();
        Mat::from_fn(n, n, |i, j| {
            if i == j {
                0.0
            } else {
                let w = (self.comoment[(i, j)] * scale[i] * scale[j]).abs();
                // Round-off can push |r| a hair above 1.
                if w.is_finite() { w.min(1.0) } else { 0.0 }
            }
        })
    }
}

/// The dense co-moments a summary keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DenseMoments {
    /// Floating point, merged with Chan's update: one process reading its
    /// rows in a fixed order (the CLI's scan).
    Streamed(CoMoments),
    /// Exact integer sums: engine aggregates, whose partial states are split
    /// and merged in whatever way the engine chooses.
    Exact(ExactCoMoments),
}

impl DenseMoments {
    /// Bytes that moments of `features` features take at most, workspaces
    /// included (for a memory reservation made before allocating).
    pub fn size_for(features: usize, exact: bool) -> usize {
        if exact {
            ExactCoMoments::size_for(features)
        } else {
            8 * (features.saturating_mul(features)
                + 3 * features
                + CENTRING_CHUNK_ELEMENTS.max(features))
        }
    }

    /// Rows added.
    pub fn count(&self) -> u64 {
        match self {
            DenseMoments::Streamed(m) => m.count(),
            DenseMoments::Exact(m) => m.count(),
        }
    }

    /// Whether a decoded state is whole (every part sized for its features).
    pub fn is_consistent(&self) -> bool {
        match self {
            DenseMoments::Streamed(m) => {
                let n = m.features();
                m.min.len() == n
                    && m.max.len() == n
                    && m.comoment.nrows() == n
                    && m.count >= 0.0
                    && m.count.fract() == 0.0
            }
            DenseMoments::Exact(m) => m.is_consistent(),
        }
    }

    /// Empty moments of `features` features, exact or streamed.
    pub fn new(features: usize, exact: bool) -> Self {
        if exact {
            DenseMoments::Exact(ExactCoMoments::new(features))
        } else {
            DenseMoments::Streamed(CoMoments::new(features))
        }
    }

    pub fn features(&self) -> usize {
        match self {
            DenseMoments::Streamed(m) => m.features(),
            DenseMoments::Exact(m) => m.features(),
        }
    }

    pub fn is_constant(&self, j: usize) -> bool {
        match self {
            DenseMoments::Streamed(m) => m.is_constant(j),
            DenseMoments::Exact(m) => m.is_constant(j),
        }
    }

    pub fn correlation_weights(&self) -> Mat<f64> {
        match self {
            DenseMoments::Streamed(m) => m.correlation_weights(),
            DenseMoments::Exact(m) => m.correlation_weights(),
        }
    }

    /// Bytes of the state.
    pub fn size(&self) -> usize {
        match self {
            DenseMoments::Streamed(m) => {
                8 * (m.features().pow(2) + 3 * m.features() + m.workspace.capacity())
            }
            DenseMoments::Exact(m) => m.size(),
        }
    }

    /// Adds a batch, rows × N in any layout.
    pub fn update(&mut self, batch: MatRef<'_, f64>, par: Par) {
        match self {
            DenseMoments::Streamed(m) => m.update(batch, par),
            DenseMoments::Exact(m) => m.update(batch, par),
        }
    }

    /// Adds a batch given as one slice per feature.
    pub fn update_columns(&mut self, columns: &[&[f64]], par: Par) {
        match self {
            DenseMoments::Streamed(m) => m.update_columns(columns, par),
            DenseMoments::Exact(m) => m.update_columns(columns, par),
        }
    }

    /// Merges moments of the same kind; `None` when the kinds differ.
    pub fn merge(&mut self, other: DenseMoments) -> Option<()> {
        match (self, other) {
            (DenseMoments::Streamed(a), DenseMoments::Streamed(b)) => a.merge(&b),
            (DenseMoments::Exact(a), DenseMoments::Exact(b)) => a.merge(b),
            _ => return None,
        }
        Some(())
    }
}

/// A square matrix as its column-major values (partial states travel between
/// processes in this form).
mod square_matrix {
    use faer::Mat;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    pub fn serialize<S: Serializer>(m: &Mat<f64>, s: S) -> Result<S::Ok, S::Error> {
        let values: Vec<f64> = (0..m.ncols())
            .flat_map(|j| m.col(j).iter().copied().collect::<Vec<_>>())
            .collect();
        values.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Mat<f64>, D::Error> {
        let values = Vec::<f64>::deserialize(d)?;
        let n = values.len().isqrt();
        if n * n != values.len() {
            return Err(D::Error::custom("co-moment matrix is not square"));
        }
        Ok(Mat::from_fn(n, n, |i, j| values[j * n + i]))
    }
}

/// The weight each canonical partition cuts (its surrogate entanglement),
/// however the weights are held.
pub trait SurrogateCuts: Sync {
    /// One cut per partition, Σ_{i∈K, j∉K} w_ij.
    fn cuts(&self, tree: &CanonicalTree, partitions: &[Partition]) -> Vec<f64>;
    /// The seam score (docs/conventions.md#placement-and-seams): Σ w_gh over
    /// grid-adjacent positions g, h.
    fn seams(&self, grid: &Grid) -> f64;
}

/// Dense weights in selection (row-major grid) order.
impl SurrogateCuts for MatRef<'_, f64> {
    fn cuts(&self, tree: &CanonicalTree, partitions: &[Partition]) -> Vec<f64> {
        surrogate_cuts(*self, tree, partitions)
    }
    fn seams(&self, grid: &Grid) -> f64 {
        seam_score(grid, |g, h| self[(g, h)])
    }
}

/// The seam score of weights given between grid positions: the sum of
/// `weight(g, h)` over grid-adjacent g, h, which the overlapping kernels of
/// a CNN or the steps of a sequence model see.
pub fn seam_score(grid: &Grid, weight: impl Fn(usize, usize) -> f64) -> f64 {
    grid.adjacent_pairs().map(|(g, h)| weight(g, h)).sum()
}

/// Fixed-point scale of the cut sums: weights in [0, 1] become integers
/// (2^-62 ≈ 2e-19 each) whose sum does not depend on the order of the terms.
/// 2^62 keeps every weight within i64, whose conversion is one instruction
/// (f64 to u128 is a library call, a sixth of the tile pass).
const CUT_SCALE: f64 = 4_611_686_018_427_387_904.0; // 2^62

/// A weight in [0, 1] in the fixed point of the cut sums.
#[inline]
pub fn fixed_weight(w: f64) -> u128 {
    debug_assert!(w <= 1.0 + 1e-12, "a |correlation|, got {w}");
    (w.max(0.0) * CUT_SCALE) as i64 as u128
}

/// A fixed-point sum of weights as a number.
pub fn from_fixed(sum: u128) -> f64 {
    sum as f64 / CUT_SCALE
}

/// Surrogate entanglement of each partition: the weight it cuts,
/// Σ_{i∈K, j∉K} w_ij, with `weights` indexed in selection (row-major grid) order.
/// Summed exactly in fixed point, so that a cut's bits depend on the sets
/// alone, not on the order of the features (a placement reorders them).
pub fn surrogate_cuts(
    weights: MatRef<'_, f64>,
    tree: &CanonicalTree,
    partitions: &[Partition],
) -> Vec<f64> {
    let n = tree.len();
    assert_eq!((weights.nrows(), weights.ncols()), (n, n));
    let order = tree.leaf_order();
    partitions
        .iter()
        .map(|p| {
            let inside = &order[p.leaves.clone()];
            let outside: Vec<usize> = order[..p.leaves.start]
                .iter()
                .chain(&order[p.leaves.end..])
                .copied()
                .collect();
            let fixed: u128 = inside
                .iter()
                .map(|&i| {
                    outside
                        .iter()
                        .map(|&j| fixed_weight(weights[(i, j)]))
                        .sum::<u128>()
                })
                .sum();
            from_fixed(fixed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::tree::Grid;

    fn data() -> Mat<f64> {
        Mat::from_fn(101, 4, |i, j| {
            let t = i as f64;
            match j {
                0 => (t * 0.37).sin() * 1e3 + 5e6,
                1 => 2.0 * (t * 0.37).sin() + 0.1 * (t * 1.3).cos(),
                2 => 7.0,
                _ => (t * 0.11).cos() - t * 0.01,
            }
        })
    }

    /// Two-pass Pearson correlation, the reference.
    fn pearson(x: MatRef<'_, f64>, a: usize, b: usize) -> f64 {
        let m = x.nrows() as f64;
        let mean = |j: usize| x.col(j).iter().sum::<f64>() / m;
        let (ma, mb) = (mean(a), mean(b));
        let cov: f64 = (0..x.nrows())
            .map(|i| (x[(i, a)] - ma) * (x[(i, b)] - mb))
            .sum();
        let va: f64 = (0..x.nrows()).map(|i| (x[(i, a)] - ma).powi(2)).sum();
        let vb: f64 = (0..x.nrows()).map(|i| (x[(i, b)] - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    #[test]
    fn streamed_correlation_matches_two_pass_and_ignores_splits() {
        let x = data();
        let mut whole = CoMoments::new(4);
        whole.update(x.as_ref(), Par::Seq);
        let mut split = CoMoments::new(4);
        for (lo, hi) in [(0, 1), (1, 40), (40, 41), (41, 101)] {
            let mut part = CoMoments::new(4);
            part.update(x.as_ref().subrows(lo, hi - lo), Par::Seq);
            split.merge(&part);
        }
        assert_eq!(whole.count(), 101);
        let (w1, w2) = (whole.correlation_weights(), split.correlation_weights());
        for (a, b) in [(0, 1), (0, 3), (1, 3)] {
            let r = pearson(x.as_ref(), a, b).abs();
            assert!((w1[(a, b)] - r).abs() < 1e-12 * r.max(1e-3), "{a},{b}");
            let (x, y) = (w1[(a, b)], w2[(a, b)]);
            // Relative agreement for real correlations; tiny ones to 1e-13 absolute.
            assert!(
                (x - y).abs() <= (1e-12 * x).max(1e-13),
                "{a},{b}: {x} vs {y}"
            );
        }
        // The constant feature gets weight zero, the diagonal is zero.
        assert!(whole.is_constant(2));
        assert!((0..4).all(|j| w1[(2, j)] == 0.0 && w1[(j, 2)] == 0.0 && w1[(j, j)] == 0.0));
    }

    #[test]
    fn every_layout_gives_the_same_moments() {
        // More rows than one centring chunk holds, so chunks are summed too.
        let (rows, n) = (CENTRING_CHUNK_ELEMENTS / 3 + 17, 3);
        let x = Mat::from_fn(rows, n, |i, j| {
            let t = i as f64;
            [
                (t * 0.001).sin() + 1e4,
                (t * 0.0013).cos() * t,
                (t * 0.7).sin(),
            ][j]
        });
        let row_major: Vec<f64> = (0..rows)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| x[(i, j)])
            .collect();
        let upside_down = Mat::from_fn(rows, n, |i, j| x[(rows - 1 - i, j)]);
        let layouts = [
            x.as_ref(),
            MatRef::from_row_major_slice(&row_major, rows, n),
            // Row stride -1: neither row- nor column-major.
            upside_down.as_ref().reverse_rows(),
        ];
        let moments: Vec<CoMoments> = layouts
            .iter()
            .map(|&m| {
                let mut c = CoMoments::new(n);
                c.update(m, Par::Seq);
                c
            })
            .collect();
        for c in &moments[1..] {
            assert_eq!(c.mean, moments[0].mean);
            assert_eq!((&c.min, &c.max), (&moments[0].min, &moments[0].max));
            for (i, j) in (0..n).flat_map(|i| (0..n).map(move |j| (i, j))) {
                let (a, b) = (c.comoment[(i, j)], moments[0].comoment[(i, j)]);
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "{i},{j}: {a} vs {b}"
                );
            }
        }
        let mean_of_0 = x.col(0).iter().sum::<f64>() / rows as f64;
        assert!((moments[0].mean[0] - mean_of_0).abs() < 1e-9);
    }

    #[test]
    fn cuts_sum_weights_across_the_partition() {
        let tree = CanonicalTree::new(Grid::new(vec![2, 2]).unwrap());
        // Weights are |correlations|, in [0, 1].
        let w = Mat::from_fn(4, 4, |i, j| {
            if i == j {
                0.0
            } else {
                (1 + i + j) as f64 / 8.0
            }
        });
        let partitions = tree.canonical_partitions(&[1]);
        let cuts = surrogate_cuts(w.as_ref(), &tree, &partitions);
        // Node {0}: 1+0+1=2 (to 1), 3 (to 2), 4 (to 3) -> (2+3+4) / 8.
        assert_eq!(cuts[0], 9.0 / 8.0);
        assert_eq!(cuts.len(), 4);
    }
}
