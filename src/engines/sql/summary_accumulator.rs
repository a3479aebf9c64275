//! The accumulator behind every entangle aggregate: it folds rows into a
//! [`RowSummary`](crate::io::summary::RowSummary) (bottom-k sample, co-moments or feature
//! columns, labels), travels between the partial and final phases as one
//! LargeBinary state (any size), and evaluates to the function's result. The
//! four aggregates differ only in what they evaluate.
//!
//! Memory: before the summary grows, the growth is reserved from the
//! session's memory pool (when the functions were registered with one,
//! [`with_memory_pool`]; else checked against the machine's budget), so a
//! limited session ends the query with "Resources exhausted" naming the
//! function instead of the process aborting; after each batch `size()` says
//! what the summary holds, which the aggregate operator keeps reserved.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::utils::format_state_name;
use datafusion_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Documentation, Signature,
    Volatility,
};
use datafusion_physical_expr::PhysicalExpr;

use crate::engines::reduce::{Reduction, SummaryReducer};
use crate::io::read::{is_label_type, is_numeric_list, is_numeric_struct, label_type_hint};
use crate::io::summary::{Budget, MemoryGrant};
use crate::options::FunctionOptions;

/// 1-based position of a function's options argument.
fn options_position(output: Reduction) -> usize {
    if output.labeled() { 3 } else { 2 }
}

/// The options of an aggregate: the string literal at argument `position`
/// (1-based, for errors), or the defaults when the call has no such argument.
fn options_argument(
    args: &AccumulatorArgs,
    function: &str,
    output: Reduction,
) -> Result<FunctionOptions> {
    let position = options_position(output);
    match args.exprs.get(position - 1) {
        None => Ok(FunctionOptions::default()),
        Some(expr) => {
            let literal = expr
                .downcast_ref::<datafusion_physical_expr::expressions::Literal>()
                .map(|l| l.value().clone())
                .or_else(|| constant_value(expr));
            match literal.as_ref().map(ScalarValue::try_as_str) {
                Some(Some(Some(text))) => FunctionOptions::parse(text, function, output.keys())
                    .map_err(|e| DataFusionError::Plan(e.to_string())),
                _ => Err(DataFusionError::Plan(format!(
                    "{function}: argument {position} (options) must be a string literal such as 'shape=8x8, levels=1..3', got {expr}"
                ))),
            }
        }
    }
}

/// The value of an expression that reads no column, such as a literal that
/// crossed the DataFusion FFI (a foreign expression, not a `Literal`):
/// evaluated on one row of no columns.
fn constant_value(expr: &Arc<dyn PhysicalExpr>) -> Option<ScalarValue> {
    if !expr.children().is_empty() {
        return None;
    }
    let no_columns = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .ok()?;
    match expr.evaluate(&no_columns).ok()? {
        ColumnarValue::Scalar(value) => Some(value),
        ColumnarValue::Array(array) if array.len() == 1 => {
            ScalarValue::try_from_array(&array, 0).ok()
        }
        ColumnarValue::Array(_) => None,
    }
}

/// Checks argument types at planning time; errors name the argument.
fn check_argument_types(
    function: &str,
    output: Reduction,
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
        if !(t.is_null() || is_label_type(t)) {
            return Err(DataFusionError::Plan(format!(
                "{function}: argument 2 (label) must be an integer, boolean or string column, or NULL for unlabeled data, got {t}{}",
                label_type_hint(t, "e.g. CAST(col AS BIGINT)")
            )));
        }
    }
    let options = options_position(output) - 1;
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

/// A reservation in a session's memory pool: the growth of a summary in
/// flight (the operator reserves the accumulator's `size()` after it).
/// An unbounded pool refuses nothing, so the machine's budget is asked too.
#[derive(Debug)]
struct PoolGrant {
    reservation: MemoryReservation,
    budget: Budget,
}

impl MemoryGrant for PoolGrant {
    fn grow(&mut self, held: usize, bytes: usize) -> std::result::Result<(), String> {
        self.budget.grow(held, bytes)?;
        self.reservation
            .try_resize(bytes.saturating_sub(held))
            .map_err(|e| {
                // DataFusion's text lists the pool's top consumers; its last
                // line says what failed and what remains.
                let text = e.strip_backtrace();
                let failed = text.rsplit("Error: ").next().unwrap_or(&text);
                let failed = failed.trim_start_matches("Resources exhausted: ");
                format!("the session's memory pool refused it: {failed}")
            })
    }

    fn settle(&mut self, _bytes: usize) {
        self.reservation.free();
    }
}

/// The one state field: the encoded [`RowSummary`](crate::io::summary::RowSummary).
fn state_fields(args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
    Ok(vec![Arc::new(Field::new(
        format_state_name(args.name, "summary"),
        DataType::LargeBinary,
        true,
    ))])
}

/// One entangle aggregate: its name, its `Signature`, what it evaluates to
/// and its documentation (each function's file supplies the latter).
pub(crate) struct SummaryAggregate {
    name: &'static str,
    output: Reduction,
    signature: Signature,
    documentation: fn() -> &'static Documentation,
    /// The pool that accumulators reserve from (none: the machine's budget).
    memory_pool: Option<Arc<dyn MemoryPool>>,
}

impl std::fmt::Debug for SummaryAggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryAggregate")
            .field("name", &self.name)
            .field("pool", &self.memory_pool.is_some())
            .finish()
    }
}

/// `udaf` (one of entangle's aggregates), its accumulators reserving the
/// memory their summaries need from `pool`; other functions unchanged.
pub fn with_memory_pool(udaf: AggregateUDF, pool: &Arc<dyn MemoryPool>) -> AggregateUDF {
    match udaf.inner().downcast_ref::<SummaryAggregate>() {
        Some(aggregate) => AggregateUDF::from(SummaryAggregate {
            memory_pool: Some(Arc::clone(pool)),
            signature: aggregate.signature.clone(),
            ..*aggregate
        }),
        None => udaf,
    }
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
        output: Reduction,
        documentation: fn() -> &'static Documentation,
    ) -> AggregateUDF {
        AggregateUDF::from(SummaryAggregate {
            name,
            output,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation,
            memory_pool: None,
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
        let memory: Box<dyn MemoryGrant> = match &self.memory_pool {
            Some(pool) => Box::new(PoolGrant {
                reservation: MemoryConsumer::new(self.name).register(pool),
                budget: Budget::machine(),
            }),
            None => Box::new(Budget::machine()),
        };
        Ok(Box::new(SummaryAccumulator::new(
            self.name,
            self.output,
            args,
            memory,
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
    reducer: SummaryReducer,
}

impl SummaryAccumulator {
    pub(crate) fn new(
        function: &'static str,
        output: Reduction,
        args: AccumulatorArgs,
        memory: Box<dyn MemoryGrant>,
    ) -> Result<Self> {
        let options = options_argument(&args, function, output)?;
        let features = args.expr_fields[0].name().clone();
        let label = (output.labeled() && !args.expr_fields[1].data_type().is_null())
            .then(|| args.expr_fields[1].name().clone());
        Ok(SummaryAccumulator {
            reducer: SummaryReducer::new(function, output, options, features, label, memory),
        })
    }

    fn error(&self, e: crate::Error) -> DataFusionError {
        match self.reducer.error(e) {
            e @ crate::Error::Memory(_) => DataFusionError::ResourcesExhausted(e.to_string()),
            // Kept as entangle's error, so that callers can downcast it.
            e => DataFusionError::External(Box::new(e)),
        }
    }
}

impl Accumulator for SummaryAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.reducer
            .add(&values[0], values.get(1))
            .map_err(|e| self.error(e))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.reducer.evaluate().map_err(|e| self.error(e))?;
        ScalarValue::try_from_array(&value, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.reducer.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let encoded = self.reducer.summary().encode();
        Ok(vec![ScalarValue::LargeBinary(Some(encoded))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = states[0].as_binary_opt::<i64>().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "{}: partial states must be LargeBinary, got {}",
                self.reducer.function(),
                states[0].data_type()
            ))
        })?;
        for bytes in states.iter().flatten() {
            self.reducer
                .merge_encoded(bytes)
                .map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BinaryArray, FixedSizeListArray, Float64Array, LargeBinaryArray};
    use rand::{Rng, SeedableRng};

    /// A `feature_order` accumulator (sparse weights when `sparse`).
    fn accumulator(sparse: bool) -> SummaryAccumulator {
        let options = if sparse { "weights=sparse" } else { "" };
        let options =
            FunctionOptions::parse(options, "feature_order", Reduction::Order.keys()).unwrap();
        SummaryAccumulator {
            reducer: SummaryReducer::new(
                "feature_order",
                Reduction::Order,
                options,
                "x".into(),
                None,
                Box::new(Budget::machine()),
            ),
        }
    }

    /// `rows` rows of `width` features as a FixedSizeList array.
    fn rows(rows: std::ops::Range<usize>, width: usize) -> ArrayRef {
        let values: Vec<f64> = rows
            .flat_map(|r| (0..width).map(move |j| ((r * 13 + j * 7) % 17) as f64 - 0.5 * j as f64))
            .collect();
        Arc::new(FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float64, false)),
            width as i32,
            Arc::new(Float64Array::from(values)),
            None,
        ))
    }

    /// The partial state of `rows` rows, as the partial phase sends it.
    fn state(sparse: bool, range: std::ops::Range<usize>, width: usize) -> Vec<u8> {
        let mut partial = accumulator(sparse);
        partial.update_batch(&[rows(range, width)]).unwrap();
        match partial.state().unwrap().remove(0) {
            ScalarValue::LargeBinary(Some(bytes)) => bytes,
            other => panic!("a LargeBinary state, got {other:?}"),
        }
    }

    fn merged(states: &[&[u8]], sparse: bool) -> Result<ScalarValue> {
        let mut last = accumulator(sparse);
        let array: ArrayRef = Arc::new(LargeBinaryArray::from_iter_values(states.iter().copied()));
        last.merge_batch(&[array])?;
        last.evaluate()
    }

    #[test]
    fn corrupted_states_through_merge_batch_are_errors_never_panics() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(32);
        for sparse in [false, true] {
            let (a, b) = (state(sparse, 0..6, 5), state(sparse, 6..11, 5));
            let whole = merged(&[&state(sparse, 0..11, 5)], sparse).unwrap();
            assert_eq!(merged(&[&b, &a], sparse).unwrap(), whole);
            for _ in 0..300 {
                let mut bytes = if rng.random_bool(0.5) {
                    a.clone()
                } else {
                    b.clone()
                };
                match rng.random_range(0..3) {
                    0 => bytes.truncate(rng.random_range(0..bytes.len())),
                    1 => {
                        for _ in 0..rng.random_range(1..=4) {
                            let at = rng.random_range(0..bytes.len());
                            bytes[at] ^= 1 << rng.random_range(0..8);
                        }
                    }
                    _ => {
                        let at = rng.random_range(0..bytes.len());
                        bytes.insert(at, rng.random());
                    }
                }
                let e = merged(&[&a, &bytes], sparse).unwrap_err().strip_backtrace();
                assert!(
                    e.starts_with("External error: feature_order: corrupt partial state: "),
                    "{e}"
                );
            }
            // A whole state of another width is refused by name.
            let wide = state(sparse, 0..6, 7);
            let e = merged(&[&a, &wide], sparse).unwrap_err().strip_backtrace();
            assert_eq!(
                e,
                "External error: feature_order: column 'x': array lengths differ: rows with 7 \
                 and with 5 features"
            );
        }
        // Dense and sparse parts of the same rows do not mix.
        let e = merged(&[&state(false, 0..6, 5), &state(true, 6..11, 5)], false).unwrap_err();
        // entangle's error is kept, for callers that downcast it.
        assert!(
            matches!(&e, DataFusionError::External(inner) if inner.is::<crate::Error>()),
            "{e:?}"
        );
        assert_eq!(
            e.strip_backtrace(),
            "External error: feature_order: partial states mix dense and sparse weights"
        );
        // Binary (i32 offsets) is not this aggregate's state type.
        let binary: ArrayRef = Arc::new(BinaryArray::from_iter_values([b"x".as_slice()]));
        let e = accumulator(false)
            .merge_batch(&[binary])
            .unwrap_err()
            .strip_backtrace();
        assert!(
            e.contains("feature_order: partial states must be LargeBinary, got Binary"),
            "{e}"
        );
    }
}
