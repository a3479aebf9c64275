//! `permute(features, order)` → the features list with its elements reordered:
//! element g of the result is element `order[g]` of the input.

use std::sync::LazyLock;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::{cast, concat};
use arrow::datatypes::DataType;
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::DOC_SECTION;
use crate::io::read::ListRows;
use crate::io::rewrite::{check_permutation, permute_elements};
use crate::options::for_function;

/// The `permute` scalar function.
pub fn permute_udf() -> ScalarUDF {
    ScalarUDF::from(Permute {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Permute {
    signature: Signature,
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
    )
}

fn plan_error(problem: String) -> DataFusionError {
    DataFusionError::Plan(format!("permute: {problem}"))
}

impl ScalarUDFImpl for Permute {
    fn name(&self) -> &str {
        "permute"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.len() != 2 {
            return Err(plan_error(format!(
                "expected 2 arguments (permute(features, order)), got {}",
                types.len()
            )));
        }
        if !is_list(&types[0]) {
            return Err(plan_error(format!(
                "argument 1 (features) must be a list or array column, got {}",
                types[0]
            )));
        }
        match &types[1] {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_integer() => {}
            t => {
                return Err(plan_error(format!(
                    "argument 2 (order) must be a list of integers such as feature_order(...), got {t}"
                )));
            }
        }
        Ok(types.to_vec())
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = args.arg_fields[0].name().clone();
        let scalar_features = matches!(args.args[0], ColumnarValue::Scalar(_));
        let rows = args.number_rows;
        let features = args.args[0].to_array(rows)?;
        let permuted = match &args.args[1] {
            ColumnarValue::Scalar(order) => {
                let order = order_of(&order.to_array()?, 0)?;
                permute_rows(&features, &order, &name)?
            }
            ColumnarValue::Array(orders) => {
                // Rows sharing an order (the usual case: one order for all)
                // are permuted together.
                let mut parts: Vec<ArrayRef> = Vec::new();
                let mut start = 0;
                while start < rows {
                    let order = order_of(orders, start)?;
                    let mut end = start + 1;
                    while end < rows && order_of(orders, end)? == order {
                        end += 1;
                    }
                    parts.push(permute_rows(
                        &features.slice(start, end - start),
                        &order,
                        &name,
                    )?);
                    start = end;
                }
                let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                if parts.is_empty() {
                    features.slice(0, 0)
                } else {
                    concat(&parts)?
                }
            }
        };
        Ok(if scalar_features {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&permuted, 0)?)
        } else {
            ColumnarValue::Array(permuted)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        static DOC: LazyLock<Documentation> = LazyLock::new(|| {
            Documentation::builder(
                DOC_SECTION,
                "Reorders the elements of each row's feature list: element g of the result is \
                 element order[g] of the input (0-based), so permute(features, \
                 feature_order(features)) lays the features out in the arranged order. Null \
                 rows stay null and null elements move with their position. The order must \
                 be a permutation of 0..n-1 where n is the list length.",
                "permute(features, order)",
            )
            .with_sql_example(
                "```sql\n> SELECT permute(make_array(10, 20, 30), make_array(2, 0, 1));\n\
                 [30, 10, 20]\n```",
            )
            .with_argument("features", "A list or array column.")
            .with_argument(
                "order",
                "A list of 0-based integer positions (a permutation).",
            )
            .with_related_udf("feature_order")
            .build()
        });
        Some(&DOC)
    }
}

/// The order in row `row` of a list-of-integers array.
fn order_of(orders: &ArrayRef, row: usize) -> Result<Vec<usize>> {
    if orders.is_null(row) {
        return Err(DataFusionError::Execution(
            "permute: argument 2 (order): is NULL".to_string(),
        ));
    }
    let rows = ListRows::of(orders.as_ref()).expect("the signature takes lists only");
    let range = rows.range(row);
    let values = cast(
        &rows.values.slice(range.start, range.len()),
        &DataType::Int64,
    )?;
    let values: &Int64Array = values.as_primitive();
    values
        .iter()
        .map(|v| match v {
            Some(v) if v >= 0 => Ok(v as usize),
            Some(v) => Err(DataFusionError::Execution(format!(
                "permute: argument 2 (order): is not a permutation: index {v} is negative"
            ))),
            None => Err(DataFusionError::Execution(
                "permute: argument 2 (order): holds a NULL".to_string(),
            )),
        })
        .collect()
}

/// Permutes every non-null row of `features` by `order`.
fn permute_rows(features: &ArrayRef, order: &[usize], name: &str) -> Result<ArrayRef> {
    let error = |e: crate::Error| DataFusionError::External(Box::new(for_function("permute", e)));
    // Every non-null row must have exactly order.len() elements.
    let rows = ListRows::of(features.as_ref()).expect("the signature takes lists only");
    let n = (0..features.len())
        .filter(|&r| features.is_valid(r))
        .map(|r| rows.range(r).len())
        .find(|&n| n != order.len());
    if let Some(n) = n {
        return Err(error(crate::Error::Data(format!(
            "argument 2 (order): has {} entries but argument 1 ({name}) has {n} elements",
            order.len()
        ))));
    }
    check_permutation(order, order.len(), "argument 2 (order)").map_err(error)?;
    permute_elements(features, order, name, 0).map_err(error)
}
