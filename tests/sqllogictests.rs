//! Runs every `udfs/*.slt` file (sqllogictest) against DataFusion with the
//! entangle functions registered, one fresh session per file. Prints one
//! line per file and a libtest-style `test result:` line.
//!
//! `cargo test --features datafusion --test sqllogictests [-- NAME]` runs the
//! files whose name contains NAME.

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
        entangle::sql::register_all(&ctx);
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

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("udfs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("udfs/ exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| p.to_string_lossy().contains(f.as_str()))
        })
        .collect();
    files.sort();
    // Paths in the files are relative to the crate root.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("crate root");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    println!("\nrunning {} sqllogictest files", files.len());
    for file in &files {
        let name = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(file);
        let mut runner = Runner::new(|| async { Ok(Entangle::new()) });
        match runtime.block_on(runner.run_file_async(file)) {
            Ok(()) => {
                passed += 1;
                println!("test {} ... ok", name.display());
            }
            Err(e) => {
                failed += 1;
                println!("test {} ... FAILED\n{}", name.display(), e.display(true));
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out\n",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
