//! The polars expression plugin: the functions of `entangle::engines::polars`
//! behind pyo3-polars' `polars_expr`, which Python polars calls with the
//! whole column or one group's rows. Options arrive as the keyword argument
//! `options` (polars sends no keyword arguments at all when the dict is
//! empty) and deserialize into `EntangleOptions` (unknown keys are refused
//! by name).

use polars::prelude::*;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;

use entangle::engines::polars::{
    Host, Reduction, permute_field, permute_series, reduce_series, reduction_field,
};
use entangle::options::{EntangleOptions, FunctionOptions, KEYS};

/// The keyword arguments of the reductions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    options: EntangleOptions,
}

fn reduce(
    function: &'static str,
    kind: Reduction,
    inputs: &[Series],
    kwargs: Options,
) -> PolarsResult<Series> {
    // Errors name the function as Python users call it: `entangle.entanglement`.
    let function = Host::Python.function_name(function);
    let options = FunctionOptions::resolve(&kwargs.options, function, kind.keys())
        .map_err(|e| polars_err!(ComputeError: "{e}"))?;
    reduce_series(function, kind, &options, &inputs[0], inputs.get(1))
}

/// The problem with a reduction's keyword options, if any: the Python layer
/// checks them when the expression is built, by the same rule
/// (`entangle::options`) that checks them again when the query runs.
#[pyfunction]
pub fn options_problem(function: &str, options: &str) -> PyResult<Option<String>> {
    let (function, kind) = match function {
        "entanglement" => ("entanglement", Reduction::Entanglement),
        "entanglement_profile" => ("entanglement_profile", Reduction::Profile),
        "surrogate_entanglement" => ("surrogate_entanglement", Reduction::Surrogate),
        "feature_order" => ("feature_order", Reduction::Order),
        other => {
            return Err(PyValueError::new_err(format!(
                "no entangle function '{other}'"
            )));
        }
    };
    let name = Host::Python.function_name(function);
    let problem = match serde_json::from_str::<EntangleOptions>(options) {
        Err(e) => Some(format!("{name}: options: {e}")),
        Ok(fields) => FunctionOptions::resolve(&fields, name, kind.keys())
            .err()
            .map(|e| e.to_string()),
    };
    Ok(problem)
}

/// Every option as `entangle::options::KEYS` declares it, for the Python
/// layer's keywords: `[{"name", "value", "default", "doc", "takes"}]`.
#[pyfunction]
pub fn option_keys() -> String {
    let keys: Vec<serde_json::Value> = KEYS
        .iter()
        .map(|key| {
            serde_json::json!({
                "name": key.name,
                "value": key.value,
                "default": key.default,
                "doc": key.doc.trim(),
                "takes": key.takes.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(keys).to_string()
}

fn field(function: &'static str, kind: Reduction, fields: &[Field]) -> PolarsResult<Field> {
    reduction_field(
        Host::Python,
        Host::Python.function_name(function),
        kind,
        fields,
    )
}

fn entanglement_field(fields: &[Field]) -> PolarsResult<Field> {
    field("entanglement", Reduction::Entanglement, fields)
}

fn entanglement_profile_field(fields: &[Field]) -> PolarsResult<Field> {
    field("entanglement_profile", Reduction::Profile, fields)
}

fn surrogate_entanglement_field(fields: &[Field]) -> PolarsResult<Field> {
    field("surrogate_entanglement", Reduction::Surrogate, fields)
}

fn feature_order_field(fields: &[Field]) -> PolarsResult<Field> {
    field("feature_order", Reduction::Order, fields)
}

fn permute_output_field(fields: &[Field]) -> PolarsResult<Field> {
    permute_field(Host::Python, &fields[0])
}

#[polars_expr(output_type_func=entanglement_field)]
fn entanglement(inputs: &[Series], kwargs: Options) -> PolarsResult<Series> {
    reduce("entanglement", Reduction::Entanglement, inputs, kwargs)
}

#[polars_expr(output_type_func=entanglement_profile_field)]
fn entanglement_profile(inputs: &[Series], kwargs: Options) -> PolarsResult<Series> {
    reduce("entanglement_profile", Reduction::Profile, inputs, kwargs)
}

#[polars_expr(output_type_func=surrogate_entanglement_field)]
fn surrogate_entanglement(inputs: &[Series], kwargs: Options) -> PolarsResult<Series> {
    reduce(
        "surrogate_entanglement",
        Reduction::Surrogate,
        inputs,
        kwargs,
    )
}

#[polars_expr(output_type_func=feature_order_field)]
fn feature_order(inputs: &[Series], kwargs: Options) -> PolarsResult<Series> {
    reduce("feature_order", Reduction::Order, inputs, kwargs)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermuteKwargs {
    order: Vec<usize>,
}

#[polars_expr(output_type_func=permute_output_field)]
fn permute(inputs: &[Series], kwargs: PermuteKwargs) -> PolarsResult<Series> {
    permute_series(Host::Python, &inputs[0], &kwargs.order)
}
