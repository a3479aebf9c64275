//! `entangle apply`: apply a saved order to another dataset.

use std::path::PathBuf;

use clap::Args;

use entangle::error::{Error, Result};
use entangle::io::read::{FeatureSelection, ResolvedFeatures, Source, resolve_features};
use entangle::io::rewrite::check_permutation;
use entangle::math::tree::Grid;

use crate::measure::{Shape, parse_shape};
use crate::render::emit;
use entangle::io::rewrite::OrderFile;

use crate::rewrite::{check_stale, rewrite_all, rewrite_targets};

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
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<Shape>,
    /// Remove the temporary outputs that killed runs left beside the output
    /// (they are reported either way).
    #[arg(long)]
    pub clean_stale: bool,
}

pub fn apply_command(args: ApplyArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.order).map_err(|e| Error::file(&args.order, e))?;
    let file: OrderFile = serde_json::from_str(&text)
        .map_err(|e| Error::file(&args.order, format!("not an order file (expected {{\"order\": [...], \"features\" or \"array\": ...}}): {e}")))?;
    let selection = match (&args.features, &args.array, &file.features, &file.array) {
        (Some(f), _, _, _) => FeatureSelection::Columns(f.clone()),
        (_, Some(a), _, _) => FeatureSelection::Array(a.clone()),
        (_, _, Some(f), _) => FeatureSelection::Columns(f.clone()),
        (_, _, _, Some(a)) => FeatureSelection::Array(a.clone()),
        _ => {
            return Err(Error::file(
                &args.order,
                "names neither \"features\" nor \"array\"; pass --features or --array",
            ));
        }
    };
    let targets = rewrite_targets(&args.input, &args.output)?;
    check_stale(&[args.output.as_path()], args.clean_stale)?;
    let features = resolve_features(
        Source::open(&targets.pairs[0].0)?.schema(),
        &selection,
        None,
    )?;
    let n = match &features {
        ResolvedFeatures::Wide(cols) => cols.len(),
        ResolvedFeatures::Array(..) => file.order.len(),
    };
    check_permutation(&file.order, n, "order file")?;
    let shape = args
        .shape
        .as_ref()
        .map(|s| s.0.clone())
        .or(file.shape.clone());
    if let Some(shape) = &shape {
        Grid::for_features(n, Some(shape))?;
    }
    let rows = rewrite_all(&targets, &selection, None, &file.order, shape.as_deref())?;
    emit(&format!(
        "wrote {} ({rows} rows, {n} features rearranged)\n",
        args.output.display()
    ))
}
