//! Every integration test in one test binary: DataFusion, polars and Ballista
//! are linked once instead of once per file. Each module is one area; run one
//! with `cargo test --all-features --test integration MODULE::`.

mod common;

mod cli_arrange;
mod cli_errors;
mod cli_profile;
mod cli_scale;
#[cfg(feature = "ballista")]
mod cluster;
#[cfg(feature = "datafusion")]
mod engines_scale;
mod layers;
#[cfg(feature = "polars")]
mod polars_expressions;
mod reliability;
mod report_page;
#[cfg(feature = "datafusion")]
mod sql_functions;
#[cfg(feature = "datafusion")]
mod sqllogictests;
