//! The notebook functions `entangle.profile`, `arrange` and `apply`: the
//! command line's jobs (`entangle::jobs`), run with the GIL released. Options
//! cross as JSON with the command line's option names (snake case); the
//! results come back as the command line's `--json` output.

use std::path::PathBuf;
use std::time::Instant;

use arrow::array::RecordBatchReader;
use arrow::ffi_stream::{ArrowArrayStreamReader, FFI_ArrowArrayStream};
use pyo3::exceptions::{PyFileNotFoundError, PyMemoryError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use serde::Deserialize;

use entangle::analysis::ReportChoice;
use entangle::error::Error;
use entangle::io::read::{FeatureSelection, Source};
use entangle::jobs::{self, ApplyOverrides, ArrangeJob, ArrangeOutputs, Measure, Quiet, Selection};
use entangle::options::{EntangleOptions, FunctionOptions, OptionKeys};
use entangle::page::Page;

/// A job's error as a Python exception: a missing file is
/// `FileNotFoundError`, everything else (bad options, bad data, unreadable
/// files) `ValueError`; both carry the command line's message, which names
/// the column, option or file.
fn to_py(e: Error) -> PyErr {
    match &e {
        Error::File { path, .. } if !path.exists() => PyFileNotFoundError::new_err(e.to_string()),
        Error::Memory(_) => PyMemoryError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// The keyword arguments of `profile` and `arrange`: the declared options
/// (`entangle::options::KEYS`) and the feature column list, which only the
/// jobs take.
#[derive(Deserialize)]
struct JobOptions {
    #[serde(default)]
    features: Option<Vec<String>>,
    /// `arrange` only.
    #[serde(default)]
    report: Option<ReportChoice>,
    #[serde(flatten)]
    options: EntangleOptions,
}

impl JobOptions {
    /// The keywords of `function` (`profile` or `arrange`), checked by the
    /// same rule as the SQL and polars functions' options.
    fn parse(json: &str, function: &str, keys: OptionKeys) -> PyResult<(Self, FunctionOptions)> {
        let options: JobOptions = serde_json::from_str(json)
            .map_err(|e| PyValueError::new_err(format!("{function}: {e}")))?;
        if keys != OptionKeys::ArrangeJob && options.report.is_some() {
            return Err(PyValueError::new_err(format!(
                "{function}: unknown keyword 'report'"
            )));
        }
        let resolved = FunctionOptions::resolve(&options.options, function, keys).map_err(to_py)?;
        Ok((options, resolved))
    }

    fn selection(&self, resolved: &FunctionOptions) -> PyResult<Selection> {
        let features = match (&self.features, &resolved.selection) {
            (Some(f), None) => FeatureSelection::Columns(f.clone()),
            (None, Some(selection)) => selection.clone(),
            (None, None) => FeatureSelection::Prefix(String::new()),
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err(
                    "give at most one of features=, features_prefix= and array=",
                ));
            }
        };
        Ok(Selection {
            features,
            label: resolved.label.clone(),
            skip_null_rows: resolved.skip_null_rows,
        })
    }
}

/// The measure of checked options.
fn measure(resolved: &FunctionOptions) -> Measure {
    Measure {
        options: resolved.profile.clone(),
        weighting: resolved.weighting,
        neighbours: resolved.neighbours,
    }
}

fn to_json(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A job's result as Python receives it: the `--json` output and the
/// report page (with the job's time in its header).
fn with_page(json: String, page: Option<Page>, start: Instant) -> PyResult<(String, String)> {
    let Some(mut page) = page else {
        return Err(PyValueError::new_err("the job made no report page"));
    };
    page.facts.push((
        "time".to_string(),
        format!("{:.2} s", start.elapsed().as_secs_f64()),
    ));
    Ok((json, page.render().map_err(to_py)?))
}

/// The profile of a Parquet/CSV file or directory, as `entangle profile
/// --json` prints it.
#[pyfunction]
pub fn profile(py: Python<'_>, source: PathBuf, options: &str) -> PyResult<(String, String)> {
    let start = Instant::now();
    let (options, resolved) = JobOptions::parse(options, "profile", OptionKeys::ProfileJob)?;
    let (selection, measure) = (options.selection(&resolved)?, measure(&resolved));
    let profiled = py
        .detach(|| jobs::profile(&source, &selection, &measure, &Quiet, true))
        .map_err(to_py)?;
    with_page(to_json(&profiled.json())?, profiled.page, start)
}

/// The profile of a frame (a polars `DataFrame`, a pyarrow `Table`, ...)
/// handed over as an Arrow C stream capsule (`__arrow_c_stream__`): the
/// batches share the frame's buffers.
#[pyfunction]
pub fn profile_stream(
    py: Python<'_>,
    stream: Bound<'_, PyCapsule>,
    options: &str,
) -> PyResult<(String, String)> {
    let start = Instant::now();
    let (options, resolved) = JobOptions::parse(options, "profile", OptionKeys::ProfileJob)?;
    let (selection, measure) = (options.selection(&resolved)?, measure(&resolved));
    let pointer = stream
        .pointer_checked(Some(c"arrow_array_stream"))?
        .cast::<FFI_ArrowArrayStream>();
    // SAFETY: the capsule's name says it holds an ArrowArrayStream (the Arrow
    // PyCapsule interface); `from_raw` moves it out and leaves a released
    // stream for the capsule's destructor.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(pointer.as_ptr()) };
    let stream_error = |e: arrow::error::ArrowError| PyValueError::new_err(format!("frame: {e}"));
    let reader = ArrowArrayStreamReader::try_new(stream).map_err(stream_error)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(stream_error)?;
    let source = Source::from_batches("frame", schema, batches);
    let profiled = py
        .detach(|| {
            let analysis = jobs::analyse_sources(&[source], &selection, &measure, &Quiet)?;
            jobs::profile_analysed("frame", analysis, &measure, &Quiet, true)
        })
        .map_err(to_py)?;
    with_page(to_json(&profiled.json())?, profiled.page, start)
}

/// `entangle arrange source -o output [--order-out order_out] --json`.
#[pyfunction]
#[pyo3(signature = (source, output, order_out, options))]
pub fn arrange(
    py: Python<'_>,
    source: PathBuf,
    output: PathBuf,
    order_out: Option<PathBuf>,
    options: &str,
) -> PyResult<(String, String)> {
    let start = Instant::now();
    let (options, resolved) = JobOptions::parse(options, "arrange", OptionKeys::ArrangeJob)?;
    let (selection, measure) = (options.selection(&resolved)?, measure(&resolved));
    let report = options.report.unwrap_or_default();
    let arranged = py
        .detach(|| {
            let job = ArrangeJob::read(&source, &output, &selection, &measure, &Quiet)?;
            let report = report.resolve(job.features());
            job.run(
                report,
                resolved.placement,
                resolved.shrink,
                ArrangeOutputs {
                    order_out: order_out.as_deref(),
                    page: true,
                },
                &Quiet,
            )
        })
        .map_err(to_py)?;
    with_page(to_json(&arranged.json())?, arranged.page, start)
}

/// The keyword arguments of `apply`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyOptions {
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(default)]
    array: Option<String>,
    #[serde(default)]
    shape: Option<Vec<usize>>,
}

/// `entangle apply source --order order -o output`: `{"rows", "features"}`.
#[pyfunction]
pub fn apply(
    py: Python<'_>,
    source: PathBuf,
    order: PathBuf,
    output: PathBuf,
    options: &str,
) -> PyResult<(String, String)> {
    let start = Instant::now();
    let options: ApplyOptions =
        serde_json::from_str(options).map_err(|e| PyValueError::new_err(format!("apply: {e}")))?;
    let overrides = ApplyOverrides {
        features: options.features,
        array: options.array,
        shape: options.shape,
    };
    let applied = py
        .detach(|| jobs::apply(&source, &order, &output, &overrides, &Quiet, true))
        .map_err(to_py)?;
    let json = to_json(&serde_json::json!({"rows": applied.rows, "features": applied.features}))?;
    with_page(json, applied.page, start)
}
