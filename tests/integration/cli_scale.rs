//! Sparse (blockwise) surrogate weights end to end: the same profile as the
//! dense weights, an arrangement of a scrambled signal as good as the dense
//! one, every value kept, and multi-file inputs.

use std::fs::File;

use crate::common::*;
use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

const FEATURES: usize = 300;

/// `signal_table` with its feature columns scrambled (names stay f00, f01, …
/// in file order; column j holds the signal's feature `scramble(j)`).
fn scrambled_table(rows: usize) -> RecordBatch {
    let table = signal_table(rows, FEATURES);
    let scramble = |j: usize| (j * 127 + 31) % FEATURES;
    let mut columns: Vec<(String, ArrayRef)> =
        vec![("id".into(), table.column_by_name("id").unwrap().clone())];
    for j in 0..FEATURES {
        let source = format!("f{:02}", scramble(j));
        columns.push((
            format!("f{j:03}"),
            table.column_by_name(&source).unwrap().clone(),
        ));
    }
    batch(
        columns
            .iter()
            .map(|(n, a)| (n.as_str(), a.clone()))
            .collect(),
    )
}

/// A whole Parquet file as one batch.
fn read_parquet(path: &std::path::Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

#[test]
fn sparse_weights_profile_like_dense_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("scrambled.parquet");
    write_parquet(&input, &scrambled_table(400), 150);
    let profile = |weights: &str| -> Value {
        let args = [
            "profile",
            path_str(&input),
            "--features-prefix",
            "f",
            "--weights",
            weights,
            "--max-samples",
            "64",
            "--json",
        ];
        serde_json::from_str(&entangle_ok(&args)).unwrap()
    };
    let (dense, sparse) = (profile("dense"), profile("sparse"));
    // The same rows give the same entropies, bit for bit.
    assert_eq!(dense["levels"], sparse["levels"]);
    // The surrogate from tiles of standardized columns equals the co-moments'.
    for (d, s) in surrogate_means(&dense).iter().zip(surrogate_means(&sparse)) {
        assert!((d - s).abs() <= 1e-9 * d, "{d} vs {s}");
    }
}

#[test]
fn sparse_arrangement_is_close_to_dense_and_keeps_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("scrambled.parquet");
    let table = scrambled_table(400);
    write_parquet(&input, &table, 150);
    let arrange = |weights: &str| -> (Value, RecordBatch) {
        let output = dir.path().join(format!("{weights}.parquet"));
        let args = [
            "arrange",
            path_str(&input),
            "-o",
            path_str(&output),
            "--features-prefix",
            "f",
            "--weights",
            weights,
            "--max-samples",
            "64",
            "--json",
        ];
        let v: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
        (v, read_parquet(&output))
    };
    let (dense, _) = arrange("dense");
    let (sparse, written) = arrange("sparse");
    let mean = |v: &Value, key: &str| v[key]["surrogate"]["mean"].as_f64().unwrap();
    let scrambled = mean(&sparse, "before");
    let (d, s) = (mean(&dense, "after"), mean(&sparse, "after"));
    assert!(s <= 1.05 * d, "sparse {s} vs dense {d}");
    assert!(s < 0.9 * scrambled, "sparse {s} vs scrambled {scrambled}");
    // Every value is where the order says: the p-th feature column of the
    // output is the input's column order[p], name and values.
    let order: Vec<usize> = serde_json::from_value(sparse["order"].clone()).unwrap();
    assert_eq!(written.num_rows(), table.num_rows());
    let schema = written.schema();
    let features: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).name().starts_with('f'))
        .collect();
    assert_eq!(features.len(), FEATURES);
    for (position, &column) in features.iter().enumerate() {
        let name = format!("f{:03}", order[position]);
        assert_eq!(schema.field(column).name(), &name, "position {position}");
        let (got, want) = (written.column(column), table.column_by_name(&name).unwrap());
        assert_eq!(
            got.as_any().downcast_ref::<Float64Array>().unwrap(),
            want.as_any().downcast_ref::<Float64Array>().unwrap(),
            "position {position}"
        );
    }
    assert_eq!(
        written.column_by_name("id").unwrap(),
        table.column_by_name("id").unwrap()
    );
}

#[test]
fn directories_and_globs_are_read_and_rewritten_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = scrambled_table(360);
    let whole = dir.path().join("whole.parquet");
    write_parquet(&whole, &table, 100);
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for (k, start) in [0usize, 100, 250].into_iter().enumerate() {
        let len = [100, 150, 110][k];
        write_parquet(
            &parts.join(format!("part-{k}.parquet")),
            &table.slice(start, len),
            64,
        );
    }
    let profile = |input: &str| -> Value {
        let args = [
            "profile",
            input,
            "--features-prefix",
            "f",
            "--weights",
            "sparse",
            "--max-samples",
            "32",
            "--json",
        ];
        serde_json::from_str(&entangle_ok(&args)).unwrap()
    };
    let one = profile(path_str(&whole));
    let glob = parts.join("part-*.parquet");
    for other in [profile(path_str(&parts)), profile(path_str(&glob))] {
        assert_eq!(one["rows"], other["rows"]);
        assert_eq!(one["levels"], other["levels"]);
        for (a, b) in surrogate_means(&one).iter().zip(surrogate_means(&other)) {
            assert!((a - b).abs() <= 1e-9 * a, "{a} vs {b}");
        }
    }
    // A directory (or glob) is rewritten into a directory, file by file.
    let out = dir.path().join("arranged");
    let args = [
        "arrange",
        path_str(&glob),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--max-samples",
        "32",
        "--json",
    ];
    let v: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
    let order: Vec<usize> = serde_json::from_value(v["order"].clone()).unwrap();
    for k in 0..3 {
        let name = format!("part-{k}.parquet");
        let (input, written) = (
            read_parquet(&parts.join(&name)),
            read_parquet(&out.join(&name)),
        );
        assert_eq!(written.num_rows(), input.num_rows(), "{name}");
        for (position, &feature) in order.iter().enumerate() {
            let column = format!("f{feature:03}");
            assert_eq!(
                written.column(position + 1),
                input.column_by_name(&column).unwrap(),
                "{name} position {position}"
            );
        }
    }
    // Several files cannot go to one file.
    let err = entangle_err(&[
        "arrange",
        path_str(&parts),
        "-o",
        path_str(&whole),
        "--features-prefix",
        "f",
    ]);
    assert!(
        err.contains("holds several files: give a directory"),
        "{err}"
    );
    let err = entangle_err(&["profile", path_str(&parts.join("nothing-*.parquet"))]);
    assert!(err.contains("matches no .parquet or .csv file"), "{err}");
}
