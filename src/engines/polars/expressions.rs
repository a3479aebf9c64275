//! The entangle functions as polars expressions. The reductions are
//! group-wise aggregations (`apply_multiple` with a scalar result): polars
//! hands each one the whole column, or one group's rows, never a slice of
//! chunks, so they reduce correctly in `select`, `group_by().agg()` and the
//! streaming engine. `permute` is element-wise.

use arrow::array::ArrayRef;
use polars::prelude::*;

use super::bridge::{arrow_to_series, polars_dtype, series_to_arrow};
use crate::engines::reduce::{Reduction, SummaryReducer, check_label_length};
use crate::io::read::{ListRows, float_label_hint};
use crate::io::rewrite::{check_permutation, permute_elements};
use crate::io::summary::Budget;
use crate::options::{EntangleOptions, FunctionOptions};

/// Which polars API a function was called through: errors name the function
/// and show a fix the way its user writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The Rust expressions of this module (`entanglement(col("x"), ...)`).
    Rust,
    /// The Python package's plugin (`entangle.entanglement("x", ...)`).
    Python,
}

impl Host {
    /// How the user called `function`: `entanglement` or `entangle.entanglement`.
    pub fn function_name(self, function: &'static str) -> &'static str {
        match self {
            Host::Rust => function,
            Host::Python => match function {
                "entanglement" => "entangle.entanglement",
                "entanglement_profile" => "entangle.entanglement_profile",
                "surrogate_entanglement" => "entangle.surrogate_entanglement",
                "feature_order" => "entangle.feature_order",
                "permute" => "entangle.permute",
                other => other,
            },
        }
    }

    /// The cast of `column` to an integer, in the host's own idiom.
    fn integer_cast(self, column: &str) -> String {
        match self {
            Host::Rust => format!("e.g. col({column:?}).cast(DataType::Int64)"),
            Host::Python => format!("e.g. pl.col({column:?}).cast(pl.Int64)"),
        }
    }
}

fn compute_error(e: crate::Error) -> PolarsError {
    polars_err!(ComputeError: "{e}")
}

/// The entanglement of the rows (mean over levels of the per-level mean
/// entropy, docs/conventions.md#profile): one `f64` for the frame or for each
/// group. `label` `None` is unlabeled data; a label column gives the labeled
/// entropy (two classes) or the mean over one-vs-rest classes.
///
/// ```no_run
/// # use polars::prelude::*;
/// # use entangle::engines::polars::{EntangleOptions, entanglement};
/// # fn main() -> PolarsResult<()> {
/// let options: EntangleOptions = "shape=16x16, levels=1..3".parse().unwrap();
/// let value = LazyFrame::scan_parquet(PlRefPath::new("sample_data/images_2d.parquet"), Default::default())?
///     .select([entanglement(col("pixels"), None, &options)?])
///     .collect()?;
/// # Ok(()) }
/// ```
pub fn entanglement(
    features: Expr,
    label: Option<Expr>,
    options: &EntangleOptions,
) -> PolarsResult<Expr> {
    reduction(
        "entanglement",
        Reduction::Entanglement,
        features,
        label,
        options,
    )
}

/// Every canonical partition's entanglement: a list of structs
/// `{level, chunk, size, entropy, geometric}`, level by level (the SQL
/// function's type); `explode` it for rows.
pub fn entanglement_profile(
    features: Expr,
    label: Option<Expr>,
    options: &EntangleOptions,
) -> PolarsResult<Expr> {
    reduction(
        "entanglement_profile",
        Reduction::Profile,
        features,
        label,
        options,
    )
}

/// The surrogate entanglement from all rows: the mean over levels of the
/// mean |correlation| cut by the canonical partitions (docs/conventions.md#surrogate).
pub fn surrogate_entanglement(features: Expr, options: &EntangleOptions) -> PolarsResult<Expr> {
    reduction(
        "surrogate_entanglement",
        Reduction::Surrogate,
        features,
        None,
        options,
    )
}

/// The feature order that lowers the surrogate: element g is the input
/// position of the feature placed at grid position g (a `list[i32]`).
pub fn feature_order(features: Expr, options: &EntangleOptions) -> PolarsResult<Expr> {
    reduction("feature_order", Reduction::Order, features, None, options)
}

fn reduction(
    function: &'static str,
    kind: Reduction,
    features: Expr,
    label: Option<Expr>,
    options: &EntangleOptions,
) -> PolarsResult<Expr> {
    let options =
        FunctionOptions::resolve(options, function, kind.keys()).map_err(compute_error)?;
    let mut inputs = vec![features];
    inputs.extend(label);
    Ok(apply_multiple(
        move |columns: &mut [Column]| {
            let features = columns[0].as_materialized_series();
            let label = columns.get(1).map(Column::as_materialized_series);
            reduce_series(function, kind, &options, features, label).map(Series::into_column)
        },
        inputs,
        move |_: &Schema, fields: &[Field]| reduction_field(Host::Rust, function, kind, fields),
        true,
    ))
}

/// The output field of a reduction over `fields` (features, optional label),
/// after checking their types; `function` as the `host` names it.
pub fn reduction_field(
    host: Host,
    function: &str,
    kind: Reduction,
    fields: &[Field],
) -> PolarsResult<Field> {
    check_features(function, &fields[0])?;
    if let Some(label) = fields.get(1) {
        check_label(host, function, label)?;
    }
    let output = polars_dtype(&arrow::datatypes::Field::new("", kind.return_type(), true))?;
    Ok(Field::new(fields[0].name().clone(), output))
}

/// Whether a polars type holds a row's features.
fn is_feature_dtype(dtype: &DataType) -> bool {
    match dtype {
        DataType::Array(inner, _) | DataType::List(inner) => inner.is_primitive_numeric(),
        DataType::Struct(fields) => {
            !fields.is_empty() && fields.iter().all(|f| f.dtype().is_primitive_numeric())
        }
        _ => false,
    }
}

fn check_features(function: &str, field: &Field) -> PolarsResult<()> {
    if is_feature_dtype(field.dtype()) {
        return Ok(());
    }
    Err(PolarsError::InvalidOperation(
        format!(
            "{function}: column '{}' has type {}; features must be an Array or List column of numbers (combine wide columns with concat_arr) or a struct of numeric columns (as_struct)",
            field.name(),
            field.dtype()
        )
        .into(),
    ))
}

fn check_label(host: Host, function: &str, field: &Field) -> PolarsResult<()> {
    let t = field.dtype();
    if t.is_integer() || t.is_bool() || t.is_string() {
        return Ok(());
    }
    let hint = if t.is_float() {
        float_label_hint(&host.integer_cast(field.name()))
    } else {
        String::new()
    };
    Err(PolarsError::InvalidOperation(
        format!(
            "{function}: label column '{}' has type {t}; labels must be integer, boolean or string{hint}",
            field.name()
        )
        .into(),
    ))
}

/// Folds the rows of `features` (and `label`) into a one-row result: the
/// whole column, or one group's rows. Python's plugin calls this too.
pub fn reduce_series(
    function: &'static str,
    kind: Reduction,
    options: &FunctionOptions,
    features: &Series,
    label: Option<&Series>,
) -> PolarsResult<Series> {
    let mut reducer = SummaryReducer::new(
        function,
        kind,
        options.clone(),
        features.name().to_string(),
        label.map(|l| l.name().to_string()),
        Box::new(Budget::machine()),
    );
    let fail = |reducer: &SummaryReducer, e| compute_error(reducer.error(e));
    let feature_chunks = series_to_arrow(features)?;
    match label {
        None => {
            for chunk in &feature_chunks {
                reducer.add(chunk, None).map_err(|e| fail(&reducer, e))?;
            }
        }
        Some(label) => {
            // Whole series: `aligned_chunks` pairs only the common length.
            check_label_length(label.name().as_str(), label.len(), features.len())
                .map_err(|e| fail(&reducer, e))?;
            let label_chunks = series_to_arrow(label)?;
            for (f, l) in aligned_chunks(&feature_chunks, &label_chunks) {
                reducer.add(&f, Some(&l)).map_err(|e| fail(&reducer, e))?;
            }
        }
    }
    let value = reducer.evaluate().map_err(|e| fail(&reducer, e))?;
    arrow_to_series(features.name(), &value)
}

/// Pairs of equally long slices of two chunkings of the same rows (slices
/// share the buffers).
fn aligned_chunks(a: &[ArrayRef], b: &[ArrayRef]) -> Vec<(ArrayRef, ArrayRef)> {
    let (mut i, mut j, mut at_a, mut at_b) = (0, 0, 0, 0);
    let mut pairs = Vec::new();
    while i < a.len() && j < b.len() {
        let len = (a[i].len() - at_a).min(b[j].len() - at_b);
        if len > 0 {
            pairs.push((a[i].slice(at_a, len), b[j].slice(at_b, len)));
        }
        at_a += len;
        at_b += len;
        if at_a == a[i].len() {
            (i, at_a) = (i + 1, 0);
        }
        if at_b == b[j].len() {
            (j, at_b) = (j + 1, 0);
        }
    }
    pairs
}

/// Each row's features reordered: element g becomes element `order[g]`
/// (apply a saved [`feature_order`]). Element-wise; the type is kept.
pub fn permute(features: Expr, order: &[usize]) -> Expr {
    let order = order.to_vec();
    features.map(
        move |column: Column| {
            permute_series(Host::Rust, column.as_materialized_series(), &order)
                .map(Series::into_column)
        },
        |_: &Schema, field: &Field| permute_field(Host::Rust, field),
    )
}

/// Every row of an Array or List series with its elements reordered by
/// `order` (see [`permute`]).
pub fn permute_series(host: Host, series: &Series, order: &[usize]) -> PolarsResult<Series> {
    let name = series.name().to_string();
    let function = host.function_name("permute");
    let permute_error = |e: crate::Error| polars_err!(ComputeError: "{function}: {e}");
    let mut rows_before = 0u64;
    let mut out = Series::new_empty(series.name().clone(), series.dtype());
    for chunk in series_to_arrow(series)? {
        if let Some(width) = row_width(&chunk) {
            check_permutation(order, width, "order").map_err(permute_error)?;
        }
        let permuted =
            permute_elements(&chunk, order, &name, rows_before).map_err(permute_error)?;
        rows_before += chunk.len() as u64;
        out.append_owned(arrow_to_series(&name, &permuted)?)?;
    }
    Ok(out)
}

/// The output field of [`permute`]: the input's, which must be an Array or
/// List column.
pub fn permute_field(host: Host, field: &Field) -> PolarsResult<Field> {
    if matches!(field.dtype(), DataType::Array(..) | DataType::List(_)) {
        Ok(field.clone())
    } else {
        Err(PolarsError::InvalidOperation(
            format!(
                "{}: column '{}' has type {}; expected an Array or List column",
                host.function_name("permute"),
                field.name(),
                field.dtype()
            )
            .into(),
        ))
    }
}

/// The row width of a fixed-size list, or of the first valid row of a list.
fn row_width(array: &ArrayRef) -> Option<usize> {
    use arrow::array::Array;
    let rows = ListRows::of(array.as_ref())?;
    rows.width.or_else(|| {
        (0..array.len())
            .find(|&r| array.is_valid(r))
            .map(|r| rows.range(r).len())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int32Array;

    use super::*;

    #[test]
    fn aligned_chunks_cover_both_chunkings() {
        let ints =
            |r: std::ops::Range<i32>| -> ArrayRef { Arc::new(Int32Array::from_iter_values(r)) };
        let a = [ints(0..3), ints(3..4), ints(4..10)];
        let b = [ints(0..5), ints(5..10)];
        let pairs = aligned_chunks(&a, &b);
        let lengths: Vec<usize> = pairs.iter().map(|(x, _)| x.len()).collect();
        assert_eq!(lengths, vec![3, 1, 1, 5]);
        for (x, y) in &pairs {
            assert_eq!(x.as_ref(), y.as_ref(), "the same rows on both sides");
        }
    }
}
