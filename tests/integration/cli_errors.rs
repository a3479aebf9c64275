//! Bad input (docs/conventions.md#bad-input): a clear error naming the column
//! (or option, or file) and the problem, a non-zero exit code, and no panic.

use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use arrow::array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float64Array, Int64Array, ListArray, StringArray,
};
use arrow::datatypes::{DataType, Field};

fn floats(values: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(values))
}

fn smooth(rows: usize, phase: f64) -> Vec<Option<f64>> {
    (0..rows)
        .map(|r| Some((r as f64 * 0.37 + phase).sin()))
        .collect()
}

/// Writes a table with features a, b, c (c given), a string column and a label.
fn table(dir: &Path, name: &str, c: Vec<Option<f64>>, label: ArrayRef) -> String {
    let rows = c.len();
    let f = dir.join(name);
    write_parquet(
        &f,
        &batch(vec![
            ("a", floats(smooth(rows, 0.0))),
            ("b", floats(smooth(rows, 1.0))),
            ("c", floats(c)),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|r| format!("row{r}")),
                )),
            ),
            ("y", label),
        ]),
        1000,
    );
    f.to_str().unwrap().to_string()
}

fn labels(rows: usize) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(
        (0..rows as i64).map(|r| r % 2),
    ))
}

fn assert_error(args: &[&str], expected: &str) {
    let stderr = entangle_err(args);
    assert!(
        stderr.contains(expected),
        "entangle {args:?}: expected '{expected}' in: {stderr}"
    );
}

#[test]
fn feature_problems_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = table(d, "good.parquet", smooth(20, 2.0), labels(20));

    assert_error(
        &["profile", &good, "--features", "a,name"],
        "column 'name': has type Utf8; features must be numeric",
    );
    assert_error(
        &["profile", &good, "--features", "a,zz"],
        "column 'zz': not found (columns are: a, b, c, name, y)",
    );
    assert_error(
        &["profile", &good, "--features", "a"],
        "need at least 2 features, found 1",
    );
    assert_error(
        &["profile", &good, "--features", "a,a"],
        "column 'a': is selected twice",
    );
    assert_error(
        &["profile", &good, "--features-prefix", "q"],
        "--features-prefix: no numeric column starts with 'q'",
    );

    let mut with_null = smooth(20, 2.0);
    with_null[7] = None;
    let nulls = table(d, "nulls.parquet", with_null, labels(20));
    assert_error(
        &["profile", &nulls, "--features", "a,b,c"],
        "column 'c': null value at row 8 (use --skip-null-rows or the skip_null_rows option to drop such rows)",
    );
    // With the option the row is dropped and the rest is profiled.
    let out = entangle_ok(&[
        "profile",
        &nulls,
        "--features",
        "a,b,c",
        "--skip-null-rows",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 19);

    let mut with_nan = smooth(20, 2.0);
    with_nan[3] = Some(f64::NAN);
    let nan = table(d, "nan.parquet", with_nan, labels(20));
    assert_error(
        &["profile", &nan, "--features", "a,b,c"],
        "column 'c': NaN at row 4",
    );

    let mut with_inf = smooth(20, 2.0);
    with_inf[11] = Some(f64::NEG_INFINITY);
    let inf = table(d, "inf.parquet", with_inf, labels(20));
    assert_error(
        &["profile", &inf, "--features", "a,b,c"],
        "column 'c': an infinite value at row 12",
    );

    // In a directory, an error names the file and the row within it,
    // counting the rows that --skip-null-rows dropped.
    let parts = d.join("parts");
    std::fs::create_dir(&parts).unwrap();
    table(&parts, "a.parquet", smooth(10, 0.0), labels(10));
    let mut second = smooth(10, 1.0);
    (second[1], second[5]) = (None, Some(f64::NAN));
    let b = table(&parts, "b.parquet", second, labels(10));
    assert_error(
        &["profile", path_str(&parts), "--features", "a,b,c"],
        &format!("{b}: column 'c': null value at row 2"),
    );
    assert_error(
        &[
            "profile",
            path_str(&parts),
            "--features",
            "a,b,c",
            "--skip-null-rows",
        ],
        &format!("{b}: column 'c': NaN at row 6"),
    );

    let one_row = table(d, "one.parquet", smooth(1, 0.0), labels(1));
    assert_error(
        &["profile", &one_row, "--features", "a,b,c"],
        "need at least 2 rows, found 1",
    );
}

#[test]
fn array_problems_name_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    // Row 1 has 3 elements, the others 4.
    let ragged = ListArray::new(
        item.clone(),
        arrow::buffer::OffsetBuffer::from_lengths(vec![4, 3, 4]),
        Arc::new(Float64Array::from_iter_values((0..11).map(|v| v as f64))),
        None,
    );
    let f = dir.path().join("ragged.parquet");
    write_parquet(&f, &batch(vec![("v", Arc::new(ragged) as ArrayRef)]), 1000);
    assert_error(
        &["profile", path_str(&f), "--array", "v"],
        "column 'v': array lengths differ: row 2 has 3 elements, row 1 has 4",
    );

    let with_null_element = FixedSizeListArray::new(
        item,
        2,
        Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(2.0),
            Some(3.0),
            None,
            Some(5.0),
            Some(6.0),
        ])),
        None,
    );
    let f = dir.path().join("null_element.parquet");
    write_parquet(
        &f,
        &batch(vec![("v", Arc::new(with_null_element) as ArrayRef)]),
        1000,
    );
    assert_error(
        &["profile", path_str(&f), "--array", "v"],
        "column 'v[1]': null element at row 2",
    );

    let good = table(dir.path(), "t.parquet", smooth(10, 0.0), labels(10));
    assert_error(
        &["profile", &good, "--array", "a"],
        "column 'a': has type Float64; an array column must be a FixedSizeList or List of numbers",
    );
}

#[test]
fn option_problems_name_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let good = table(dir.path(), "good.parquet", smooth(40, 2.0), labels(40));
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--shape", "2,2"],
        "--shape: 2x2 has 4 positions but 3 features were selected",
    );
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--levels", "5"],
        "--levels: level 5 is out of range",
    );
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--levels", "one"],
        "--levels: 'one' is not a level number",
    );
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--theta", "-1"],
        "--theta: must be a positive number",
    );
    // A theta that makes the feature map degenerate on these values.
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--theta", "1e308"],
        "--theta: 1e308 puts pi·theta·x at",
    );
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--theta", "1e-12"],
        "--theta: 1e-12 is so small that cos(pi·theta·(a − b)) is 1 to machine precision",
    );
    assert_error(
        &[
            "profile",
            &good,
            "--features",
            "a,b,c",
            "--max-samples",
            "1",
        ],
        "--max-samples: must be at least 2",
    );
    assert_error(
        &["profile", &good, "--features", "a,b,c", "--shape", "3,x"],
        "is not a shape like 16,16",
    );
    assert_error(
        &["profile", &good, "--features", "a,b", "--array", "c"],
        "cannot be used with",
    );
}

#[test]
fn label_problems_name_the_label() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let null_label: ArrayRef = Arc::new(Int64Array::from(vec![Some(0), Some(1), None, Some(1)]));
    let f = table(d, "null_label.parquet", smooth(4, 0.0), null_label);
    assert_error(
        &["profile", &f, "--features", "a,b,c", "--label", "y"],
        "label column 'y': null at row 3",
    );

    let continuous: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..100).map(|v| v as f64 * 0.5),
    ));
    let f = table(d, "continuous.parquet", smooth(100, 0.0), continuous);
    assert_error(
        &["profile", &f, "--features", "a,b,c", "--label", "y"],
        "label column 'y': has type Float64; labels must be integer, boolean or string; \
         a float column is not taken as class labels: cast it to an integer or a string \
         (e.g. to Int64 in the file or frame) if its values are classes",
    );
    // Whatever its number of distinct values.
    let two_floats: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..10).map(|v| (v % 2) as f64),
    ));
    let f = table(d, "two_floats.parquet", smooth(10, 0.0), two_floats);
    assert_error(
        &["profile", &f, "--features", "a,b,c", "--label", "y"],
        "label column 'y': has type Float64",
    );
    // More than 64 classes of an integer label.
    let many: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
    let f = table(d, "many.parquet", smooth(100, 0.0), many);
    assert_error(
        &["profile", &f, "--features", "a,b,c", "--label", "y"],
        "label column 'y': more than 64 distinct values",
    );

    let f = table(d, "ok.parquet", smooth(10, 0.0), labels(10));
    assert_error(
        &["profile", &f, "--features", "a,b,c", "--label", "nope"],
        "label column 'nope': not found",
    );
    assert_error(
        &["profile", &f, "--features", "a,b,y", "--label", "y"],
        "label column 'y': is also selected as a feature",
    );

    let nested = FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        1,
        Arc::new(Float64Array::from_iter_values((0..10).map(|v| v as f64))),
        None,
    );
    let f2 = d.join("nested_label.parquet");
    write_parquet(
        &f2,
        &batch(vec![
            ("a", floats(smooth(10, 0.0))),
            ("b", floats(smooth(10, 1.0))),
            ("y", Arc::new(nested) as ArrayRef),
        ]),
        1000,
    );
    assert_error(
        &[
            "profile",
            path_str(&f2),
            "--features",
            "a,b",
            "--label",
            "y",
        ],
        "label column 'y': has type FixedSizeList",
    );

    // A single label value is a warning, not an error.
    let constant: ArrayRef = Arc::new(BooleanArray::from(vec![true; 10]));
    let f = table(d, "constant.parquet", smooth(10, 0.0), constant);
    let out = entangle(&["profile", &f, "--features", "a,b,c", "--label", "y"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: label column 'y' has a single value (true)")
    );
}

#[test]
fn file_problems_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.parquet");
    assert_error(
        &["profile", path_str(&missing)],
        "missing.parquet: No such file or directory",
    );
    let garbage = dir.path().join("garbage.parquet");
    std::fs::write(&garbage, b"this is not parquet at all").unwrap();
    assert_error(
        &["profile", path_str(&garbage)],
        "garbage.parquet: not a readable Parquet file",
    );
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    assert_error(
        &["profile", path_str(&empty_dir)],
        "directory holds no .parquet or .csv file",
    );
}

#[test]
fn every_declared_option_is_a_flag_of_the_command_that_takes_it_with_its_declared_help() {
    use entangle::options::{KEYS, OptionKeys, flag};
    // clap may wrap lines: compare words.
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (command, takes) in [
        ("profile", OptionKeys::ProfileJob),
        ("arrange", OptionKeys::ArrangeJob),
    ] {
        let help = entangle_ok(&[command, "--help"]);
        for key in KEYS.iter().filter(|k| k.takes.contains(&takes)) {
            // A switch whose default is on is spelled as its negation.
            let negated = format!("--no-{}", key.name.replace('_', "-"));
            // The whole flag: `--levels`, not the start of `--levels-x`.
            let at = |flag: &str| {
                help.match_indices(flag).find_map(|(at, _)| {
                    help[at + flag.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '-')
                        .then_some(at)
                })
            };
            let at = at(&flag(key.name))
                .or(at(&negated).filter(|_| key.default == "true"))
                .unwrap_or_else(|| {
                    panic!(
                        "entangle {command} has no flag for the option '{}'",
                        key.name
                    )
                });
            // Its help, up to the next flag, is the declared one.
            let end = help[at + 2..]
                .find("\n  -")
                .map_or(help.len(), |e| at + 2 + e);
            let doc = words(&key.doc.trim_end_matches('.').replace('`', ""));
            assert!(
                words(&help[at..end]).contains(&doc),
                "entangle {command} --help shows another text for '{}' than its \
                 declaration: {doc}\n{}",
                key.name,
                &help[at..end]
            );
        }
    }
}
