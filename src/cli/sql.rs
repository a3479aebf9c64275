//! `entangle sql`: DataFusion with every entangle function registered and
//! files queryable by path (`SELECT … FROM 'data.parquet'`).

use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use clap::{Args, ValueEnum};
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::DFParser;

#[cfg(feature = "ballista")]
use entangle::engines::cluster::cluster_context;
use entangle::error::{Error, Result};

#[derive(Args)]
pub struct SqlArgs {
    /// The query (several statements separated by `;` run in turn).
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    query: Option<String>,
    /// Read the statements from this file instead.
    #[arg(long)]
    file: Option<PathBuf>,
    /// How results are printed.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Run on an Apache Ballista cluster, df://HOST:PORT (its scheduler),
    /// instead of in this process.
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

fn sql_error(e: impl std::fmt::Display) -> Error {
    Error::Data(e.to_string())
}

/// A failed statement; on a cluster, says which one, and says plainly when
/// its scheduler cannot be reached (Ballista reports the transport error).
fn query_error(e: &datafusion::error::DataFusionError, cluster: Option<&str>) -> Error {
    let message = e.strip_backtrace();
    match cluster {
        None => sql_error(message),
        Some(url) if message.contains("ConnectError") => sql_error(format!(
            "--cluster {url}: cannot connect to the scheduler (is `entangle scheduler` running \
             there?): {message}"
        )),
        Some(url) => sql_error(format!("on cluster {url}: {message}")),
    }
}

/// Runs the statements; each result is printed as it completes.
pub fn sql_command(args: SqlArgs, emit: impl Fn(&str) -> Result<()>) -> Result<()> {
    let text = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?,
        (None, None) => unreachable!("clap requires one"),
    };
    entangle::engines::sql::runtime()?.block_on(async {
        let ctx = match &args.cluster {
            Some(url) => cluster_context(url).await?,
            None => {
                // information_schema.routines lists the functions with their documentation.
                let config = SessionConfig::new().with_information_schema(true);
                let ctx = SessionContext::new_with_config(config).enable_url_table();
                entangle::engines::sql::register_all(&ctx);
                ctx
            }
        };
        let statements = DFParser::parse_sql(&text).map_err(sql_error)?;
        for statement in statements {
            let plan = ctx
                .state()
                .statement_to_plan(statement)
                .await
                .map_err(|e| query_error(&e, args.cluster.as_deref()))?;
            let frame = ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| query_error(&e, args.cluster.as_deref()))?;
            let schema = std::sync::Arc::new(frame.schema().as_arrow().clone());
            let batches = frame
                .collect()
                .await
                .map_err(|e| query_error(&e, args.cluster.as_deref()))?;
            emit(&render(schema, &batches, args.format)?)?;
        }
        Ok(())
    })
}

#[cfg(not(feature = "ballista"))]
async fn cluster_context(url: &str) -> Result<SessionContext> {
    Err(Error::Data(format!(
        "--cluster {url}: this entangle was built without the `ballista` feature \
         (build it with `cargo build --release --features ballista`)"
    )))
}

fn render(schema: SchemaRef, batches: &[RecordBatch], format: Format) -> Result<String> {
    Ok(match format {
        Format::Table => format!(
            "{}\n",
            datafusion::arrow::util::pretty::pretty_format_batches_with_schema(schema, batches)
                .map_err(sql_error)?
        ),
        Format::Json => {
            let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                writer.write(b).map_err(sql_error)?;
            }
            writer.finish().map_err(sql_error)?;
            let mut text = String::from_utf8(writer.into_inner()).map_err(sql_error)?;
            if text.is_empty() {
                text.push_str("[]");
            }
            text.push('\n');
            text
        }
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(Vec::new());
            // The header alone when there are no rows.
            let empty = [RecordBatch::new_empty(schema)];
            for b in if batches.is_empty() {
                &empty[..]
            } else {
                batches
            } {
                writer.write(b).map_err(sql_error)?;
            }
            String::from_utf8(writer.into_inner()).map_err(sql_error)?
        }
    })
}
