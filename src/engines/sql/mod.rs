//! DataFusion SQL functions (docs/conventions.md#sql-and-polars-functions), one file per function:
//!
//! | function | kind | returns |
//! |---|---|---|
//! | `entanglement(features, label [, options])` | aggregate | DOUBLE |
//! | `entanglement_profile(features, label [, options])` | aggregate | LIST<STRUCT<level, chunk, size, entropy, geometric>> |
//! | `surrogate_entanglement(features [, options])` | aggregate | DOUBLE |
//! | `feature_order(features [, options])` | aggregate | LIST<INT> |
//! | `permute(features, order)` | scalar | the features list, reordered |
//! | `rearrange(source [, options])` | table | the source, features rearranged |
//!
//! Add them to any DataFusion application with [`register_all`]. The
//! aggregates' partial states are the encoded row summary (sample,
//! co-moments, labels), so results do not depend on how rows are split
//! across files, partitions or GROUP BY phases.

mod entanglement;
mod entanglement_profile;
mod feature_order;
mod permute;
mod rearrange;
mod summary_accumulator;
mod surrogate_entanglement;

#[cfg(feature = "datafusion")]
use datafusion::execution::context::SessionContext;
use datafusion_expr::{DocSection, Expr, lit};

pub use crate::options::{EntangleOptions, FunctionOptions, OptionKeys};
pub use entanglement::entanglement_udaf;
pub use entanglement_profile::entanglement_profile_udaf;
pub use feature_order::feature_order_udaf;
pub use permute::permute_udf;
#[cfg(feature = "datafusion")]
pub use rearrange::Rearrange;
pub use rearrange::{RearrangePlan, SourceKind, arguments as rearrange_arguments};
pub use summary_accumulator::with_memory_pool;
pub use surrogate_entanglement::surrogate_entanglement_udaf;

/// Where the functions appear in generated documentation.
const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Entanglement Functions",
    description: Some(
        "Entanglement of the data tensor under canonical feature partitions (entangle).",
    ),
};

/// How the options argument is documented.
const FEATURES_ARGUMENT: &str = "The features of a row: an array column, make_array(f1, f2, ...), \
     or a struct of numeric columns, struct(f1, f2, ...) or named_struct('f1', f1, ...), which \
     shares the columns' buffers where make_array copies them (the fast form for wide tables; \
     errors name a struct's fields).";

const OPTIONS_ARGUMENT: &str = "Optional string literal of comma-separated key=value pairs: \
     shape (e.g. 8x8; default 1D), levels (1..3 or 2; default all but the singleton level), \
     theta (feature map, default 0.085), max_samples (default 1000), seed (default 0), \
     standardize (default true), skip_null_rows (default false).";

/// How the weights options are documented (surrogates and orders).
const WEIGHTS_OPTIONS: &str = "weights (auto, dense or sparse; auto: sparse above 4096 \
     features, whose summary holds every row instead of N × N co-moments) and neighbours \
     (strongest correlations kept per feature with sparse weights, default 16)";

/// Registers every entangle function in `ctx`; the aggregates reserve the
/// memory their summaries need from its runtime's memory pool.
#[cfg(feature = "datafusion")]
pub fn register_all(ctx: &SessionContext) {
    let pool = &ctx.runtime_env().memory_pool;
    for udaf in [
        entanglement_udaf(),
        entanglement_profile_udaf(),
        surrogate_entanglement_udaf(),
        feature_order_udaf(),
    ] {
        ctx.register_udaf(with_memory_pool(udaf, pool));
    }
    ctx.register_udf(permute_udf());
    ctx.register_udtf("rearrange", std::sync::Arc::new(Rearrange));
}

/// The runtime that queries run on: `entangle sql` in process or against a
/// cluster, and the cluster's scheduler and executors. Deep plans are decoded
/// recursively on a cluster's side, hence the larger stacks (as Ballista's
/// scheduler binary uses).
#[cfg(feature = "datafusion")]
pub fn runtime() -> crate::error::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .map_err(|e| crate::error::Error::Data(format!("cannot start the query runtime: {e}")))
}

/// The documentation of the `rearrange` table function (table functions
/// carry none in DataFusion's registry).
pub fn rearrange_documentation() -> &'static datafusion_expr::Documentation {
    rearrange::documentation()
}

fn with_options(mut args: Vec<Expr>, options: Option<&str>) -> Vec<Expr> {
    args.extend(options.map(lit));
    args
}

/// `entanglement(features, label [, options])` as an expression; a `NULL`
/// literal label (`lit(ScalarValue::Null)`) means unlabeled.
pub fn entanglement(features: Expr, label: Expr, options: Option<&str>) -> Expr {
    entanglement_udaf().call(with_options(vec![features, label], options))
}

/// `entanglement_profile(features, label [, options])` as an expression.
pub fn entanglement_profile(features: Expr, label: Expr, options: Option<&str>) -> Expr {
    entanglement_profile_udaf().call(with_options(vec![features, label], options))
}

/// `surrogate_entanglement(features [, options])` as an expression.
pub fn surrogate_entanglement(features: Expr, options: Option<&str>) -> Expr {
    surrogate_entanglement_udaf().call(with_options(vec![features], options))
}

/// `feature_order(features [, options])` as an expression.
pub fn feature_order(features: Expr, options: Option<&str>) -> Expr {
    feature_order_udaf().call(with_options(vec![features], options))
}

/// `permute(features, order)` as an expression.
pub fn permute(features: Expr, order: Expr) -> Expr {
    permute_udf().call(vec![features, order])
}
