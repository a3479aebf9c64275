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

use entangle::analysis::Report;
use entangle::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use entangle::arrange::seams::Placement;
use entangle::arrange::shrink::Shrink;
use entangle::engines::options::{EntangleOptions, FunctionOptions, OptionKeys};
use entangle::error::Error;
use entangle::io::read::{FeatureSelection, Source};
use entangle::jobs::{self, ApplyOverrides, ArrangeJob, ArrangeOutputs, Measure, Quiet, Selection};
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

/// One of `allowed`, or an error naming the option.
fn choice<'a>(option: &str, value: Option<&str>, allowed: &[&'a str]) -> PyResult<&'a str> {
    let value = value.unwrap_or(allowed[0]);
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{option}: expected one of {}, got '{value}'",
                allowed.join(", ")
            ))
        })
}

/// The keyword arguments of `profile` and `arrange`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobOptions {
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(default)]
    features_prefix: Option<String>,
    #[serde(default)]
    array: Option<String>,
    #[serde(default)]
    shape: Option<Vec<usize>>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    skip_null_rows: bool,
    #[serde(default)]
    levels: Option<Vec<usize>>,
    #[serde(default)]
    max_samples: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    theta: Option<f64>,
    #[serde(default)]
    standardize: Option<bool>,
    #[serde(default)]
    weights: Option<String>,
    #[serde(default)]
    neighbours: Option<usize>,
    /// `arrange` only.
    #[serde(default)]
    report: Option<String>,
    /// `arrange` only.
    #[serde(default)]
    placement: Option<String>,
    /// `arrange` only: `"none"`, `"auto"` or τ.
    #[serde(default)]
    shrink: Option<Shrink>,
}

impl JobOptions {
    fn parse(json: &str, function: &str) -> PyResult<Self> {
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("{function}: {e}")))
    }

    fn selection(&self) -> PyResult<Selection> {
        let features = match (&self.features, &self.features_prefix, &self.array) {
            (Some(f), None, None) => FeatureSelection::Columns(f.clone()),
            (None, Some(p), None) => FeatureSelection::Prefix(p.clone()),
            (None, None, Some(a)) => FeatureSelection::Array(a.clone()),
            (None, None, None) => FeatureSelection::Prefix(String::new()),
            _ => {
                return Err(PyValueError::new_err(
                    "give at most one of features=, features_prefix= and array=",
                ));
            }
        };
        Ok(Selection {
            features,
            label: self.label.clone(),
            skip_null_rows: self.skip_null_rows,
        })
    }

    /// The measure, checked (levels sorted and deduplicated, defaults
    /// filled in) by the same rule as the SQL and polars functions' options.
    fn measure(&self, function: &str) -> PyResult<Measure> {
        let fields = EntangleOptions {
            shape: self.shape.clone(),
            levels: self.levels.clone(),
            theta: self.theta,
            max_samples: self.max_samples,
            seed: self.seed,
            standardize: self.standardize,
            ..EntangleOptions::default()
        };
        let options = FunctionOptions::resolve(&fields, function, OptionKeys::Profile)
            .map_err(to_py)?
            .profile;
        if self.neighbours == Some(0) {
            return Err(PyValueError::new_err("neighbours: must be at least 1"));
        }
        Ok(Measure {
            options,
            weighting: match choice(
                "weights",
                self.weights.as_deref(),
                &["auto", "dense", "sparse"],
            )? {
                "dense" => Weighting::Dense,
                "sparse" => Weighting::Sparse,
                _ => Weighting::Auto,
            },
            neighbours: self.neighbours.unwrap_or(DEFAULT_NEIGHBOURS),
        })
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
    let options = JobOptions::parse(options, "profile")?;
    let (selection, measure) = (options.selection()?, options.measure("profile")?);
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
    let options = JobOptions::parse(options, "profile")?;
    let (selection, measure) = (options.selection()?, options.measure("profile")?);
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
    let options = JobOptions::parse(options, "arrange")?;
    let (selection, measure) = (options.selection()?, options.measure("arrange")?);
    let report = choice(
        "report",
        options.report.as_deref(),
        &["auto", "entanglement", "surrogate"],
    )?;
    let placement = match choice(
        "placement",
        options.placement.as_deref(),
        &["seams", "tree"],
    )? {
        "tree" => Placement::Tree,
        _ => Placement::Seams,
    };
    let arranged = py
        .detach(|| {
            let job = ArrangeJob::read(&source, &output, &selection, &measure, &Quiet)?;
            let report = match report {
                "entanglement" => Report::Entanglement,
                "surrogate" => Report::Surrogate,
                _ => Report::auto(job.features()),
            };
            job.run(
                report,
                placement,
                options.shrink.unwrap_or_default(),
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
