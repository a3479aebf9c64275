//! Layer 2, the arrangement (SPEC §2): permutations of the features whose
//! canonical partitions cut little |correlation|.
//!
//! [`dense`] partitions the N × N weights with exact node sizes; [`sparse`]
//! does the same on a graph of each feature's strongest neighbours, which
//! [`neighbours`] computes blockwise for tens of thousands of features.

pub mod dense;
pub mod neighbours;
pub mod sparse;
