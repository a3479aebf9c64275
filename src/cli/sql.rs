//! `entangle sql`: DataFusion with every entangle function registered and
//! files queryable by path (`SELECT … FROM 'data.parquet'`).

use std::path::PathBuf;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use clap::{Args, ValueEnum};
use datafusion::execution::context::SessionContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
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
    /// Memory the query may hold, such as 4G or 512M (K, M, G, T: powers
    /// of 1024); past it the query ends with "Resources exhausted". Default:
    /// no limit but the machine's.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, conflicts_with = "cluster")]
    memory_limit: Option<usize>,
}

/// `4G`, `512M`, `1.5G`, `1000000`: bytes.
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let scale: u32 = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => return Err(format!("expected a size such as 4G or 512M, got '{text}'")),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok((n * (1u64 << scale) as f64) as usize),
        _ => Err(format!("expected a size such as 4G or 512M, got '{text}'")),
    }
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
                let mut runtime = RuntimeEnvBuilder::new();
                if let Some(bytes) = args.memory_limit {
                    runtime = runtime.with_memory_limit(bytes, 1.0);
                }
                let runtime = runtime.build_arc().map_err(sql_error)?;
                let ctx = SessionContext::new_with_config_rt(config, runtime).enable_url_table();
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_as_powers_of_1024() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(
            parse_size("4X"),
            Err("expected a size such as 4G or 512M, got '4X'".into())
        );
        assert!(parse_size("-1G").is_err() && parse_size("G").is_err());
    }
}
