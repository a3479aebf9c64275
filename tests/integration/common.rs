//! Helpers shared by the integration tests: small Parquet/CSV files and a
//! runner for the `entangle` binary.

// Each helper serves some of the modules, several of which are feature-gated.
#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;

/// Writes a batch as Parquet with the given row-group size.
pub fn write_parquet(path: &Path, batch: &RecordBatch, row_group_rows: usize) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// Every batch of a Parquet file.
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The 2D sample: 1000 images of 16×16 pixels (array column `pixels`) with
/// a binary label `bright_blob`.
pub const IMAGES: &str = "sample_data/images_2d.parquet";

/// The sample images split unevenly over three files (several row groups each).
pub fn split_images(dir: &Path) {
    let batches = read_parquet(Path::new(IMAGES));
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    for (name, lo, hi) in [("a", 0, 137), ("b", 137, 712), ("c", 712, 1000)] {
        write_parquet(
            &dir.join(format!("{name}.parquet")),
            &all.slice(lo, hi - lo),
            100,
        );
    }
}

/// Registers the Parquet files in `dir` as table `images` in `ctx` and runs `sql`.
#[cfg(feature = "datafusion")]
pub async fn collect_on(
    ctx: &datafusion::prelude::SessionContext,
    dir: &Path,
    sql: &str,
) -> Vec<RecordBatch> {
    ctx.register_parquet("images", path_str(dir), Default::default())
        .await
        .unwrap();
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// `sql` over the Parquet files in `dir` (table `images`), in process, with
/// the given number of target partitions.
#[cfg(feature = "datafusion")]
pub fn query(partitions: usize, dir: &Path, sql: &str) -> Vec<RecordBatch> {
    use datafusion::prelude::{SessionConfig, SessionContext};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = SessionContext::new_with_config(
            SessionConfig::new().with_target_partitions(partitions),
        );
        entangle::engines::sql::register_all(&ctx);
        collect_on(&ctx, dir, sql).await
    })
}

/// A batch from named columns.
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|c| c.1).collect(),
    )
    .unwrap()
}

/// Smooth deterministic signals: `rows` × `features`, plus a binary label and an id.
pub fn signal_table(rows: usize, features: usize) -> RecordBatch {
    let value = |r: usize, j: usize| {
        let t = j as f64 / features as f64;
        let a = ((r * 7919) % 101) as f64 / 101.0;
        let b = ((r * 104729) % 97) as f64 / 97.0;
        (6.0 * t + 10.0 * a).sin()
            + b * (3.0 * t).cos()
            + 0.1 * (((r * 31 + j * 17) % 13) as f64 - 6.0)
    };
    let mut columns: Vec<(String, ArrayRef)> = vec![(
        "id".to_string(),
        Arc::new(Int64Array::from_iter_values(0..rows as i64)) as ArrayRef,
    )];
    for j in 0..features {
        columns.push((
            format!("f{j:02}"),
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|r| value(r, j)),
            )),
        ));
    }
    columns.push((
        "label".to_string(),
        Arc::new(Int64Array::from_iter_values(
            (0..rows).map(|r| (((r * 7919) % 101) > 50) as i64),
        )),
    ));
    batch(
        columns
            .iter()
            .map(|(n, a)| (n.as_str(), a.clone()))
            .collect(),
    )
}

/// Runs the binary.
pub fn entangle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_entangle"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the binary and expects success; returns stdout.
pub fn entangle_ok(args: &[&str]) -> String {
    let out = entangle(args);
    assert!(
        out.status.success(),
        "entangle {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the binary and expects a clean failure; returns stderr.
pub fn entangle_err(args: &[&str]) -> String {
    let out = entangle(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "entangle {args:?} should fail");
    assert!(
        !stderr.contains("panicked"),
        "entangle {args:?} panicked: {stderr}"
    );
    stderr
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The per-level surrogate means of a profile's JSON.
pub fn surrogate_means(profile: &serde_json::Value) -> Vec<f64> {
    profile["surrogate"]["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mean"].as_f64().unwrap())
        .collect()
}

/// The profile `entangle profile` computes, from the core called as the CLI
/// calls it (serde_json's default float parsing may be off by one ulp, so
/// bit-for-bit comparisons read the core's numbers, not the printed JSON).
pub fn core_profile(
    path: &str,
    selection: entangle::io::read::FeatureSelection,
    label: Option<&str>,
    shape: Option<Vec<usize>>,
) -> entangle::Profile {
    let options = entangle::ProfileOptions {
        shape,
        ..Default::default()
    };
    core_profile_with(path, selection, label, &options)
}

/// [`core_profile`] with any options.
pub fn core_profile_with(
    path: &str,
    selection: entangle::io::read::FeatureSelection,
    label: Option<&str>,
    options: &entangle::ProfileOptions,
) -> entangle::Profile {
    let scanned = entangle::io::read::scan(
        &[path.into()],
        &entangle::io::read::ScanOptions {
            selection,
            label: label.map(str::to_string),
            max_samples: options.max_samples,
            seed: options.seed,
            skip_null_rows: false,
            weighting: Default::default(),
        },
        &|_, _| {},
    )
    .unwrap();
    entangle::analysis::Analysis::new(&scanned.summary, label, vec![])
        .unwrap()
        .profile(options, None, &|_, _| {})
        .unwrap()
}
