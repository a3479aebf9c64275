//! `entanglement(features, label [, options])` → DOUBLE.

use std::sync::LazyLock;

use datafusion_expr::{AggregateUDF, Documentation};

use super::summary_accumulator::SummaryAggregate;
use super::{DOC_SECTION, FEATURES_ARGUMENT, OPTIONS_ARGUMENT};
use crate::engines::reduce::Reduction;

/// The `entanglement` aggregate.
pub fn entanglement_udaf() -> AggregateUDF {
    SummaryAggregate::udaf("entanglement", Reduction::Entanglement, documentation)
}

fn documentation() -> &'static Documentation {
    static DOC: LazyLock<Documentation> = LazyLock::new(|| {
        Documentation::builder(
            DOC_SECTION,
            "The headline entanglement of the rows' data tensor: the mean over levels of the \
             mean von Neumann entropy of the canonical partitions (Alexander et al., NeurIPS \
             2023), computed exactly on a seeded bottom-k sample of the rows. Lower means the \
             data suits locally connected networks (CNNs, RNNs, local attention) better. \
             Identical to `mean_entropy` of `entangle profile` on the same rows and options, \
             however the rows are split across files and partitions. NULL over no rows.",
            "entanglement(features, label [, options])",
        )
        .with_sql_example(
            "```sql\n> SELECT entanglement(pixels, bright_blob, 'shape=16x16') \
             FROM 'sample_data/images_2d.parquet';\n```",
        )
        .with_argument("features", FEATURES_ARGUMENT)
        .with_argument(
            "label",
            "Label column (integer, boolean or string; at most 64 values): two values weigh \
             rows -1/+1, more are averaged one-vs-rest. NULL for unlabeled data.",
        )
        .with_argument("options", OPTIONS_ARGUMENT)
        .with_related_udf("entanglement_profile")
        .build()
    });
    &DOC
}
