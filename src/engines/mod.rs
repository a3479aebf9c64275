//! Layer 5, the engine adapters: the entangle functions in DataFusion SQL
//! ([`sql`], feature `sql-functions`; the session side `datafusion`), as polars expressions ([`polars`],
//! feature `polars`) and on an Apache Ballista cluster ([`cluster`], feature
//! `ballista`). All of them parse the same [`crate::options`] and fold rows with the
//! same engine-free [`reduce`]r, so their numbers agree bit for bit.

#[cfg(feature = "ballista")]
pub mod cluster;
#[cfg(feature = "polars")]
pub mod polars;
pub mod reduce;
#[cfg(feature = "sql-functions")]
pub mod sql;
