//! What one pass over rows accumulates, as a value that merges exactly: the
//! seeded bottom-k sample, the co-moments of all rows and the distinct labels.
//!
//! The CLI's scan, DataFusion's partial aggregates and polars' group
//! reductions all build one of these per input part and merge them; the
//! sample merges exactly (so entropies never depend on the split), and so do
//! the engines' exact co-moments (so their surrogates and orders do not
//! either); the CLI's single ordered scan keeps Chan-merged ones.
//! `encode`/`decode` carry a partial summary between processes (an
//! aggregate's state).

use serde::{Deserialize, Serialize};

use crate::arrange::neighbours::{FeatureColumns, Weighting};
use crate::error::{Error, Result};
use crate::io::block::FeatureBlock;
use crate::math::exact_moments;
use crate::math::labels::{LabelKey, LabelSet};
use crate::math::moments::DenseMoments;
use crate::math::profile::SampleMatrix;
use crate::math::sample::{BottomK, SampledRow};

/// Values (f64) that sparse weights may hold in memory: 8 GiB, a third of
/// this machine class's memory (the standardized copy doubles it).
const MAX_COLUMN_VALUES: usize = 1 << 30;

/// A mergeable summary of rows.
#[derive(Debug, Clone)]
pub struct RowSummary {
    seed: u64,
    rows: u64,
    sample: BottomK,
    /// Dense or sparse weights, decided at the first row by the feature count.
    weighting: Weighting,
    /// `None` until the first row (the feature count is not known before),
    /// and for sparse weights.
    comoments: Option<DenseMoments>,
    /// Whether dense co-moments are exact (see [`Self::with_exact_moments`]).
    exact_moments: bool,
    /// All rows' feature columns, for sparse weights (never encoded: engine
    /// aggregates keep dense co-moments).
    columns: Option<FeatureColumns>,
    /// `Some` when rows carry labels.
    labels: Option<LabelSet>,
}

impl RowSummary {
    /// An empty summary keeping up to `max_samples` rows (0: co-moments only).
    pub fn new(max_samples: usize, seed: u64, labeled: bool) -> Self {
        RowSummary {
            seed,
            rows: 0,
            sample: BottomK::new(max_samples),
            weighting: Weighting::Dense,
            comoments: None,
            exact_moments: false,
            columns: None,
            labels: labeled.then(LabelSet::default),
        }
    }

    /// The same summary keeping exact co-moments
    /// ([`ExactCoMoments`](exact_moments::ExactCoMoments)):
    /// partial states then merge to the same bits however the rows were split
    /// and in whatever order the parts arrive, at 16 times the product's cost.
    /// Engine aggregates need this; one process reading rows in a fixed order
    /// does not.
    pub fn with_exact_moments(mut self) -> Self {
        assert_eq!(self.rows, 0, "co-moments are chosen before the first row");
        self.exact_moments = true;
        self
    }

    /// The same summary with the given weighting (before any row is added).
    pub fn with_weighting(mut self, weighting: Weighting) -> Self {
        assert_eq!(self.rows, 0, "weighting is chosen before the first row");
        self.weighting = weighting;
        self
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The number of features, once rows have been added.
    pub fn features(&self) -> Option<usize> {
        self.comoments
            .as_ref()
            .map(DenseMoments::features)
            .or(self.columns.as_ref().map(FeatureColumns::features))
    }

    /// The dense co-moments (`None` for sparse weights).
    pub fn comoments(&self) -> Option<&DenseMoments> {
        self.comoments.as_ref()
    }

    /// All rows' feature columns (`Some` for sparse weights).
    pub fn columns(&self) -> Option<&FeatureColumns> {
        self.columns.as_ref()
    }

    /// Whether feature `j` is constant over all rows.
    pub fn is_constant(&self, j: usize) -> bool {
        match (&self.comoments, &self.columns) {
            (Some(stats), _) => stats.is_constant(j),
            (None, Some(columns)) => columns.is_constant(j),
            (None, None) => false,
        }
    }

    pub fn labels(&self) -> Option<&LabelSet> {
        self.labels.as_ref()
    }

    /// Adds validated rows. `features` names the features in errors;
    /// `labels` gives the label column's name and one label per row.
    pub fn add(
        &mut self,
        block: &FeatureBlock,
        features: &str,
        labels: Option<(&str, &[LabelKey])>,
    ) -> Result<()> {
        self.check_width(block.width(), features)?;
        if let (Some(set), Some((column, keys))) = (self.labels.as_mut(), labels) {
            for key in keys {
                set.insert(column, key)?;
            }
        }
        // A co-moments-only summary (max_samples 0) skips hashing altogether.
        let hashes = if self.sample.capacity() > 0 {
            block.row_hashes(self.seed)
        } else {
            Vec::new()
        };
        for (r, hash) in hashes.into_iter().enumerate() {
            if self.sample.admits(hash) {
                self.sample.offer(SampledRow {
                    hash,
                    values: block.row(r),
                    label: labels.map(|(_, keys)| keys[r].clone()),
                });
            }
        }
        let width = block.width();
        if self.comoments.is_none() && self.weighting.is_sparse(width) {
            let rows = self.rows as usize + block.rows();
            if rows.saturating_mul(width) > MAX_COLUMN_VALUES {
                return Err(Error::column(
                    features,
                    format!(
                        "sparse weights keep every row of the {width} features in memory, and \
                         {rows} rows exceed the {} GiB this allows; select fewer rows or features",
                        (MAX_COLUMN_VALUES * 8) >> 30
                    ),
                ));
            }
            block.append_to(
                self.columns
                    .get_or_insert_with(|| FeatureColumns::new(width)),
            );
        } else {
            let exact = self.exact_moments;
            let stats = self
                .comoments
                .get_or_insert_with(|| DenseMoments::new(width, exact));
            block.add_to(stats, faer::Par::rayon(0));
        }
        self.rows += block.rows() as u64;
        self.check_rows(features)
    }

    /// Exact co-moments hold up to [`exact_moments::MAX_ROWS`] rows.
    fn check_rows(&self, features: &str) -> Result<()> {
        if self.exact_moments && self.rows > exact_moments::MAX_ROWS {
            return Err(Error::column(
                features,
                format!(
                    "{} rows exceed the 2^46 that exact co-moments hold",
                    self.rows
                ),
            ));
        }
        Ok(())
    }

    fn check_width(&self, width: usize, features: &str) -> Result<()> {
        match self.features() {
            Some(n) if n != width => Err(Error::column(
                features,
                format!("array lengths differ: rows with {width} and with {n} features"),
            )),
            _ => Ok(()),
        }
    }

    /// Merges another partial summary (same seed and sample size) into this one.
    pub fn merge(&mut self, other: RowSummary, features: &str, label: &str) -> Result<()> {
        if let Some(n) = other.features() {
            self.check_width(n, features)?;
        }
        if let (Some(set), Some(theirs)) = (self.labels.as_mut(), other.labels.as_ref()) {
            set.merge(label, theirs)?;
        }
        self.sample.merge(other.sample);
        match (&mut self.comoments, other.comoments) {
            (Some(mine), Some(theirs)) => mine.merge(theirs).ok_or_else(|| {
                Error::Data("partial states mix exact and streamed co-moments".into())
            })?,
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        match (&mut self.columns, other.columns) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        self.rows += other.rows;
        self.check_rows(features)
    }

    /// The sample as a row-major matrix in processing order, and each row's label.
    pub fn sample_matrix(&self) -> (SampleMatrix, Vec<Option<LabelKey>>) {
        let features = self.features().unwrap_or(0);
        let sorted = self.sample.clone().into_sorted();
        let mut values = Vec::with_capacity(sorted.len() * features);
        let mut labels = Vec::with_capacity(sorted.len());
        for row in sorted {
            values.extend_from_slice(&row.values);
            labels.push(row.label);
        }
        let rows = labels.len();
        (
            SampleMatrix {
                rows,
                features,
                values,
            },
            labels,
        )
    }

    /// Bytes that [`RowSummary::decode`] turns back into an equal summary.
    pub fn encode(&self) -> Vec<u8> {
        assert!(
            self.columns.is_none(),
            "only dense summaries travel between processes"
        );
        let stored = StoredSummary {
            seed: self.seed,
            rows: self.rows,
            max_samples: self.sample.capacity() as u64,
            sample: self
                .sample
                .rows()
                .map(|r| StoredRow {
                    hash: r.hash,
                    values: r.values.to_vec(),
                    label: r.label.as_ref().map(StoredLabel::from),
                })
                .collect(),
            comoments: self.comoments.clone(),
            exact_moments: self.exact_moments,
            labels: self
                .labels
                .as_ref()
                .map(|set| set.values().map(StoredLabel::from).collect()),
        };
        postcard::to_stdvec(&stored).expect("a summary always serializes")
    }

    /// Reads a summary written by [`RowSummary::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let stored: StoredSummary = postcard::from_bytes(bytes)
            .map_err(|e| Error::Data(format!("corrupt partial state: {e}")))?;
        let mut sample = BottomK::new(stored.max_samples as usize);
        for row in stored.sample {
            sample.offer(SampledRow {
                hash: row.hash,
                values: row.values.into(),
                label: row.label.map(LabelKey::from),
            });
        }
        let labels = match stored.labels {
            Some(values) => {
                let mut set = LabelSet::default();
                for v in values {
                    set.insert("label", &LabelKey::from(v))?;
                }
                Some(set)
            }
            None => None,
        };
        if let Some(DenseMoments::Exact(m)) = &stored.comoments
            && !m.is_consistent()
        {
            return Err(Error::Data(
                "corrupt partial state: co-moment sizes or windows out of range".into(),
            ));
        }
        Ok(RowSummary {
            seed: stored.seed,
            rows: stored.rows,
            sample,
            weighting: Weighting::Dense,
            comoments: stored.comoments,
            exact_moments: stored.exact_moments,
            columns: None,
            labels,
        })
    }

    /// Approximate heap size in bytes (for an engine's memory accounting).
    pub fn size(&self) -> usize {
        let n = self.features().unwrap_or(0);
        std::mem::size_of::<Self>()
            + self.sample.len() * (std::mem::size_of::<SampledRow>() + 8 * n)
            + self.comoments.as_ref().map_or(0, DenseMoments::size)
            + self.columns.as_ref().map_or(0, |c| 8 * n * c.rows())
            + self.labels.as_ref().map_or(0, |l| 32 * l.len())
    }
}

/// The encoded form: plain data with tagged labels.
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    seed: u64,
    rows: u64,
    max_samples: u64,
    sample: Vec<StoredRow>,
    comoments: Option<DenseMoments>,
    exact_moments: bool,
    labels: Option<Vec<StoredLabel>>,
}

#[derive(Serialize, Deserialize)]
struct StoredRow {
    hash: u64,
    values: Vec<f64>,
    label: Option<StoredLabel>,
}

#[derive(Serialize, Deserialize)]
enum StoredLabel {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl From<&LabelKey> for StoredLabel {
    fn from(key: &LabelKey) -> Self {
        match key {
            LabelKey::Bool(b) => StoredLabel::Bool(*b),
            LabelKey::Int(i) => StoredLabel::Int(*i),
            LabelKey::Str(s) => StoredLabel::Str(s.clone()),
        }
    }
}

impl From<StoredLabel> for LabelKey {
    fn from(label: StoredLabel) -> Self {
        match label {
            StoredLabel::Bool(b) => LabelKey::Bool(b),
            StoredLabel::Int(i) => LabelKey::Int(i),
            StoredLabel::Str(s) => LabelKey::Str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, FixedSizeListArray, Float64Array};
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;

    fn block(rows: std::ops::Range<usize>, width: usize) -> FeatureBlock {
        block_of(rows, width, |r, j| {
            ((r * 7 + j * 3) % 11) as f64 * 0.5 + r as f64
        })
    }

    /// Rows × `width` features with value `value(row, feature)`.
    fn block_of(
        rows: std::ops::Range<usize>,
        width: usize,
        value: impl Fn(usize, usize) -> f64 + Copy,
    ) -> FeatureBlock {
        let values: Vec<f64> = rows
            .flat_map(|r| (0..width).map(move |j| value(r, j)))
            .collect();
        let list: ArrayRef = Arc::new(FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float64, false)),
            width as i32,
            Arc::new(Float64Array::from(values)),
            None,
        ));
        crate::io::read::feature_block_of(&list, "x", 0).unwrap()
    }

    fn labels(rows: std::ops::Range<usize>) -> Vec<LabelKey> {
        rows.map(|r| LabelKey::Int((r % 3) as i64)).collect()
    }

    #[test]
    fn split_and_merged_summaries_sample_the_same_rows() {
        let mut whole = RowSummary::new(10, 5, true);
        whole
            .add(&block(0..40, 4), "x", Some(("y", &labels(0..40))))
            .unwrap();
        let mut merged = RowSummary::new(10, 5, true);
        for range in [25..40, 0..3, 3..25] {
            let mut part = RowSummary::new(10, 5, true);
            part.add(&block(range.clone(), 4), "x", Some(("y", &labels(range))))
                .unwrap();
            // Through bytes, as a partial aggregate state travels.
            let part = RowSummary::decode(&part.encode()).unwrap();
            merged.merge(part, "x", "y").unwrap();
        }
        assert_eq!(merged.rows(), 40);
        let (a, la) = whole.sample_matrix();
        let (b, lb) = merged.sample_matrix();
        assert_eq!(a.rows, 10);
        assert_eq!(a.values, b.values, "sample rows and their order are exact");
        assert_eq!(la, lb);
        assert_eq!(merged.labels().unwrap().len(), 3);
        let (wa, wb) = (
            whole.comoments().unwrap().correlation_weights(),
            merged.comoments().unwrap().correlation_weights(),
        );
        for i in 0..4 {
            for j in 0..4 {
                assert!((wa[(i, j)] - wb[(i, j)]).abs() < 1e-12);
            }
        }
    }

    /// One exact co-moments-only summary of 5 features per range of rows,
    /// with values whose floating-point merges would round.
    fn exact_parts(ranges: &[std::ops::Range<usize>]) -> Vec<RowSummary> {
        let value = |r: usize, j: usize| (r as f64 * 0.37 + j as f64 * 1.3).sin() * 10.0 + 3.1;
        ranges
            .iter()
            .map(|range| {
                let mut part = RowSummary::new(0, 0, false).with_exact_moments();
                part.add(&block_of(range.clone(), 5, value), "x", None)
                    .unwrap();
                part
            })
            .collect()
    }

    fn weight_bits(summary: &RowSummary) -> Vec<u64> {
        let w = summary.comoments().unwrap().correlation_weights();
        let n = w.nrows();
        (0..n * n).map(|k| w[(k % n, k / n)].to_bits()).collect()
    }

    #[test]
    fn exact_parts_give_the_same_bits_for_any_split_and_order() {
        let whole = exact_parts(std::slice::from_ref(&(0..40))).remove(0);
        let splits = [
            vec![0..7, 7..20, 20..23, 23..40],
            vec![0..1, 1..39, 39..40],
            vec![0..20, 20..40],
        ];
        for split in splits {
            let parts = exact_parts(&split);
            for reversed in [false, true] {
                let mut merged = RowSummary::new(0, 0, false).with_exact_moments();
                let mut order: Vec<&RowSummary> = parts.iter().collect();
                if reversed {
                    order.reverse();
                }
                for part in order {
                    // Through bytes, as a partial aggregate state travels.
                    let part = RowSummary::decode(&part.encode()).unwrap();
                    merged.merge(part, "x", "").unwrap();
                }
                assert_eq!(merged.rows(), 40);
                assert_eq!(weight_bits(&merged), weight_bits(&whole), "{split:?}");
            }
        }
        // A streamed part does not merge into an exact summary.
        let mut streamed = RowSummary::new(0, 0, false);
        streamed.add(&block(0..5, 5), "x", None).unwrap();
        let mut exact = whole.clone();
        let e = exact.merge(streamed, "x", "").unwrap_err().to_string();
        assert_eq!(e, "partial states mix exact and streamed co-moments");
    }

    #[test]
    fn differing_widths_and_corrupt_states_are_errors() {
        let mut s = RowSummary::new(4, 0, false);
        s.add(&block(0..5, 3), "x", None).unwrap();
        let e = s.add(&block(0..5, 4), "x", None).unwrap_err().to_string();
        assert_eq!(
            e,
            "column 'x': array lengths differ: rows with 4 and with 3 features"
        );
        let e = RowSummary::decode(&[1, 2, 3]).unwrap_err().to_string();
        assert!(e.starts_with("corrupt partial state"), "{e}");
    }
}
