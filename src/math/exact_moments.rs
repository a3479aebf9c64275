//! Exact co-moments: the sums of all rows' values and products held as
//! integers, so that partial states merge exactly and the correlations depend
//! only on the rows, not on how an engine split them or in which order it
//! merged the parts.
//!
//! Each value is cut on an absolute binary grid into [`SLICES`] signed digits
//! of [`SLICE_BITS`] bits; a feature's window ends at the slice of its largest
//! magnitude so far, so every value keeps at least 61 bits below that
//! magnitude (all of the largest value's 53) and the bits below the window are
//! truncated the same way whatever the split. Digit products summed over at
//! most [`CHUNK_ROWS`] rows stay below 2^53, so one f64 GEMM per chunk yields
//! them exactly, in any summation order, before they are added as i128. When
//! a larger value moves a feature's window up, its lowest slices are dropped
//! from every sum; what remains are exactly the digits of the final window.
//! The centred co-moment n·Σxy − Σx·Σy is formed exactly in 256-bit integers
//! and only the correlation is rounded, once.
//!
//! The price: 16 digit products per product of values (16 times the GEMM of
//! [`crate::math::moments::CoMoments`]) and 256 bytes per feature pair.

use ethnum::I256;
use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use serde::{Deserialize, Serialize};

/// Bits per digit.
pub const SLICE_BITS: u32 = 20;
/// Digits per value.
pub const SLICES: usize = 4;
/// Rows whose digit products one GEMM sums: (2^20 − 1)² · 2^13 < 2^53.
pub const CHUNK_ROWS: usize = 1 << 13;
/// Rows the exact centred co-moment can hold in 256 bits (n²·2^161 < 2^255).
pub const MAX_ROWS: u64 = 1 << 46;
/// Digit values one chunk holds at a time (16 MiB).
const CHUNK_ELEMENTS: usize = 1 << 21;
/// Features per GEMM block: the product of two blocks' digits stays in cache.
const BLOCK_FEATURES: usize = 128;
/// The lowest and highest top slice any f64 has (the smallest subnormal's
/// bit 2^-1074 and f64::MAX's bit 2^1023); a decoded window outside is corrupt.
const TOP_SLICES: std::ops::RangeInclusive<i32> =
    (-1074i32).div_euclid(SLICE_BITS as i32)..=1023i32.div_euclid(SLICE_BITS as i32);
const DIGIT_MASK: u64 = (1 << SLICE_BITS) - 1;
const FRACTION_MASK: u64 = (1 << 52) - 1;

/// Digit sums of one feature, `[slice]`, lowest slice first.
type Digits = [i128; SLICES];
/// Digit-product sums of one feature pair, `[slice of i][slice of j]`.
type DigitProducts = [[i128; SLICES]; SLICES];

/// Exact count, digit sums and digit-product sums of N features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExactCoMoments {
    count: u64,
    /// Absolute index of the top slice of each feature's window (`None`
    /// while all its values are zero).
    top: Vec<Option<i32>>,
    sums: Vec<Digits>,
    /// Pairs i ≥ j, packed lower triangle (see [`pair`]).
    products: Vec<DigitProducts>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Digits of the chunk being added (not part of the state).
    #[serde(skip)]
    workspace: Vec<f64>,
    /// One block of digit products (not part of the state): kept, so that
    /// chunks do not allocate and fault in up to 2 MiB each.
    #[serde(skip)]
    block: Vec<f64>,
}

/// Index of the pair i ≥ j in the packed lower triangle.
fn pair(i: usize, j: usize) -> usize {
    debug_assert!(j <= i);
    i * (i + 1) / 2 + j
}

/// |x| = mantissa · 2^exponent (`None` for zero).
fn mantissa_exponent(x: f64) -> Option<(u64, i32)> {
    let bits = x.abs().to_bits();
    let biased = (bits >> 52) as i32;
    let fraction = bits & FRACTION_MASK;
    match biased {
        0 if fraction == 0 => None,
        0 => Some((fraction, -1074)),
        _ => Some((fraction | (1 << 52), biased - 1075)),
    }
}

/// The absolute slice holding the top bit of `x` (`None` for zero).
fn top_slice(x: f64) -> Option<i32> {
    let (mantissa, exponent) = mantissa_exponent(x)?;
    let top_bit = exponent + 63 - mantissa.leading_zeros() as i32;
    Some(top_bit.div_euclid(SLICE_BITS as i32))
}

/// The signed digits of `x` in the window whose top slice is `top`, lowest
/// first; bits below the window are dropped (x ≥ 0 and −x share digits up to
/// sign, so a later window cut drops the same bits from both).
fn digits(x: f64, top: i32) -> [f64; SLICES] {
    let Some((mantissa, exponent)) = mantissa_exponent(x) else {
        return [0.0; SLICES];
    };
    let low = SLICE_BITS as i32 * (top + 1 - SLICES as i32);
    let shift = exponent - low;
    let fixed: u128 = if shift >= 0 {
        (mantissa as u128) << shift
    } else if shift > -64 {
        (mantissa >> -shift) as u128
    } else {
        0
    };
    debug_assert!(
        fixed >> (SLICE_BITS as usize * SLICES) == 0,
        "window below the value"
    );
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    // Through i64: u128 → f64 is a software routine, i64 → f64 one instruction.
    std::array::from_fn(|s| {
        sign * ((fixed >> (SLICE_BITS as usize * s)) as u64 & DIGIT_MASK) as i64 as f64
    })
}

/// Drops the `by` lowest slices: slice s + by becomes slice s.
fn lower<T: Copy + Default>(by_slice: &mut [T; SLICES], by: usize) {
    for s in 0..SLICES {
        by_slice[s] = if s + by < SLICES {
            by_slice[s + by]
        } else {
            T::default()
        };
    }
}

/// I256 to the nearest-ish f64 (deterministic; relative error ≤ 2^-51).
fn to_f64(v: I256) -> f64 {
    let (high, low) = v.unsigned_abs().into_words();
    let value = high as f64 * 2f64.powi(128) + low as f64;
    if v.is_negative() { -value } else { value }
}

impl ExactCoMoments {
    pub fn new(features: usize) -> Self {
        ExactCoMoments {
            count: 0,
            top: vec![None; features],
            sums: vec![[0; SLICES]; features],
            products: vec![[[0; SLICES]; SLICES]; features * (features + 1) / 2],
            min: vec![f64::INFINITY; features],
            max: vec![f64::NEG_INFINITY; features],
            workspace: Vec::new(),
            block: Vec::new(),
        }
    }

    pub fn features(&self) -> usize {
        self.top.len()
    }

    /// Number of rows seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether feature `j` is constant (min equals max) over the rows seen.
    pub fn is_constant(&self, j: usize) -> bool {
        self.min[j] == self.max[j]
    }

    /// Bytes of the state.
    /// Bytes a state of `features` features takes at most, workspaces
    /// included (for a memory reservation made before allocating).
    pub fn size_for(features: usize) -> usize {
        let block = SLICES * BLOCK_FEATURES.min(features);
        (features * (features + 1) / 2).saturating_mul(std::mem::size_of::<DigitProducts>())
            + features * (std::mem::size_of::<Digits>() + 24)
            + 8 * (CHUNK_ELEMENTS.max(SLICES * features) + block * block)
    }

    pub fn size(&self) -> usize {
        let n = self.features();
        self.products.capacity() * std::mem::size_of::<DigitProducts>()
            + n * (std::mem::size_of::<Digits>() + 24)
            + 8 * (self.workspace.capacity() + self.block.capacity())
    }

    /// Whether a decoded state is whole: every vector sized for its features
    /// and every window at a slice some f64 has.
    pub fn is_consistent(&self) -> bool {
        let n = self.features();
        self.sums.len() == n
            && self.min.len() == n
            && self.max.len() == n
            && self.products.len() == n * (n + 1) / 2
            && self.top.iter().flatten().all(|t| TOP_SLICES.contains(t))
    }

    /// Adds a batch, rows × N in any layout.
    pub fn update(&mut self, batch: MatRef<'_, f64>, par: Par) {
        assert_eq!(batch.ncols(), self.features());
        self.add(batch.nrows(), |r, j| batch[(r, j)], par);
    }

    /// Adds a batch given as one slice per feature, all of the same length.
    pub fn update_columns(&mut self, columns: &[&[f64]], par: Par) {
        assert_eq!(columns.len(), self.features());
        let rows = columns.first().map_or(0, |c| c.len());
        assert!(columns.iter().all(|c| c.len() == rows));
        self.add(rows, |r, j| columns[j][r], par);
    }

    fn add(&mut self, rows: usize, value: impl Fn(usize, usize) -> f64, par: Par) {
        let n = self.features();
        if n == 0 {
            self.count += rows as u64;
            return;
        }
        let chunk_rows = (CHUNK_ELEMENTS / (SLICES * n)).clamp(1, CHUNK_ROWS);
        let mut workspace = std::mem::take(&mut self.workspace);
        let mut block = std::mem::take(&mut self.block);
        for start in (0..rows).step_by(chunk_rows) {
            let len = chunk_rows.min(rows - start);
            // Windows first: every digit of the chunk is cut in its final
            // window for these rows.
            for j in 0..n {
                let mut top = None;
                for r in start..start + len {
                    let v = value(r, j);
                    self.min[j] = self.min[j].min(v);
                    self.max[j] = self.max[j].max(v);
                    top = top.max(top_slice(v));
                }
                if top > self.top[j] {
                    self.raise(j, top.expect("greater than a window"));
                }
            }
            // (SLICES·N) × len, column r holding row r's digits feature by feature.
            workspace.clear();
            workspace.resize(SLICES * n * len, 0.0);
            for (r, column) in workspace.chunks_exact_mut(SLICES * n).enumerate() {
                for (j, out) in column.chunks_exact_mut(SLICES).enumerate() {
                    if let Some(top) = self.top[j] {
                        out.copy_from_slice(&digits(value(start + r, j), top));
                    }
                }
            }
            for column in workspace.chunks_exact(SLICES * n) {
                for (sums, d) in self.sums.iter_mut().zip(column.chunks_exact(SLICES)) {
                    for (sum, &d) in sums.iter_mut().zip(d) {
                        *sum += d as i64 as i128;
                    }
                }
            }
            let d = MatRef::from_column_major_slice(&workspace, SLICES * n, len);
            self.add_products(d, &mut block, par);
            self.count += len as u64;
        }
        self.workspace = workspace;
        self.block = block;
    }

    /// Adds the digit products of one chunk, `d` being (SLICES·N) × rows,
    /// block of features by block (the whole product would be 16·N² values),
    /// each block computed in `block`.
    fn add_products(&mut self, d: MatRef<'_, f64>, block: &mut Vec<f64>, par: Par) {
        let n = self.features();
        let width = SLICES * BLOCK_FEATURES.min(n);
        // Every entry read below is first written by the product.
        block.resize(width * width, 0.0);
        let mut block = MatMut::from_column_major_slice_mut(block, width, width);
        for bi in (0..n).step_by(BLOCK_FEATURES) {
            let fi = BLOCK_FEATURES.min(n - bi);
            let rows_i = d.subrows(SLICES * bi, SLICES * fi);
            for bj in (0..=bi).step_by(BLOCK_FEATURES) {
                let fj = BLOCK_FEATURES.min(n - bj);
                let rows_j = d.subrows(SLICES * bj, SLICES * fj);
                let mut g = block.as_mut().submatrix_mut(0, 0, SLICES * fi, SLICES * fj);
                if bi == bj {
                    // Symmetric: the lower triangle, read mirrored below.
                    triangular::matmul(
                        g.rb_mut(),
                        BlockStructure::TriangularLower,
                        Accum::Replace,
                        rows_i,
                        BlockStructure::Rectangular,
                        rows_j.transpose(),
                        BlockStructure::Rectangular,
                        1.0,
                        par,
                    );
                } else {
                    matmul(
                        g.rb_mut(),
                        Accum::Replace,
                        rows_i,
                        rows_j.transpose(),
                        1.0,
                        par,
                    );
                }
                let g = g.rb();
                for i in bi..bi + fi {
                    let last = if bi == bj { i + 1 } else { bj + fj };
                    for j in bj..last {
                        let sums = &mut self.products[pair(i, j)];
                        for (s, row) in sums.iter_mut().enumerate() {
                            for (t, sum) in row.iter_mut().enumerate() {
                                let (a, b) = (SLICES * (i - bi) + s, SLICES * (j - bj) + t);
                                let lower = bi != bj || a >= b;
                                // Exact: an integer below 2^53 (through i64,
                                // as f64 → i128 is a software routine).
                                *sum += if lower { g[(a, b)] } else { g[(b, a)] } as i64 as i128;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Moves feature `j`'s window up to top slice `top`, dropping the slices
    /// that fall below it from every sum.
    fn raise(&mut self, j: usize, top: i32) {
        let Some(old) = self.top[j].replace(top) else {
            return; // all digits were zero
        };
        let by = (top - old) as usize;
        lower(&mut self.sums[j], by);
        for k in 0..self.features() {
            let sums = &mut self.products[pair(j.max(k), j.min(k))];
            if k <= j {
                // j indexes the first slice.
                lower(sums, by);
            }
            if k >= j {
                for row in sums.iter_mut() {
                    lower(row, by);
                }
            }
        }
    }

    /// Merges another state into this one, exactly.
    pub fn merge(&mut self, mut other: ExactCoMoments) {
        assert_eq!(self.features(), other.features());
        for j in 0..self.features() {
            match (self.top[j], other.top[j]) {
                (Some(a), Some(b)) if a < b => self.raise(j, b),
                (Some(a), Some(b)) if b < a => other.raise(j, a),
                (None, b) => self.top[j] = b,
                _ => {}
            }
        }
        self.count += other.count;
        for (mine, theirs) in self.sums.iter_mut().zip(&other.sums) {
            mine.iter_mut().zip(theirs).for_each(|(a, b)| *a += b);
        }
        for (mine, theirs) in self.products.iter_mut().zip(&other.products) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
            }
        }
        for j in 0..self.features() {
            self.min[j] = self.min[j].min(other.min[j]);
            self.max[j] = self.max[j].max(other.max[j]);
        }
    }

    /// Σ over rows of feature `j`'s windowed value, in units of its lowest bit.
    fn sum_of(&self, j: usize) -> I256 {
        (0..SLICES).fold(I256::ZERO, |acc, s| {
            acc.wrapping_add(I256::new(self.sums[j][s]) << (SLICE_BITS * s as u32))
        })
    }

    /// n·Σ x_i x_j − Σ x_i · Σ x_j, exactly (n² times the centred co-moment,
    /// in units of the two windows' lowest bits).
    fn centred(&self, i: usize, j: usize, sum: &[I256]) -> I256 {
        // Which feature indexes the first slice does not matter: only s + t does.
        let products = &self.products[pair(i.max(j), i.min(j))];
        let total = (0..SLICES)
            .flat_map(|s| (0..SLICES).map(move |t| (s, t)))
            .fold(I256::ZERO, |acc, (s, t)| {
                let shift = SLICE_BITS * (s + t) as u32;
                acc.wrapping_add(I256::new(products[s][t]) << shift)
            });
        let n = I256::new(self.count as i128);
        // Within MAX_ROWS rows neither product overflows (see there).
        n.checked_mul(total)
            .and_then(|a| a.checked_sub(sum[i].checked_mul(sum[j])?))
            .expect("at most MAX_ROWS rows")
    }

    /// The surrogate weights w_ij = |Pearson correlation|, N × N with a zero
    /// diagonal; a constant feature gets weight 0.
    pub fn correlation_weights(&self) -> Mat<f64> {
        let n = self.features();
        let sum: Vec<I256> = (0..n).map(|j| self.sum_of(j)).collect();
        let root: Vec<f64> = (0..n)
            .map(|j| to_f64(self.centred(j, j, &sum)).sqrt())
            .collect();
        let mut weights = Mat::zeros(n, n);
        for i in 0..n {
            for j in 0..i {
                if self.is_constant(i) || self.is_constant(j) || root[i] == 0.0 || root[j] == 0.0 {
                    continue;
                }
                let w = (to_f64(self.centred(i, j, &sum)) / root[i] / root[j]).abs();
                // Rounding can push |r| a hair above 1.
                weights[(i, j)] = w.min(1.0);
                weights[(j, i)] = w.min(1.0);
            }
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows × N values whose scales differ by features (an offset dwarfing
    /// the spread, negatives, tiny values, zeros, a constant).
    fn data(rows: usize, n: usize) -> Mat<f64> {
        Mat::from_fn(rows, n, |i, j| {
            let t = i as f64;
            match j % 6 {
                0 => (t * 0.37).sin() * 1e3 + 5e6,
                1 => 2.0 * (t * 0.37).sin() + 0.1 * (t * 1.3).cos() - 0.5,
                2 => 7.0,
                3 => ((t * 0.11).cos() - t * 0.01) * 1e-200,
                4 if i % 5 == 0 => 0.0,
                _ => (t * 0.7 + j as f64).sin() * (1.0 + j as f64),
            }
        })
    }

    fn state(x: MatRef<'_, f64>) -> ExactCoMoments {
        let mut m = ExactCoMoments::new(x.ncols());
        m.update(x, Par::Seq);
        m
    }

    fn weight_bits(m: &ExactCoMoments) -> Vec<u64> {
        let w = m.correlation_weights();
        let n = w.nrows();
        (0..n * n).map(|k| w[(k % n, k / n)].to_bits()).collect()
    }

    #[test]
    fn decoded_windows_must_be_slices_of_some_f64() {
        let smallest = f64::from_bits(1);
        assert_eq!(top_slice(smallest), Some(*TOP_SLICES.start()));
        assert_eq!(top_slice(-f64::MAX), Some(*TOP_SLICES.end()));
        let mut m = state(data(10, 3).as_ref());
        assert!(m.is_consistent());
        m.top[1] = Some(TOP_SLICES.end() + 1);
        assert!(!m.is_consistent());
        m.top[1] = Some(TOP_SLICES.start() - 1);
        assert!(!m.is_consistent());
        m.top[1] = None;
        assert!(m.is_consistent());
    }

    #[test]
    fn digits_are_the_value_cut_on_the_grid() {
        for x in [
            1.0,
            -1.5,
            3.0e-7,
            5e6 + 0.1234,
            2.0f64.powi(-1000) * 3.0,
            f64::MAX,
        ] {
            let top = top_slice(x).unwrap();
            let d = digits(x, top);
            let low = SLICE_BITS as i32 * (top + 1 - SLICES as i32);
            let back: f64 = d
                .iter()
                .enumerate()
                .map(|(s, &d)| d * 2f64.powi(low + (SLICE_BITS as i32) * s as i32))
                .sum();
            // The window holds ≥ 61 bits below the top one: every f64 whole.
            assert_eq!(back, x, "{x:e}");
            assert!(d.iter().all(|d| d.abs() < (1u64 << SLICE_BITS) as f64));
        }
        // A subnormal value: bit −1060 is bit 0 of the top slice −53's digit.
        let tiny = -(2.0f64.powi(-530) * 2.0f64.powi(-530));
        assert_eq!(
            digits(tiny, top_slice(tiny).unwrap()),
            [0.0, 0.0, 0.0, -1.0]
        );
        // A window above the value's own truncates it toward zero.
        assert_eq!(
            digits(1.0 + 2f64.powi(-52), top_slice(2f64.powi(20)).unwrap()),
            [0.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(top_slice(0.0), None);
        assert_eq!(top_slice(-1.0), Some(0));
        assert_eq!(top_slice(0.75), Some(-1));
        assert_eq!(top_slice(2f64.powi(20)), Some(1));
    }

    #[test]
    fn digit_products_equal_integer_sums_row_by_row() {
        // More features than one GEMM block, so off-diagonal blocks are read.
        let (rows, n) = (23, BLOCK_FEATURES + 5);
        let x = data(rows, n);
        let m = state(x.as_ref());
        for (i, j) in [
            (0, 0),
            (1, 0),
            (5, 3),
            (n - 1, 2),
            (n - 1, n - 1),
            (BLOCK_FEATURES, 7),
        ] {
            let mut expected = [[0i128; SLICES]; SLICES];
            for r in 0..rows {
                let (di, dj) = (
                    digits(x[(r, i)], m.top[i].unwrap_or(0)),
                    digits(x[(r, j)], m.top[j].unwrap_or(0)),
                );
                for s in 0..SLICES {
                    for t in 0..SLICES {
                        expected[s][t] += di[s] as i128 * dj[t] as i128;
                    }
                }
            }
            assert_eq!(m.products[pair(i, j)], expected, "{i},{j}");
        }
        assert_eq!(m.count(), rows as u64);
    }

    #[test]
    fn correlation_matches_two_pass() {
        let x = data(101, 6);
        let w = state(x.as_ref()).correlation_weights();
        // The reference squares values: feature 3 (1e-200) scaled into range.
        let x = Mat::from_fn(101, 6, |i, j| x[(i, j)] * if j == 3 { 1e200 } else { 1.0 });
        let pearson = |a: usize, b: usize| {
            let m = x.nrows() as f64;
            let mean = |j: usize| x.col(j).iter().sum::<f64>() / m;
            let (ma, mb) = (mean(a), mean(b));
            let dot = |f: &dyn Fn(usize) -> f64| (0..x.nrows()).map(f).sum::<f64>();
            let cov = dot(&|i| (x[(i, a)] - ma) * (x[(i, b)] - mb));
            let va = dot(&|i| (x[(i, a)] - ma).powi(2));
            let vb = dot(&|i| (x[(i, b)] - mb).powi(2));
            (cov / (va * vb).sqrt()).abs()
        };
        for (a, b) in [(0, 1), (0, 3), (1, 3), (1, 4), (3, 5), (4, 5)] {
            let r = pearson(a, b);
            assert!(
                (w[(a, b)] - r).abs() < 1e-12 * r.max(1e-3),
                "{a},{b}: {} vs {r}",
                w[(a, b)]
            );
            assert_eq!(w[(a, b)], w[(b, a)]);
        }
        assert!((0..6).all(|j| w[(2, j)] == 0.0 && w[(j, j)] == 0.0));
    }

    #[test]
    fn any_split_merged_in_any_order_gives_the_same_state() {
        let x = data(200, 7);
        // Small values first, so that later parts move the windows up.
        let x = Mat::from_fn(200, 7, |i, j| x[(i, j)] * if i < 50 { 1e-9 } else { 1.0 });
        let whole = state(x.as_ref());
        let splits: [&[usize]; 3] = [
            &[0, 1, 50, 51, 199, 200],
            &[0, 120, 200],
            &[0, 13, 77, 150, 200],
        ];
        for bounds in splits {
            let parts: Vec<ExactCoMoments> = bounds
                .windows(2)
                .map(|b| state(x.as_ref().subrows(b[0], b[1] - b[0])))
                .collect();
            for reversed in [false, true] {
                let mut merged = ExactCoMoments::new(7);
                let order: Vec<&ExactCoMoments> = if reversed {
                    parts.iter().rev().collect()
                } else {
                    parts.iter().collect()
                };
                for p in order {
                    merged.merge(p.clone());
                }
                assert_eq!(merged.count, whole.count);
                assert_eq!(merged.top, whole.top);
                assert_eq!(merged.sums, whole.sums);
                assert_eq!(merged.products, whole.products);
                assert_eq!(weight_bits(&merged), weight_bits(&whole));
            }
        }
        // The columns layout reads the same values.
        let columns: Vec<&[f64]> = (0..7)
            .map(|j| x.col(j).try_as_col_major().unwrap().as_slice())
            .collect();
        let mut by_columns = ExactCoMoments::new(7);
        by_columns.update_columns(&columns, Par::Seq);
        assert_eq!(weight_bits(&by_columns), weight_bits(&whole));
    }
}
