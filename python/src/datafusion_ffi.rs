//! The SQL functions for datafusion-python. The aggregates and `permute`
//! cross the DataFusion FFI: each object hands datafusion-python a PyCapsule
//! holding the FFI form of one function (`__datafusion_aggregate_udf__`,
//! `__datafusion_scalar_udf__`), which `datafusion.udaf` and `udf` accept.
//! The table function `rearrange` is planned here ([`RearrangeCall`]) and run
//! by `entangle.datafusion` on the calling session.
//! `entangle.datafusion.register(ctx)` registers them all.

use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow::ffi::FFI_ArrowSchema;
use datafusion_common::DataFusionError;
use datafusion_expr::{AggregateUDF, Expr, ScalarUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use datafusion_proto::bytes::Serializeable;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};

use entangle::engines::sql::{
    RearrangePlan, SourceKind, entanglement_profile_udaf, entanglement_udaf, feature_order_udaf,
    permute_udf, rearrange_arguments, surrogate_entanglement_udaf,
};
use entangle::options::FunctionOptions;

/// The names of the aggregate functions, for `register`.
const AGGREGATES: [&str; 4] = [
    "entanglement",
    "entanglement_profile",
    "surrogate_entanglement",
    "feature_order",
];

fn aggregate(name: &str) -> PyResult<Arc<AggregateUDF>> {
    Ok(Arc::new(match name {
        "entanglement" => entanglement_udaf(),
        "entanglement_profile" => entanglement_profile_udaf(),
        "surrogate_entanglement" => surrogate_entanglement_udaf(),
        "feature_order" => feature_order_udaf(),
        other => {
            return Err(PyValueError::new_err(format!(
                "no entangle aggregate function '{other}' (known: {})",
                AGGREGATES.join(", ")
            )));
        }
    }))
}

/// One of entangle's aggregate functions, for `datafusion.udaf(...)`.
#[pyclass(module = "entangle._native", frozen)]
pub struct AggregateFunction {
    udaf: Arc<AggregateUDF>,
}

#[pymethods]
impl AggregateFunction {
    #[new]
    fn new(name: &str) -> PyResult<Self> {
        Ok(Self {
            udaf: aggregate(name)?,
        })
    }

    #[classattr]
    fn names() -> Vec<&'static str> {
        AGGREGATES.to_vec()
    }

    fn __datafusion_aggregate_udf__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let ffi = FFI_AggregateUDF::from(Arc::clone(&self.udaf));
        PyCapsule::new_with_value(py, ffi, c"datafusion_aggregate_udf")
    }
}

/// `permute(features, order)`, for `datafusion.udf(...)`.
#[pyclass(module = "entangle._native", frozen)]
pub struct PermuteFunction {
    udf: Arc<ScalarUDF>,
}

#[pymethods]
impl PermuteFunction {
    #[new]
    fn new() -> Self {
        Self {
            udf: Arc::new(permute_udf()),
        }
    }

    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let ffi = FFI_ScalarUDF::from(Arc::clone(&self.udf));
        PyCapsule::new_with_value(py, ffi, c"datafusion_scalar_udf")
    }
}

/// One call of `rearrange(source [, options])` in datafusion-python.
///
/// The table function is registered as a Python function with the calling
/// session (`entangle.datafusion`): it runs the order query and the
/// projection of [`RearrangePlan`] on that session, so registered tables work
/// and the rows stream on datafusion-python's own runtime. (Exported through
/// the FFI instead, it crashed the process on a second session: the caller's
/// side of datafusion-ffi 55's table function reads the function's private
/// data directly, sound only when both libraries are built alike.) Expressions cross as DataFusion protobuf
/// bytes (`Expr.to_bytes` / `Expr.from_bytes`).
#[pyclass(module = "entangle._native", frozen)]
pub struct RearrangeCall {
    source: String,
    options: FunctionOptions,
}

#[pymethods]
impl RearrangeCall {
    /// `arguments`: the call's argument expressions, serialized.
    #[new]
    fn new(arguments: Vec<Vec<u8>>) -> PyResult<Self> {
        let exprs = arguments
            .iter()
            .map(|bytes| Expr::from_bytes(bytes))
            .collect::<datafusion_common::Result<Vec<_>>>()
            .map_err(to_value_error)?;
        let (source, options) = rearrange_arguments(&exprs).map_err(to_value_error)?;
        Ok(Self { source, options })
    }

    /// The source: a table name or a file or directory path.
    #[getter]
    fn source(&self) -> &str {
        &self.source
    }

    /// `"table"`, `"csv"` or `"parquet"`; `registered`: whether the session
    /// has a table named like the source.
    fn source_kind(&self, registered: bool) -> PyResult<&'static str> {
        Ok(
            match SourceKind::of(&self.source, registered).map_err(to_value_error)? {
                SourceKind::Table => "table",
                SourceKind::Csv => "csv",
                SourceKind::Parquet => "parquet",
            },
        )
    }

    /// The plan for a source of this schema (a pyarrow `Schema`, or anything
    /// with `__arrow_c_schema__`).
    fn plan(&self, schema: &Bound<'_, PyAny>) -> PyResult<Plan> {
        let capsule = schema.call_method0("__arrow_c_schema__")?;
        let capsule = capsule.cast::<PyCapsule>()?;
        let pointer = capsule
            .pointer_checked(Some(c"arrow_schema"))?
            .cast::<FFI_ArrowSchema>();
        // SAFETY: the capsule's name says it holds an ArrowSchema (the Arrow
        // PyCapsule interface); it is only read, and the capsule outlives this.
        let schema = Schema::try_from(unsafe { pointer.as_ref() })
            .map_err(|e| PyValueError::new_err(format!("rearrange: the source's schema: {e}")))?;
        let plan =
            RearrangePlan::new(&self.source, &schema, &self.options).map_err(to_value_error)?;
        Ok(Plan(plan))
    }
}

/// [`RearrangePlan`] for Python: its expressions as protobuf bytes.
#[pyclass(module = "entangle._native", frozen)]
pub struct Plan(RearrangePlan);

#[pymethods]
impl Plan {
    /// The aggregate whose one value is the order.
    fn order_expr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        expr_bytes(py, &self.0.order_expr())
    }

    /// The projection applying `order` (`None`: the source had no rows).
    fn select<'py>(
        &self,
        py: Python<'py>,
        order: Option<Vec<usize>>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let select = self.0.select(order.as_deref()).map_err(to_value_error)?;
        select.iter().map(|e| expr_bytes(py, e)).collect()
    }
}

fn expr_bytes<'py>(py: Python<'py>, expr: &Expr) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = expr.to_bytes().map_err(to_value_error)?;
    Ok(PyBytes::new(py, &bytes))
}

fn to_value_error(error: DataFusionError) -> PyErr {
    // DataFusion's own prefix ("Error during planning: ") says nothing to a
    // Python user; the message names the function and the argument.
    PyValueError::new_err(
        error
            .strip_backtrace()
            .trim_start_matches("Error during planning: ")
            .to_string(),
    )
}
