//! `rearrange(source [, options])`: a table function returning a registered
//! table, or a Parquet/CSV file or directory, with its features rearranged.
//!
//! The order is computed when the query is planned (one aggregate pass with
//! `feature_order`), because in the wide layout it decides the output schema:
//! feature columns trade places, names and values together; an array column
//! keeps its place and each row's elements are permuted. Other columns are
//! untouched and rows keep their order.

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, Int32Array};
use arrow::datatypes::Int32Type;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::execution::context::{SessionContext, SessionState};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::functions::core::expr_fn::named_struct;
use datafusion::logical_expr::{Documentation, Expr, col, lit};
use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions};

use super::DOC_SECTION;
use super::feature_order::feature_order_udaf;
use super::permute::permute_udf;
use crate::engines::options::{FunctionOptions, OptionKeys};
use crate::engines::reduce::single_list;
use crate::io::read::{FeatureSelection, ResolvedFeatures, resolve_features};

const NAME: &str = "rearrange";

/// The `rearrange` table function.
#[derive(Debug, Default)]
pub struct Rearrange;

fn plan_error(problem: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Plan(format!("{NAME}: {problem}"))
}

/// A string literal argument.
fn string_argument(expr: &Expr, position: usize, what: &str) -> Result<String> {
    match expr {
        Expr::Literal(value, _) => match value.try_as_str() {
            Some(Some(text)) => Ok(text.to_string()),
            _ => Err(plan_error(format!(
                "argument {position} ({what}) must be a string, got {value}"
            ))),
        },
        other => Err(plan_error(format!(
            "argument {position} ({what}) must be a string literal, got {other}"
        ))),
    }
}

impl TableFunctionImpl for Rearrange {
    fn call(&self, _exprs: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        Err(plan_error("needs the session; call it through SQL"))
    }

    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return Err(plan_error(format!(
                "expected 1 or 2 arguments (rearrange(source [, options])), got {}",
                exprs.len()
            )));
        }
        let source = string_argument(&exprs[0], 1, "source")?;
        let options = match exprs.get(1) {
            Some(e) => {
                FunctionOptions::parse(&string_argument(e, 2, "options")?, NAME, OptionKeys::Table)
                    .map_err(|e| DataFusionError::Plan(e.to_string()))?
            }
            None => FunctionOptions::default(),
        };
        let foreign = args
            .session()
            .as_any()
            .downcast_ref::<SessionState>()
            .is_none();
        let state = session_state(args.session())?;
        let registered = SessionContext::new_with_state(state.clone())
            .table_exist(source.as_str())
            .unwrap_or(false);
        if foreign && registered {
            // A table of another library's session (datafusion-python
            // through the FFI) streams on that library's runtime, which this
            // library cannot enter to compute the order while planning.
            return Err(plan_error(format!(
                "'{source}' is a table of the calling session; through the DataFusion FFI \
                 (datafusion-python) give a file or directory path, or use feature_order and \
                 permute on the table"
            )));
        }
        // Planning is synchronous here; the order needs a query. Run it on
        // its own runtime so this works inside any caller's runtime.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    super::runtime()
                        .map_err(plan_error)?
                        .block_on(rearranged_view(state, &source, &options))
                })
                .join()
                .map_err(|_| plan_error("the order computation panicked"))?
        })
    }
}

/// A session state over `session`'s catalogs: the session itself, or, for a
/// session of another library (datafusion-python through the DataFusion
/// FFI), a state that shares its catalogs, configuration and runtime.
fn session_state(session: &dyn Session) -> Result<SessionState> {
    if let Some(state) = session.as_any().downcast_ref::<SessionState>() {
        return Ok(state.clone());
    }
    // No default catalog: it would replace the caller's in its catalog list.
    let config = session
        .config()
        .clone()
        .with_create_default_catalog_and_schema(false);
    Ok(SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(session.runtime_env().clone())
        .with_catalog_list(session.catalog_list())
        .with_default_features()
        .build())
}

/// The source as a DataFrame: a registered table, else a file or directory.
async fn source_frame(ctx: &SessionContext, source: &str) -> Result<DataFrame> {
    if ctx.table_exist(source).unwrap_or(false) {
        return ctx.table(source).await;
    }
    let path = std::path::Path::new(source);
    if !path.exists() {
        return Err(plan_error(format!(
            "argument 1 (source): '{source}' is neither a registered table nor an existing file"
        )));
    }
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        ctx.read_csv(source, CsvReadOptions::new()).await
    } else {
        ctx.read_parquet(source, ParquetReadOptions::default())
            .await
    }
}

async fn rearranged_view(
    state: SessionState,
    source: &str,
    options: &FunctionOptions,
) -> Result<Arc<dyn TableProvider>> {
    let ctx = SessionContext::new_with_state(state);
    let frame = source_frame(&ctx, source).await?;
    let schema = frame.schema().as_arrow().clone();
    let selection = options
        .selection
        .clone()
        .unwrap_or(FeatureSelection::Prefix(String::new()));
    let features =
        resolve_features(&schema, &selection, options.label.as_deref()).map_err(plan_error)?;
    let features_expr = match &features {
        ResolvedFeatures::Array(_, name) => col(quoted(name)),
        // A struct shares the columns' buffers (make_array would copy them)
        // and keeps their names for errors.
        ResolvedFeatures::Wide(cols) => named_struct(
            cols.iter()
                .flat_map(|(_, name)| [lit(name.as_str()), col(quoted(name))])
                .collect(),
        ),
    };
    let order_options = order_options(options);
    let batches = frame
        .clone()
        .aggregate(
            vec![],
            vec![
                feature_order_udaf()
                    .call(vec![features_expr, lit(order_options)])
                    .alias("order"),
            ],
        )?
        .collect()
        .await?;
    let order = batches
        .first()
        .filter(|b| b.num_rows() == 1 && b.column(0).is_valid(0))
        .map(|b| b.column(0).as_list::<i32>().value(0))
        .ok_or_else(|| plan_error(format!("'{source}' has no rows to arrange")))?;
    let order: Vec<usize> = order
        .as_primitive::<Int32Type>()
        .values()
        .iter()
        .map(|&i| i as usize)
        .collect();

    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut select: Vec<Expr> = names.iter().map(|n| col(quoted(n))).collect();
    match &features {
        ResolvedFeatures::Array(i, name) => {
            let order = Int32Array::from_iter_values(order.iter().map(|&g| g as i32));
            let order = ScalarValue::List(Arc::new(single_list(Arc::new(order))));
            select[*i] = permute_udf()
                .call(vec![col(quoted(name)), lit(order)])
                .alias(name);
        }
        ResolvedFeatures::Wide(cols) => {
            // Slot g (the g-th feature column's place) takes feature order[g].
            for (g, &(slot, _)) in cols.iter().enumerate() {
                select[slot] = col(quoted(&cols[order[g]].1));
            }
        }
    }
    Ok(frame.select(select)?.into_view())
}

/// A column name as an identifier that keeps its case and punctuation.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The options `feature_order` takes, from the table function's.
fn order_options(options: &FunctionOptions) -> String {
    let p = &options.profile;
    let mut parts = vec![format!("seed={}", p.seed)];
    if let Some(shape) = &p.shape {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        parts.push(format!("shape={}", dims.join("x")));
    }
    if let Some(levels) = &p.levels {
        let (lo, hi) = (levels[0], levels[levels.len() - 1]);
        if levels.len() == hi - lo + 1 {
            parts.push(format!("levels={lo}..{hi}"));
        }
    }
    if options.skip_null_rows {
        parts.push("skip_null_rows=true".to_string());
    }
    parts.join(", ")
}

/// The documentation of `rearrange`, for `SHOW FUNCTIONS`-style listings.
pub fn documentation() -> &'static Documentation {
    static DOC: LazyLock<Documentation> = LazyLock::new(|| {
        Documentation::builder(
            DOC_SECTION,
            "A registered table, or a Parquet/CSV file or directory, with its features \
             rearranged by feature_order: in the wide layout the feature columns trade places \
             (names and values together), in the array layout each row's elements are \
             permuted; other columns and the row order are untouched. The order is computed \
             while the query is planned.",
            "SELECT * FROM rearrange(source [, options])",
        )
        .with_sql_example(
            "```sql\n> SELECT * FROM rearrange('sample_data/images_2d_shuffled.parquet', \
             'array=pixels, shape=16x16, label=bright_blob');\n```",
        )
        .with_argument(
            "source",
            "A registered table's name, or a file or directory path.",
        )
        .with_argument(
            "options",
            "Optional string: array=COL or features_prefix=P (default: every numeric column \
             but the label), label=COL (kept out of the features), shape, levels, seed, \
             skip_null_rows.",
        )
        .build()
    });
    &DOC
}
