//! Layer 1, the mathematics (docs/conventions.md#the-measure and
//! docs/conventions.md#the-surrogate-and-the-rearrangement): the measure on
//! plain slices and faer matrices, with no Arrow, Parquet or engine types.

pub mod eigenvalues;
pub mod exact_moments;
pub mod gram;
pub mod labels;
pub mod moments;
pub mod profile;
pub mod sample;
pub mod spectrum;
pub mod synthetic;
pub mod tree;
