//! `entangle profile` end to end: JSON keys, determinism, independence of row
//! order and file splitting, CSV and array inputs.

use std::sync::Arc;

use crate::common::*;
use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int32Array, ListArray, RecordBatch,
};
use arrow::datatypes::{DataType, Field, Int32Type};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&entangle_ok(args)).unwrap()
}

/// Entropies and geometric values of every partition, in order.
fn entropies(v: &Value) -> Vec<(u64, f64, f64)> {
    v["levels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| {
            l["partitions"].as_array().unwrap().iter().map(move |p| {
                (
                    l["level"].as_u64().unwrap(),
                    p["entropy"].as_f64().unwrap(),
                    p["geometric"].as_f64().unwrap(),
                )
            })
        })
        .collect()
}

#[test]
fn json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.parquet");
    write_parquet(&file, &signal_table(300, 16), 100);
    let v = json(&[
        "profile",
        path_str(&file),
        "--features-prefix",
        "f",
        "--label",
        "label",
        "--json",
    ]);
    assert_eq!(v["rows"], 300);
    assert_eq!(v["samples_used"], 300);
    assert_eq!(v["features"], 16);
    assert_eq!(v["shape"], serde_json::json!([16]));
    let levels = v["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 4);
    assert_eq!(levels[0]["level"], 1);
    assert_eq!(levels[0]["partitions"].as_array().unwrap().len(), 1);
    assert_eq!(levels[1]["partitions"].as_array().unwrap().len(), 4);
    let p = &levels[1]["partitions"][2];
    assert_eq!(p["chunk"], 2);
    assert_eq!(p["size"], 4);
    assert!(p["entropy"].as_f64().unwrap() > 0.0 && p["geometric"].as_f64().unwrap() > 0.0);
    let level_means: Vec<f64> = levels
        .iter()
        .map(|l| l["mean_entropy"].as_f64().unwrap())
        .collect();
    let headline = v["mean_entropy"].as_f64().unwrap();
    assert!((headline - level_means.iter().sum::<f64>() / 4.0).abs() < 1e-15);
    assert_eq!(v["surrogate"]["levels"].as_array().unwrap().len(), 4);
    assert_eq!(v["surrogate"]["levels"][0]["level"], 1);
    assert!(v["surrogate"]["levels"][0]["mean"].as_f64().unwrap() > 0.0);
    assert_eq!(v["label"]["scheme"], "binary");
    assert_eq!(v["label"]["values"], serde_json::json!([0, 1]));
}

#[test]
fn same_input_gives_bit_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.parquet");
    write_parquet(&file, &signal_table(1500, 16), 256);
    let args = [
        "profile",
        path_str(&file),
        "--label",
        "label",
        "--features-prefix",
        "f",
        "--max-samples",
        "400",
        "--json",
    ];
    let (a, b) = (entangle_ok(&args), entangle_ok(&args));
    assert_eq!(a, b);
    let v: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["samples_used"], 400);
    // A different seed samples other rows.
    let mut other = args.to_vec();
    other.extend(["--seed", "1"]);
    assert_ne!(entropies(&json(&other)), entropies(&v));
}

#[test]
fn row_order_and_file_splits_do_not_change_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let table = signal_table(1200, 12);
    let whole = dir.path().join("whole.parquet");
    write_parquet(&whole, &table, 1000);
    // Reversed rows, in a single file.
    let reversed_idx = arrow::array::UInt32Array::from_iter_values((0..1200u32).rev());
    let reversed = RecordBatch::try_new(
        table.schema(),
        table
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c, &reversed_idx, None).unwrap())
            .collect(),
    )
    .unwrap();
    let rev = dir.path().join("reversed.parquet");
    write_parquet(&rev, &reversed, 77);
    // The same rows split over three files in a directory.
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for (i, (lo, len)) in [(0, 500), (500, 1), (501, 699)].into_iter().enumerate() {
        write_parquet(
            &parts.join(format!("part-{i}.parquet")),
            &reversed.slice(lo, len),
            64,
        );
    }
    let run = |path: &std::path::Path| {
        json(&[
            "profile",
            path_str(path),
            "--label",
            "label",
            "--features-prefix",
            "f",
            "--max-samples",
            "300",
            "--levels",
            "1..3",
            "--json",
        ])
    };
    let (a, b, c) = (run(&whole), run(&rev), run(&parts));
    assert_eq!(
        entropies(&a),
        entropies(&b),
        "row order changed the entropies"
    );
    assert_eq!(
        entropies(&a),
        entropies(&c),
        "splitting into files changed the entropies"
    );
    for (x, y) in surrogate_means(&a).iter().zip(surrogate_means(&c)) {
        assert!((x - y).abs() <= 1e-12 * x.abs(), "{x} vs {y}");
    }
    assert_eq!(c["rows"], 1200);
}

#[test]
fn csv_and_parquet_agree() {
    let dir = tempfile::tempdir().unwrap();
    let table = signal_table(200, 8);
    let pq = dir.path().join("s.parquet");
    write_parquet(&pq, &table, 1000);
    let csv = dir.path().join("s.csv");
    let mut w = arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(std::fs::File::create(&csv).unwrap());
    w.write(&table).unwrap();
    drop(w);
    let args = |p| {
        vec![
            "profile",
            p,
            "--features",
            "f00,f01,f02,f03,f04,f05,f06,f07",
            "--label",
            "label",
            "--json",
        ]
    };
    let a = json(&args(path_str(&pq)));
    let b = json(&args(path_str(&csv)));
    assert_eq!(entropies(&a), entropies(&b));
}

#[test]
fn array_layouts_match_wide_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, n) = (150usize, 16usize);
    let table = signal_table(rows, n);
    let wide = dir.path().join("wide.parquet");
    write_parquet(&wide, &table, 1000);
    let values: Vec<f64> = (0..rows)
        .flat_map(|r| {
            let t = &table;
            (0..n).map(move |j| {
                t.column(j + 1)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .value(r)
            })
        })
        .collect();
    let item = Arc::new(Field::new("item", DataType::Float64, false));
    let fixed = FixedSizeListArray::new(
        item.clone(),
        n as i32,
        Arc::new(Float64Array::from(values.clone())),
        None,
    );
    let offsets = arrow::buffer::OffsetBuffer::from_lengths(vec![n; rows]);
    let list = ListArray::new(item, offsets, Arc::new(Float64Array::from(values)), None);
    let label = table.column(n + 1).clone();
    let arrays = dir.path().join("arrays.parquet");
    write_parquet(
        &arrays,
        &batch(vec![
            ("fixed", Arc::new(fixed) as ArrayRef),
            ("list", Arc::new(list)),
            ("label", label),
        ]),
        40,
    );
    let base = json(&[
        "profile",
        path_str(&wide),
        "--features-prefix",
        "f",
        "--label",
        "label",
        "--shape",
        "4,4",
        "--json",
    ]);
    for column in ["fixed", "list"] {
        let v = json(&[
            "profile",
            path_str(&arrays),
            "--array",
            column,
            "--label",
            "label",
            "--shape",
            "4x4",
            "--json",
        ]);
        assert_eq!(entropies(&v), entropies(&base), "{column}");
        assert_eq!(v["shape"], serde_json::json!([4, 4]));
    }
}

#[test]
fn float32_and_integer_features_are_cast() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 64usize;
    let f = dir.path().join("types.parquet");
    write_parquet(
        &f,
        &batch(vec![
            (
                "a",
                Arc::new(Float32Array::from_iter_values(
                    (0..rows).map(|r| (r as f32 * 0.3).sin()),
                )) as ArrayRef,
            ),
            (
                "b",
                Arc::new(Int32Array::from_iter_values(
                    (0..rows).map(|r| (r * 7 % 11) as i32),
                )),
            ),
            (
                "c",
                Arc::new(arrow::array::PrimitiveArray::<Int32Type>::from_iter_values(
                    (0..rows).map(|r| (r % 5) as i32),
                )),
            ),
        ]),
        1000,
    );
    let v = json(&["profile", path_str(&f), "--json"]);
    assert_eq!(v["features"], 3);
    assert!(v.get("label").is_none());
}

/// `seams` is Σ |Pearson correlation| over grid-adjacent features, computed
/// here from the file's values: consecutive columns in 1D, the
/// 4-neighbourhood of the row-major grid in 2D.
#[test]
fn seams_are_the_correlation_of_grid_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.parquet");
    let table = signal_table(300, 16);
    write_parquet(&file, &table, 100);
    let column = |j: usize| -> Vec<f64> {
        let c = table.column_by_name(&format!("f{j:02}")).unwrap();
        let c = c
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        c.values().to_vec()
    };
    let correlation = |a: &[f64], b: &[f64]| {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
        (cov / (va * vb).sqrt()).abs()
    };
    let pairs_1d: Vec<(usize, usize)> = (0..15).map(|j| (j, j + 1)).collect();
    let mut pairs_2d: Vec<(usize, usize)> = Vec::new();
    for r in 0..4 {
        for c in 0..4 {
            if c + 1 < 4 {
                pairs_2d.push((4 * r + c, 4 * r + c + 1));
            }
            if r + 1 < 4 {
                pairs_2d.push((4 * r + c, 4 * (r + 1) + c));
            }
        }
    }
    for (shape, pairs) in [(None, pairs_1d), (Some("4,4"), pairs_2d)] {
        let expected: f64 = pairs
            .iter()
            .map(|&(i, j)| correlation(&column(i), &column(j)))
            .sum();
        let mut args = vec!["profile", path_str(&file), "--features-prefix", "f"];
        if let Some(shape) = shape {
            args.extend(["--shape", shape]);
        }
        let table = entangle_ok(&args);
        assert!(table.contains(&format!("seams {expected:.4} ")), "{table}");
        args.push("--json");
        let seams = json(&args)["surrogate"]["seams"].as_f64().unwrap();
        assert!(
            (seams - expected).abs() < 1e-12 * expected,
            "{shape:?}: seams {seams} vs {expected}"
        );
    }
}

#[test]
fn human_output_shows_levels_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.parquet");
    write_parquet(&file, &signal_table(100, 8), 1000);
    let out = entangle_ok(&[
        "profile",
        path_str(&file),
        "--features-prefix",
        "f",
        "--label",
        "label",
    ]);
    assert!(out.contains("level  partitions"), "{out}");
    assert!(out.contains("mean entropy"), "{out}");
    assert!(
        out.contains("label 'label': binary, 0 → −1, 1 → +1"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("time ") && l.ends_with(" s")),
        "{out}"
    );
}

#[test]
fn multiclass_reports_per_class_values() {
    let dir = tempfile::tempdir().unwrap();
    let rows = 90;
    let table = signal_table(rows, 8);
    let classes =
        arrow::array::StringArray::from_iter_values((0..rows).map(|r| ["x", "y", "z"][r % 3]));
    let schema = table.schema();
    let mut cols: Vec<(&str, ArrayRef)> = (1..=8)
        .map(|j| (schema.field(j).name().as_str(), table.column(j).clone()))
        .collect();
    cols.push(("class", Arc::new(classes)));
    let f = dir.path().join("m.parquet");
    write_parquet(&f, &batch(cols), 1000);
    let v = json(&["profile", path_str(&f), "--label", "class", "--json"]);
    assert_eq!(v["label"]["scheme"], "one-vs-rest");
    let classes = v["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    assert_eq!(classes[1]["label"], "y");
    let mean: f64 = classes
        .iter()
        .map(|c| c["mean_entropy"].as_f64().unwrap())
        .sum::<f64>()
        / 3.0;
    assert!((mean - v["mean_entropy"].as_f64().unwrap()).abs() < 1e-12);
}

/// With no selection every numeric column is a feature; the header, the JSON
/// and a warning say which, and name the integer `id` taken with them.
#[test]
fn the_columns_taken_are_shown() {
    let args = [
        "profile",
        "sample_data/signals_1d.parquet",
        "--max-samples",
        "50",
    ];
    let output = entangle(&args);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().nth(1).unwrap(),
        "feature columns (66 columns, every numeric column): id, x00, x01, x02, … , x62, x63, spike"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: integer column 'id' looks like a row identifier but was taken as a feature (every numeric column)"),
        "{stderr}"
    );
    let v = json(&[&args[..], &["--json"]].concat());
    let columns = &v["feature_columns"];
    assert_eq!(columns["selected_by"], "every numeric column");
    assert_eq!(columns["identifier_like"], serde_json::json!(["id"]));
    let names: Vec<&str> = columns["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 66);
    assert_eq!((names[0], names[1], names[65]), ("id", "x00", "spike"));
    assert!(v["warnings"][0].as_str().unwrap().contains("'id'"));

    // Named by a prefix, the id is left out and nothing is said.
    let v = json(&[&args[..], &["--features-prefix", "x", "--json"]].concat());
    assert_eq!(v["features"], 64);
    assert_eq!(v["feature_columns"]["selected_by"], "prefix");
    assert_eq!(
        v["feature_columns"]["identifier_like"],
        serde_json::json!([])
    );
    assert!(v.get("warnings").is_none());
    // An array column is one column.
    let v = json(&[
        "profile",
        IMAGES,
        "--array",
        "pixels",
        "--shape",
        "16,16",
        "--max-samples",
        "50",
        "--json",
    ]);
    assert_eq!(v["feature_columns"]["selected_by"], "array");
    assert_eq!(
        v["feature_columns"]["columns"],
        serde_json::json!(["pixels"])
    );
}
