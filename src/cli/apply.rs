//! `entangle apply`: apply a saved order to another dataset.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use entangle::error::Result;
use entangle::jobs::{ApplyOverrides, apply};

use crate::measure::{Shape, shape};
use crate::progress::Bars;
use crate::render::{emit, write_page};
use crate::rewrite::check_stale;

#[derive(Args)]
pub struct ApplyArgs {
    /// Input: a Parquet or CSV file.
    pub input: PathBuf,
    /// The order file written by `arrange --order-out`.
    #[arg(long)]
    pub order: PathBuf,
    /// Output file (Parquet; CSV if it ends in .csv). Written atomically.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Feature columns, overriding the order file's.
    #[arg(long, value_delimiter = ',', conflicts_with = "array")]
    pub features: Option<Vec<String>>,
    /// Array column, overriding the order file's.
    #[arg(long)]
    pub array: Option<String>,
    /// Grid shape, overriding the order file's (checked against the order).
    #[arg(long, value_parser = shape)]
    pub shape: Option<Shape>,
    /// Write a page showing the order applied to FILE (self-contained HTML).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Remove the temporary outputs that killed runs left beside the output
    /// (they are reported either way).
    #[arg(long)]
    pub clean_stale: bool,
}

pub fn apply_command(args: ApplyArgs) -> Result<()> {
    let start = Instant::now();
    let outputs: Vec<&Path> = [Some(args.output.as_path()), args.html.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    check_stale(&outputs, args.clean_stale)?;
    let overrides = ApplyOverrides {
        features: args.features,
        array: args.array,
        shape: args.shape.map(|s| s.0),
    };
    let applied = apply(
        &args.input,
        &args.order,
        &args.output,
        &overrides,
        &Bars::default(),
        args.html.is_some(),
    )?;
    if let (Some(path), Some(page)) = (&args.html, applied.page) {
        write_page(page, path, start)?;
    }
    emit(&format!(
        "wrote {} ({} rows, {} features rearranged)\n",
        args.output.display(),
        applied.rows,
        applied.features
    ))
}
