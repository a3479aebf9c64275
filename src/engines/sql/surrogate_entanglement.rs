//! `surrogate_entanglement(features [, options])` → DOUBLE.

use std::sync::LazyLock;

use datafusion_expr::{AggregateUDF, Documentation};

use super::summary_accumulator::SummaryAggregate;
use super::{DOC_SECTION, FEATURES_ARGUMENT, WEIGHTS_OPTIONS};
use crate::engines::reduce::Reduction;

/// The `surrogate_entanglement` aggregate.
pub fn surrogate_entanglement_udaf() -> AggregateUDF {
    SummaryAggregate::udaf(
        "surrogate_entanglement",
        Reduction::Surrogate,
        documentation,
    )
}

fn documentation() -> &'static Documentation {
    static DOC: LazyLock<Documentation> = LazyLock::new(|| {
        Documentation::builder(
            DOC_SECTION,
            "The surrogate entanglement over all rows: for each canonical partition the \
             |Pearson correlation| it cuts, averaged per level and then over levels. It uses \
             every row (exact co-moments, so the same rows give the same bits however they \
             are split and merged) and no sample, so its memory does not grow with the rows.",
            "surrogate_entanglement(features [, options])",
        )
        .with_sql_example(
            "```sql\n> SELECT surrogate_entanglement(struct(s0, s1, s2, s3)) FROM t;\n```",
        )
        .with_argument("features", FEATURES_ARGUMENT)
        .with_argument(
            "options",
            format!(
                "Optional string literal: shape (e.g. 8x8), levels (1..3 or 2), \
                 skip_null_rows, {WEIGHTS_OPTIONS}."
            ),
        )
        .with_related_udf("feature_order")
        .build()
    });
    &DOC
}
