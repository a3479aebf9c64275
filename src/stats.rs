//! Streamed co-moments of the features over all rows, and the surrogate
//! entanglement built from them (SPEC §2).
//!
//! Each batch contributes its own mean and centred cross-product matrix (a
//! GEMM), merged with Chan's pairwise update, so the result does not depend on
//! raw sums of x and x·y and differently split inputs agree to round-off.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::{Deserialize, Serialize};

use crate::tree::{CanonicalTree, Partition};

/// Count, means, co-moment matrix Σ (x − mean)(x − mean)ᵀ and ranges of N features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoMoments {
    count: f64,
    mean: Vec<f64>,
    #[serde(with = "square_matrix")]
    comoment: Mat<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl CoMoments {
    pub fn new(features: usize) -> Self {
        CoMoments {
            count: 0.0,
            mean: vec![0.0; features],
            comoment: Mat::zeros(features, features),
            min: vec![f64::INFINITY; features],
            max: vec![f64::NEG_INFINITY; features],
        }
    }

    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Number of rows seen.
    pub fn count(&self) -> u64 {
        self.count as u64
    }

    /// Adds a batch: `batch` is rows × N (any strides).
    pub fn update(&mut self, batch: MatRef<'_, f64>, par: Par) {
        let (rows, n) = (batch.nrows(), batch.ncols());
        assert_eq!(n, self.features());
        if rows == 0 {
            return;
        }
        let mut mean = vec![0.0; n];
        let mut min = vec![f64::INFINITY; n];
        let mut max = vec![f64::NEG_INFINITY; n];
        let mut centred = Mat::<f64>::zeros(rows, n);
        for j in 0..n {
            let column = batch.col(j);
            // Two-pass mean: the correction term removes most of the
            // round-off of the plain sum when the offset dwarfs the spread.
            let rough = column.iter().sum::<f64>() / rows as f64;
            mean[j] = rough + column.iter().map(|&v| v - rough).sum::<f64>() / rows as f64;
            for (i, &v) in column.iter().enumerate() {
                centred[(i, j)] = v - mean[j];
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        let mut comoment = Mat::<f64>::zeros(n, n);
        matmul(
            comoment.as_mut(),
            Accum::Replace,
            centred.transpose(),
            centred.as_ref(),
            1.0,
            par,
        );
        self.merge(&CoMoments {
            count: rows as f64,
            mean,
            comoment,
            min,
            max,
        });
    }

    /// Chan's update: merges another set of co-moments into this one.
    pub fn merge(&mut self, other: &CoMoments) {
        assert_eq!(self.features(), other.features());
        if other.count == 0.0 {
            return;
        }
        if self.count == 0.0 {
            *self = other.clone();
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

/// Surrogate entanglement of each partition: the weight it cuts,
/// Σ_{i∈K, j∉K} w_ij, with `weights` indexed in selection (row-major grid) order.
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
            inside
                .iter()
                .map(|&i| outside.iter().map(|&j| weights[(i, j)]).sum::<f64>())
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Grid;

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
    fn cuts_sum_weights_across_the_partition() {
        let tree = CanonicalTree::new(Grid::new(vec![2, 2]).unwrap());
        let w = Mat::from_fn(4, 4, |i, j| if i == j { 0.0 } else { (1 + i + j) as f64 });
        let partitions = tree.canonical_partitions(&[1]);
        let cuts = surrogate_cuts(w.as_ref(), &tree, &partitions);
        // Node {0}: 1+0+1=2 (to 1), 3 (to 2), 4 (to 3) -> 2+3+4 = 9.
        assert_eq!(cuts[0], 9.0);
        assert_eq!(cuts.len(), 4);
    }
}
