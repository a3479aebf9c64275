//! One batch of validated feature values, as the core reads them: wide
//! columns (Arrow buffers shared with the batch) or the rows of one array
//! column. [`crate::io::read`] makes them; a row summary consumes them.

use arrow::array::Float64Array;
use faer::{MatRef, Par};

use crate::arrange::neighbours::FeatureColumns;
use crate::math::moments::DenseMoments;
use crate::math::sample::value_hash;

/// The validated feature values of one batch of rows.
pub enum FeatureBlock {
    /// One Float64 array per feature (shared with the batch for f64 input).
    Wide(Vec<Float64Array>),
    /// Row r's features are `values[starts[r] .. starts[r] + width]`.
    Array {
        values: Float64Array,
        starts: Vec<usize>,
        width: usize,
    },
}

impl FeatureBlock {
    pub fn width(&self) -> usize {
        match self {
            FeatureBlock::Wide(c) => c.len(),
            FeatureBlock::Array { width, .. } => *width,
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            FeatureBlock::Wide(cols) => cols.first().map_or(0, |c| c.len()),
            FeatureBlock::Array { starts, .. } => starts.len(),
        }
    }

    pub fn row(&self, r: usize) -> Box<[f64]> {
        match self {
            FeatureBlock::Wide(cols) => cols.iter().map(|c| c.values()[r]).collect(),
            FeatureBlock::Array {
                values,
                starts,
                width,
            } => values.values()[starts[r]..starts[r] + width].into(),
        }
    }

    /// Row hashes (commutative in the features).
    pub fn row_hashes(&self, seed: u64) -> Vec<u64> {
        let mut hashes = vec![0u64; self.rows()];
        match self {
            FeatureBlock::Wide(cols) => {
                for col in cols {
                    for (h, &v) in hashes.iter_mut().zip(col.values().iter()) {
                        *h = h.wrapping_add(value_hash(v, seed));
                    }
                }
            }
            FeatureBlock::Array {
                values,
                starts,
                width,
            } => {
                for (h, &s) in hashes.iter_mut().zip(starts) {
                    *h = values.values()[s..s + width]
                        .iter()
                        .fold(0u64, |acc, &v| acc.wrapping_add(value_hash(v, seed)));
                }
            }
        }
        hashes
    }

    /// Appends the block's rows to `columns` (sparse weights).
    pub fn append_to(&self, columns: &mut FeatureColumns) {
        match self {
            FeatureBlock::Wide(cols) => {
                let slices: Vec<&[f64]> = cols.iter().map(|c| c.values().as_ref()).collect();
                columns.extend_columns(&slices);
            }
            FeatureBlock::Array {
                values,
                starts,
                width,
            } => {
                columns.reserve(starts.len());
                for &s in starts {
                    columns.extend_rows(&values.values()[s..s + width]);
                }
            }
        }
    }

    /// Adds the block's rows to `stats`, reading the values in place when the
    /// layout allows (wide columns, or list rows stored back to back).
    pub fn add_to(&self, stats: &mut DenseMoments, par: Par) {
        match self {
            FeatureBlock::Wide(cols) => {
                let columns: Vec<&[f64]> = cols.iter().map(|c| c.values().as_ref()).collect();
                stats.update_columns(&columns, par);
            }
            FeatureBlock::Array {
                values,
                starts,
                width,
            } => {
                let contiguous = starts.windows(2).all(|w| w[1] == w[0] + width);
                let gathered: Vec<f64>;
                let rows = match starts.first() {
                    Some(&first) if contiguous => {
                        &values.values()[first..first + starts.len() * width]
                    }
                    _ => {
                        gathered = starts
                            .iter()
                            .flat_map(|&s| &values.values()[s..s + width])
                            .copied()
                            .collect();
                        &gathered
                    }
                };
                stats.update(
                    MatRef::from_row_major_slice(rows, starts.len(), *width),
                    par,
                );
            }
        }
    }
}
