//! Layer 2, the arrangement (docs/conventions.md#rearrangement): permutations
//! of the features whose canonical partitions cut little |correlation|.
//!
//! [`dense`] partitions the N × N weights with exact node sizes; [`sparse`]
//! does the same on a graph of each feature's strongest neighbours, which
//! [`neighbours`] computes blockwise for tens of thousands of features.
//! [`seams`] then places every node's children so that grid neighbours are
//! correlated, which no canonical cut sees ([`line`]: exactly, in 1D). [`shrink`] lowers weak
//! correlations, noisy on few rows, before the partitioner sees them.

pub mod dense;
pub mod line;
pub mod neighbours;
pub mod seams;
pub mod shrink;
pub mod sparse;
