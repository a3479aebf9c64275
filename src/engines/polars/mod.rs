//! polars expressions (docs/conventions.md#sql-and-polars-functions): the
//! entangle functions as `Expr`s that reduce a frame, or each group of
//! `group_by().agg()`, to one value, plus a helper that rearranges a
//! `LazyFrame`.
//!
//! | function | returns |
//! |---|---|
//! | [`entanglement`]`(features, label, options)` | `f64` |
//! | [`entanglement_profile`]`(features, label, options)` | `list[struct{level, chunk, size, entropy, geometric}]` |
//! | [`surrogate_entanglement`]`(features, options)` | `f64` |
//! | [`feature_order`]`(features, options)` | `list[i32]` |
//! | [`permute`]`(features, order)` | the features, each row's elements reordered |
//! | [`rearrange`]`(frame, layout, options)` | the frame rearranged, and the order |
//!
//! The features are one Array or List column of numbers (combine wide
//! columns with polars' own `concat_arr`), or a struct of numeric columns
//! (`as_struct`, which copies nothing). Columns reach the core through the
//! Arrow C Data Interface ([`bridge`]) without copying numeric buffers, and
//! the rows are folded by the same reducer as the SQL aggregates, so the
//! numbers equal the CLI's and SQL's bit for bit.

pub mod bridge;
mod expressions;
mod rearrange;

pub use crate::engines::reduce::Reduction;
pub use crate::options::EntangleOptions;
pub use expressions::{
    Host, entanglement, entanglement_profile, feature_order, permute, permute_field,
    permute_series, reduce_series, reduction_field, surrogate_entanglement,
};
pub use rearrange::{FeatureLayout, rearrange};
