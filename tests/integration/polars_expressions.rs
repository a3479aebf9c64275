//! The polars expressions against the command line: the same rows and
//! options give the same entropies bit for bit (the CLI prints shortest
//! round-trip digits), surrogates to 1e-12 and the same order, whether the
//! frame is scanned lazily, held in memory in one chunk or many, grouped, or
//! run by the streaming engine; `rearrange` moves features as `entangle
//! arrange` does; bad input gives polars errors that say what is wrong.

use entangle::engines::polars::{
    EntangleOptions, FeatureLayout, entanglement, entanglement_profile, feature_order, permute,
    rearrange, surrogate_entanglement,
};
use polars::prelude::*;

use crate::common::{core_profile, entangle_ok, path_str};

const IMAGES: &str = "sample_data/images_2d.parquet";
const IMAGES_SHUFFLED: &str = "sample_data/images_2d_shuffled.parquet";
const SIGNALS: &str = "sample_data/signals_1d.parquet";
const SIGNALS_SHUFFLED: &str = "sample_data/signals_1d_shuffled.parquet";
const SENSORS: &str = "sample_data/sensors_multiclass.parquet";

fn scan(path: &str) -> LazyFrame {
    LazyFrame::scan_parquet(PlRefPath::new(path), Default::default()).unwrap()
}

fn options(text: &str) -> EntangleOptions {
    text.parse().unwrap()
}

/// The order `entangle arrange IN -o OUT ARGS --json` prints.
fn cli_order(input: &str, output: &std::path::Path, args: &[&str]) -> Vec<usize> {
    let mut all = vec!["arrange", input, "-o", path_str(output), "--json"];
    all.extend_from_slice(args);
    let json: serde_json::Value = serde_json::from_str(&entangle_ok(&all)).unwrap();
    json["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

fn f64_at(frame: &DataFrame, column: &str, row: usize) -> f64 {
    frame
        .column(column)
        .unwrap()
        .f64()
        .unwrap()
        .get(row)
        .unwrap()
}

/// The wide signal columns x00..x63 as one expression of each kind.
fn signal_columns() -> Vec<Expr> {
    (0..64).map(|i| col(format!("x{i:02}"))).collect()
}

/// `frame` in memory as `pieces` chunks (no rechunk), to check that a
/// reduction sees every chunk.
fn chunked(frame: LazyFrame, pieces: usize) -> DataFrame {
    let df = frame.collect().unwrap();
    let step = df.height().div_ceil(pieces);
    let mut out = df.slice(0, step);
    for k in 1..pieces {
        out.vstack_mut(&df.slice((k * step) as i64, step)).unwrap();
    }
    assert_eq!(out.height(), df.height());
    assert!(out.first_col_n_chunks() >= pieces.min(df.height()));
    out
}

#[test]
fn entropies_equal_the_command_line_bit_for_bit() {
    let cli = core_profile(
        IMAGES,
        entangle::io::read::FeatureSelection::Array("pixels".into()),
        Some("bright_blob"),
        Some(vec![16, 16]),
    );
    let o = options("shape=16x16");
    let exprs = [
        entanglement(col("pixels"), Some(col("bright_blob")), &o)
            .unwrap()
            .alias("e"),
        entanglement_profile(col("pixels"), Some(col("bright_blob")), &o)
            .unwrap()
            .alias("p"),
    ];
    let want: Vec<f64> = cli
        .levels
        .iter()
        .flat_map(|l| l.partitions.iter().map(|p| p.entropy))
        .collect();
    let lazy = scan(IMAGES).select(exprs.clone()).collect().unwrap();
    let in_memory = chunked(scan(IMAGES), 7)
        .lazy()
        .select(exprs.clone())
        .collect()
        .unwrap();
    let streaming = scan(IMAGES)
        .select(exprs)
        .collect_with_engine(Engine::Streaming)
        .unwrap()
        .unwrap_single();
    for (how, frame) in [
        ("lazy", lazy),
        ("7 chunks", in_memory),
        ("streaming", streaming),
    ] {
        assert_eq!(frame.height(), 1, "{how}: one row for the frame");
        let e = f64_at(&frame, "e", 0);
        assert_eq!(e.to_bits(), cli.mean_entropy.to_bits(), "{how}");
        let parts = frame
            .column("p")
            .unwrap()
            .list()
            .unwrap()
            .get_as_series(0)
            .unwrap();
        let parts = parts.struct_().unwrap().clone().unnest();
        assert_eq!(
            parts.column("level").unwrap().i32().unwrap().get(0),
            Some(1)
        );
        let entropy = parts.column("entropy").unwrap().f64().unwrap();
        assert_eq!(entropy.len(), want.len(), "{how}");
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                entropy.get(i).unwrap().to_bits(),
                w.to_bits(),
                "{how}: partition {i}"
            );
        }
    }
}

#[test]
fn wide_columns_as_concat_arr_or_struct_equal_the_command_line() {
    let cli = core_profile(
        SIGNALS,
        entangle::io::read::FeatureSelection::Prefix("x".into()),
        Some("spike"),
        None,
    );
    let want = cli.mean_entropy;
    let want_surrogate = cli.surrogate.mean;
    let o = EntangleOptions::default();
    let frame = chunked(scan(SIGNALS), 3)
        .lazy()
        .select([
            entanglement(
                concat_arr(signal_columns()).unwrap(),
                Some(col("spike")),
                &o,
            )
            .unwrap()
            .alias("concat"),
            entanglement(as_struct(signal_columns()), Some(col("spike")), &o)
                .unwrap()
                .alias("struct"),
            surrogate_entanglement(as_struct(signal_columns()), &o)
                .unwrap()
                .alias("s"),
        ])
        .collect()
        .unwrap();
    assert_eq!(f64_at(&frame, "concat", 0).to_bits(), want.to_bits());
    assert_eq!(f64_at(&frame, "struct", 0).to_bits(), want.to_bits());
    let s = f64_at(&frame, "s", 0);
    assert!(
        (s - want_surrogate).abs() <= 1e-12 * want_surrogate,
        "{s} vs {want_surrogate}"
    );
}

#[test]
fn one_value_per_group_equals_the_filtered_frame() {
    let features = || as_struct(signal_columns());
    let o = options("levels=1..3, max_samples=300");
    let s = options("levels=1..3");
    let agg = |frame: LazyFrame| {
        frame
            .group_by([col("split")])
            .agg([
                entanglement(features(), None, &o).unwrap().alias("e"),
                surrogate_entanglement(features(), &s).unwrap().alias("s"),
            ])
            .sort(["split"], Default::default())
    };
    let lazy = agg(scan(SIGNALS)).collect().unwrap();
    let in_memory = agg(chunked(scan(SIGNALS), 5).lazy()).collect().unwrap();
    let streaming = agg(scan(SIGNALS))
        .collect_with_engine(Engine::Streaming)
        .unwrap()
        .unwrap_single();
    let groups: Vec<String> = lazy
        .column("split")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    assert!(
        groups.len() >= 2,
        "the sample has several splits: {groups:?}"
    );
    for (g, split) in groups.iter().enumerate() {
        let alone = scan(SIGNALS)
            .filter(col("split").eq(lit(split.as_str())))
            .select([
                entanglement(features(), None, &o).unwrap().alias("e"),
                surrogate_entanglement(features(), &s).unwrap().alias("s"),
            ])
            .collect()
            .unwrap();
        for (how, frame) in [
            ("lazy", &lazy),
            ("5 chunks", &in_memory),
            ("streaming", &streaming),
        ] {
            assert_eq!(
                f64_at(frame, "e", g).to_bits(),
                f64_at(&alone, "e", 0).to_bits(),
                "{how}: entanglement of group {split}"
            );
            // Co-moments merged in another chunking agree to rounding.
            let (a, b) = (f64_at(frame, "s", g), f64_at(&alone, "s", 0));
            assert!(
                (a - b).abs() <= 1e-12 * b,
                "{how}: surrogate of group {split}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn one_vs_rest_labels_equal_the_command_line() {
    let cli = core_profile(
        SENSORS,
        entangle::io::read::FeatureSelection::Prefix("s".into()),
        Some("regime"),
        None,
    );
    let features: Vec<Expr> = scan(SENSORS)
        .collect_schema()
        .unwrap()
        .iter_names()
        .filter(|n| n.starts_with('s'))
        .map(|n| col(n.clone()))
        .collect();
    let frame = scan(SENSORS)
        .select([entanglement(
            as_struct(features),
            Some(col("regime")),
            &Default::default(),
        )
        .unwrap()
        .alias("e")])
        .collect()
        .unwrap();
    assert_eq!(f64_at(&frame, "e", 0).to_bits(), cli.mean_entropy.to_bits());
}

#[test]
fn rearranged_frames_equal_entangle_arrange() {
    let dir = tempfile::tempdir().unwrap();
    // Wide layout: the order and the columns' new places.
    let want = cli_order(
        SIGNALS_SHUFFLED,
        &dir.path().join("wide.parquet"),
        &["--features-prefix", "x"],
    );
    let input = scan(SIGNALS_SHUFFLED).collect().unwrap();
    let (frame, order) = rearrange(
        input.clone().lazy(),
        &FeatureLayout::Prefix("x".into()),
        &EntangleOptions::default(),
    )
    .unwrap();
    assert_eq!(order, want);
    let out = frame.collect().unwrap();
    let cli_out = scan(path_str(&dir.path().join("wide.parquet")))
        .collect()
        .unwrap();
    let names = |df: &DataFrame| -> Vec<String> {
        df.get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    };
    assert_eq!(names(&out), names(&cli_out), "columns in the CLI's places");
    assert_eq!(out.height(), input.height());
    for name in names(&input) {
        assert!(
            out.column(&name)
                .unwrap()
                .equals(input.column(&name).unwrap()),
            "column {name} keeps its values"
        );
    }
    // Array layout: each row's elements permuted.
    let want = cli_order(
        IMAGES_SHUFFLED,
        &dir.path().join("array.parquet"),
        &["--array", "pixels", "--shape", "16,16"],
    );
    let (frame, order) = rearrange(
        scan(IMAGES_SHUFFLED),
        &FeatureLayout::Array("pixels".into()),
        &options("shape=16x16"),
    )
    .unwrap();
    assert_eq!(order, want);
    let out = frame.collect().unwrap();
    let cli_out = scan(path_str(&dir.path().join("array.parquet")))
        .collect()
        .unwrap();
    assert!(
        out.equals(&cli_out),
        "the same rows and values as entangle arrange's file"
    );
    let input = scan(IMAGES_SHUFFLED).collect().unwrap();
    let row = |df: &DataFrame, r: usize| -> Vec<f32> {
        let s = df
            .column("pixels")
            .unwrap()
            .array()
            .unwrap()
            .get_as_series(r)
            .unwrap();
        s.f32().unwrap().into_no_null_iter().collect()
    };
    for r in [0, 1, 999] {
        let (before, after) = (row(&input, r), row(&out, r));
        for g in 0..256 {
            assert_eq!(
                after[g].to_bits(),
                before[order[g]].to_bits(),
                "row {r}, position {g}"
            );
        }
    }
    // And back: the inverse order restores the input.
    let mut inverse = vec![0; order.len()];
    for (g, &k) in order.iter().enumerate() {
        inverse[k] = g;
    }
    let restored = out
        .lazy()
        .with_column(permute(col("pixels"), &inverse))
        .collect()
        .unwrap();
    assert!(restored.equals(&input));
}

/// The `feature_order` expression's value over the frame's `pixels`.
fn pixels_order(frame: DataFrame, options: &EntangleOptions) -> Vec<usize> {
    let frame = frame
        .lazy()
        .select([feature_order(col("pixels"), options).unwrap().alias("o")])
        .collect()
        .unwrap();
    frame
        .column("o")
        .unwrap()
        .list()
        .unwrap()
        .get_as_series(0)
        .unwrap()
        .i32()
        .unwrap()
        .into_no_null_iter()
        .map(|i| i as usize)
        .collect()
}

#[test]
fn feature_order_expression_equals_the_helper() {
    let o = options("shape=16x16");
    let order = pixels_order(chunked(scan(IMAGES_SHUFFLED), 4), &o);
    let (_, helper) = rearrange(
        scan(IMAGES_SHUFFLED),
        &FeatureLayout::Array("pixels".into()),
        &o,
    )
    .unwrap();
    assert_eq!(order, helper);
}

#[test]
fn sparse_weights_give_the_command_lines_order_however_the_frame_is_chunked() {
    let out = tempfile::tempdir().unwrap();
    let want = cli_order(
        IMAGES_SHUFFLED,
        &out.path().join("a.parquet"),
        &[
            "--array",
            "pixels",
            "--shape",
            "16,16",
            "--weights",
            "sparse",
            "--neighbours",
            "6",
        ],
    );
    let o = options("shape=16x16, weights=sparse, neighbours=6");
    for pieces in [1, 4] {
        let order = pixels_order(chunked(scan(IMAGES_SHUFFLED), pieces), &o);
        assert_eq!(order, want, "{pieces} chunks");
    }
    // 50,000 features' dense weights are refused before they are allocated.
    let wide = list_frame(&[vec![Some(0.5); 50_000], vec![Some(1.5); 50_000]]);
    let e = error_of(&wide, feature_order(col("x"), &options("weights=dense")));
    assert!(
        e.contains("feature_order: 50000 features with dense weights need"),
        "{e}"
    );
    assert!(
        e.contains("weights=sparse keeps each feature's strongest"),
        "{e}"
    );
}

fn error_of(frame: &DataFrame, expr: PolarsResult<Expr>) -> String {
    let err = expr
        .and_then(|e| frame.clone().lazy().select([e]).collect())
        .expect_err("should fail");
    err.to_string()
}

/// A frame with a list column `x` of the given rows and a label `y`.
fn list_frame(rows: &[Vec<Option<f64>>]) -> DataFrame {
    let list: Vec<Series> = rows.iter().map(|r| Series::new("".into(), r)).collect();
    let labels: Vec<i32> = (0..rows.len() as i32).map(|r| r % 2).collect();
    DataFrame::new_infer_height(vec![
        Series::new("x".into(), list).into_column(),
        Series::new("y".into(), labels).into_column(),
    ])
    .unwrap()
}

#[test]
fn bad_input_gives_polars_errors_that_say_what_is_wrong() {
    let o = EntangleOptions::default();
    let good = |v: f64| vec![Some(v), Some(v * 2.0), Some(1.0 - v)];
    let with_null = list_frame(&[good(0.1), good(0.2), vec![Some(1.0), None, Some(2.0)]]);
    let e = error_of(&with_null, entanglement(col("x"), None, &o));
    assert!(
        e.contains("entanglement: column 'x[1]': null element at row 3"),
        "{e}"
    );
    let with_nan = list_frame(&[
        good(0.1),
        vec![Some(f64::NAN), Some(1.0), Some(2.0)],
        good(0.3),
    ]);
    let e = error_of(&with_nan, surrogate_entanglement(col("x"), &o));
    assert!(
        e.contains("surrogate_entanglement: column 'x[0]': NaN at row 2"),
        "{e}"
    );
    let ragged = list_frame(&[good(0.1), good(0.2), vec![Some(1.0), Some(2.0)]]);
    let e = error_of(&ragged, feature_order(col("x"), &o));
    assert!(
        e.contains("feature_order: column 'x': array lengths differ"),
        "{e}"
    );
    let text = df!("x" => ["a", "b"], "y" => [1, 2]).unwrap();
    let e = error_of(&text, entanglement(col("x"), Some(col("y")), &o));
    assert!(
        e.contains("entanglement: column 'x' has type str; features must be an Array or List column of numbers"),
        "{e}"
    );
    let e = error_of(
        &list_frame(&[good(0.1), good(0.2)]),
        entanglement(col("x"), Some(col("x")), &o),
    );
    assert!(e.contains("label column 'x' has type list[f64]"), "{e}");
    let e = error_of(
        &list_frame(&[good(0.1), good(0.2)]),
        entanglement(col("x"), Some(lit(1)), &o),
    );
    assert!(e.contains("has 1 rows where the features have 2"), "{e}");
    let e = error_of(&list_frame(&[good(0.1)]), entanglement(col("x"), None, &o));
    assert!(e.contains("entanglement: "), "{e}");
    let e = surrogate_entanglement(col("x"), &options("theta=0.1"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("surrogate_entanglement: options: unknown key 'theta' (known: shape, levels, seed, skip_null_rows, placement, shrink, weights, neighbours)"),
        "{e}"
    );
    let e = error_of(
        &list_frame(&[good(0.1), good(0.2)]),
        Ok(permute(col("x"), &[0, 1])),
    );
    assert!(
        e.contains("permute: order: has 2 entries but 3 features were selected"),
        "{e}"
    );
}
