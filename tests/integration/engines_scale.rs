//! The engines past 4096 features: sparse weights chosen as the command line
//! chooses them (the same order and surrogate bits, however the rows are
//! split), and memory refused with an error instead of an abort.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{AsArray, FixedSizeListArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::common::{batch, entangle_err, entangle_ok, path_str, query, write_parquet};

/// More features than `weights=auto` keeps dense.
const WIDE: usize = 5000;

/// `rows` rows of a smooth 1D signal over `features` features, scrambled,
/// as one FixedSizeList column `v`.
fn wide_table(rows: std::ops::Range<usize>, features: usize) -> RecordBatch {
    let scramble = |j: usize| (j * 1237 + 11) % features;
    let values: Vec<f64> = rows
        .flat_map(|r| {
            (0..features).map(move |j| {
                let t = scramble(j) as f64 / features as f64;
                let (a, b) = (((r * 7919) % 101) as f64, ((r * 104729) % 97) as f64);
                (40.0 * t + a).sin() + 0.5 * (9.0 * t + b).cos() + 0.01 * ((r + j) % 7) as f64
            })
        })
        .collect();
    let item = Arc::new(Field::new("item", DataType::Float64, false));
    let list = FixedSizeListArray::new(
        item,
        features as i32,
        Arc::new(Float64Array::from(values)),
        None,
    );
    batch(vec![("v", Arc::new(list))])
}

/// The command line's order and surrogate mean (`entangle arrange --json`,
/// the surrogate from the core as the command line computes it: printed
/// JSON may be an ulp off).
fn command_line(file: &Path, out: &Path) -> (Vec<i32>, f64) {
    let arranged: serde_json::Value = serde_json::from_str(&entangle_ok(&[
        "arrange",
        path_str(file),
        "--array",
        "v",
        "-o",
        path_str(out),
        "--json",
    ]))
    .unwrap();
    let order = arranged["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    let selection = entangle::jobs::Selection {
        features: entangle::io::read::FeatureSelection::Array("v".into()),
        label: None,
        skip_null_rows: false,
    };
    let measure = entangle::jobs::Measure {
        options: Default::default(),
        weighting: Default::default(),
        neighbours: entangle::arrange::neighbours::DEFAULT_NEIGHBOURS,
    };
    let analysis = entangle::jobs::analyse(
        &[file.to_path_buf()],
        &selection,
        &measure,
        &entangle::jobs::Quiet,
    )
    .unwrap();
    let tree = entangle::math::tree::CanonicalTree::new(
        entangle::math::tree::Grid::for_features(analysis.features(), None).unwrap(),
    );
    let levels = measure.options.levels_for(&tree).unwrap();
    let partitions = tree.canonical_partitions(&levels);
    let surrogate = entangle::math::profile::surrogate_profile(
        analysis.surrogate(None).as_ref(),
        &tree,
        &partitions,
        &levels,
    );
    (order, surrogate.mean)
}

#[test]
fn wide_aggregates_take_sparse_weights_and_give_the_command_lines_bits() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.parquet");
    write_parquet(&whole, &wide_table(0..200, WIDE), 64);
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for (name, rows) in [("a", 0..71), ("b", 71..130), ("c", 130..200)] {
        write_parquet(
            &parts.join(format!("{name}.parquet")),
            &wide_table(rows, WIDE),
            25,
        );
    }
    let (cli_order, cli_surrogate) = command_line(&whole, &dir.path().join("arranged.parquet"));
    let sql = "SELECT surrogate_entanglement(v) AS s, feature_order(v) AS o,
                      surrogate_entanglement(v, 'weights=sparse, neighbours=16') AS s2
               FROM images";
    for partitions in [1, 3] {
        let b = &query(partitions, &parts, sql)[0];
        let s = b.column(0).as_primitive::<Float64Type>().value(0);
        assert_eq!(
            s.to_bits(),
            cli_surrogate.to_bits(),
            "{partitions} partitions"
        );
        assert_eq!(
            b.column(2),
            b.column(0),
            "auto is sparse above 4096 features"
        );
        let order = b.column(1).as_list::<i32>().value(0);
        assert_eq!(
            order.as_primitive::<Int32Type>().values().to_vec(),
            cli_order,
            "{partitions} partitions"
        );
    }
}

/// `sql` over the Parquet files in `dir` (table `images`) in a session that
/// may hold `limit` bytes; the error's text when it fails.
fn query_limited(limit: usize, dir: &Path, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let env = RuntimeEnvBuilder::new()
            .with_memory_limit(limit, 1.0)
            .build_arc()
            .unwrap();
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), env);
        entangle::engines::sql::register_all(&ctx);
        ctx.register_parquet("images", path_str(dir), Default::default())
            .await
            .unwrap();
        let frame = ctx.sql(sql).await.map_err(|e| e.strip_backtrace())?;
        frame.collect().await.map_err(|e| e.strip_backtrace())
    })
}

#[test]
fn a_memory_limited_session_ends_the_query_with_resources_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("t.parquet"), &wide_table(0..50, 600), 50);
    // 600 features' exact co-moments and their workspace are 62 MiB; the
    // session may hold 16.
    let e = query_limited(
        16 << 20,
        dir.path(),
        "SELECT surrogate_entanglement(v, 'weights=dense') FROM images",
    )
    .unwrap_err();
    assert!(e.starts_with("Resources exhausted: "), "{e}");
    assert!(
        e.contains(
            "surrogate_entanglement: 600 features with dense weights need 62.1 MiB (exact \
             co-moments, 256 bytes per pair of features), and the session's memory pool \
             refused it: Failed to allocate additional 62.1 MB for surrogate_entanglement"
        ),
        "{e}"
    );
    assert!(
        e.contains("weights=sparse keeps each feature's strongest"),
        "{e}"
    );
    // Sparse weights of the same rows fit.
    let b = &query_limited(
        16 << 20,
        dir.path(),
        "SELECT surrogate_entanglement(v, 'weights=sparse') FROM images",
    )
    .unwrap()[0];
    assert!(b.column(0).as_primitive::<Float64Type>().value(0) > 0.0);
    // The command line's limit, the same way.
    let query = format!(
        "SELECT feature_order(v, 'weights=dense') FROM '{}'",
        path_str(&dir.path().join("t.parquet"))
    );
    let e = entangle_err(&["sql", "--memory-limit", "16M", &query]);
    assert!(
        e.contains("Resources exhausted: feature_order: 600 features"),
        "{e}"
    );
    let e = entangle_err(&["sql", "--memory-limit", "lots", &query]);
    assert!(
        e.contains("expected a size such as 4G or 512M, got 'lots'"),
        "{e}"
    );
}

#[test]
fn weights_that_no_machine_holds_are_refused_before_they_are_allocated() {
    let dir = tempfile::tempdir().unwrap();
    // 50,000 features' exact co-moments would be 298 GiB: refused before
    // anything is allocated, at the first of 2 rows.
    write_parquet(&dir.path().join("t.parquet"), &wide_table(0..2, 50_000), 2);
    for function in ["surrogate_entanglement", "feature_order"] {
        let sql = format!("SELECT {function}(v, 'weights=dense') FROM images");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let error = runtime.block_on(async {
            let ctx = SessionContext::new();
            entangle::engines::sql::register_all(&ctx);
            ctx.register_parquet("images", path_str(dir.path()), Default::default())
                .await
                .unwrap();
            ctx.sql(&sql)
                .await
                .unwrap()
                .collect()
                .await
                .unwrap_err()
                .strip_backtrace()
        });
        assert!(
            error.starts_with(&format!(
                "Resources exhausted: {function}: 50000 features with dense weights need"
            )),
            "{error}"
        );
        assert!(
            error.contains("three quarters of this machine's memory"),
            "{error}"
        );
    }
}
