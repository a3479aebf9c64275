//! Rearranging a polars frame: compute the order with [`feature_order`] in
//! one pass, then move the features (docs/conventions.md#rearranged-parquet).

use polars::prelude::*;

use super::expressions::{feature_order, permute};
use crate::options::EntangleOptions;

/// Where a frame's features are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureLayout {
    /// These numeric columns, in this order.
    Columns(Vec<String>),
    /// Every numeric column whose name starts with the prefix, in frame order.
    Prefix(String),
    /// One Array or List column.
    Array(String),
}

/// `frame` with its features rearranged, and the order (element g is the
/// input position of the feature now at position g). Wide layout: the
/// feature columns trade places, names and values together; array layout:
/// each row's elements are permuted; other columns and the row order are
/// untouched. The order is computed from all rows (one pass over `frame`);
/// the returned frame is lazy. For a `DataFrame`, pass `df.lazy()`.
pub fn rearrange(
    frame: LazyFrame,
    layout: &FeatureLayout,
    options: &EntangleOptions,
) -> PolarsResult<(LazyFrame, Vec<usize>)> {
    let mut frame = frame;
    let schema = frame.collect_schema()?;
    let features = match layout {
        FeatureLayout::Array(name) => {
            let order = compute_order(frame.clone(), col(name.as_str()), options)?;
            let rearranged = frame.with_column(permute(col(name.as_str()), &order));
            return Ok((rearranged, order));
        }
        FeatureLayout::Columns(names) => names.clone(),
        FeatureLayout::Prefix(prefix) => schema
            .iter()
            .filter(|(name, dtype)| {
                name.starts_with(prefix.as_str()) && dtype.is_primitive_numeric()
            })
            .map(|(name, _)| name.to_string())
            .collect(),
    };
    if features.is_empty() {
        return Err(PolarsError::ColumnNotFound(
            format!("rearrange: no feature columns match {layout:?}").into(),
        ));
    }
    let struct_of_features = as_struct(features.iter().map(|n| col(n.as_str())).collect());
    let order = compute_order(frame.clone(), struct_of_features, options)?;
    // The column of feature g (selection order) receives feature order[g].
    let columns: Vec<Expr> = schema
        .iter_names()
        .map(|n| match features.iter().position(|f| f == n.as_str()) {
            Some(g) => col(features[order[g]].as_str()),
            None => col(n.clone()),
        })
        .collect();
    Ok((frame.select(columns), order))
}

/// One pass of [`feature_order`] over `frame`.
fn compute_order(
    frame: LazyFrame,
    features: Expr,
    options: &EntangleOptions,
) -> PolarsResult<Vec<usize>> {
    let order_options = EntangleOptions {
        theta: None,
        max_samples: None,
        standardize: None,
        ..options.clone()
    };
    let result = frame
        .select([feature_order(features, &order_options)?.alias("order")])
        .collect()?;
    let order = result
        .column("order")?
        .list()?
        .get_as_series(0)
        .ok_or_else(|| {
            PolarsError::NoData("rearrange: the frame has no rows to order features by".into())
        })?;
    Ok(order
        .i32()?
        .into_no_null_iter()
        .map(|i| i as usize)
        .collect())
}
