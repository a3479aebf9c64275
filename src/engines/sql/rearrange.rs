//! `rearrange(source [, options])`: a table function returning a registered
//! table, or a Parquet/CSV file or directory, with its features rearranged.
//!
//! The order is computed when the query is planned (one aggregate pass with
//! `feature_order`), because in the wide layout it decides the output schema:
//! feature columns trade places, names and values together; an array column
//! keeps its place and each row's elements are permuted. Other columns are
//! untouched and rows keep their order.

use crate::arrange::Choice;
use std::sync::{Arc, LazyLock};

use arrow::array::Int32Array;
use arrow::datatypes::Schema;
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::{Documentation, Expr, col, lit};
use datafusion_functions::core::expr_fn::named_struct;

use super::DOC_SECTION;
use super::feature_order::feature_order_udaf;
use super::permute::permute_udf;
use crate::arrange::shrink::Shrink;
use crate::engines::reduce::single_list;
use crate::io::read::{FeatureSelection, ResolvedFeatures, resolve_features};
use crate::options::{FunctionOptions, OptionKeys};

const NAME: &str = "rearrange";

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

/// The table function's arguments: the source and its options.
pub fn arguments(exprs: &[Expr]) -> Result<(String, FunctionOptions)> {
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
    Ok((source, options))
}

/// What a source names: a table of the session, or a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Table,
    Csv,
    Parquet,
}

impl SourceKind {
    /// `registered`: whether the session has a table of that name (it wins
    /// over a file of the same name).
    pub fn of(source: &str, registered: bool) -> Result<Self> {
        if registered {
            return Ok(Self::Table);
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
        Ok(if is_csv { Self::Csv } else { Self::Parquet })
    }
}

/// The two queries that rearrange a source with a given schema: the order
/// (one `feature_order` aggregate over every row), then the projection that
/// applies it. Shared by the table function here and by datafusion-python's
/// `rearrange` (which runs them on its own session).
#[derive(Debug)]
pub struct RearrangePlan {
    source: String,
    columns: Vec<String>,
    features: ResolvedFeatures,
    order_options: String,
}

impl RearrangePlan {
    pub fn new(source: &str, schema: &Schema, options: &FunctionOptions) -> Result<Self> {
        let selection = options
            .selection
            .clone()
            .unwrap_or(FeatureSelection::Prefix(String::new()));
        let features =
            resolve_features(schema, &selection, options.label.as_deref()).map_err(plan_error)?;
        Ok(Self {
            source: source.to_string(),
            columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
            features,
            order_options: order_options(options),
        })
    }

    /// The aggregate expression whose one value is the order.
    pub fn order_expr(&self) -> Expr {
        let features = match &self.features {
            ResolvedFeatures::Array(_, name) => col(quoted(name)),
            // A struct shares the columns' buffers (make_array would copy
            // them) and keeps their names for errors.
            ResolvedFeatures::Wide(cols) => named_struct(
                cols.iter()
                    .flat_map(|(_, name)| [lit(name.as_str()), col(quoted(name))])
                    .collect(),
            ),
        };
        feature_order_udaf()
            .call(vec![features, lit(self.order_options.as_str())])
            .alias("order")
    }

    /// The projection applying `order` (the value of [`Self::order_expr`];
    /// `None` when the source had no rows): every column in its place, the
    /// features rearranged.
    pub fn select(&self, order: Option<&[usize]>) -> Result<Vec<Expr>> {
        let source = &self.source;
        let order =
            order.ok_or_else(|| plan_error(format!("'{source}' has no rows to arrange")))?;
        let mut select: Vec<Expr> = self.columns.iter().map(|n| col(quoted(n))).collect();
        match &self.features {
            ResolvedFeatures::Array(i, name) => {
                let order = Int32Array::from_iter_values(order.iter().map(|&g| g as i32));
                let order = ScalarValue::List(Arc::new(single_list(Arc::new(order))));
                select[*i] = permute_udf()
                    .call(vec![col(quoted(name)), lit(order)])
                    .alias(name);
            }
            ResolvedFeatures::Wide(cols) => {
                if order.len() != cols.len() || order.iter().any(|&g| g >= cols.len()) {
                    return Err(plan_error(format!(
                        "an order of {} features for {} feature columns",
                        order.len(),
                        cols.len()
                    )));
                }
                // Slot g (the g-th feature column's place) takes feature order[g].
                for (g, &(slot, _)) in cols.iter().enumerate() {
                    select[slot] = col(quoted(&cols[order[g]].1));
                }
            }
        }
        Ok(select)
    }
}

/// A column name as an identifier that keeps its case and punctuation.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The table function on a DataFusion session: the plan's two queries run on
/// the calling session while the query is planned.
#[cfg(feature = "datafusion")]
mod table {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;
    use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
    use datafusion::execution::context::{SessionContext, SessionState};
    use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions};
    use datafusion_common::Result;
    use datafusion_expr::Expr;

    use super::{RearrangePlan, SourceKind, arguments, plan_error};
    use crate::options::FunctionOptions;

    /// The `rearrange` table function.
    #[derive(Debug, Default)]
    pub struct Rearrange;

    impl TableFunctionImpl for Rearrange {
        fn call(&self, _exprs: &[Expr]) -> Result<Arc<dyn TableProvider>> {
            Err(plan_error("needs the session; call it through SQL"))
        }

        fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
            let (source, options) = arguments(args.exprs())?;
            let Some(state) = args.session().as_any().downcast_ref::<SessionState>() else {
                // datafusion-python registers its own `rearrange` (entangle's
                // Python package), which runs the plan on its session.
                return Err(plan_error(
                    "called from another library's session; register entangle's functions with \
                     its own binding (entangle.datafusion.register for datafusion-python)",
                ));
            };
            let state = state.clone();
            // Planning is synchronous here; the order needs a query. Run it on
            // its own runtime so this works inside any caller's runtime.
            std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        crate::engines::sql::runtime()
                            .map_err(plan_error)?
                            .block_on(rearranged_view(state, &source, &options))
                    })
                    .join()
                    .map_err(|_| plan_error("the order computation panicked"))?
            })
        }
    }

    /// The source as a DataFrame: a registered table, else a file or directory.
    async fn source_frame(ctx: &SessionContext, source: &str) -> Result<DataFrame> {
        match SourceKind::of(source, ctx.table_exist(source).unwrap_or(false))? {
            SourceKind::Table => ctx.table(source).await,
            SourceKind::Csv => ctx.read_csv(source, CsvReadOptions::new()).await,
            SourceKind::Parquet => {
                ctx.read_parquet(source, ParquetReadOptions::default())
                    .await
            }
        }
    }

    async fn rearranged_view(
        state: SessionState,
        source: &str,
        options: &FunctionOptions,
    ) -> Result<Arc<dyn TableProvider>> {
        let ctx = SessionContext::new_with_state(state);
        let frame = source_frame(&ctx, source).await?;
        let plan = RearrangePlan::new(source, frame.schema().as_arrow(), options)?;
        let batches = frame
            .clone()
            .aggregate(vec![], vec![plan.order_expr()])?
            .collect()
            .await?;
        let order: Option<Vec<usize>> = batches
            .first()
            .filter(|b| b.num_rows() == 1 && b.column(0).is_valid(0))
            .map(|b| {
                let order = b.column(0).as_list::<i32>().value(0);
                let order = order.as_primitive::<Int32Type>().values();
                order.iter().map(|&i| i as usize).collect()
            });
        Ok(frame.select(plan.select(order.as_deref())?)?.into_view())
    }
}

#[cfg(feature = "datafusion")]
pub use table::Rearrange;

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
    parts.push(format!("placement={}", options.placement.name()));
    match options.shrink {
        Shrink::None => {}
        Shrink::By(tau) => parts.push(format!("shrink={tau}")),
        Shrink::Auto => parts.push("shrink=auto".to_string()),
    }
    parts.push(format!("weights={}", options.weighting.name()));
    parts.push(format!("neighbours={}", options.neighbours));
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
             skip_null_rows, placement, shrink, weights, neighbours.",
        )
        .build()
    });
    &DOC
}
