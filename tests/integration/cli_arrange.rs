//! `entangle arrange` and `entangle apply` end to end: nothing lost (every row
//! and value read back), the inverse order restores the input exactly, codecs
//! and row groups kept, quality on the sample data, and bad input.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray,
    FixedSizeListArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    LargeStringArray, ListArray, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Int32Type};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

/// Reads a whole Parquet file: its batches concatenated, row-group count, key-value metadata.
fn read_back(path: &Path) -> (RecordBatch, usize, Vec<(String, String)>, Compression) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let meta = builder.metadata().clone();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&schema, &batches).unwrap();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let codec = meta.row_group(0).column(0).compression();
    (batch, meta.num_row_groups(), kv, codec)
}

fn order_meta(kv: &[(String, String)]) -> Vec<usize> {
    let v = &kv
        .iter()
        .find(|(k, _)| k == "entangle.order")
        .expect("entangle.order metadata")
        .1;
    serde_json::from_str(v).unwrap()
}

/// 150 rows: 8 smooth features interleaved with non-feature columns of many
/// Parquet physical types, with nulls; written in row groups of 40, ZSTD.
fn wide_table(path: &Path) -> RecordBatch {
    let rows = 150usize;
    let feature = |j: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values((0..rows).map(|r| {
            ((r as f64) * 0.05 + j as f64 * 0.7).sin() + 0.01 * (r % 7) as f64
        })))
    };
    let null_every = |k: usize| move |r: usize| !r.is_multiple_of(k);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..rows as i64))),
        ("f0", feature(3)),
        (
            "tiny",
            Arc::new(Int8Array::from_iter(
                (0..rows).map(|r| null_every(5)(r).then_some((r % 100) as i8)),
            )),
        ),
        ("f1", feature(0)),
        (
            "small",
            Arc::new(Int16Array::from_iter(
                (0..rows).map(|r| null_every(6)(r).then_some(r as i16 * 3)),
            )),
        ),
        ("f2", feature(5)),
        (
            "count",
            Arc::new(Int32Array::from_iter(
                (0..rows).map(|r| null_every(7)(r).then_some(r as i32)),
            )),
        ),
        ("f3", feature(1)),
        (
            "unsigned",
            Arc::new(UInt32Array::from_iter(
                (0..rows).map(|r| null_every(8)(r).then_some(r as u32 * 11)),
            )),
        ),
        ("f4", feature(7)),
        (
            "ratio",
            Arc::new(Float32Array::from_iter(
                (0..rows).map(|r| null_every(9)(r).then_some(r as f32 / 3.0)),
            )),
        ),
        ("f5", feature(2)),
        (
            "flag",
            Arc::new(BooleanArray::from_iter(
                (0..rows).map(|r| null_every(4)(r).then_some(r % 3 == 0)),
            )),
        ),
        ("f6", feature(6)),
        (
            "name",
            Arc::new(StringArray::from_iter(
                (0..rows).map(|r| null_every(10)(r).then(|| format!("row-{r}"))),
            )),
        ),
        (
            "note",
            Arc::new(LargeStringArray::from_iter(
                (0..rows).map(|r| null_every(11)(r).then(|| "é".repeat(r % 4))),
            )),
        ),
        (
            "blob",
            Arc::new(BinaryArray::from_iter(
                (0..rows).map(|r| null_every(12)(r).then(|| vec![r as u8; r % 5])),
            )),
        ),
        (
            "fixed",
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    (0..rows).map(|r| null_every(13)(r).then_some([r as u8, 7, 9])),
                    3,
                )
                .unwrap(),
            ),
        ),
        (
            "day",
            Arc::new(Date32Array::from_iter(
                (0..rows).map(|r| null_every(14)(r).then_some(19000 + r as i32)),
            )),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from_iter((0..rows).map(|r| {
                null_every(15)(r).then_some(1_700_000_000_000_000 + r as i64)
            }))),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from_iter(
                    (0..rows).map(|r| null_every(16)(r).then_some(r as i128 * 101)),
                )
                .with_precision_and_scale(12, 2)
                .unwrap(),
            ),
        ),
        (
            "tags",
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
                (0..rows).map(|r| {
                    null_every(17)(r)
                        .then(|| (0..r % 3).map(|k| Some(k as i32)).collect::<Vec<_>>())
                }),
            )),
        ),
        ("f7", feature(4)),
        (
            "label",
            Arc::new(Int32Array::from_iter_values(
                (0..rows).map(|r| (r % 2) as i32),
            )),
        ),
    ];
    let table = batch(columns);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .set_max_row_group_row_count(Some(40))
        // Bloom filters on a feature and on another column: they move too.
        .set_column_bloom_filter_enabled("f3".into(), true)
        .set_column_bloom_filter_enabled("name".into(), true)
        .build();
    let mut w =
        ArrowWriter::try_new(File::create(path).unwrap(), table.schema(), Some(props)).unwrap();
    w.write(&table).unwrap();
    w.close().unwrap();
    table
}

/// Every column chunk of `output` is the same-named chunk of `input`, byte
/// for byte and with its statistics and bloom filter: columns that only move
/// are copied as they are encoded, never decoded and encoded again.
fn assert_chunks_copied(input: &Path, output: &Path) {
    use parquet::file::metadata::ColumnChunkMetaData;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let open = |path: &Path| SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    let (before, after) = (open(input), open(output));
    let (bytes_in, bytes_out) = (
        std::fs::read(input).unwrap(),
        std::fs::read(output).unwrap(),
    );
    let chunk_bytes = |chunk: &ColumnChunkMetaData, bytes: &[u8]| {
        let (start, length) = chunk.byte_range();
        bytes[start as usize..(start + length) as usize].to_vec()
    };
    let bloom_filter = |chunk: &ColumnChunkMetaData, bytes: &[u8]| {
        let start = chunk.bloom_filter_offset()? as usize;
        let length = chunk
            .bloom_filter_length()
            .expect("written with its length") as usize;
        Some(bytes[start..start + length].to_vec())
    };
    let groups = |reader: &SerializedFileReader<File>| reader.metadata().row_groups().to_vec();
    assert_eq!(groups(&before).len(), groups(&after).len());
    let mut blooms = 0;
    for (b, a) in groups(&before).iter().zip(groups(&after).iter()) {
        for chunk in a.columns() {
            let path = chunk.column_path();
            let source = b
                .columns()
                .iter()
                .find(|c| c.column_path() == path)
                .unwrap();
            assert_eq!(
                chunk_bytes(chunk, &bytes_out),
                chunk_bytes(source, &bytes_in),
                "{path}"
            );
            assert_eq!(chunk.statistics(), source.statistics(), "{path}");
            assert_eq!(
                bloom_filter(chunk, &bytes_out),
                bloom_filter(source, &bytes_in),
                "{path}"
            );
            blooms += usize::from(bloom_filter(source, &bytes_in).is_some());
        }
    }
    assert!(blooms > 0, "the input has bloom filters to carry over");
}

#[test]
fn wide_layout_loses_nothing_and_apply_inverts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    let table = wide_table(&input);
    let output = dir.path().join("out.parquet");
    let order_file = dir.path().join("order.json");
    let out = entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&output),
        "--features-prefix",
        "f",
        "--label",
        "label",
        "--order-out",
        path_str(&order_file),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let order: Vec<usize> = serde_json::from_value(v["order"].clone()).unwrap();
    let (got, groups, kv, codec) = read_back(&output);
    assert_eq!(groups, 4, "one output row group per input row group");
    assert!(
        matches!(codec, Compression::ZSTD(_)),
        "codec kept: {codec:?}"
    );
    assert_chunks_copied(&input, &output);
    assert_eq!(order_meta(&kv), order);
    assert_eq!(got.num_rows(), table.num_rows());
    // Non-feature columns are untouched and in place; feature columns trade places.
    let names: Vec<String> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let features: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].starts_with('f') && names[i].len() == 2)
        .collect();
    for (i, field) in got.schema().fields().iter().enumerate() {
        let source = if let Some(slot) = features.iter().position(|&c| c == i) {
            features[order[slot]]
        } else {
            i
        };
        assert_eq!(field.name(), &names[source], "column {i}");
        assert_eq!(
            got.column(i).as_ref(),
            table.column(source).as_ref(),
            "values of {}",
            names[source]
        );
    }
    // The order file, and apply of the inverse order restores the input exactly.
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&order_file).unwrap()).unwrap();
    assert_eq!(file["order"], v["order"]);
    let arranged_names: Vec<String> = order.iter().map(|&k| names[features[k]].clone()).collect();
    let mut inverse = vec![0; order.len()];
    for (j, &k) in order.iter().enumerate() {
        inverse[k] = j;
    }
    let inverse_file = dir.path().join("inverse.json");
    std::fs::write(
        &inverse_file,
        serde_json::json!({"order": inverse, "features": arranged_names}).to_string(),
    )
    .unwrap();
    let restored = dir.path().join("restored.parquet");
    entangle_ok(&[
        "apply",
        path_str(&output),
        "--order",
        path_str(&inverse_file),
        "-o",
        path_str(&restored),
    ]);
    let (back, groups, _, _) = read_back(&restored);
    assert_eq!(groups, 4);
    assert_chunks_copied(&input, &restored);
    // Same fields, same values; the metadata now records the (inverse) order.
    assert_eq!(back.schema().fields(), table.schema().fields());
    assert_eq!(
        back.columns(),
        table.columns(),
        "apply of the inverse order restores the input"
    );
    assert_eq!(order_meta(&read_back(&restored).2), inverse);
}

/// Columns that are encoded again (an array layout's) keep a bloom filter
/// where the input had one, holding every value of its row group.
#[test]
fn re_encoded_columns_keep_their_bloom_filters() {
    use parquet::bloom_filter::Sbbf;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let (rows, n) = (90usize, 4usize);
    let item = Arc::new(Field::new("item", DataType::Float64, false));
    let pixels = FixedSizeListArray::new(
        item,
        n as i32,
        Arc::new(Float64Array::from_iter_values(
            (0..rows * n).map(|k| ((k * 7) % 13) as f64 + (k / n) as f64 * 0.01),
        )),
        None,
    );
    let table = batch(vec![
        ("pixels", Arc::new(pixels) as ArrayRef),
        ("id", Arc::new(Int64Array::from_iter_values(0..rows as i64))),
    ]);
    let input = dir.path().join("in.parquet");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(40))
        .set_bloom_filter_enabled(true)
        .build();
    let mut w =
        ArrowWriter::try_new(File::create(&input).unwrap(), table.schema(), Some(props)).unwrap();
    w.write(&table).unwrap();
    w.close().unwrap();
    let output = dir.path().join("out.parquet");
    entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&output),
        "--array",
        "pixels",
    ]);
    let file = File::open(&output).unwrap();
    let reader = SerializedFileReader::new(file.try_clone().unwrap()).unwrap();
    let mut first_id = 0i64;
    for group in reader.metadata().row_groups() {
        for chunk in group.columns() {
            let filter = Sbbf::read_from_column_chunk(chunk, &file).unwrap();
            let filter =
                filter.unwrap_or_else(|| panic!("{} has no bloom filter", chunk.column_path()));
            if chunk.column_path().string() == "id" {
                let ids = first_id..first_id + group.num_rows();
                assert!(ids.clone().all(|id| filter.check(&id)), "{ids:?}");
            }
        }
        first_id += group.num_rows();
    }
    assert_eq!(first_id, rows as i64);
}

#[test]
fn array_layouts_permute_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, n) = (120usize, 16usize);
    let value = |r: usize, j: usize| ((r as f32) * 0.11 + (j as f32) * 0.4).cos();
    let item32 = Arc::new(Field::new("item", DataType::Float32, true));
    let fixed = FixedSizeListArray::new(
        item32,
        n as i32,
        Arc::new(Float32Array::from_iter_values(
            (0..rows).flat_map(|r| (0..n).map(move |j| value(r, j))),
        )),
        None,
    );
    let ints = ListArray::from_iter_primitive::<Int32Type, _, _>((0..rows).map(|r| {
        (r != 5).then(|| {
            (0..n)
                .map(|j| Some((value(r, j) * 1000.0) as i32))
                .collect::<Vec<_>>()
        })
    }));
    let input = dir.path().join("arrays.parquet");
    let table = batch(vec![
        ("pixels", Arc::new(fixed) as ArrayRef),
        ("counts", Arc::new(ints)),
        ("id", Arc::new(Int64Array::from_iter_values(0..rows as i64))),
    ]);
    write_parquet(&input, &table, 50);
    for column in ["pixels", "counts"] {
        let output = dir.path().join(format!("{column}.parquet"));
        let order_file = dir.path().join(format!("{column}.json"));
        let mut args = vec![
            "arrange",
            path_str(&input),
            "-o",
            path_str(&output),
            "--array",
            column,
            "--shape",
            "4,4",
        ];
        args.extend([
            "--order-out",
            path_str(&order_file),
            "--json",
            "--skip-null-rows",
        ]);
        let v: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
        let order: Vec<usize> = serde_json::from_value(v["order"].clone()).unwrap();
        let (got, _, kv, _) = read_back(&output);
        assert_eq!(order_meta(&kv), order);
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(&order_file).unwrap()).unwrap();
        assert_eq!(file["array"], column);
        assert_eq!(file["shape"], serde_json::json!([4, 4]));
        let (before, after) = (
            table.column_by_name(column).unwrap(),
            got.column_by_name(column).unwrap(),
        );
        assert_eq!(after.null_count(), before.null_count());
        for r in 0..rows {
            assert_eq!(after.is_null(r), before.is_null(r));
            if before.is_null(r) {
                continue;
            }
            let (b, a) = (row_values(before, r), row_values(after, r));
            for j in 0..n {
                assert_eq!(
                    a[j].to_bits(),
                    b[order[j]].to_bits(),
                    "{column} row {r} element {j}"
                );
            }
        }
        assert_eq!(
            got.column_by_name("id").unwrap(),
            table.column_by_name("id").unwrap()
        );
    }
}

fn row_values(array: &ArrayRef, r: usize) -> Vec<f64> {
    let row = match array.data_type() {
        DataType::FixedSizeList(..) => array
            .as_any()
            .downcast_ref::<FixedSizeListArray>()
            .unwrap()
            .value(r),
        _ => array.as_any().downcast_ref::<ListArray>().unwrap().value(r),
    };
    let row = arrow::compute::cast(&row, &DataType::Float64).unwrap();
    row.as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .values()
        .to_vec()
}

#[test]
fn sample_data_arrangement_beats_natural_order_and_lowers_entanglement() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "signals_1d",
            vec!["--features-prefix", "x", "--label", "spike"],
        ),
        (
            "images_2d",
            vec![
                "--array",
                "pixels",
                "--shape",
                "16,16",
                "--label",
                "bright_blob",
            ],
        ),
    ];
    for (name, selection) in cases {
        let natural = root.join(format!("{name}.parquet"));
        let shuffled = root.join(format!("{name}_shuffled.parquet"));
        let output = dir.path().join(format!("{name}.parquet"));
        let mut args = vec![
            "arrange",
            path_str(&shuffled),
            "-o",
            path_str(&output),
            "--json",
            "--max-samples",
            "300",
        ];
        args.extend(&selection);
        let v: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
        let mut args = vec![
            "profile",
            path_str(&natural),
            "--json",
            "--max-samples",
            "300",
        ];
        args.extend(&selection);
        let natural_profile: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
        // The arranged order cuts no more than the natural order at any level
        // (up to round-off).
        let (after, nat) = (
            surrogate_means(&v["after"]),
            surrogate_means(&natural_profile),
        );
        for (level, (a, n)) in after.iter().zip(&nat).enumerate() {
            assert!(
                *a <= n * (1.0 + 1e-9),
                "{name} level {}: arranged surrogate {a} > natural {n}",
                level + 1
            );
        }
        let shuffled_surrogate = surrogate_means(&v["before"]);
        assert!(
            // Single features (the finest level) cut the same in any order, up to round-off.
            after
                .iter()
                .zip(&shuffled_surrogate)
                .all(|(a, s)| *a <= s * (1.0 + 1e-9)),
            "{name}: arranged above shuffled"
        );
        let (before, after) = (
            v["before"]["mean_entropy"].as_f64().unwrap(),
            v["after"]["mean_entropy"].as_f64().unwrap(),
        );
        assert!(
            after < before,
            "{name}: entanglement {after} not below shuffled {before}"
        );
        // Profiling the written file gives the `after` profile, bit for bit.
        let mut args = vec![
            "profile",
            path_str(&output),
            "--json",
            "--max-samples",
            "300",
        ];
        args.extend(&selection);
        let reread: Value = serde_json::from_str(&entangle_ok(&args)).unwrap();
        assert_eq!(reread["levels"], v["after"]["levels"], "{name}");
    }
}

#[test]
fn bad_orders_and_outputs_are_clear_errors_without_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(60, 8), 1000);
    let write_order = |name: &str, json: Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, json.to_string()).unwrap();
        p
    };
    let features: Vec<String> = (0..8).map(|j| format!("f{j:02}")).collect();
    let out = dir.path().join("out.parquet");
    let cases = [
        (
            serde_json::json!({"order": [0, 1, 2, 3, 4, 5, 6, 6], "features": features}),
            "order file: is not a permutation: index 6 appears twice",
        ),
        (
            serde_json::json!({"order": [0, 1, 2, 3, 4, 5, 6, 9], "features": features}),
            "order file: is not a permutation: index 9 is out of range 0..8",
        ),
        (
            serde_json::json!({"order": [0, 1, 2], "features": features}),
            "order file: has 3 entries but 8 features were selected",
        ),
        (
            serde_json::json!({"order": [0, 1, 2, 3, 4, 5, 6, 7], "features": features, "shape": [3, 3]}),
            "--shape: 3x3 has 9 positions but 8 features were selected",
        ),
        (
            serde_json::json!({"order": [0, 1, 2, 3, 4, 5, 6, 7], "features": ["f00", "nope"]}),
            "column 'nope': not found",
        ),
        (serde_json::json!({"permutation": [1]}), "not an order file"),
    ];
    for (k, (json, expected)) in cases.into_iter().enumerate() {
        let file = write_order(&format!("order{k}.json"), json);
        let err = entangle_err(&[
            "apply",
            path_str(&input),
            "--order",
            path_str(&file),
            "-o",
            path_str(&out),
        ]);
        assert!(
            err.contains(expected),
            "case {k}: expected '{expected}' in {err}"
        );
    }
    let good = write_order(
        "good.json",
        serde_json::json!({"order": [7, 6, 5, 4, 3, 2, 1, 0], "features": features}),
    );
    let err = entangle_err(&[
        "apply",
        path_str(&input),
        "--order",
        path_str(&good),
        "-o",
        path_str(&input),
    ]);
    assert!(
        err.contains("-o: the output") && err.contains("is the input file"),
        "{err}"
    );
    let err = entangle_err(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&input),
        "--features-prefix",
        "f",
    ]);
    assert!(err.contains("is the input file"), "{err}");
    let missing_dir = dir.path().join("no/such/dir/out.parquet");
    let err = entangle_err(&[
        "apply",
        path_str(&input),
        "--order",
        path_str(&good),
        "-o",
        path_str(&missing_dir),
    ]);
    assert!(err.contains("cannot write the output"), "{err}");
    let err = entangle_err(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--plot",
        "x.pdf",
    ]);
    assert!(
        err.contains("--plot: x.pdf: the file must end in .svg or .png"),
        "{err}"
    );
    // No output and no temporary file was left behind by any failure.
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.ends_with(".json") && n != "in.parquet")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(80, 8), 1000);
    let svg = dir.path().join("p.svg");
    let png = dir.path().join("p.png");
    entangle_ok(&[
        "profile",
        path_str(&input),
        "--features-prefix",
        "f",
        "--plot",
        path_str(&svg),
    ]);
    let out = dir.path().join("o.parquet");
    entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&out),
        "--features-prefix",
        "f",
        "--plot",
        path_str(&png),
    ]);
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") && svg_text.contains("mean entanglement entropy"));
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
}

/// An order file for `apply`.
fn write_order(dir: &Path, order: &[usize], features: &[&str]) -> std::path::PathBuf {
    let path = dir.join("order.json");
    let json = serde_json::json!({ "order": order, "features": features });
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

#[test]
fn csv_input_keeps_every_value_as_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let mut text = String::from("id,a,b,c,d,tag\n");
    for r in 0..40 {
        let t = r as f64 * 0.3;
        text += &format!(
            "{r},{},{},{},{},t{r}\n",
            t.sin(),
            (t + 0.2).sin(),
            t.cos(),
            (t + 0.1).sin()
        );
    }
    std::fs::write(&input, &text).unwrap();
    let output = dir.path().join("out.csv");
    let out = entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&output),
        "--features",
        "a,b,c,d",
        "--json",
    ]);
    let order: Vec<usize> =
        serde_json::from_value(serde_json::from_str::<Value>(&out).unwrap()["order"].clone())
            .unwrap();
    let read = |p: &Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (before, after) = (read(&input), read(&output));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&a[0], &a[5]), (&b[0], &b[5]), "non-feature columns stay");
        for j in 0..4 {
            // Values compared as numbers: the CSV writer may print them differently.
            if let (Ok(x), Ok(y)) = (a[1 + j].parse::<f64>(), b[1 + order[j]].parse::<f64>()) {
                assert_eq!(x, y);
            } else {
                assert_eq!(a[1 + j], b[1 + order[j]], "header");
            }
        }
    }
    // The same input written as Parquet: one row group, every value kept.
    let parquet_out = dir.path().join("out.parquet");
    let order_file = write_order(dir.path(), &order, &["a", "b", "c", "d"]);
    entangle_ok(&[
        "apply",
        path_str(&input),
        "--order",
        path_str(&order_file),
        "-o",
        path_str(&parquet_out),
    ]);
    let (batch, groups, kv, _) = read_back(&parquet_out);
    assert_eq!((batch.num_rows(), groups), (40, 1));
    assert_eq!(order_meta(&kv), order);
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let features = ["a", "b", "c", "d"];
    let expected_names: Vec<&str> = std::iter::once("id")
        .chain(order.iter().map(|&k| features[k]))
        .chain(std::iter::once("tag"))
        .collect();
    assert_eq!(names, expected_names);
    for (r, row) in before[1..].iter().enumerate() {
        for j in 0..4 {
            let column = batch
                .column(1 + j)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap();
            assert_eq!(
                column.value(r),
                row[1 + order[j]].parse::<f64>().unwrap(),
                "row {r}"
            );
        }
        let tags = batch
            .column(5)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(tags.value(r), row[5]);
    }
}

/// `--report`: the surrogate report is the entanglement report's surrogate
/// (same numbers, same order, same file) without the entropies. (The auto
/// boundary and its note are unit-tested in `analysis`: arranging 4097
/// features in the unoptimised test build takes minutes; benches/scale.sh
/// shows the note.)
#[test]
fn report_surrogate_is_the_exact_reports_surrogate_without_entropies() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("signals.parquet");
    write_parquet(&input, &signal_table(300, 64), 100);
    let run = |report: &str| -> (Value, Vec<u8>, String) {
        let output = dir.path().join(format!("{report}.parquet"));
        let args = [
            "arrange",
            path_str(&input),
            "-o",
            path_str(&output),
            "--features-prefix",
            "f",
            "--max-samples",
            "100",
            "--report",
            report,
            "--json",
        ];
        let out = entangle(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            serde_json::from_slice(&out.stdout).unwrap(),
            std::fs::read(&output).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (exact, exact_file, _) = run("entanglement");
    let (cheap, cheap_file, cheap_stderr) = run("surrogate");
    let (auto, _, auto_stderr) = run("auto");
    assert_eq!(exact["report"], "entanglement");
    assert_eq!(cheap["report"], "surrogate");
    assert_eq!(auto["report"], "entanglement", "64 features: auto is exact");
    assert_eq!(auto["before"], exact["before"]);
    assert_eq!(cheap["order"], exact["order"]);
    for side in ["before", "after"] {
        assert_eq!(cheap[side], exact[side]["surrogate"], "{side}");
        assert!(exact[side]["mean_entropy"].is_f64());
    }
    assert!(cheap.to_string().find("entropy").is_none(), "no entropies");
    assert_eq!(cheap["rows"], 300);
    assert_eq!(cheap["features"], 64);
    assert_eq!(
        cheap_file, exact_file,
        "the same arrangement, the same file"
    );
    // Chosen explicitly: no hint.
    assert!(!cheap_stderr.contains("note:"), "{cheap_stderr}");
    assert!(!auto_stderr.contains("note:"), "{auto_stderr}");
    let table = entangle_ok(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&dir.path().join("table.parquet")),
        "--features-prefix",
        "f",
        "--report",
        "surrogate",
    ]);
    assert!(table.contains("surrogate report (no entropies)"), "{table}");
    assert!(
        table.contains("level   surrogate before   surrogate after"),
        "{table}"
    );
    // A plot needs the entropies.
    let err = entangle_err(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&dir.path().join("plot.parquet")),
        "--features-prefix",
        "f",
        "--report",
        "surrogate",
        "--plot",
        path_str(&dir.path().join("plot.svg")),
    ]);
    assert!(
        err.contains("--plot") && err.contains("--report entanglement"),
        "{err}"
    );
    assert!(!dir.path().join("plot.parquet").exists());
}

/// `--placement`: placing every node's children for seams moves whole child
/// blocks only, so every canonical cut is the same. The exact profiles of the
/// `tree` and `seams` outputs, read back from the files, agree bit for bit
/// (each level's entropies as a set: the nodes trade places, and with them
/// their chunk numbers) and so do the surrogate cuts; the seams rise; `apply`
/// with the saved order writes the same file.
#[test]
fn placement_keeps_every_entropy_bit_for_bit_and_raises_the_seams() {
    use entangle::io::read::FeatureSelection;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data");
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("grid_6x5.parquet");
    write_parquet(&odd, &signal_table(200, 30), 64);
    let images = root.join("images_2d_shuffled.parquet");
    let signals = root.join("signals_1d_shuffled.parquet");
    let sensors = root.join("sensors_multiclass.parquet");
    // (input, selection flags, the same selection for the core, label, shape)
    type Case<'a> = (
        &'a Path,
        Vec<&'a str>,
        FeatureSelection,
        &'a str,
        Option<Vec<usize>>,
    );
    let cases: Vec<Case> = vec![
        (
            &images,
            vec![
                "--array",
                "pixels",
                "--shape",
                "16,16",
                "--label",
                "bright_blob",
            ],
            FeatureSelection::Array("pixels".into()),
            "bright_blob",
            Some(vec![16, 16]),
        ),
        (
            &signals,
            vec!["--features-prefix", "x", "--label", "spike"],
            FeatureSelection::Prefix("x".into()),
            "spike",
            None,
        ),
        (
            &sensors,
            vec!["--features-prefix", "s", "--label", "regime"],
            FeatureSelection::Prefix("s".into()),
            "regime",
            None,
        ),
        (
            &odd,
            vec![
                "--features-prefix",
                "f",
                "--shape",
                "6,5",
                "--label",
                "label",
            ],
            FeatureSelection::Prefix("f".into()),
            "label",
            Some(vec![6, 5]),
        ),
    ];
    for (input, selection, features, label, shape) in cases {
        let name = input.file_stem().unwrap().to_str().unwrap();
        let run = |placement: &str| -> (Value, std::path::PathBuf) {
            let output = dir.path().join(format!("{name}_{placement}.parquet"));
            let order = dir.path().join(format!("{name}_{placement}.json"));
            let mut args = vec![
                "arrange",
                path_str(input),
                "-o",
                path_str(&output),
                "--order-out",
                path_str(&order),
                "--report",
                "surrogate",
                "--placement",
                placement,
                "--json",
            ];
            args.extend(&selection);
            (serde_json::from_str(&entangle_ok(&args)).unwrap(), output)
        };
        let (tree, tree_file) = run("tree");
        let (seams, seams_file) = run("seams");
        assert_ne!(
            tree["order"], seams["order"],
            "{name}: the placement moved something"
        );
        let (tree_seams, seams_seams) = (
            tree["after"]["seams"].as_f64().unwrap(),
            seams["after"]["seams"].as_f64().unwrap(),
        );
        assert!(
            seams_seams > tree_seams,
            "{name}: seams {seams_seams} ≤ {tree_seams}"
        );

        let options = entangle::ProfileOptions {
            shape: shape.clone(),
            max_samples: 300,
            ..Default::default()
        };
        let profile = |file: &Path| {
            core_profile_with(path_str(file), features.clone(), Some(label), &options)
        };
        let (a, b) = (profile(&tree_file), profile(&seams_file));
        let bits = |x: f64| x.to_bits();
        assert_eq!(bits(a.mean_entropy), bits(b.mean_entropy), "{name}");
        assert_eq!(bits(a.surrogate.mean), bits(b.surrogate.mean), "{name}");
        for (la, lb) in a.levels.iter().zip(&b.levels) {
            let set = |l: &entangle::math::profile::LevelProfile| {
                let mut v: Vec<(usize, u64, u64)> = l
                    .partitions
                    .iter()
                    .map(|p| (p.size, bits(p.entropy), bits(p.geometric)))
                    .collect();
                v.sort_unstable();
                v
            };
            assert_eq!(set(la), set(lb), "{name} level {}", la.level);
            assert_eq!(bits(la.mean_entropy), bits(lb.mean_entropy), "{name}");
        }
        for (ca, cb) in a.classes.iter().zip(&b.classes) {
            assert_eq!(
                bits(ca.mean_entropy),
                bits(cb.mean_entropy),
                "{name} class {}",
                ca.label
            );
        }
        for (la, lb) in a.surrogate.levels.iter().zip(&b.surrogate.levels) {
            let cuts = |l: &entangle::math::profile::SurrogateLevel| {
                let mut v: Vec<u64> = l.partitions.iter().map(|p| bits(p.cut)).collect();
                v.sort_unstable();
                v
            };
            assert_eq!(cuts(la), cuts(lb), "{name} surrogate level {}", la.level);
        }
        assert_eq!(
            bits(b.surrogate.seams),
            bits(seams_seams),
            "{name}: the file's seams"
        );

        // The saved order lays out the input as the arrangement did.
        let applied = dir.path().join(format!("{name}_applied.parquet"));
        let order = dir.path().join(format!("{name}_seams.json"));
        entangle_ok(&[
            "apply",
            path_str(input),
            "--order",
            path_str(&order),
            "-o",
            path_str(&applied),
        ]);
        assert_eq!(
            std::fs::read(&applied).unwrap(),
            std::fs::read(&seams_file).unwrap(),
            "{name}: apply = arrange"
        );
    }
}

#[test]
fn shrink_auto_keeps_the_candidate_with_the_highest_seams() {
    use entangle::arrange::shrink::AUTO;
    // The first 400 rows of the shuffled textures: on so few rows the
    // unshrunk weights send the partitioner's first split astray, and
    // shrinking the weak correlations finds the natural blocks again
    // (docs/science.md#fewer-rows).
    let batches = read_parquet(Path::new("sample_data/textures_2d_shuffled.parquet"));
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("textures_400.parquet");
    write_parquet(&input, &all.slice(0, 400), 400);
    let run = |shrink: &str| -> serde_json::Value {
        let out = dir.path().join(format!("arranged_{shrink}.parquet"));
        let text = entangle_ok(&[
            "arrange",
            path_str(&input),
            "-o",
            path_str(&out),
            "--array",
            "pixels",
            "--shape",
            "16,16",
            "--report",
            "surrogate",
            "--shrink",
            shrink,
            "--json",
        ]);
        serde_json::from_str(&text).unwrap()
    };
    let seams = |v: &serde_json::Value| v["after"]["seams"].as_f64().unwrap();
    let none = run("none");
    assert!(
        none.get("shrink").is_none(),
        "no shrink key without --shrink"
    );
    let fixed: Vec<(f64, serde_json::Value)> = AUTO
        .iter()
        .map(|&tau| (tau, run(&tau.to_string())))
        .collect();
    assert_eq!(fixed[0].1["order"], none["order"], "--shrink 0 is none");
    // The winner: the first candidate whose seams no later one beats by more
    // than round-off.
    let mut winner = &fixed[0];
    for candidate in &fixed[1..] {
        if seams(&candidate.1) > seams(&winner.1) + 1e-9 * seams(&winner.1) {
            winner = candidate;
        }
    }
    let auto = run("auto");
    assert_eq!(auto["order"], winner.1["order"]);
    assert_eq!(auto["shrink"].as_f64(), Some(winner.0));
    assert_eq!(fixed[1].1["shrink"].as_f64(), Some(AUTO[1]));
    // On these rows it pays: 252.9 unshrunk, 277.1 (the natural order's) with auto.
    assert!(
        seams(&auto) > seams(&none) + 20.0,
        "auto {} against none {}",
        seams(&auto),
        seams(&none)
    );
    let err = entangle_err(&[
        "arrange",
        path_str(&input),
        "-o",
        path_str(&dir.path().join("x.parquet")),
        "--shrink",
        "1.5",
    ]);
    assert!(
        err.contains("--shrink") && err.contains("none, auto or a number in [0, 1), got 1.5"),
        "{err}"
    );
}
