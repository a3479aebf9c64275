//! The reductions behind the entangle functions of every engine (SQL
//! aggregates, polars expressions): rows are folded into a [`RowSummary`]
//! (bottom-k sample, co-moments, labels), summaries merge exactly, and the
//! result is one Arrow value of the function's type. The engines differ only
//! in how they hand over their columns and return the value.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, ListArray, StructArray, new_null_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::filter;
use arrow::datatypes::{DataType, Field, Fields};

use crate::analysis::{Analysis, Phases};
use crate::io::read::{
    RowNumbers, batch_labels, feature_block_of, feature_columns, rows_without_nulls,
};
use crate::io::summary::{MemoryGrant, RowSummary, StateHeader};
use crate::math::profile::{Profile, surrogate_profile};
use crate::math::tree::{CanonicalTree, Grid};
use crate::options::{FunctionOptions, OptionKeys, for_function};
use crate::{Error, Result};

/// What a function reduces its rows to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// `entanglement`: the mean entropy over levels.
    Entanglement,
    /// `entanglement_profile`: one struct per partition.
    Profile,
    /// `surrogate_entanglement`: the mean over levels of the mean cut.
    Surrogate,
    /// `feature_order`: the arrangement.
    Order,
}

impl Reduction {
    /// Whether the function takes a label (second argument).
    pub fn labeled(self) -> bool {
        matches!(self, Reduction::Entanglement | Reduction::Profile)
    }

    /// The option keys the function accepts.
    pub fn keys(self) -> OptionKeys {
        if self.labeled() {
            OptionKeys::Profile
        } else {
            OptionKeys::Surrogate
        }
    }

    /// The Arrow type of the result.
    pub fn return_type(self) -> DataType {
        match self {
            Reduction::Entanglement | Reduction::Surrogate => DataType::Float64,
            Reduction::Profile => DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(profile_fields()),
                true,
            ))),
            Reduction::Order => DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
        }
    }
}

/// `STRUCT<level INT, chunk INT, size BIGINT, entropy DOUBLE, geometric DOUBLE>`.
fn profile_fields() -> Fields {
    Fields::from(vec![
        Field::new("level", DataType::Int32, false),
        Field::new("chunk", DataType::Int32, false),
        Field::new("size", DataType::Int64, false),
        Field::new("entropy", DataType::Float64, false),
        Field::new("geometric", DataType::Float64, false),
    ])
}

/// Folds batches of rows into a summary and evaluates one function.
#[derive(Debug)]
pub struct SummaryReducer {
    function: &'static str,
    reduction: Reduction,
    options: FunctionOptions,
    /// Names of the features and label arguments, for errors.
    features: String,
    label: Option<String>,
    summary: RowSummary,
    /// Rows received so far, dropped ones included: errors number rows by it.
    rows_received: u64,
    /// Asked before the summary grows: the engine's memory pool, or a budget.
    memory: Box<dyn MemoryGrant>,
}

impl SummaryReducer {
    /// A reducer for `function`; `label` names the label column, if any;
    /// `memory` grants what the summary holds.
    pub fn new(
        function: &'static str,
        reduction: Reduction,
        options: FunctionOptions,
        features: String,
        label: Option<String>,
        memory: Box<dyn MemoryGrant>,
    ) -> Self {
        let label = label.filter(|_| reduction.labeled());
        // Surrogates and orders use co-moments only: keep no sample.
        let max_samples = if reduction.labeled() {
            options.profile.max_samples
        } else {
            0
        };
        let mut summary = RowSummary::new(max_samples, options.profile.seed, label.is_some())
            .with_weighting(options.weighting);
        if !reduction.labeled() {
            // Their results come from the co-moments, which must not depend
            // on how the engine splits and merges the rows.
            summary = summary.with_exact_moments();
        }
        SummaryReducer {
            function,
            reduction,
            options,
            features,
            label,
            summary,
            rows_received: 0,
            memory,
        }
    }

    /// The function's name.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// The function's name and the problem, as one error.
    pub fn error(&self, e: Error) -> Error {
        for_function(self.function, e)
    }

    /// The summary so far (a partial state to merge elsewhere).
    pub fn summary(&self) -> &RowSummary {
        &self.summary
    }

    /// Approximate heap size in bytes.
    pub fn size(&self) -> usize {
        self.summary.size()
    }

    /// The tree and levels for `n` features, checked against the options.
    fn tree(&self, n: usize) -> Result<(CanonicalTree, Vec<usize>)> {
        let tree = CanonicalTree::new(Grid::for_features(
            n,
            self.options.profile.shape.as_deref(),
        )?);
        let levels = self.options.profile.levels_for(&tree)?;
        Ok((tree, levels))
    }

    /// Folds one batch: the features array and, for a labeled reducer, the
    /// label array of the same rows. Errors are the core's (see [`Self::error`]).
    pub fn add(&mut self, features: &ArrayRef, labels: Option<&ArrayRef>) -> Result<()> {
        let mut features = features.clone();
        let mut labels = self.label.as_ref().and(labels).cloned();
        if let (Some(name), Some(l)) = (&self.label, &labels) {
            check_label_length(name, l.len(), features.len())?;
        }
        let before = self.rows_received;
        self.rows_received += features.len() as u64;
        let mut numbers = RowNumbers::after(before);
        if self.options.skip_null_rows {
            let (batch, resolved) = feature_columns(&features, &self.features)?;
            let keep = rows_without_nulls(&batch, &resolved);
            if keep.true_count() < features.len() {
                numbers = RowNumbers::kept(before, &keep);
                let drop_rows = |a: &ArrayRef| {
                    filter(a, &keep).map_err(|e| Error::column(&self.features, e.to_string()))
                };
                features = drop_rows(&features)?;
                labels = labels.as_ref().map(drop_rows).transpose()?;
            }
        }
        if features.is_empty() {
            return Ok(());
        }
        let block = feature_block_of(&features, &self.features, &numbers)?;
        if self.summary.features().is_none() {
            self.tree(block.width())?;
        }
        let keys = match (&self.label, &labels) {
            (Some(name), Some(array)) => Some(batch_labels(name, array, &numbers)?),
            _ => None,
        };
        let label = self.label.clone().unwrap_or_default();
        self.summary.add_within(
            self.memory.as_mut(),
            &block,
            &self.features,
            keys.as_deref().map(|k| (label.as_str(), k)),
        )
    }

    /// Merges a partial summary encoded by [`RowSummary::encode`], once
    /// the memory it needs is granted.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<()> {
        let header = StateHeader::read(bytes)?;
        let needed = self.summary.size_after_merging(&header);
        self.memory
            .grow(self.summary.size(), needed)
            .map_err(|why| {
                self.summary
                    .memory_error(header.features as usize, needed, &why)
            })?;
        let label = self.label.clone().unwrap_or_default();
        let merged = RowSummary::decode(bytes)
            .and_then(|part| self.summary.merge(part, &self.features, &label));
        self.memory.settle(self.summary.size());
        merged
    }

    fn analysis(&self, label: Option<&str>) -> Result<Analysis> {
        Ok(Analysis::new(&self.summary, label, Vec::new())?
            .with_neighbours(self.options.neighbours))
    }

    fn profile(&self) -> Result<Profile> {
        let analysis = self.analysis(self.label.as_deref())?;
        analysis.profile(&self.options.profile, None, &|_, _| {})
    }

    /// The result as a one-element array of [`Reduction::return_type`]; null
    /// when no rows were folded in, as a SQL aggregate over no rows.
    pub fn evaluate(&self) -> Result<ArrayRef> {
        if self.summary.rows() == 0 {
            return Ok(new_null_array(&self.reduction.return_type(), 1));
        }
        Ok(match self.reduction {
            Reduction::Entanglement => {
                Arc::new(Float64Array::from(vec![self.profile()?.mean_entropy]))
            }
            Reduction::Profile => Arc::new(single_list(Arc::new(profile_array(&self.profile()?)))),
            Reduction::Surrogate | Reduction::Order => {
                // Checks rows and features as a profile does.
                let analysis = self.analysis(None)?;
                let (tree, levels) = self.tree(analysis.features())?;
                if self.reduction == Reduction::Surrogate {
                    let partitions = tree.canonical_partitions(&levels);
                    let surrogate = surrogate_profile(
                        analysis.surrogate(None).as_ref(),
                        &tree,
                        &partitions,
                        &levels,
                    );
                    Arc::new(Float64Array::from(vec![surrogate.mean]))
                } else {
                    let (order, _) = analysis.arrange(
                        &tree,
                        &levels,
                        self.options.profile.seed,
                        self.options.placement,
                        self.options.shrink,
                        &mut Phases::default(),
                    );
                    let order = Int32Array::from_iter_values(order.iter().map(|&i| i as i32));
                    Arc::new(single_list(Arc::new(order)))
                }
            }
        })
    }
}

/// A one-row list array holding `values`.
pub fn single_list(values: ArrayRef) -> ListArray {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    ListArray::new(
        field,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    )
}

/// The profile's partitions as `STRUCT<level, chunk, size, entropy, geometric>` rows.
fn profile_array(profile: &Profile) -> StructArray {
    let parts: Vec<(usize, &crate::math::profile::PartitionProfile)> = profile
        .levels
        .iter()
        .flat_map(|l| l.partitions.iter().map(move |p| (l.level, p)))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            parts.iter().map(|(l, _)| *l as i32),
        )),
        Arc::new(Int32Array::from_iter_values(
            parts.iter().map(|(_, p)| p.chunk as i32),
        )),
        Arc::new(Int64Array::from_iter_values(
            parts.iter().map(|(_, p)| p.size as i64),
        )),
        Arc::new(Float64Array::from_iter_values(
            parts.iter().map(|(_, p)| p.entropy),
        )),
        Arc::new(Float64Array::from_iter_values(
            parts.iter().map(|(_, p)| p.geometric),
        )),
    ];
    StructArray::new(profile_fields(), columns, None)
}

/// A label column must have one value per row of features.
pub fn check_label_length(label: &str, label_rows: usize, feature_rows: usize) -> Result<()> {
    if label_rows == feature_rows {
        return Ok(());
    }
    Err(Error::label(
        label,
        format!("has {label_rows} rows where the features have {feature_rows}"),
    ))
}
