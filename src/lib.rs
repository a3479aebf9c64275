//! entangle: how well a dataset suits locally connected neural networks,
//! measured by the quantum entanglement of its data tensor under the
//! canonical partitions of its features (Alexander et al., NeurIPS 2023),
//! and a rearrangement of the features that lowers it.
//!
//! # The map
//!
//! Layers, bottom to top; a module uses only its own layer and those below.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1. mathematics | [`math`]: `tree`, `gram`, `spectrum`, `eigenvalues`, `profile`, `labels`, `sample`, `moments`, `exact_moments`, `synthetic` | the measure on plain slices and faer matrices: the canonical tree, feature map and Gram products, exact spectra and the eigenvalue kernels, the profile, label weights, the bottom-k sample, co-moments and the surrogate |
//! | 2. arrangement | [`arrange`]: `dense`, `sparse`, `neighbours`, `seams`, `line`, `shrink` | the exact-size tree partitioner on dense weights, its sparse-graph twin for many features, blockwise strongest correlations, the placement of every node's children for seams (exactly on a line), weak correlations shrunk before partitioning |
//! | 3. input/output | [`io`]: `read`, `block`, `summary`, `rewrite`, `atomic`, `plot` | Parquet/CSV through arrow-rs: selection and validation, one streaming pass into a mergeable row summary, rearranged output, atomic and durable writes, charts |
//! | 4. analysis | [`analysis`], [`jobs`], [`page`], [`options`] | from a row summary to profiles and orders; the profile, arrange and apply jobs on files that the command line and Python run; the report page of each (`--html`); every option declared once, with each interface's spelling of it |
//! | 5. engine adapters | [`engines`]: `reduce`, `sql`, `polars`, `cluster` | DataFusion SQL functions, polars expressions, Apache Ballista; each behind its cargo feature |
//! | 6. command line | the `entangle` binary (`src/cli/`) | one file per subcommand |
//!
//! [`error`] is shared by every layer. The first three layers hold no engine
//! types; the engines meet the core only through Arrow arrays.

pub mod analysis;
pub mod arrange;
pub mod engines;
pub mod error;
pub mod io;
pub mod jobs;
pub mod math;
pub mod options;
pub mod page;

pub use error::{Error, Result};
pub use math::profile::{Profile, ProfileOptions, compute_profile};
