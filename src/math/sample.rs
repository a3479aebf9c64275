//! The seeded bottom-k row sample (docs/conventions.md#rows-used).
//!
//! A row's hash is the wrapping sum of per-value hashes, so it does not depend
//! on the order of the row's features: a rearranged file samples the same rows
//! as its source. The `k` rows with the smallest (hash, content) are kept, and
//! they are processed in that order, so the sample and every number computed
//! from it are independent of row order, files, row groups and partitions.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::math::labels::LabelKey;

/// Hash of one feature value: its f64 bits after casting, with −0.0 taken as 0.0.
#[inline]
pub fn value_hash(value: f64, seed: u64) -> u64 {
    let value = if value == 0.0 { 0.0 } else { value };
    xxhash_rust::xxh3::xxh3_64_with_seed(&value.to_bits().to_le_bytes(), seed)
}

/// Hash of a row: commutative combination of its values' hashes.
pub fn row_hash(values: impl IntoIterator<Item = f64>, seed: u64) -> u64 {
    values
        .into_iter()
        .fold(0u64, |acc, v| acc.wrapping_add(value_hash(v, seed)))
}

/// One sampled row: its hash, its feature values in selection order and its label.
#[derive(Debug, Clone)]
pub struct SampledRow {
    pub hash: u64,
    pub values: Box<[f64]>,
    pub label: Option<LabelKey>,
}

impl SampledRow {
    /// Total order on rows: hash first; ties (in practice only rows that hold
    /// the same multiset of values) by the sorted values, which a rearranged
    /// file shares with its source, then by the values in order, then by label.
    fn cmp_key(&self, other: &Self) -> Ordering {
        self.hash
            .cmp(&other.hash)
            .then_with(|| {
                let sorted = |v: &[f64]| {
                    let mut v = v.to_vec();
                    v.sort_unstable_by(f64::total_cmp);
                    v
                };
                cmp_values(&sorted(&self.values), &sorted(&other.values))
            })
            .then_with(|| cmp_values(&self.values, &other.values))
            .then_with(|| self.label.cmp(&other.label))
    }
}

fn cmp_values(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| a.len().cmp(&b.len()))
}

impl PartialEq for SampledRow {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_key(other).is_eq()
    }
}
impl Eq for SampledRow {}
impl PartialOrd for SampledRow {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SampledRow {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_key(other)
    }
}

/// The `k` smallest rows seen so far. Partial samples merge exactly.
#[derive(Debug, Clone)]
pub struct BottomK {
    k: usize,
    /// Max-heap: the largest kept row is on top, ready to be evicted.
    heap: BinaryHeap<SampledRow>,
}

impl BottomK {
    pub fn new(k: usize) -> Self {
        BottomK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// The most rows kept (`k`).
    pub fn capacity(&self) -> usize {
        self.k
    }

    /// The kept rows, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = &SampledRow> {
        self.heap.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Whether a row with this hash could enter the sample. Rows that cannot
    /// are skipped before their values are gathered.
    #[inline]
    pub fn admits(&self, hash: u64) -> bool {
        self.heap.len() < self.k || self.heap.peek().is_some_and(|top| hash <= top.hash)
    }

    /// Offers a row; it is kept if it is among the `k` smallest.
    pub fn offer(&mut self, row: SampledRow) {
        if self.heap.len() < self.k {
            self.heap.push(row);
        } else if let Some(mut top) = self.heap.peek_mut()
            && row < *top
        {
            *top = row;
        }
    }

    /// Merges another partial sample into this one.
    pub fn merge(&mut self, other: BottomK) {
        for row in other.heap {
            self.offer(row);
        }
    }

    /// The kept rows in increasing (hash, content) order: the processing order.
    pub fn into_sorted(self) -> Vec<SampledRow> {
        self.heap.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[f64], seed: u64) -> SampledRow {
        SampledRow {
            hash: row_hash(values.iter().copied(), seed),
            values: values.into(),
            label: None,
        }
    }

    #[test]
    fn row_hash_ignores_feature_order_and_negative_zero() {
        let a = row_hash([1.5, -2.0, 0.0, 7.25], 3);
        let b = row_hash([7.25, 0.0, 1.5, -2.0], 3);
        let c = row_hash([7.25, -0.0, 1.5, -2.0], 3);
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_ne!(a, row_hash([1.5, -2.0, 0.0, 7.25], 4), "seed must matter");
        assert_ne!(a, row_hash([1.5, -2.0, 0.0, 7.5], 3));
    }

    #[test]
    fn sample_is_independent_of_row_order_and_splitting() {
        let rows: Vec<Vec<f64>> = (0..500)
            .map(|i| vec![(i % 17) as f64, (i / 17) as f64, ((i * 7) % 5) as f64])
            .collect();
        let sample = |order: &mut dyn Iterator<Item = &Vec<f64>>| {
            let mut s = BottomK::new(50);
            for r in order {
                s.offer(row(r, 9));
            }
            s
        };
        let forward: Vec<_> = sample(&mut rows.iter()).into_sorted();
        let backward: Vec<_> = sample(&mut rows.iter().rev()).into_sorted();
        let mut first = sample(&mut rows[..123].iter());
        first.merge(sample(&mut rows[123..].iter()));
        let merged = first.into_sorted();
        assert_eq!(forward.len(), 50);
        for other in [&backward, &merged] {
            assert!(
                forward
                    .iter()
                    .zip(other.iter())
                    .all(|(a, b)| a.hash == b.hash && a.values == b.values)
            );
        }
        // Exactly the 50 smallest hashes, in increasing order.
        let mut hashes: Vec<u64> = rows.iter().map(|r| row(r, 9).hash).collect();
        hashes.sort_unstable();
        assert_eq!(
            forward.iter().map(|r| r.hash).collect::<Vec<_>>(),
            hashes[..50]
        );
    }

    #[test]
    fn ties_are_broken_by_content_then_label() {
        let a = SampledRow {
            hash: 1,
            values: vec![1.0, 2.0].into(),
            label: None,
        };
        let b = SampledRow {
            hash: 1,
            values: vec![2.0, 1.0].into(),
            label: None,
        };
        let c = SampledRow {
            hash: 1,
            values: vec![1.0, 2.0].into(),
            label: Some(LabelKey::Int(1)),
        };
        assert!(a < b);
        assert!(a < c);
        assert!(
            SampledRow {
                hash: 0,
                ..b.clone()
            } < a
        );
    }
}
