//! From a row summary to profiles: the sample matrix in processing order, the
//! label scheme and the |correlation| weights of all rows, computed once and
//! used for any number of feature orders (before and after an arrangement).

use std::borrow::Cow;

use faer::Mat;

use crate::error::{Error, Result};
use crate::labels::{LabelKey, LabelScheme};
use crate::profile::{Profile, ProfileInput, ProfileOptions, SampleMatrix, compute_profile};
use crate::summary::RowSummary;

/// The inputs of a profile, ready for any feature order.
pub struct Analysis {
    pub rows: u64,
    pub sample: SampleMatrix,
    pub labels: Vec<Option<LabelKey>>,
    pub scheme: LabelScheme,
    /// |Pearson| weights over all rows, input feature order.
    pub correlation: Mat<f64>,
    pub label_column: Option<String>,
    pub warnings: Vec<String>,
}

impl Analysis {
    /// Prepares a summary of at least 2 rows and 2 features for profiling.
    pub fn new(
        summary: &RowSummary,
        label_column: Option<&str>,
        warnings: Vec<String>,
    ) -> Result<Self> {
        let rows = summary.rows();
        if rows < 2 {
            return Err(Error::Data(format!("need at least 2 rows, found {rows}")));
        }
        let comoments = summary.comoments().expect("rows were added");
        if comoments.features() < 2 {
            return Err(Error::Data(format!(
                "need at least 2 features, found {}",
                comoments.features()
            )));
        }
        let (sample, labels) = summary.sample_matrix();
        Ok(Analysis {
            rows,
            sample,
            labels,
            scheme: LabelScheme::from_labels(summary.labels()),
            correlation: comoments.correlation_weights(),
            label_column: label_column.map(str::to_string),
            warnings,
        })
    }

    pub fn features(&self) -> usize {
        self.correlation.nrows()
    }

    /// The profile of the features in the given order (`order[g]` = input
    /// feature at grid position g); `None` keeps the input order.
    /// `progress(done, total)` counts solved partitions.
    pub fn profile(
        &self,
        options: &ProfileOptions,
        order: Option<&[usize]>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Profile> {
        let n = self.features();
        let (sample, correlation) = match order {
            None => (
                Cow::Borrowed(&self.sample),
                Cow::Borrowed(&self.correlation),
            ),
            Some(order) => {
                let x = self.sample.as_ref();
                let values = (0..self.sample.rows)
                    .flat_map(|r| order.iter().map(move |&j| x[(r, j)]))
                    .collect();
                let sample = SampleMatrix {
                    rows: self.sample.rows,
                    features: n,
                    values,
                };
                let correlation = Mat::from_fn(n, n, |i, j| self.correlation[(order[i], order[j])]);
                (Cow::Owned(sample), Cow::Owned(correlation))
            }
        };
        compute_profile(
            ProfileInput {
                rows: self.rows,
                sample: &sample,
                labels: self
                    .label_column
                    .as_deref()
                    .map(|c| (c, self.labels.as_slice())),
                scheme: &self.scheme,
                correlation: correlation.as_ref().as_ref(),
                warnings: self.warnings.clone(),
            },
            options,
            progress,
        )
    }
}
