//! The feature map and the Gram matrices of sets of features.
//!
//! phi(x) = (cos(pi·theta·x), sin(pi·theta·x)), so one feature's Gram matrix is
//! the rank-2 matrix c cᵀ + s sᵀ, and the Gram matrix of a set of features is the
//! Hadamard product of theirs: G_K[a, b] = Π_{i∈K} (c_ia c_ib + s_ia s_ib). No
//! trigonometry runs in the M×M loops; the products run in a cache-friendly,
//! vectorised, parallel kernel that also multiplies into a given base matrix
//! (a parent's complement), which is how complements reuse the tree.
//!
//! Every product over a set of features multiplies them in one canonical
//! order (by their values, not their positions), so a node's Gram matrix and
//! explicit features have the same bits wherever the set sits in the order:
//! the placement of a node's children (docs/conventions.md#placement-and-seams)
//! leaves every entropy exact to the last bit.

use std::ops::Range;
use std::sync::Mutex;

use faer::{MatMut, MatRef};
use multiversion::multiversion;
use rayon::prelude::*;

/// Cosines and sines of pi·theta·x for every feature and sampled row, stored
/// feature by feature (in depth-first leaf order) so that a tree node's
/// features are one contiguous block.
#[derive(Debug, Clone)]
pub struct FeatureMap {
    rows: usize,
    features: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
    /// `rank[p]`: the place of the feature at position p in the canonical
    /// order, its column of values compared lexicographically.
    rank: Vec<usize>,
}

impl FeatureMap {
    /// Maps `columns[p]` (the values of the feature at leaf position `p`, one
    /// per row) with angle pi·theta·x.
    pub fn new<'a>(
        columns: impl ExactSizeIterator<Item = &'a [f64]>,
        rows: usize,
        theta: f64,
    ) -> Self {
        let columns: Vec<&[f64]> = columns.collect();
        let features = columns.len();
        let mut by_value: Vec<usize> = (0..features).collect();
        by_value.sort_by(|&a, &b| {
            let pairs = columns[a].iter().zip(columns[b]);
            pairs
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut rank = vec![0; features];
        for (r, &p) in by_value.iter().enumerate() {
            rank[p] = r;
        }
        let mut cos = Vec::with_capacity(rows * features);
        let mut sin = Vec::with_capacity(rows * features);
        let scale = std::f64::consts::PI * theta;
        for column in &columns {
            assert_eq!(
                column.len(),
                rows,
                "every feature column holds one value per row"
            );
            for &x in *column {
                let (s, c) = (scale * x).sin_cos();
                cos.push(c);
                sin.push(s);
            }
        }
        FeatureMap {
            rows,
            features,
            cos,
            sin,
            rank,
        }
    }

    /// The features of `ranges` in canonical order: the order every product
    /// over them uses (equal columns tie, and their factors are equal).
    pub fn canonical(&self, ranges: &[Range<usize>]) -> Vec<usize> {
        let mut features: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
        features.sort_unstable_by_key(|&p| self.rank[p]);
        features
    }

    /// The place of the feature at position `p` in the canonical order.
    pub fn rank(&self, p: usize) -> usize {
        self.rank[p]
    }

    /// Number of sampled rows M.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features N.
    pub fn features(&self) -> usize {
        self.features
    }

    fn cos_of(&self, feature: usize) -> &[f64] {
        &self.cos[feature * self.rows..(feature + 1) * self.rows]
    }

    fn sin_of(&self, feature: usize) -> &[f64] {
        &self.sin[feature * self.rows..(feature + 1) * self.rows]
    }

    /// The explicit feature vectors of a set of features: the M × 2^|K| matrix
    /// whose row m is ⊗_{i∈K} phi(x_i^m) (column-major), column bit t for the
    /// t-th feature of [`FeatureMap::canonical`]. Only for small sets.
    pub fn tensor_features(&self, ranges: &[Range<usize>]) -> faer::Mat<f64> {
        let count: usize = ranges.iter().map(|r| r.len()).sum();
        assert!(
            count < 31,
            "explicit feature vectors are only built for small sets"
        );
        let m = self.rows;
        let mut f = faer::Mat::<f64>::zeros(m, 1 << count);
        f.col_mut(0).fill(1.0);
        let mut width = 1;
        for feature in self.canonical(ranges) {
            let (c, s) = (self.cos_of(feature), self.sin_of(feature));
            for j in 0..width {
                for a in 0..m {
                    let v = f[(a, j)];
                    f[(a, j)] = v * c[a];
                    f[(a, width + j)] = v * s[a];
                }
            }
            width *= 2;
        }
        f
    }
}

/// A symmetric M × M matrix stored in full, column-major, contiguous (so faer
/// and rayon both see plain columns).
#[derive(Debug, Clone)]
pub struct SymmetricMatrix {
    n: usize,
    data: Vec<f64>,
}

impl SymmetricMatrix {
    pub fn zeros(n: usize) -> Self {
        SymmetricMatrix {
            n,
            data: vec![0.0; n * n],
        }
    }

    /// The storage, to be given back to a [`Buffers`] pool.
    pub fn into_buffer(self) -> Vec<f64> {
        self.data
    }

    pub fn dim(&self) -> usize {
        self.n
    }

    pub fn as_ref(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.data, self.n, self.n)
    }

    pub fn as_mut(&mut self) -> MatMut<'_, f64> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.n, self.n)
    }

    /// The n² entries, column after column.
    pub fn columns_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }
}

/// A pool of f64 buffers reused across partitions. Each M × M matrix is 8 MB
/// at M = 1000: allocated afresh, every one is faulted in page by page (and
/// zeroed by the kernel), which cost a tenth of a profile's time.
#[derive(Debug, Default)]
pub struct Buffers(Mutex<Vec<Vec<f64>>>);

impl Buffers {
    /// A buffer of `len` zeros.
    pub fn zeros(&self, len: usize) -> Vec<f64> {
        let mut buffer = self
            .0
            .lock()
            .expect("buffer pool")
            .pop()
            .unwrap_or_default();
        buffer.clear();
        buffer.resize(len, 0.0);
        buffer
    }

    /// An n × n matrix of zeros.
    pub fn matrix(&self, n: usize) -> SymmetricMatrix {
        SymmetricMatrix {
            n,
            data: self.zeros(n * n),
        }
    }

    pub fn give(&self, buffer: Vec<f64>) {
        self.0.lock().expect("buffer pool").push(buffer);
    }
}

/// `out = base ∘ Π_{i ∈ ranges} G_i` (base = all ones when `None`): the Gram
/// matrix of the features in `ranges`, Hadamard-multiplied into `base`.
///
/// Only the lower triangle is computed (then mirrored); columns run in
/// parallel; four features are multiplied per pass over a column so that the
/// column stays in registers/L1.
pub fn hadamard_gram(
    map: &FeatureMap,
    ranges: &[Range<usize>],
    base: Option<&SymmetricMatrix>,
    out: &mut SymmetricMatrix,
) {
    let m = map.rows;
    assert_eq!(out.n, m);
    let features = map.canonical(ranges);
    out.data
        .par_chunks_mut(m)
        .enumerate()
        .for_each(|(b, column)| {
            let column = &mut column[b..];
            match base {
                Some(base) => column.copy_from_slice(&base.data[b * m + b..(b + 1) * m]),
                None => column.fill(1.0),
            }
            let mut groups = features.chunks_exact(4);
            for group in &mut groups {
                let group: [usize; 4] = group.try_into().expect("chunks of four");
                let c = group.map(|i| &map.cos_of(i)[b..]);
                let s = group.map(|i| &map.sin_of(i)[b..]);
                let cb = group.map(|i| map.cos_of(i)[b]);
                let sb = group.map(|i| map.sin_of(i)[b]);
                multiply_kernels4(column, c, s, cb, sb);
            }
            for &i in groups.remainder() {
                multiply_kernel(
                    column,
                    &map.cos_of(i)[b..],
                    &map.sin_of(i)[b..],
                    map.cos_of(i)[b],
                    map.sin_of(i)[b],
                );
            }
        });
    mirror_lower(out);
}

/// column[a] *= Π_j (c_j[a] cb_j + s_j[a] sb_j) for four features j.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn multiply_kernels4(
    column: &mut [f64],
    c: [&[f64]; 4],
    s: [&[f64]; 4],
    cb: [f64; 4],
    sb: [f64; 4],
) {
    let n = column.len();
    let (c0, c1, c2, c3) = (&c[0][..n], &c[1][..n], &c[2][..n], &c[3][..n]);
    let (s0, s1, s2, s3) = (&s[0][..n], &s[1][..n], &s[2][..n], &s[3][..n]);
    for a in 0..n {
        let k0 = c0[a].mul_add(cb[0], s0[a] * sb[0]);
        let k1 = c1[a].mul_add(cb[1], s1[a] * sb[1]);
        let k2 = c2[a].mul_add(cb[2], s2[a] * sb[2]);
        let k3 = c3[a].mul_add(cb[3], s3[a] * sb[3]);
        column[a] *= (k0 * k1) * (k2 * k3);
    }
}

/// column[a] *= c[a] cb + s[a] sb.
#[multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn multiply_kernel(column: &mut [f64], c: &[f64], s: &[f64], cb: f64, sb: f64) {
    let n = column.len();
    let (c, s) = (&c[..n], &s[..n]);
    for a in 0..n {
        column[a] *= c[a].mul_add(cb, s[a] * sb);
    }
}

/// Copies the lower triangle onto the upper one, in cache-sized tiles.
fn mirror_lower(matrix: &mut SymmetricMatrix) {
    const TILE: usize = 64;
    let n = matrix.n;
    let data = &mut matrix.data;
    for col_tile in (0..n).step_by(TILE) {
        for row_tile in (col_tile..n).step_by(TILE) {
            for col in col_tile..(col_tile + TILE).min(n) {
                for row in row_tile.max(col + 1)..(row_tile + TILE).min(n) {
                    data[col + row * n] = data[row + col * n];
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one range is a valid set of ranges
mod tests {
    use super::*;

    fn map(rows: usize, features: usize) -> (FeatureMap, Vec<Vec<f64>>) {
        let columns: Vec<Vec<f64>> = (0..features)
            .map(|i| {
                (0..rows)
                    .map(|m| ((m * 7 + i * 3) % 11) as f64 / 3.0 - 1.5)
                    .collect()
            })
            .collect();
        (
            FeatureMap::new(columns.iter().map(|c| c.as_slice()), rows, 0.3),
            columns,
        )
    }

    #[test]
    fn gram_is_product_of_cosine_kernels() {
        let (fm, x) = map(37, 9);
        let mut g = SymmetricMatrix::zeros(37);
        hadamard_gram(&fm, &[0..2, 3..9], None, &mut g);
        for a in 0..37 {
            for b in 0..37 {
                let expected: f64 = [0, 1, 3, 4, 5, 6, 7, 8]
                    .iter()
                    .map(|&i| (std::f64::consts::PI * 0.3 * (x[i][a] - x[i][b])).cos())
                    .product();
                assert!((g.as_ref()[(a, b)] - expected).abs() < 1e-13, "{a} {b}");
            }
        }
    }

    #[test]
    fn base_is_multiplied_in_and_features_agree_with_gram() {
        let (fm, _) = map(20, 5);
        let (mut g01, mut g234, mut all, mut chained) = (
            SymmetricMatrix::zeros(20),
            SymmetricMatrix::zeros(20),
            SymmetricMatrix::zeros(20),
            SymmetricMatrix::zeros(20),
        );
        hadamard_gram(&fm, &[0..2], None, &mut g01);
        hadamard_gram(&fm, &[2..5], None, &mut g234);
        hadamard_gram(&fm, &[0..5], None, &mut all);
        hadamard_gram(&fm, &[2..5], Some(&g01), &mut chained);
        let f = fm.tensor_features(&[2..5]);
        let gram_from_features = &f * f.transpose();
        for a in 0..20 {
            for b in 0..20 {
                assert!((chained.as_ref()[(a, b)] - all.as_ref()[(a, b)]).abs() < 1e-14);
                assert!(
                    (g01.as_ref()[(a, b)] * g234.as_ref()[(a, b)] - all.as_ref()[(a, b)]).abs()
                        < 1e-14
                );
                assert!((gram_from_features[(a, b)] - g234.as_ref()[(a, b)]).abs() < 1e-13);
            }
        }
    }
}
