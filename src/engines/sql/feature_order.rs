//! `feature_order(features [, options])` → `LIST<INT>`.

use std::sync::LazyLock;

use datafusion_expr::{AggregateUDF, Documentation};

use super::summary_accumulator::SummaryAggregate;
use super::{DOC_SECTION, FEATURES_ARGUMENT, WEIGHTS_OPTIONS};
use crate::engines::reduce::Reduction;

/// The `feature_order` aggregate.
pub fn feature_order_udaf() -> AggregateUDF {
    SummaryAggregate::udaf("feature_order", Reduction::Order, documentation)
}

fn documentation() -> &'static Documentation {
    static DOC: LazyLock<Documentation> = LazyLock::new(|| {
        Documentation::builder(
            DOC_SECTION,
            "The feature order that lowers the surrogate entanglement: element g is the \
             (0-based) input position of the feature to place at grid position g \
             (row-major for a shape). Computed from the |correlation| of all rows by an \
             exact-size partitioner over the canonical tree; deterministic for a seed; \
             labels play no part. Apply it with permute(features, order).",
            "feature_order(features [, options])",
        )
        .with_sql_example(
            "```sql\n> SELECT feature_order(pixels, 'shape=16x16') \
             FROM 'sample_data/images_2d_shuffled.parquet';\n```",
        )
        .with_argument("features", FEATURES_ARGUMENT)
        .with_argument(
            "options",
            format!(
                "Optional string literal: shape (e.g. 8x8), levels whose cut is minimised \
                 (default all), seed, skip_null_rows, placement, shrink, {WEIGHTS_OPTIONS}."
            ),
        )
        .with_related_udf("permute")
        .build()
    });
    &DOC
}
