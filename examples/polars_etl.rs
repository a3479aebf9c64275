//! An ETL step written with polars: scan a Parquet file lazily, measure how
//! well its features suit a locally connected network (the labeled
//! entanglement, and each label group's unlabeled entanglement with
//! `group_by().agg()`), compute the feature order, write the rearranged frame
//! to Parquet, and print one JSON object.
//!
//! ```text
//! cargo run --release --example polars_etl -- IN OUT (--features-prefix P | --array COL) [--label COL] [--shape H,W] [--order-only]
//! ```
//!
//! `--order-only` skips the entropies: the order and the rearranged file, as
//! `entangle.rearrange` in Python (benches/engines_scale.sh times it).

use std::path::{Path, PathBuf};

use clap::Parser;
use entangle::engines::polars::{
    EntangleOptions, FeatureLayout, entanglement, entanglement_profile, rearrange,
};
use polars::prelude::*;

#[derive(Parser)]
#[command(about = "Measure and rearrange a Parquet file's features with polars expressions")]
struct Args {
    /// Input Parquet file.
    input: PathBuf,
    /// Output Parquet file (written atomically).
    output: PathBuf,
    /// The wide feature columns: every numeric column with this prefix.
    #[arg(long, conflicts_with = "array", required_unless_present = "array")]
    features_prefix: Option<String>,
    /// The features as one Array or List column.
    #[arg(long)]
    array: Option<String>,
    /// Label column.
    #[arg(long)]
    label: Option<String>,
    /// Grid shape, e.g. 16,16.
    #[arg(long, value_delimiter = ',')]
    shape: Option<Vec<usize>>,
    /// Only the order and the rearranged file (no entropies).
    #[arg(long)]
    order_only: bool,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("polars_etl: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> PolarsResult<()> {
    let path = args.input.to_str().ok_or_else(|| {
        PolarsError::InvalidOperation(format!("{}: not a UTF-8 path", args.input.display()).into())
    })?;
    let frame = LazyFrame::scan_parquet(PlRefPath::new(path), Default::default())?;
    let options = EntangleOptions {
        shape: args.shape.clone(),
        ..Default::default()
    };
    let (layout, features) = match (&args.array, &args.features_prefix) {
        (Some(array), _) => (FeatureLayout::Array(array.clone()), col(array.as_str())),
        (None, Some(prefix)) => {
            let schema = frame.clone().collect_schema()?;
            let names: Vec<String> = schema
                .iter()
                .filter(|(n, t)| n.starts_with(prefix.as_str()) && t.is_primitive_numeric())
                .filter(|(n, _)| Some(n.as_str()) != args.label.as_deref())
                .map(|(n, _)| n.to_string())
                .collect();
            // A struct of the columns shares their buffers (concat_arr would copy).
            let features = as_struct(names.iter().map(|n| col(n.as_str())).collect());
            (FeatureLayout::Columns(names), features)
        }
        (None, None) => unreachable!("clap requires one of them"),
    };
    let label = args.label.as_deref().map(col);

    // The labeled profile of the whole file: one row.
    let (mut mean_entropy, mut levels) = (None, Vec::new());
    if !args.order_only {
        let measured = frame
            .clone()
            .select([
                entanglement(features.clone(), label.clone(), &options)?.alias("mean_entropy"),
                entanglement_profile(features.clone(), label.clone(), &options)?.alias("profile"),
            ])
            .collect()?;
        mean_entropy = measured.column("mean_entropy")?.f64()?.get(0);
        levels = level_means(&measured)?;
    }

    // Each label group's unlabeled entanglement.
    let mut per_label = serde_json::Map::new();
    if let Some(label) = args.label.as_ref().filter(|_| !args.order_only) {
        let groups = frame
            .clone()
            .group_by([col(label.as_str())])
            .agg([entanglement(features.clone(), None, &options)?.alias("entropy")])
            .sort([label.as_str()], Default::default())
            .collect()?;
        let keys = groups.column(label)?.cast(&DataType::String)?;
        let values = groups.column("entropy")?.f64()?.clone();
        for (key, value) in keys.str()?.iter().zip(values.iter()) {
            per_label.insert(key.unwrap_or("null").to_string(), value.into());
        }
    }

    // The order, and the rearranged frame written atomically.
    let (rearranged, order) = rearrange(frame, &layout, &options)?;
    let mut rearranged = rearranged.collect()?;
    write_parquet_atomically(&args.output, &mut rearranged)?;

    let report = serde_json::json!({
        "mean_entropy": mean_entropy,
        "levels": levels,
        "order": order,
        "per_label": per_label,
        "rows": rearranged.height(),
        "output": args.output,
    });
    println!("{report}");
    Ok(())
}

/// Mean entropy per level from the profile column.
fn level_means(measured: &DataFrame) -> PolarsResult<Vec<serde_json::Value>> {
    let Some(parts) = measured.column("profile")?.list()?.get_as_series(0) else {
        return Ok(Vec::new());
    };
    let levels = parts
        .struct_()?
        .clone()
        .unnest()
        .lazy()
        .group_by_stable([col("level")])
        .agg([col("entropy").mean()])
        .collect()?;
    let level = levels.column("level")?.i32()?.clone();
    let mean = levels.column("entropy")?.f64()?.clone();
    Ok(level
        .iter()
        .zip(mean.iter())
        .map(|(l, m)| serde_json::json!({"level": l, "mean_entropy": m}))
        .collect())
}

/// Writes beside the target and renames, so a failed run leaves no partial file.
fn write_parquet_atomically(target: &Path, frame: &mut DataFrame) -> PolarsResult<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io = |e: std::io::Error| PolarsError::IO {
        error: std::sync::Arc::new(e),
        msg: Some(format!("{}", target.display()).into()),
    };
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    ParquetWriter::new(temp.as_file()).finish(frame)?;
    temp.persist(target).map_err(|e| io(e.error))?;
    Ok(())
}
