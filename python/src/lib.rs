//! `entangle._native`: the one native library behind the Python package.
//! It carries the polars expression plugin (`polars_plugin`, called by
//! Python polars through its plugin interface), the SQL functions for
//! datafusion-python (`datafusion_ffi`, through the DataFusion FFI) and the
//! notebook functions (`jobs`). The Python layer (`entangle/`) stays thin.

#[cfg(feature = "datafusion")]
mod datafusion_ffi;
mod jobs;
mod polars_plugin;

use pyo3::prelude::*;

// Memory that polars frees must come from polars' allocator.
#[global_allocator]
static ALLOC: pyo3_polars::PolarsAllocator = pyo3_polars::PolarsAllocator::new();

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // `None`: built without the SQL functions (no `datafusion` feature).
    m.add(
        "DATAFUSION_MAJOR",
        cfg!(feature = "datafusion").then_some(55),
    )?;
    m.add_function(wrap_pyfunction!(jobs::profile, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::profile_stream, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::arrange, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::apply, m)?)?;
    m.add_function(wrap_pyfunction!(polars_plugin::options_problem, m)?)?;
    m.add_function(wrap_pyfunction!(polars_plugin::option_keys, m)?)?;
    #[cfg(feature = "datafusion")]
    {
        m.add_class::<datafusion_ffi::AggregateFunction>()?;
        m.add_class::<datafusion_ffi::PermuteFunction>()?;
        m.add_class::<datafusion_ffi::RearrangeCall>()?;
        m.add_class::<datafusion_ffi::Plan>()?;
    }
    Ok(())
}
