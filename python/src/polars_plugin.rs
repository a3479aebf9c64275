//! The polars expression plugin: the functions of `entangle::engines::polars`
//! behind pyo3-polars' `polars_expr`, which Python polars calls with the
//! whole column or one group's rows. Options arrive as the keyword argument
//! `options` (polars sends no keyword arguments at all when the dict is
//! empty) and deserialize into `EntangleOptions` (unknown keys are refused
//! by name).

use polars::prelude::*;
use pyo3_polars::derive::polars_expr;
use serde::Deserialize;

use entangle::engines::options::{EntangleOptions, FunctionOptions};
use entangle::engines::polars::{
    Host, Reduction, permute_field, permute_series, reduce_series, reduction_field,
};

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
        .map_err(|e| PolarsError::ComputeError(e.to_string().into()))?;
    reduce_series(function, kind, &options, &inputs[0], inputs.get(1))
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
