//! Labels and the weights y_m they put on the rows of the data tensor
//! (docs/conventions.md#labels).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// More distinct labels than this is an error: a continuous column was
/// probably meant as a feature.
pub const MAX_CLASSES: usize = 64;

/// A label value (integer, boolean or string: floats are refused when the
/// column is read), ordered the way a user expects: numbers numerically,
/// `false < true`, strings lexicographically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelKey {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl fmt::Display for LabelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelKey::Bool(b) => write!(f, "{b}"),
            LabelKey::Int(i) => write!(f, "{i}"),
            LabelKey::Str(s) => write!(f, "{s}"),
        }
    }
}

impl Serialize for LabelKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            LabelKey::Bool(b) => s.serialize_bool(*b),
            LabelKey::Int(i) => s.serialize_i64(*i),
            LabelKey::Str(v) => s.serialize_str(v),
        }
    }
}

/// The distinct labels seen over all rows, collected while streaming.
#[derive(Debug, Clone, Default)]
pub struct LabelSet {
    values: BTreeSet<LabelKey>,
}

impl LabelSet {
    /// Records a label; errors (naming `column`) once there are more than
    /// [`MAX_CLASSES`] distinct values.
    pub fn insert(&mut self, column: &str, key: &LabelKey) -> Result<()> {
        if !self.values.contains(key) {
            self.values.insert(key.clone());
            if self.values.len() > MAX_CLASSES {
                return Err(Error::label(
                    column,
                    format!(
                        "more than {MAX_CLASSES} distinct values; a continuous column was probably meant as a feature"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn merge(&mut self, column: &str, other: &LabelSet) -> Result<()> {
        other.values.iter().try_for_each(|k| self.insert(column, k))
    }

    pub fn contains(&self, key: &LabelKey) -> bool {
        self.values.contains(key)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// The distinct labels, smallest first.
    pub fn values(&self) -> impl Iterator<Item = &LabelKey> {
        self.values.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// How the labels weigh the rows: one weight vector per tensor to analyse.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelScheme {
    /// No label column: every weight is +1.
    Unlabeled,
    /// A label column with a single value: every weight is +1 (with a warning).
    Constant(LabelKey),
    /// Two values: the smaller is −1, the larger +1.
    Binary {
        negative: LabelKey,
        positive: LabelKey,
    },
    /// More than two: one-vs-rest, one tensor per class (class +1, others −1).
    OneVsRest(Vec<LabelKey>),
}

impl LabelScheme {
    /// The scheme for the distinct labels of all rows (`None`: no label column).
    pub fn from_labels(labels: Option<&LabelSet>) -> Self {
        let Some(labels) = labels else {
            return LabelScheme::Unlabeled;
        };
        let values: Vec<LabelKey> = labels.values.iter().cloned().collect();
        match values.len() {
            0 => LabelScheme::Unlabeled,
            1 => LabelScheme::Constant(values[0].clone()),
            2 => LabelScheme::Binary {
                negative: values[0].clone(),
                positive: values[1].clone(),
            },
            _ => LabelScheme::OneVsRest(values),
        }
    }

    /// The classes whose entropies are averaged (one entry unless one-vs-rest).
    pub fn class_count(&self) -> usize {
        match self {
            LabelScheme::OneVsRest(classes) => classes.len(),
            _ => 1,
        }
    }

    /// The row weights, one vector per class, for rows with these labels.
    /// Errors name `column` if a row has no label but one is expected.
    pub fn weights(&self, column: &str, labels: &[Option<LabelKey>]) -> Result<Vec<Vec<f64>>> {
        fn key<'k>(column: &str, l: &'k Option<LabelKey>) -> Result<&'k LabelKey> {
            l.as_ref().ok_or_else(|| {
                Error::label(column, "null label (labels must be present on every row)")
            })
        }
        Ok(match self {
            LabelScheme::Unlabeled | LabelScheme::Constant(_) => vec![vec![1.0; labels.len()]],
            LabelScheme::Binary { positive, .. } => vec![
                labels
                    .iter()
                    .map(|l| {
                        Ok(if key(column, l)? == positive {
                            1.0
                        } else {
                            -1.0
                        })
                    })
                    .collect::<Result<_>>()?,
            ],
            LabelScheme::OneVsRest(classes) => classes
                .iter()
                .map(|class| {
                    labels
                        .iter()
                        .map(|l| Ok(if key(column, l)? == class { 1.0 } else { -1.0 }))
                        .collect::<Result<_>>()
                })
                .collect::<Result<_>>()?,
        })
    }

    /// The class names of one-vs-rest, for reporting per-class values.
    pub fn classes(&self) -> &[LabelKey] {
        match self {
            LabelScheme::OneVsRest(classes) => classes,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[LabelKey]) -> LabelSet {
        let mut s = LabelSet::default();
        for k in keys {
            s.insert("y", k).unwrap();
        }
        s
    }

    #[test]
    fn binary_labels_map_smaller_to_minus_one() {
        let scheme = LabelScheme::from_labels(Some(&set(&[LabelKey::Int(7), LabelKey::Int(-3)])));
        let w = scheme
            .weights(
                "y",
                &[
                    Some(LabelKey::Int(7)),
                    Some(LabelKey::Int(-3)),
                    Some(LabelKey::Int(7)),
                ],
            )
            .unwrap();
        assert_eq!(w, vec![vec![1.0, -1.0, 1.0]]);
        let scheme =
            LabelScheme::from_labels(Some(&set(&[LabelKey::Bool(true), LabelKey::Bool(false)])));
        assert_eq!(
            scheme,
            LabelScheme::Binary {
                negative: LabelKey::Bool(false),
                positive: LabelKey::Bool(true)
            }
        );
    }

    #[test]
    fn multiclass_is_one_vs_rest() {
        let keys: Vec<LabelKey> = ["cat", "dog", "emu"]
            .iter()
            .map(|s| LabelKey::Str(s.to_string()))
            .collect();
        let scheme = LabelScheme::from_labels(Some(&set(&keys)));
        assert_eq!(scheme.class_count(), 3);
        let rows: Vec<Option<LabelKey>> = vec![Some(keys[1].clone()), Some(keys[0].clone())];
        assert_eq!(
            scheme.weights("y", &rows).unwrap(),
            vec![vec![-1.0, 1.0], vec![1.0, -1.0], vec![-1.0, -1.0]]
        );
    }

    #[test]
    fn label_problems_are_errors() {
        let mut s = LabelSet::default();
        let e = (0..100)
            .map(|i| s.insert("price", &LabelKey::Int(i)))
            .find_map(|r| r.err())
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("label column 'price': more than 64 distinct values"),
            "{e}"
        );
        let scheme = LabelScheme::from_labels(Some(&set(&[LabelKey::Int(0), LabelKey::Int(1)])));
        let e = scheme.weights("y", &[None]).unwrap_err().to_string();
        assert_eq!(
            e,
            "label column 'y': null label (labels must be present on every row)"
        );
        assert_eq!(
            LabelScheme::from_labels(Some(&set(&[LabelKey::Int(4)]))),
            LabelScheme::Constant(LabelKey::Int(4))
        );
    }
}
