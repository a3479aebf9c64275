//! Layer 3, input and output through arrow-rs: [`read`] selects and
//! validates the features of Parquet/CSV inputs and streams them into a
//! [`summary::RowSummary`] (one [`block::FeatureBlock`] per batch);
//! [`rewrite`] writes rearranged datasets, [`atomic`]ally and durably; [`plot`] draws profiles.

pub mod atomic;
pub mod block;
#[cfg(feature = "cli")]
pub mod plot;
pub mod read;
pub mod rewrite;
pub mod summary;
