//! entangle: how well a dataset suits locally connected neural networks,
//! measured by the quantum entanglement of its data tensor under the
//! canonical partitions of its features (Alexander et al., NeurIPS 2023).
//!
//! The core (`tree`, `gram`, `spectrum`, `profile`, `stats`, `sample`,
//! `labels`) works on plain slices and faer matrices; `io` reads Arrow,
//! Parquet and CSV into it.

pub mod analysis;
pub mod arrange;
#[cfg(feature = "ballista")]
pub mod cluster;
pub mod error;
pub mod exact_moments;
pub mod gram;
pub mod io;
pub mod labels;
pub mod neighbours;
pub mod options;
pub mod plot;
#[cfg(feature = "polars")]
pub mod polars;
pub mod profile;
pub mod progress;
pub mod reduce;
pub mod rewrite;
pub mod sample;
pub mod sparse_arrange;
pub mod spectrum;
#[cfg(feature = "datafusion")]
pub mod sql;
pub mod stats;
pub mod summary;
pub mod synthetic;
pub mod tree;

pub use error::{Error, Result};
pub use profile::{Profile, ProfileOptions, compute_profile};
