//! Weak correlations shrunk before partitioning: soft thresholding,
//! w' = max(0, w − τ). A correlation estimated from n rows carries noise of
//! about 1/√n, and on few rows the many weak, noisy weights can outweigh the
//! few strong ones that make up an image's neighbourhoods, so the
//! partitioner's first split goes astray and every level below follows it
//! (docs/science.md#fewer-rows). Only the partitioner sees the shrunk
//! weights; the placement, the seam score and every report use the weights
//! themselves.

use faer::{Mat, MatRef};
use serde::Deserialize;

/// How the partitioner's weights are shrunk.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(try_from = "ShrinkValue")]
pub enum Shrink {
    /// The weights as they are.
    #[default]
    None,
    /// Every weight lowered by τ, to at least 0.
    By(f64),
    /// One arrangement for each τ of [`AUTO`]; the highest seam score wins
    /// (ties: the smaller τ).
    Auto,
}

/// The τ that `auto` tries: up to 0.3, a little above the noise of a
/// correlation from 100 rows.
pub const AUTO: [f64; 7] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];

impl Shrink {
    /// `none`, `auto` or τ in [0, 1); the error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "none" => Ok(Shrink::None),
            "auto" => Ok(Shrink::Auto),
            number => match number.parse::<f64>() {
                Ok(tau) => Shrink::by(tau),
                Err(_) => Err(format!(
                    "expected none, auto or a number in [0, 1), got '{number}'"
                )),
            },
        }
    }

    fn by(tau: f64) -> Result<Self, String> {
        if !(0.0..1.0).contains(&tau) {
            return Err(format!(
                "expected none, auto or a number in [0, 1), got {tau}"
            ));
        }
        Ok(if tau == 0.0 {
            Shrink::None
        } else {
            Shrink::By(tau)
        })
    }

    /// The τ to arrange with, in the order they are tried.
    pub fn candidates(self) -> Vec<f64> {
        match self {
            Shrink::None => vec![0.0],
            Shrink::By(tau) => vec![tau],
            Shrink::Auto => AUTO.to_vec(),
        }
    }
}

/// A shrink as JSON or polars keyword arguments give it: `"auto"` or `0.2`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ShrinkValue {
    Number(f64),
    Text(String),
}

impl TryFrom<ShrinkValue> for Shrink {
    type Error = String;

    fn try_from(value: ShrinkValue) -> Result<Self, String> {
        match value {
            ShrinkValue::Number(tau) => Shrink::by(tau),
            ShrinkValue::Text(text) => Shrink::parse(&text),
        }
    }
}

/// Dense weights lowered by `tau`, to at least 0 (the diagonal stays 0).
pub fn shrunk(weights: MatRef<'_, f64>, tau: f64) -> Mat<f64> {
    Mat::from_fn(weights.nrows(), weights.ncols(), |i, j| {
        (weights[(i, j)] - tau).max(0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_names_what_was_expected() {
        assert_eq!(Shrink::parse("none"), Ok(Shrink::None));
        assert_eq!(Shrink::parse(" auto "), Ok(Shrink::Auto));
        assert_eq!(Shrink::parse("0.2"), Ok(Shrink::By(0.2)));
        assert_eq!(Shrink::parse("0"), Ok(Shrink::None));
        assert_eq!(
            Shrink::parse("1.5"),
            Err("expected none, auto or a number in [0, 1), got 1.5".to_string())
        );
        assert_eq!(
            Shrink::parse("lots"),
            Err("expected none, auto or a number in [0, 1), got 'lots'".to_string())
        );
        let json: Shrink = serde_json::from_str("0.25").unwrap();
        assert_eq!(json, Shrink::By(0.25));
        let json: Shrink = serde_json::from_str("\"auto\"").unwrap();
        assert_eq!(json, Shrink::Auto);
        assert!(serde_json::from_str::<Shrink>("-0.1").is_err());
    }

    #[test]
    fn candidates_and_soft_thresholding() {
        assert_eq!(Shrink::None.candidates(), vec![0.0]);
        assert_eq!(Shrink::By(0.1).candidates(), vec![0.1]);
        assert_eq!(Shrink::Auto.candidates(), AUTO.to_vec());
        let w = Mat::from_fn(3, 3, |i, j| if i == j { 0.0 } else { 0.1 * (i + j) as f64 });
        let s = shrunk(w.as_ref(), 0.15);
        assert_eq!(s[(0, 1)], 0.0);
        assert!((s[(0, 2)] - 0.05).abs() < 1e-15);
        assert!((s[(1, 2)] - 0.15).abs() < 1e-15);
        assert_eq!(s[(1, 1)], 0.0);
    }
}
