//! The options string of the SQL functions:
//! `'shape=8x8, theta=0.085, levels=1..3, max_samples=1000, seed=0, standardize=false'`.
//!
//! Comma-separated `key=value` pairs; every key is optional and defaults as
//! on the command line. Errors name the key and what was expected.

use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;

use crate::io::FeatureSelection;
use crate::profile::ProfileOptions;
use crate::tree::parse_levels;

/// The parsed options of one call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlOptions {
    pub profile: ProfileOptions,
    /// Drop rows whose features hold a null instead of failing.
    pub skip_null_rows: bool,
    /// Table function only: where the features are (`array=col`,
    /// `features_prefix=p`); default every numeric column but the label.
    pub selection: Option<FeatureSelection>,
    /// Table function only: the label column (not a feature).
    pub label: Option<String>,
}

/// Which keys a function accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKeys {
    /// Entropy functions: every measurement key.
    Profile,
    /// Surrogate and order: no sampling or feature map keys.
    Surrogate,
    /// The table function: measurement keys plus where the features are.
    Table,
}

impl OptionKeys {
    fn allowed(self) -> &'static [&'static str] {
        const PROFILE: &[&str] = &[
            "shape",
            "levels",
            "theta",
            "max_samples",
            "seed",
            "standardize",
            "skip_null_rows",
        ];
        const SURROGATE: &[&str] = &["shape", "levels", "seed", "skip_null_rows"];
        const TABLE: &[&str] = &[
            "shape",
            "levels",
            "seed",
            "skip_null_rows",
            "array",
            "features_prefix",
            "label",
        ];
        match self {
            OptionKeys::Profile => PROFILE,
            OptionKeys::Surrogate => SURROGATE,
            OptionKeys::Table => TABLE,
        }
    }
}

fn malformed(function: &str, problem: String) -> DataFusionError {
    DataFusionError::Plan(format!("{function}: options: {problem}"))
}

impl SqlOptions {
    /// Parses an options string for `function`, accepting the `keys` it takes.
    pub fn parse(text: &str, function: &str, keys: OptionKeys) -> Result<Self> {
        let mut options = SqlOptions::default();
        let mut seen: Vec<&str> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(malformed(function, format!("'{item}' is not key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            let Some(&key) = keys.allowed().iter().find(|k| **k == key) else {
                return Err(malformed(
                    function,
                    format!("unknown key '{key}' (known: {})", keys.allowed().join(", ")),
                ));
            };
            if seen.contains(&key) {
                return Err(malformed(function, format!("'{key}' is given twice")));
            }
            seen.push(key);
            let bad = |expected: &str| {
                malformed(
                    function,
                    format!("{key}: expected {expected}, got '{value}'"),
                )
            };
            let p = &mut options.profile;
            match key {
                "shape" => {
                    let dims: Option<Vec<usize>> = value
                        .split(['x', 'X'])
                        .map(|d| d.trim().parse().ok().filter(|&d: &usize| d > 0))
                        .collect();
                    p.shape = Some(dims.ok_or_else(|| bad("positive sizes like 8x8"))?);
                }
                "levels" => {
                    p.levels = Some(
                        parse_levels(value, "levels")
                            .map_err(|e| malformed(function, e.to_string()))?,
                    );
                }
                "theta" => {
                    p.theta = value.parse().map_err(|_| bad("a number"))?;
                }
                "max_samples" => {
                    p.max_samples = value.parse().map_err(|_| bad("a whole number"))?;
                }
                "seed" => p.seed = value.parse().map_err(|_| bad("a whole number"))?,
                "standardize" => {
                    p.standardize = parse_bool(value).ok_or_else(|| bad("true or false"))?
                }
                "skip_null_rows" => {
                    options.skip_null_rows =
                        parse_bool(value).ok_or_else(|| bad("true or false"))?
                }
                "array" => options.selection = Some(FeatureSelection::Array(value.to_string())),
                "features_prefix" => {
                    options.selection = Some(FeatureSelection::Prefix(value.to_string()))
                }
                "label" => options.label = Some(value.to_string()),
                _ => unreachable!("allowed keys are handled"),
            }
        }
        if seen.contains(&"array") && seen.contains(&"features_prefix") {
            return Err(malformed(
                function,
                "give either array or features_prefix, not both".to_string(),
            ));
        }
        options
            .profile
            .validate()
            .map_err(|e| DataFusionError::Plan(error_message(function, e)))?;
        Ok(options)
    }

    /// The options of an aggregate: the string literal at argument `position`
    /// (1-based, for errors), or the defaults when the call has no such argument.
    pub fn from_argument(
        exprs: &[std::sync::Arc<dyn PhysicalExpr>],
        position: usize,
        function: &str,
        keys: OptionKeys,
    ) -> Result<Self> {
        match exprs.get(position - 1) {
            None => Ok(SqlOptions::default()),
            Some(expr) => {
                let literal = expr.downcast_ref::<Literal>().map(Literal::value);
                match literal.map(ScalarValue::try_as_str) {
                    Some(Some(Some(text))) => SqlOptions::parse(text, function, keys),
                    _ => Err(DataFusionError::Plan(format!(
                        "{function}: argument {position} (options) must be a string literal such as 'shape=8x8, levels=1..3', got {expr}"
                    ))),
                }
            }
        }
    }
}

/// An entangle error as a SQL function's message: the function's name first,
/// and an option named by its key (the core names the CLI's flag).
pub(crate) fn error_message(function: &str, e: crate::Error) -> String {
    match e {
        crate::Error::Option { option, problem } if option.starts_with("--") => format!(
            "{function}: options: {}: {problem}",
            option.trim_start_matches("--").replace('-', "_")
        ),
        e => format!("{function}: {e}"),
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let o = SqlOptions::parse(
            "shape=8x8, theta=0.1, levels=1..3, max_samples=50, seed=7, standardize=false, skip_null_rows=true",
            "f",
            OptionKeys::Profile,
        )
        .unwrap();
        assert_eq!(o.profile.shape, Some(vec![8, 8]));
        assert_eq!(o.profile.theta, 0.1);
        assert_eq!(o.profile.levels, Some(vec![1, 2, 3]));
        assert_eq!(o.profile.max_samples, 50);
        assert_eq!(o.profile.seed, 7);
        assert!(!o.profile.standardize && o.skip_null_rows);
        assert_eq!(
            SqlOptions::parse("", "f", OptionKeys::Profile).unwrap(),
            SqlOptions::default()
        );
        assert_eq!(
            SqlOptions::parse("levels=2", "f", OptionKeys::Surrogate)
                .unwrap()
                .profile
                .levels,
            Some(vec![2])
        );
    }

    #[test]
    fn malformed_options_name_the_key() {
        let err = |text: &str, keys| {
            SqlOptions::parse(text, "entanglement", keys)
                .unwrap_err()
                .strip_backtrace()
        };
        assert_eq!(
            err("shape=8y8", OptionKeys::Profile),
            "Error during planning: entanglement: options: shape: expected positive sizes like 8x8, got '8y8'"
        );
        assert_eq!(
            err("theta", OptionKeys::Profile),
            "Error during planning: entanglement: options: 'theta' is not key=value"
        );
        assert!(
            err("colour=red", OptionKeys::Profile)
                .contains("unknown key 'colour' (known: shape, levels")
        );
        assert!(err("theta=0.1", OptionKeys::Surrogate).contains("unknown key 'theta'"));
        assert!(err("seed=1, seed=2", OptionKeys::Profile).contains("'seed' is given twice"));
        assert_eq!(
            err("theta=-1", OptionKeys::Profile),
            "Error during planning: entanglement: options: theta: must be a positive number, got -1"
        );
        assert!(
            err("max_samples=1", OptionKeys::Profile).contains("max_samples: must be at least 2")
        );
        assert!(err("levels=3..1", OptionKeys::Profile).contains("levels"));
    }
}
