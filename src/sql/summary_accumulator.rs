//! The accumulator behind every entangle aggregate: it folds rows into a
//! [`RowSummary`] (bottom-k sample, co-moments, labels), travels between the
//! partial and final phases as one Binary state, and evaluates to the
//! function's result. The four aggregates differ only in what they evaluate.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, ListArray, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::filter;
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use crate::analysis::Analysis;
use crate::io::{
    FeatureBlock, batch_labels, feature_columns, is_numeric_list, is_numeric_struct,
    rows_without_nulls,
};
use crate::profile::{Profile, surrogate_profile};
use crate::sql::options::{OptionKeys, SqlOptions, error_message};
use crate::summary::RowSummary;
use crate::tree::{CanonicalTree, Grid};

/// What an aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Output {
    /// `entanglement`: the mean entropy over levels.
    Entanglement,
    /// `entanglement_profile`: one struct per partition.
    Profile,
    /// `surrogate_entanglement`: the mean over levels of the mean cut.
    Surrogate,
    /// `feature_order`: the arrangement.
    Order,
}

impl Output {
    /// Whether the function takes a label argument (second).
    fn labeled(self) -> bool {
        matches!(self, Output::Entanglement | Output::Profile)
    }

    fn keys(self) -> OptionKeys {
        if self.labeled() {
            OptionKeys::Profile
        } else {
            OptionKeys::Surrogate
        }
    }

    /// 1-based position of the options argument.
    fn options_position(self) -> usize {
        if self.labeled() { 3 } else { 2 }
    }

    pub(crate) fn return_type(self) -> DataType {
        match self {
            Output::Entanglement | Output::Surrogate => DataType::Float64,
            Output::Profile => DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(profile_fields()),
                true,
            ))),
            Output::Order => DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
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

/// Checks argument types at planning time; errors name the argument.
fn check_argument_types(
    function: &str,
    output: Output,
    types: &[DataType],
) -> Result<Vec<DataType>> {
    let (least, most) = if output.labeled() { (2, 3) } else { (1, 2) };
    let usage = if output.labeled() {
        format!("{function}(features, label [, options])")
    } else {
        format!("{function}(features [, options])")
    };
    if types.len() < least || types.len() > most {
        return Err(DataFusionError::Plan(format!(
            "{function}: expected {least} or {most} arguments ({usage}), got {}",
            types.len()
        )));
    }
    if !is_numeric_list(&types[0]) && !is_numeric_struct(&types[0]) {
        return Err(DataFusionError::Plan(format!(
            "{function}: argument 1 (features) must be a list of numbers such as make_array(f1, f2, ...) or an array column, or a struct of numbers such as struct(f1, f2, ...), got {}",
            types[0]
        )));
    }
    if output.labeled() {
        let t = &types[1];
        let label_ok = t.is_null()
            || t.is_integer()
            || t.is_floating()
            || matches!(
                t,
                DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
            || matches!(t, DataType::Dictionary(..));
        if !label_ok {
            return Err(DataFusionError::Plan(format!(
                "{function}: argument 2 (label) must be an integer, boolean or string column, or NULL for unlabeled data, got {t}"
            )));
        }
    }
    let options = output.options_position() - 1;
    if let Some(t) = types.get(options)
        && !matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
    {
        return Err(DataFusionError::Plan(format!(
            "{function}: argument {} (options) must be a string such as 'shape=8x8, levels=1..3', got {t}",
            options + 1
        )));
    }
    Ok(types.to_vec())
}

/// The one state field: the encoded [`RowSummary`].
fn state_fields(args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
    Ok(vec![Arc::new(Field::new(
        format_state_name(args.name, "summary"),
        DataType::Binary,
        true,
    ))])
}

/// One entangle aggregate: its name, its `Signature`, what it evaluates to
/// and its documentation (each function's file supplies the latter).
#[derive(Debug)]
pub(crate) struct SummaryAggregate {
    name: &'static str,
    output: Output,
    signature: Signature,
    documentation: fn() -> &'static Documentation,
}

// Equal when they are the same function (the name decides the rest).
impl PartialEq for SummaryAggregate {
    fn eq(&self, other: &Self) -> bool {
        (self.name, self.output) == (other.name, other.output)
    }
}
impl Eq for SummaryAggregate {}
impl std::hash::Hash for SummaryAggregate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.name, self.output).hash(state);
    }
}

impl SummaryAggregate {
    pub(crate) fn udaf(
        name: &'static str,
        output: Output,
        documentation: fn() -> &'static Documentation,
    ) -> AggregateUDF {
        AggregateUDF::from(SummaryAggregate {
            name,
            output,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation,
        })
    }
}

impl AggregateUDFImpl for SummaryAggregate {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_argument_types(self.name, self.output, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.output.return_type())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SummaryAccumulator::new(
            self.name,
            self.output,
            args,
        )?))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        state_fields(args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some((self.documentation)())
    }
}

/// Folds rows into a summary and evaluates one aggregate.
#[derive(Debug)]
pub(crate) struct SummaryAccumulator {
    function: &'static str,
    output: Output,
    options: SqlOptions,
    /// Names of the features and label arguments, for errors.
    features: String,
    label: Option<String>,
    summary: RowSummary,
}

impl SummaryAccumulator {
    pub(crate) fn new(
        function: &'static str,
        output: Output,
        args: AccumulatorArgs,
    ) -> Result<Self> {
        let options = SqlOptions::from_argument(
            args.exprs,
            output.options_position(),
            function,
            output.keys(),
        )?;
        let features = args.expr_fields[0].name().clone();
        let label = (output.labeled() && !args.expr_fields[1].data_type().is_null())
            .then(|| args.expr_fields[1].name().clone());
        // Surrogates and orders use co-moments only: keep no sample.
        let max_samples = if output.labeled() {
            options.profile.max_samples
        } else {
            0
        };
        let summary = RowSummary::new(max_samples, options.profile.seed, label.is_some());
        Ok(SummaryAccumulator {
            function,
            output,
            options,
            features,
            label,
            summary,
        })
    }

    fn error(&self, e: crate::Error) -> DataFusionError {
        DataFusionError::Execution(error_message(self.function, e))
    }

    /// The tree and levels for `n` features, checked against the options.
    fn tree(&self, n: usize) -> crate::Result<(CanonicalTree, Vec<usize>)> {
        let tree = CanonicalTree::new(Grid::for_features(
            n,
            self.options.profile.shape.as_deref(),
        )?);
        let levels = self.options.profile.levels_for(&tree)?;
        Ok((tree, levels))
    }

    fn add(&mut self, values: &[ArrayRef]) -> crate::Result<()> {
        let mut features = values[0].clone();
        let mut labels = self.label.as_ref().map(|_| values[1].clone());
        if self.options.skip_null_rows {
            let (batch, resolved) = feature_columns(&features, &self.features)?;
            let keep = rows_without_nulls(&batch, &resolved);
            if keep.true_count() < features.len() {
                let drop_rows = |a: &ArrayRef| {
                    filter(a, &keep)
                        .map_err(|e| crate::Error::column(&self.features, e.to_string()))
                };
                features = drop_rows(&features)?;
                labels = labels.as_ref().map(drop_rows).transpose()?;
            }
        }
        if features.is_empty() {
            return Ok(());
        }
        let first_row = self.summary.rows();
        let block = FeatureBlock::from_array(&features, &self.features, first_row)?;
        if let Some(Err(e)) = self
            .summary
            .features()
            .is_none()
            .then(|| self.tree(block.width()))
        {
            return Err(e);
        }
        let keys = match (&self.label, &labels) {
            (Some(name), Some(array)) => Some(batch_labels(name, array, first_row)?),
            _ => None,
        };
        let label = self.label.clone().unwrap_or_default();
        self.summary.add(
            &block,
            &self.features,
            keys.as_deref().map(|k| (label.as_str(), k)),
        )
    }

    fn profile(&self) -> crate::Result<Profile> {
        let analysis = Analysis::new(&self.summary, self.label.as_deref(), Vec::new())?;
        analysis.profile(&self.options.profile, None, &|_, _| {})
    }

    fn result(&self) -> crate::Result<ScalarValue> {
        if self.summary.rows() == 0 {
            // An aggregate over no rows is NULL, as in SQL.
            return Ok(ScalarValue::try_from(&self.output.return_type())
                .expect("the return types have NULL values"));
        }
        Ok(match self.output {
            Output::Entanglement => ScalarValue::Float64(Some(self.profile()?.mean_entropy)),
            Output::Profile => profile_value(&self.profile()?),
            Output::Surrogate | Output::Order => {
                // Checks rows and features as a profile does.
                let analysis = Analysis::new(&self.summary, None, Vec::new())?;
                let (tree, levels) = self.tree(analysis.features())?;
                if self.output == Output::Surrogate {
                    let partitions = tree.canonical_partitions(&levels);
                    let surrogate = surrogate_profile(
                        analysis.surrogate(None).as_ref(),
                        &tree,
                        &partitions,
                        &levels,
                    );
                    ScalarValue::Float64(Some(surrogate.mean))
                } else {
                    let order = analysis.arrange(&tree, &levels, self.options.profile.seed);
                    let order = Int32Array::from_iter_values(order.iter().map(|&i| i as i32));
                    ScalarValue::List(Arc::new(single_list(Arc::new(order))))
                }
            }
        })
    }
}

/// A one-row list array holding `values`.
pub(crate) fn single_list(values: ArrayRef) -> ListArray {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    ListArray::new(
        field,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    )
}

/// The profile's partitions as a one-row `LIST<STRUCT<…>>`.
fn profile_value(profile: &Profile) -> ScalarValue {
    let parts: Vec<(usize, &crate::profile::PartitionProfile)> = profile
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
    let structs = StructArray::new(profile_fields(), columns, None);
    ScalarValue::List(Arc::new(single_list(Arc::new(structs))))
}

impl Accumulator for SummaryAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(values).map_err(|e| self.error(e))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.result().map_err(|e| self.error(e))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.summary.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.summary.encode()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = states[0].as_binary::<i32>();
        for bytes in states.iter().flatten() {
            let part = RowSummary::decode(bytes).map_err(|e| self.error(e))?;
            let label = self.label.clone().unwrap_or_default();
            self.summary
                .merge(part, &self.features, &label)
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}
