//! The SQL functions for datafusion-python, through the DataFusion FFI: each
//! object hands datafusion-python a PyCapsule holding the FFI form of one
//! function (`__datafusion_aggregate_udf__`, `__datafusion_scalar_udf__`,
//! `__datafusion_table_function__`), which `datafusion.udaf`, `udf` and `udtf`
//! accept. `entangle.datafusion.register(ctx)` registers them all.

use std::ptr::NonNull;
use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion_ffi::proto::logical_extension_codec::FFI_LogicalExtensionCodec;
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use datafusion_ffi::udtf::FFI_TableFunction;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use entangle::engines::sql::{
    Rearrange, entanglement_profile_udaf, entanglement_udaf, feature_order_udaf, permute_udf,
    surrogate_entanglement_udaf,
};

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

/// `rearrange(source [, options])`, for `datafusion.udtf(..., "rearrange")`.
#[pyclass(module = "entangle._native", frozen)]
pub struct RearrangeFunction;

#[pymethods]
impl RearrangeFunction {
    #[new]
    fn new() -> Self {
        Self
    }

    /// datafusion-python passes its session, whose logical extension codec
    /// decodes the call's arguments.
    fn __datafusion_table_function__<'py>(
        &self,
        py: Python<'py>,
        session: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let codec = logical_codec(&session)?;
        let ffi = FFI_TableFunction::new_with_ffi_codec(Arc::new(Rearrange), None, codec);
        PyCapsule::new_with_value(py, ffi, c"datafusion_table_function")
    }
}

/// The session's FFI logical extension codec, from its
/// `__datafusion_logical_extension_codec__` capsule.
fn logical_codec(session: &Bound<'_, PyAny>) -> PyResult<FFI_LogicalExtensionCodec> {
    const ATTRIBUTE: &str = "__datafusion_logical_extension_codec__";
    let capsule = if session.hasattr(ATTRIBUTE)? {
        session.getattr(ATTRIBUTE)?.call0()?
    } else {
        session.clone()
    };
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        PyValueError::new_err(
            "rearrange: the session has no DataFusion logical extension codec (datafusion-python 55 passes one)",
        )
    })?;
    let data: NonNull<FFI_LogicalExtensionCodec> = capsule
        .pointer_checked(Some(c"datafusion_logical_extension_codec"))?
        .cast();
    // SAFETY: the capsule's name guarantees its content's type; the codec is
    // cloned (reference-counted on its owner's side) before the capsule can go.
    Ok(unsafe { data.as_ref() }.clone())
}
