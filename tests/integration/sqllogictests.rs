//! Runs every `udfs/*.slt` file (sqllogictest) against DataFusion with the
//! entangle functions registered, one test and one fresh session per file:
//! `cargo test --features datafusion --test integration slt` runs them all,
//! `… -- feature_order_slt` one. With `ENTANGLE_SLT_COMPLETE=1` the files'
//! expected results are rewritten with what the functions return (after a
//! change of the numerics; check the diff against the commands the files cite).

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

struct Entangle {
    ctx: SessionContext,
}

impl Entangle {
    fn new() -> Self {
        // Four partitions so that aggregates run in partial and final phases.
        let config = SessionConfig::new()
            .with_target_partitions(4)
            .with_information_schema(true);
        let ctx = SessionContext::new_with_config(config).enable_url_table();
        entangle::engines::sql::register_all(&ctx);
        Entangle { ctx }
    }
}

/// One cell as sqllogictest text: floats in Rust's shortest round-trip form
/// (the same digits as `entangle profile --json`), NULL, (empty).
fn cell(array: &ArrayRef, row: usize, formatter: &ArrayFormatter) -> String {
    if array.is_null(row) {
        return "NULL".to_string();
    }
    let text = match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Float32 => array.as_primitive::<Float32Type>().value(row).to_string(),
        _ => formatter.value(row).to_string(),
    };
    if text.is_empty() {
        "(empty)".to_string()
    } else {
        text
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    if t.is_integer() {
        DefaultColumnType::Integer
    } else if t.is_floating() {
        DefaultColumnType::FloatingPoint
    } else if matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        DefaultColumnType::Text
    } else {
        DefaultColumnType::Any
    }
}

#[async_trait]
impl AsyncDB for Entangle {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let frame = self.ctx.sql(sql).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()?;
            for r in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| cell(c, r, f))
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: schema
                .fields()
                .iter()
                .map(|f| column_type(f.data_type()))
                .collect(),
            rows,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "entangle-datafusion"
    }
}

/// Runs one `udfs/NAME.slt` file in a fresh session. Paths in the files are
/// relative to the crate root, where cargo runs the tests.
fn run_slt(name: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("udfs")
        .join(format!("{name}.slt"));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut runner = Runner::new(|| async { Ok(Entangle::new()) });
    if std::env::var_os("ENTANGLE_SLT_COMPLETE").is_some() {
        let completed = runner.update_test_file(
            &file,
            " ",
            sqllogictest::default_validator,
            sqllogictest::default_normalizer,
            sqllogictest::strict_column_validator,
        );
        if let Err(e) = runtime.block_on(completed) {
            panic!("udfs/{name}.slt could not be completed: {e}");
        }
        return;
    }
    if let Err(e) = runtime.block_on(runner.run_file_async(&file)) {
        panic!("udfs/{name}.slt failed\n{}", e.display(true));
    }
}

/// One test per `.slt` file; [`every_slt_file_has_a_test`] keeps the list whole.
const SLT_FILES: [&str; 6] = [
    "entanglement",
    "entanglement_profile",
    "feature_order",
    "permute",
    "rearrange",
    "surrogate_entanglement",
];

#[test]
fn every_slt_file_has_a_test() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("udfs");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("udfs/ exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, SLT_FILES);
}

#[test]
fn entanglement_slt() {
    run_slt("entanglement");
}

#[test]
fn entanglement_profile_slt() {
    run_slt("entanglement_profile");
}

#[test]
fn feature_order_slt() {
    run_slt("feature_order");
}

#[test]
fn permute_slt() {
    run_slt("permute");
}

#[test]
fn rearrange_slt() {
    run_slt("rearrange");
}

#[test]
fn surrogate_entanglement_slt() {
    run_slt("surrogate_entanglement");
}
