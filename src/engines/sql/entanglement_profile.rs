//! `entanglement_profile(features, label [, options])` →
//! `LIST<STRUCT<level INT, chunk INT, size BIGINT, entropy DOUBLE, geometric DOUBLE>>`.

use std::sync::LazyLock;

use datafusion_expr::{AggregateUDF, Documentation};

use super::summary_accumulator::SummaryAggregate;
use super::{DOC_SECTION, FEATURES_ARGUMENT, OPTIONS_ARGUMENT};
use crate::engines::reduce::Reduction;

/// The `entanglement_profile` aggregate.
pub fn entanglement_profile_udaf() -> AggregateUDF {
    SummaryAggregate::udaf("entanglement_profile", Reduction::Profile, documentation)
}

fn documentation() -> &'static Documentation {
    static DOC: LazyLock<Documentation> =
        LazyLock::new(|| {
            Documentation::builder(
            DOC_SECTION,
            "The entanglement of every canonical partition: one struct per partition with \
             its level, chunk (depth-first position in the level), size (features in the \
             chunk), entropy (von Neumann, natural log) and geometric (1 - sum of squared \
             normalized eigenvalues), level by level. Use UNNEST to get rows.",
            "entanglement_profile(features, label [, options])",
        )
        .with_sql_example(
            "```sql\n> SELECT unnest(entanglement_profile(pixels, NULL, 'shape=16x16, levels=1')) \
             FROM 'sample_data/images_2d.parquet';\n```",
        )
        .with_argument("features", FEATURES_ARGUMENT)
        .with_argument("label", "Label column, or NULL for unlabeled data (see entanglement).")
        .with_argument("options", OPTIONS_ARGUMENT)
        .with_related_udf("entanglement")
        .build()
        });
    &DOC
}
