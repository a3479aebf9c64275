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

use crate::arrange::Choice;
use crate::arrange::neighbours::{FeatureColumns, Weighting, grown_capacity};
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

/// Memory that a summary may hold: an engine's memory pool, or a fixed
/// [`Budget`]. Asked before every allocation that grows with the input.
pub trait MemoryGrant: Send + Sync + std::fmt::Debug {
    /// Asks for the summary to grow from `held` bytes to `bytes` in all;
    /// when refused, the reason, for the error.
    fn grow(&mut self, held: usize, bytes: usize) -> std::result::Result<(), String>;
    /// The summary now holds `bytes`. (An engine that tracks an
    /// accumulator's `size()` holds them from here on: a pool's grant for
    /// the growth is given back.)
    fn settle(&mut self, bytes: usize);
}

/// A fixed number of bytes one summary may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget { limit }
    }

    /// Three quarters of this machine's physical memory (all of it when
    /// the system does not say): what a process can hold without being
    /// killed or swapping, with room for the input's own buffers.
    pub fn machine() -> Self {
        Budget::new(physical_memory().map_or(usize::MAX, |m| m / 4 * 3))
    }
}

impl MemoryGrant for Budget {
    fn settle(&mut self, _bytes: usize) {}

    fn grow(&mut self, _held: usize, bytes: usize) -> std::result::Result<(), String> {
        if bytes <= self.limit {
            return Ok(());
        }
        Err(format!(
            "the memory budget is {} (three quarters of this machine's memory)",
            bytes_text(self.limit)
        ))
    }
}

#[cfg(unix)]
fn physical_memory() -> Option<usize> {
    // SAFETY: sysconf reads a system constant and has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| (pages as usize).saturating_mul(page as usize))
}

#[cfg(not(unix))]
fn physical_memory() -> Option<usize> {
    None
}

/// Bytes for people: `47.7 GiB`, `512.0 MiB`.
pub fn bytes_text(bytes: usize) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// What a summary holds for the surrogate weights. Which kind is known only
/// at the first row, when the feature count is: auto weighting is sparse
/// above [`SPARSE_ABOVE`](crate::arrange::neighbours::SPARSE_ABOVE) features.
#[derive(Debug, Clone)]
pub enum Weights {
    /// No row yet: the weighting to decide with, and whether dense
    /// co-moments will be exact (see [`RowSummary::with_exact_moments`]).
    Undecided { weighting: Weighting, exact: bool },
    /// The co-moments of all rows, streamed or exact.
    Dense(DenseMoments),
    /// All rows' feature columns (never from an engine's exact states:
    /// they keep dense co-moments).
    Sparse(FeatureColumns),
}

impl Weights {
    fn features(&self) -> Option<usize> {
        match self {
            Weights::Undecided { .. } => None,
            Weights::Dense(stats) => Some(stats.features()),
            Weights::Sparse(columns) => Some(columns.features()),
        }
    }

    fn rows(&self) -> u64 {
        match self {
            Weights::Undecided { .. } => 0,
            Weights::Dense(stats) => stats.count(),
            Weights::Sparse(columns) => columns.rows() as u64,
        }
    }

    /// Whether rows of `width` features are (or will be) kept as columns.
    fn is_sparse(&self, width: usize) -> bool {
        match self {
            Weights::Undecided { weighting, .. } => weighting.is_sparse(width),
            Weights::Dense(_) => false,
            Weights::Sparse(_) => true,
        }
    }

    fn is_exact(&self) -> bool {
        match self {
            Weights::Undecided { exact, .. } => *exact,
            Weights::Dense(stats) => matches!(stats, DenseMoments::Exact(_)),
            Weights::Sparse(_) => false,
        }
    }

    /// Adds a block's rows, deciding the kind at the first.
    fn add(&mut self, block: &FeatureBlock) {
        match self {
            Weights::Undecided { weighting, exact } => {
                let (width, exact) = (block.width(), *exact);
                *self = if weighting.is_sparse(width) {
                    Weights::Sparse(FeatureColumns::new(width))
                } else {
                    Weights::Dense(DenseMoments::new(width, exact))
                };
                self.add(block)
            }
            Weights::Dense(stats) => block.add_to(stats, faer::Par::rayon(0)),
            Weights::Sparse(columns) => block.append_to(columns),
        }
    }

    fn size(&self) -> usize {
        match self {
            Weights::Undecided { .. } => 0,
            Weights::Dense(stats) => stats.size(),
            Weights::Sparse(columns) => columns.size(),
        }
    }
}

/// A mergeable summary of rows. Its row count is the weights': a summary
/// cannot hold rows without them.
#[derive(Debug, Clone)]
pub struct RowSummary {
    seed: u64,
    sample: BottomK,
    weights: Weights,
    /// `Some` when rows carry labels.
    labels: Option<LabelSet>,
}

impl RowSummary {
    /// An empty summary keeping up to `max_samples` rows (0: co-moments only).
    pub fn new(max_samples: usize, seed: u64, labeled: bool) -> Self {
        RowSummary {
            seed,
            sample: BottomK::new(max_samples),
            weights: Weights::Undecided {
                weighting: Weighting::Dense,
                exact: false,
            },
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
        let Weights::Undecided { exact, .. } = &mut self.weights else {
            panic!("co-moments are chosen before the first row");
        };
        *exact = true;
        self
    }

    /// The same summary with the given weighting (before any row is added).
    pub fn with_weighting(mut self, weighting: Weighting) -> Self {
        let Weights::Undecided { weighting: w, .. } = &mut self.weights else {
            panic!("weighting is chosen before the first row");
        };
        *w = weighting;
        self
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.weights.rows()
    }

    /// The number of features, once rows have been added.
    pub fn features(&self) -> Option<usize> {
        self.weights.features()
    }

    /// The co-moments or feature columns of all rows.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Whether feature `j` is constant over all rows.
    pub fn is_constant(&self, j: usize) -> bool {
        match &self.weights {
            Weights::Undecided { .. } => false,
            Weights::Dense(stats) => stats.is_constant(j),
            Weights::Sparse(columns) => columns.is_constant(j),
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
        let width = block.width();
        self.check_width(width, features)?;
        let rows = self.rows() + block.rows() as u64;
        self.check_rows(rows, width, features)?;
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
        self.weights.add(block);
        Ok(())
    }

    /// [`Self::add`], once `grant` has allowed the memory it will hold; a
    /// refusal is an [`Error::Memory`] saying what would help.
    pub fn add_within(
        &mut self,
        grant: &mut dyn MemoryGrant,
        block: &FeatureBlock,
        features: &str,
        labels: Option<(&str, &[LabelKey])>,
    ) -> Result<()> {
        let width = block.width();
        self.check_width(width, features)?;
        let needed = self.size_after_adding(width, block.rows());
        grant
            .grow(self.size(), needed)
            .map_err(|why| self.memory_error(width, needed, &why))?;
        let added = self.add(block, features, labels);
        grant.settle(self.size());
        added
    }

    /// Bytes held at most once `rows` rows of `width` features are added.
    pub fn size_after_adding(&self, width: usize, rows: usize) -> usize {
        let total = self.rows() as usize + rows;
        let sample =
            self.sample.capacity().min(total) * (std::mem::size_of::<SampledRow>() + 8 * width);
        let weights = match &self.weights {
            Weights::Dense(stats) => stats.size(),
            Weights::Sparse(columns) => columns.size_after(rows),
            Weights::Undecided { weighting, .. } if weighting.is_sparse(width) => 8usize
                .saturating_mul(width)
                .saturating_mul(grown_capacity(0, rows)),
            Weights::Undecided { exact, .. } => DenseMoments::size_for(width, *exact),
        };
        std::mem::size_of::<Self>()
            + sample
            + weights
            + self.labels.as_ref().map_or(0, |l| 32 * (l.len() + rows))
    }

    /// Bytes held at most while a part of `part_size` bytes and `part_rows`
    /// rows ([`StateHeader`]) merges in: both, this one grown by its rows.
    pub fn size_after_merging(&self, part: &StateHeader) -> usize {
        let columns_growth = match &self.weights {
            Weights::Sparse(columns) => columns.size_after(part.rows as usize) - columns.size(),
            _ => 0,
        };
        self.size() + columns_growth + part.size as usize
    }

    /// The error for memory that was refused: how much, for what, why, and
    /// what would help.
    pub fn memory_error(&self, width: usize, bytes: usize, why: &str) -> Error {
        let (weights, what, help) = if !self.weights.is_sparse(width) {
            (
                "dense",
                if self.weights.is_exact() {
                    "exact co-moments, 256 bytes per pair of features"
                } else {
                    "co-moments, 8 bytes per pair of features"
                },
                "weights=sparse keeps each feature's strongest correlations instead \
                 (8 bytes per row and feature; the default above 4096 features)",
            )
        } else {
            (
                "sparse",
                "every row of every feature, 8 bytes per value",
                "use fewer rows (a sample) or fewer features, or allow more memory",
            )
        };
        Error::Memory(format!(
            "{width} features with {weights} weights need {} ({what}), and {why}; {help}",
            bytes_text(bytes)
        ))
    }

    /// What the weights can hold: up to [`exact_moments::MAX_ROWS`] rows
    /// in exact co-moments, up to [`MAX_COLUMN_VALUES`] values in columns.
    fn check_rows(&self, rows: u64, width: usize, features: &str) -> Result<()> {
        if self.weights.is_sparse(width)
            && (rows as usize).saturating_mul(width) > MAX_COLUMN_VALUES
        {
            return Err(Error::column(
                features,
                format!(
                    "sparse weights keep every row of the {width} features in memory, and \
                     {rows} rows exceed the {} GiB this allows; select fewer rows or features",
                    (MAX_COLUMN_VALUES * 8) >> 30
                ),
            ));
        }
        if self.weights.is_exact() && rows > exact_moments::MAX_ROWS {
            return Err(Error::column(
                features,
                format!("{rows} rows exceed the 2^46 that exact co-moments hold"),
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
        if (other.seed, other.sample.capacity(), other.labels.is_some())
            != (self.seed, self.sample.capacity(), self.labels.is_some())
        {
            return Err(Error::Data(
                "partial states of different calls (seed, max_samples or label differ)".into(),
            ));
        }
        match (&mut self.weights, other.weights) {
            (_, Weights::Undecided { .. }) => {}
            (mine @ Weights::Undecided { .. }, theirs) => *mine = theirs,
            (Weights::Dense(mine), Weights::Dense(theirs)) => {
                mine.merge(theirs).ok_or_else(|| {
                    Error::Data("partial states mix exact and streamed co-moments".into())
                })?
            }
            (Weights::Sparse(mine), Weights::Sparse(theirs)) => mine.merge(theirs),
            _ => {
                return Err(Error::Data(
                    "partial states mix dense and sparse weights".into(),
                ));
            }
        }
        if let (Some(set), Some(theirs)) = (self.labels.as_mut(), other.labels.as_ref()) {
            set.merge(label, theirs)?;
        }
        self.sample.merge(other.sample);
        match self.features() {
            Some(n) => self.check_rows(self.rows(), n, features),
            None => Ok(()),
        }
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

    /// Bytes that [`RowSummary::decode`] turns back into an equal summary:
    /// a [`StateHeader`], then the summary (postcard).
    pub fn encode(&self) -> Vec<u8> {
        let stored = StoredSummary {
            seed: self.seed,
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
            weights: match &self.weights {
                Weights::Undecided { weighting, exact } => StoredWeights::Undecided {
                    weighting: weighting.name().into(),
                    exact: *exact,
                },
                Weights::Dense(stats) => StoredWeights::Dense(stats.clone()),
                Weights::Sparse(columns) => StoredWeights::Sparse(columns.columns().to_vec()),
            },
            labels: self
                .labels
                .as_ref()
                .map(|set| set.values().map(StoredLabel::from).collect()),
        };
        let payload = postcard::to_stdvec(&stored).expect("a summary always serializes");
        StateHeader {
            features: self.features().unwrap_or(0) as u64,
            rows: self.rows(),
            size: self.size() as u64,
        }
        .prepend(&payload)
    }

    /// Reads a summary written by [`RowSummary::encode`], checking every
    /// part against the others: a truncated, altered or inconsistent state
    /// is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let header = StateHeader::read(bytes)?;
        let stored: StoredSummary = postcard::from_bytes(&bytes[StateHeader::LEN..])
            .map_err(|e| corrupt(format!("{e}")))?;
        let features = header.features as usize;
        let weights = match stored.weights {
            StoredWeights::Undecided { .. } if features > 0 => {
                return Err(corrupt("features but no rows".into()));
            }
            StoredWeights::Undecided { weighting, exact } => Weights::Undecided {
                weighting: Weighting::parse(&weighting).map_err(corrupt)?,
                exact,
            },
            StoredWeights::Dense(m) if m.is_consistent() && m.features() == features => {
                Weights::Dense(m)
            }
            StoredWeights::Dense(_) => {
                return Err(corrupt(
                    "co-moment sizes, counts or windows out of range".into(),
                ));
            }
            StoredWeights::Sparse(columns) => Weights::Sparse(
                FeatureColumns::from_columns(columns)
                    .filter(|c| c.features() == features)
                    .ok_or_else(|| corrupt("feature columns of the wrong size".into()))?,
            ),
        };
        let rows = weights.rows();
        if rows != header.rows {
            return Err(corrupt("row counts differ".into()));
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
        // Every row added a label, and every label came with a row.
        if labels
            .as_ref()
            .is_some_and(|set| set.is_empty() != (rows == 0))
        {
            return Err(corrupt("labels and rows disagree".into()));
        }
        let labeled_as_the_rows = |r: &StoredRow| match (&r.label, &labels) {
            (None, None) => true,
            (Some(label), Some(set)) => set.contains(&LabelKey::from(label.clone())),
            _ => false,
        };
        if stored.sample.len() as u64 > stored.max_samples.min(rows)
            || stored.sample.iter().any(|r| r.values.len() != features)
        {
            return Err(corrupt("sampled rows of the wrong size".into()));
        }
        if !stored.sample.iter().all(labeled_as_the_rows) {
            return Err(corrupt("sampled labels that no row had".into()));
        }
        let mut sample = BottomK::new(stored.max_samples as usize);
        for row in stored.sample {
            sample.offer(SampledRow {
                hash: row.hash,
                values: row.values.into(),
                label: row.label.map(LabelKey::from),
            });
        }
        Ok(RowSummary {
            seed: stored.seed,
            sample,
            weights,
            labels,
        })
    }

    /// Approximate heap size in bytes (for an engine's memory accounting).
    pub fn size(&self) -> usize {
        let n = self.features().unwrap_or(0);
        std::mem::size_of::<Self>()
            + self.sample.len() * (std::mem::size_of::<SampledRow>() + 8 * n)
            + self.weights.size()
            + self.labels.as_ref().map_or(0, |l| 32 * l.len())
    }
}

fn corrupt(problem: String) -> Error {
    Error::Data(format!("corrupt partial state: {problem}"))
}

/// What an encoded state says of itself before it is decoded, so that its
/// memory can be granted first: its features, rows and decoded size. The
/// checksum (XXH3 of everything after it) refuses truncated or altered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateHeader {
    pub features: u64,
    pub rows: u64,
    /// Bytes the decoded summary holds ([`RowSummary::size`]).
    pub size: u64,
}

impl StateHeader {
    const MAGIC: [u8; 4] = *b"ENT2";
    /// Magic, checksum, features, rows, size.
    pub const LEN: usize = 4 + 8 * 4;

    fn prepend(&self, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(Self::LEN + payload.len());
        bytes.extend_from_slice(&Self::MAGIC);
        bytes.extend_from_slice(&[0; 8]);
        for v in [self.features, self.rows, self.size] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(payload);
        let checksum = xxhash_rust::xxh3::xxh3_64(&bytes[12..]);
        bytes[4..12].copy_from_slice(&checksum.to_le_bytes());
        bytes
    }

    /// The header of an encoded state, once its magic and checksum hold.
    pub fn read(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < Self::LEN || bytes[..4] != Self::MAGIC {
            return Err(corrupt(format!(
                "{} bytes that do not start an entangle state",
                bytes.len()
            )));
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        if xxhash_rust::xxh3::xxh3_64(&bytes[12..]) != word(4) {
            return Err(corrupt(
                "checksum mismatch (truncated or altered in transit)".into(),
            ));
        }
        Ok(StateHeader {
            features: word(12),
            rows: word(20),
            size: word(28),
        })
    }
}

/// The encoded form: plain data with tagged labels.
#[derive(Serialize, Deserialize)]
struct StoredSummary {
    seed: u64,
    max_samples: u64,
    sample: Vec<StoredRow>,
    weights: StoredWeights,
    labels: Option<Vec<StoredLabel>>,
}

#[derive(Serialize, Deserialize)]
enum StoredWeights {
    /// The weighting by its option name.
    Undecided {
        weighting: String,
        exact: bool,
    },
    Dense(DenseMoments),
    /// Every row, feature by feature.
    Sparse(Vec<Vec<f64>>),
}

#[derive(Serialize, Deserialize)]
struct StoredRow {
    hash: u64,
    values: Vec<f64>,
    label: Option<StoredLabel>,
}

#[derive(Clone, Serialize, Deserialize)]
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
        crate::io::read::feature_block_of(&list, "x", &Default::default()).unwrap()
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
            comoments(&whole).correlation_weights(),
            comoments(&merged).correlation_weights(),
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

    fn comoments(summary: &RowSummary) -> &DenseMoments {
        match summary.weights() {
            Weights::Dense(stats) => stats,
            other => panic!("dense weights expected, found {other:?}"),
        }
    }

    fn columns(summary: &RowSummary) -> &FeatureColumns {
        match summary.weights() {
            Weights::Sparse(columns) => columns,
            other => panic!("sparse weights expected, found {other:?}"),
        }
    }

    fn weight_bits(summary: &RowSummary) -> Vec<u64> {
        let w = comoments(summary).correlation_weights();
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

    /// One sparse summary per range of rows (labels and a sample too, so
    /// that every part of a state is exercised).
    fn sparse_parts(ranges: &[std::ops::Range<usize>]) -> Vec<RowSummary> {
        let value = |r: usize, j: usize| (r as f64 * 0.37 + j as f64 * 1.3).sin() * 10.0 + 3.1;
        ranges
            .iter()
            .map(|range| {
                let mut part = RowSummary::new(8, 3, true).with_weighting(Weighting::Sparse);
                part.add(
                    &block_of(range.clone(), 6, value),
                    "x",
                    Some(("y", &labels(range.clone()))),
                )
                .unwrap();
                part
            })
            .collect()
    }

    fn standardized_bits(summary: &RowSummary) -> Vec<u64> {
        let s = columns(summary).standardize();
        let m = s.as_ref();
        (0..m.ncols())
            .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)].to_bits()))
            .collect()
    }

    #[test]
    fn sparse_parts_give_the_same_bits_for_any_split_and_order() {
        let whole = sparse_parts(std::slice::from_ref(&(0..50))).remove(0);
        for split in [vec![0..7, 7..20, 20..23, 23..50], vec![0..1, 1..50]] {
            let parts = sparse_parts(&split);
            for reversed in [false, true] {
                let mut merged = RowSummary::new(8, 3, true).with_weighting(Weighting::Sparse);
                let mut order: Vec<&RowSummary> = parts.iter().collect();
                if reversed {
                    order.reverse();
                }
                for part in order {
                    let part = RowSummary::decode(&part.encode()).unwrap();
                    merged.merge(part, "x", "y").unwrap();
                }
                assert_eq!(merged.rows(), 50);
                assert_eq!(columns(&merged).rows(), 50);
                assert_eq!(
                    standardized_bits(&merged),
                    standardized_bits(&whole),
                    "{split:?}"
                );
                assert_eq!(
                    merged.sample_matrix().0.values,
                    whole.sample_matrix().0.values
                );
            }
        }
        // Dense and sparse parts do not mix.
        let mut dense = RowSummary::new(8, 3, true);
        dense
            .add(&block(0..5, 6), "x", Some(("y", &labels(0..5))))
            .unwrap();
        let e = dense
            .merge(whole.clone(), "x", "y")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "partial states mix dense and sparse weights");
        // Nor do parts of different calls.
        let e = RowSummary::new(8, 4, true)
            .merge(whole, "x", "y")
            .unwrap_err()
            .to_string();
        assert!(e.contains("seed, max_samples or label differ"), "{e}");
    }

    /// States of every kind: exact co-moments, streamed ones with a
    /// labeled sample, sparse columns.
    fn corpus_states() -> Vec<Vec<u8>> {
        let mut exact = RowSummary::new(0, 0, false).with_exact_moments();
        exact.add(&block(0..9, 4), "x", None).unwrap();
        let mut streamed = RowSummary::new(5, 1, true);
        streamed
            .add(&block(0..9, 4), "x", Some(("y", &labels(0..9))))
            .unwrap();
        let sparse = sparse_parts(std::slice::from_ref(&(0..12))).remove(0);
        vec![exact.encode(), streamed.encode(), sparse.encode()]
    }

    #[test]
    fn every_truncated_or_altered_state_is_refused() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
        for state in corpus_states() {
            assert!(RowSummary::decode(&state).is_ok());
            for _ in 0..200 {
                let mut bytes = state.clone();
                if rng.random_bool(0.3) {
                    bytes.truncate(rng.random_range(0..state.len()));
                } else {
                    for _ in 0..rng.random_range(1..=3) {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] ^= 1 << rng.random_range(0..8);
                    }
                }
                let e = RowSummary::decode(&bytes).unwrap_err().to_string();
                assert!(e.starts_with("corrupt partial state: "), "{e}");
            }
        }
    }

    /// `stored` with its fields edited, encoded with a valid header.
    fn reencoded(state: &[u8], edit: impl Fn(&mut StoredSummary, &mut StateHeader)) -> Vec<u8> {
        let mut header = StateHeader::read(state).unwrap();
        let mut stored: StoredSummary = postcard::from_bytes(&state[StateHeader::LEN..]).unwrap();
        edit(&mut stored, &mut header);
        header.prepend(&postcard::to_stdvec(&stored).unwrap())
    }

    fn undecided(weighting: &str) -> StoredWeights {
        StoredWeights::Undecided {
            weighting: weighting.into(),
            exact: true,
        }
    }

    #[test]
    fn states_whose_parts_disagree_are_refused() {
        let [exact, streamed, sparse] = <[Vec<u8>; 3]>::try_from(corpus_states()).unwrap();
        let refused = |bytes: Vec<u8>| RowSummary::decode(&bytes).unwrap_err().to_string();
        let cases = [
            (
                reencoded(&streamed, |s, _| {
                    s.sample[0].values.pop().map(drop).unwrap()
                }),
                "sampled rows of the wrong size",
            ),
            (
                reencoded(&streamed, |s, _| s.max_samples = 2),
                "sampled rows of the wrong size",
            ),
            (
                reencoded(&sparse, |s, _| {
                    let StoredWeights::Sparse(columns) = &mut s.weights else {
                        panic!("sparse")
                    };
                    columns[2].push(1.0)
                }),
                "feature columns of the wrong size",
            ),
            (
                reencoded(&sparse, |_, h| h.features = 7),
                "feature columns of the wrong size",
            ),
            (
                reencoded(&exact, |_, h| h.features = 5),
                "co-moment sizes, counts or windows out of range",
            ),
            (reencoded(&exact, |_, h| h.rows = 3), "row counts differ"),
            (
                reencoded(&exact, |s, _| s.weights = undecided("dense")),
                "features but no rows",
            ),
            (
                reencoded(&exact, |s, h| {
                    s.weights = undecided("dense");
                    h.features = 0
                }),
                "row counts differ",
            ),
            (
                reencoded(&RowSummary::new(0, 0, false).encode(), |s, _| {
                    s.weights = undecided("blocky")
                }),
                "expected auto, dense or sparse, got 'blocky'",
            ),
            (
                reencoded(&streamed, |s, _| s.labels = Some(Vec::new())),
                "labels and rows disagree",
            ),
            (
                reencoded(&streamed, |s, _| {
                    s.sample[0].label = Some(StoredLabel::Int(99))
                }),
                "sampled labels that no row had",
            ),
            (
                reencoded(&streamed, |s, _| s.sample[0].label = None),
                "sampled labels that no row had",
            ),
        ];
        for (bytes, problem) in cases {
            assert_eq!(refused(bytes), format!("corrupt partial state: {problem}"));
        }
    }

    #[test]
    fn a_state_without_rows_keeps_its_weighting_and_kind() {
        // An engine may merge empty parts first: the rows that follow must
        // still be weighted as the call asked.
        let empty = RowSummary::new(0, 0, false)
            .with_weighting(Weighting::Sparse)
            .with_exact_moments();
        let mut merged = RowSummary::decode(&empty.encode()).unwrap();
        merged
            .merge(RowSummary::decode(&empty.encode()).unwrap(), "x", "")
            .unwrap();
        merged.add(&block(0..5, 6), "x", None).unwrap();
        assert_eq!(columns(&merged).rows(), 5);
        let mut exact =
            RowSummary::decode(&RowSummary::new(0, 0, false).with_exact_moments().encode())
                .unwrap();
        exact.add(&block(0..5, 6), "x", None).unwrap();
        assert!(matches!(comoments(&exact), DenseMoments::Exact(_)));
    }

    #[test]
    fn memory_beyond_the_grant_is_refused_before_it_is_allocated() {
        let mut dense = RowSummary::new(0, 0, false).with_exact_moments();
        // 3000 features' exact co-moments: 1.1 GiB, refused by a 64 MiB budget.
        let e = dense
            .add_within(&mut Budget::new(64 << 20), &block(0..2, 3000), "x", None)
            .unwrap_err();
        assert!(matches!(e, Error::Memory(_)));
        assert_eq!(
            e.to_string(),
            "3000 features with dense weights need 1.1 GiB (exact co-moments, 256 bytes per \
             pair of features), and the memory budget is 64.0 MiB (three quarters of this \
             machine's memory); weights=sparse keeps each feature's strongest correlations \
             instead (8 bytes per row and feature; the default above 4096 features)"
        );
        assert_eq!(dense.rows(), 0, "nothing was added");
        let mut sparse = RowSummary::new(0, 0, false).with_weighting(Weighting::Sparse);
        sparse
            .add_within(&mut Budget::new(64 << 20), &block(0..2, 3000), "x", None)
            .unwrap();
        let e = sparse
            .add_within(&mut Budget::new(1 << 20), &block(2..100, 3000), "x", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3000 features with sparse weights need"), "{e}");
        assert!(e.ends_with("use fewer rows (a sample) or fewer features, or allow more memory"));
        // What is held stays within what was asked for.
        let asked = sparse.size_after_adding(3000, 98);
        sparse.add(&block(2..100, 3000), "x", None).unwrap();
        assert!(sparse.size() <= asked, "{} > {asked}", sparse.size());
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
        assert_eq!(
            e,
            "corrupt partial state: 3 bytes that do not start an entangle state"
        );
    }
}
