//! The SQL functions against the core and the command line: a table split
//! over three files, run with 1 and 4 target partitions, gives entropies
//! bit-identical to the core's on the original file (what `entangle profile`
//! prints; the .slt files compare with its printed digits), surrogates within
//! 1e-12 and `entangle arrange`'s order; `rearrange` lays out columns as `entangle arrange` does; `entangle
//! sql` prints tables, JSON and CSV.

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type};

use crate::common::{
    IMAGES, core_profile, entangle_err, entangle_ok, path_str, query, read_parquet, split_images,
};

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&entangle_ok(args)).unwrap()
}

#[test]
fn aggregates_match_the_command_line_for_any_split() {
    let dir = tempfile::tempdir().unwrap();
    split_images(dir.path());
    let out = tempfile::tempdir().unwrap();
    // The core on the original single file, as `entangle profile` runs it.
    let core = core_profile(
        IMAGES,
        entangle::io::read::FeatureSelection::Array("pixels".into()),
        Some("bright_blob"),
        Some(vec![16, 16]),
    );
    let arranged = json(&[
        "arrange",
        "sample_data/images_2d.parquet",
        "--array",
        "pixels",
        "--shape",
        "16,16",
        "-o",
        path_str(&out.path().join("arranged.parquet")),
        "--json",
    ]);
    let expected_order: Vec<i32> = arranged["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    let sql = "SELECT entanglement(pixels, bright_blob, 'shape=16x16') AS e,
                      entanglement_profile(pixels, bright_blob, 'shape=16x16') AS p,
                      surrogate_entanglement(pixels, 'shape=16x16') AS s,
                      feature_order(pixels, 'shape=16x16') AS o
               FROM images";
    for partitions in [1, 4] {
        let batches = query(partitions, dir.path(), sql);
        let b = &batches[0];
        let e = b.column(0).as_primitive::<Float64Type>().value(0);
        assert_eq!(
            e.to_bits(),
            core.mean_entropy.to_bits(),
            "entanglement, {partitions} partitions"
        );
        let parts = b.column(1).as_list::<i32>().value(0);
        let parts = parts.as_struct();
        let entropy = parts
            .column_by_name("entropy")
            .unwrap()
            .as_primitive::<Float64Type>();
        let cli_parts: Vec<f64> = core
            .levels
            .iter()
            .flat_map(|l| l.partitions.iter().map(|p| p.entropy))
            .collect();
        assert_eq!(entropy.len(), cli_parts.len());
        for (i, want) in cli_parts.iter().enumerate() {
            assert_eq!(entropy.value(i).to_bits(), want.to_bits(), "partition {i}");
        }
        let s = b.column(2).as_primitive::<Float64Type>().value(0);
        let want = core.surrogate.mean;
        assert!((s - want).abs() <= 1e-12 * want, "surrogate {s} vs {want}");
        let order = b.column(3).as_list::<i32>().value(0);
        let order: Vec<i32> = order.as_primitive::<Int32Type>().values().to_vec();
        assert_eq!(
            order, expected_order,
            "feature_order, {partitions} partitions"
        );
    }
}

#[test]
fn group_by_gives_each_group_its_own_value() {
    let dir = tempfile::tempdir().unwrap();
    split_images(dir.path());
    let grouped = query(
        4,
        dir.path(),
        "SELECT bright_blob, entanglement(pixels, NULL, 'shape=16x16, max_samples=300')
         FROM images GROUP BY bright_blob ORDER BY bright_blob",
    );
    let values = grouped[0].column(1).as_primitive::<Float64Type>();
    for (row, blob) in [0, 1].into_iter().enumerate() {
        let filtered = query(
            1,
            dir.path(),
            &format!(
                "SELECT entanglement(pixels, NULL, 'shape=16x16, max_samples=300')
                 FROM images WHERE bright_blob = {blob}"
            ),
        );
        let want = filtered[0].column(0).as_primitive::<Float64Type>().value(0);
        assert_eq!(values.value(row).to_bits(), want.to_bits(), "group {blob}");
    }
    assert_ne!(values.value(0), values.value(1));
}

#[test]
fn rearrange_lays_out_columns_as_the_command_line_does() {
    let dir = tempfile::tempdir().unwrap();
    let input = "sample_data/signals_1d_shuffled.parquet";
    let out = dir.path().join("arranged.parquet");
    entangle_ok(&[
        "arrange",
        input,
        "--features-prefix",
        "x",
        "-o",
        path_str(&out),
    ]);
    let cli: Vec<RecordBatch> = read_parquet(&out);
    let sql = entangle_ok(&[
        "sql",
        "--format",
        "csv",
        &format!("SELECT * FROM rearrange('{input}', 'features_prefix=x') ORDER BY id LIMIT 3"),
    ]);
    let header: Vec<&str> = sql.lines().next().unwrap().split(',').collect();
    let names: Vec<&str> = cli[0]
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(header, names);
    // The first rows' values, as the CSV writer prints them.
    let expected = arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(Vec::new());
    let mut expected = expected;
    expected.write(&cli[0].slice(0, 3)).unwrap();
    assert_eq!(sql, String::from_utf8(expected.into_inner()).unwrap());
}

#[test]
fn sql_command_prints_tables_json_and_csv_and_reads_files() {
    let q = "SELECT count(*) AS n, round(surrogate_entanglement(pixels, 'shape=16x16'), 6) AS s \
             FROM 'sample_data/images_2d.parquet'";
    let table = entangle_ok(&["sql", q]);
    assert!(table.contains("| n    | s          |"), "{table}");
    assert!(table.contains("| 1000 | 430.606078 |"), "{table}");
    assert_eq!(
        entangle_ok(&["sql", "--format", "json", q]),
        "[{\"n\":1000,\"s\":430.606078}]\n"
    );
    assert_eq!(
        entangle_ok(&["sql", "--format", "csv", q]),
        "n,s\n1000,430.606078\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "CREATE TABLE t AS SELECT * FROM 'sample_data/images_2d.parquet' WHERE id < 10;\n\
         SELECT count(*) AS n FROM t;",
    )
    .unwrap();
    let out = entangle_ok(&["sql", "--format", "csv", "--file", path_str(&file)]);
    assert!(out.ends_with("n\n10\n"), "{out}");
    let e = entangle_err(&["sql", "SELECT entanglement(1, NULL)"]);
    assert!(
        e.contains("entanglement: argument 1 (features) must be a list of numbers"),
        "{e}"
    );
    let e = entangle_err(&["sql", "SELEC 1"]);
    assert!(e.starts_with("error: "), "{e}");
}
