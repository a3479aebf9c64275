//! The options of the entangle functions, shared by SQL and polars: as a
//! string, `'shape=8x8, theta=0.085, levels=1..3, max_samples=1000, seed=0,
//! standardize=false'`, or as the serde-deserializable [`EntangleOptions`].
//!
//! Every key is optional and defaults as on the command line. Errors name the
//! function, the key and what was expected.

use std::str::FromStr;

use serde::Deserialize;

use crate::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use crate::arrange::seams::Placement;
use crate::arrange::shrink::Shrink;
use crate::io::read::FeatureSelection;
use crate::math::profile::ProfileOptions;
use crate::math::tree::parse_levels;
use crate::{Error, Result};

/// The options as a user writes them: every field optional. Deserializes
/// from JSON (or any serde format) with the SQL option names,
/// `{"shape": [16, 16], "levels": [1, 2, 3], "max_samples": 500}`, and
/// parses from the SQL string form, `"shape=16x16, levels=1..3"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntangleOptions {
    /// Grid shape, e.g. `[16, 16]`; default 1D.
    pub shape: Option<Vec<usize>>,
    /// Levels to report (entropies) or to minimise (orders); default all.
    pub levels: Option<Vec<usize>>,
    /// Feature map frequency (default 0.085).
    pub theta: Option<f64>,
    /// Rows used for entropies (default 1000).
    pub max_samples: Option<usize>,
    /// Row sampling and arrangement seed (default 0).
    pub seed: Option<u64>,
    /// Standardize features (default true).
    pub standardize: Option<bool>,
    /// Drop rows whose features hold a null instead of failing (default false).
    pub skip_null_rows: Option<bool>,
    /// Orders only: how each tree node's children are placed, `seams`
    /// (default) or `tree`.
    pub placement: Option<Placement>,
    /// Orders only: how the partitioner's weights are shrunk, `none`
    /// (default), `auto` or a number τ in [0, 1).
    pub shrink: Option<Shrink>,
    /// Surrogates and orders: `auto` (default: sparse above 4096 features),
    /// `dense` (N × N co-moments) or `sparse` (each feature's strongest
    /// correlations, from all rows kept column by column).
    #[serde(deserialize_with = "weights_value")]
    pub weights: Option<Weighting>,
    /// Surrogates and orders: strongest correlations kept per feature with
    /// sparse weights (default 16).
    pub neighbours: Option<usize>,
    /// Table function only: the array column holding the features.
    pub array: Option<String>,
    /// Table function only: the prefix of the wide feature columns.
    pub features_prefix: Option<String>,
    /// Table function only: the label column (not a feature).
    pub label: Option<String>,
}

impl EntangleOptions {
    /// The keys given, in declaration order.
    fn given(&self) -> Vec<&'static str> {
        let set = [
            ("shape", self.shape.is_some()),
            ("levels", self.levels.is_some()),
            ("theta", self.theta.is_some()),
            ("max_samples", self.max_samples.is_some()),
            ("seed", self.seed.is_some()),
            ("standardize", self.standardize.is_some()),
            ("skip_null_rows", self.skip_null_rows.is_some()),
            ("placement", self.placement.is_some()),
            ("shrink", self.shrink.is_some()),
            ("weights", self.weights.is_some()),
            ("neighbours", self.neighbours.is_some()),
            ("array", self.array.is_some()),
            ("features_prefix", self.features_prefix.is_some()),
            ("label", self.label.is_some()),
        ];
        set.into_iter()
            .filter(|(_, s)| *s)
            .map(|(k, _)| k)
            .collect()
    }
}

const WEIGHTS_EXPECTED: &str = "auto, dense or sparse";

/// `weights` from serde: a string naming a [`Weighting`]; an error names the key.
fn weights_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Weighting>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    value
        .map(|v| {
            Weighting::parse(&v).ok_or_else(|| {
                serde::de::Error::custom(format!("weights: expected {WEIGHTS_EXPECTED}, got '{v}'"))
            })
        })
        .transpose()
}

/// The SQL string form; malformed text is an error naming the key.
impl FromStr for EntangleOptions {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        EntangleOptions::parse_keys(text, &OptionKeys::Table.allowed_with(OptionKeys::Profile))
    }
}

impl EntangleOptions {
    /// Parses the string form, accepting the `known` keys only.
    fn parse_keys(text: &str, known: &[&str]) -> Result<Self> {
        let mut fields = EntangleOptions::default();
        let mut seen: Vec<String> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(options_error(format!("'{item}' is not key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            if !known.contains(&key) {
                return Err(options_error(format!(
                    "unknown key '{key}' (known: {})",
                    known.join(", ")
                )));
            }
            if seen.iter().any(|k| k == key) {
                return Err(options_error(format!("'{key}' is given twice")));
            }
            seen.push(key.to_string());
            let bad = |expected: &str| {
                options_error(format!("{key}: expected {expected}, got '{value}'"))
            };
            match key {
                "shape" => {
                    let dims: Option<Vec<usize>> = value
                        .split(['x', 'X'])
                        .map(|d| d.trim().parse().ok().filter(|&d: &usize| d > 0))
                        .collect();
                    fields.shape = Some(dims.ok_or_else(|| bad("positive sizes like 8x8"))?);
                }
                "levels" => {
                    fields.levels = Some(
                        parse_levels(value, "levels").map_err(|e| options_error(e.to_string()))?,
                    );
                }
                "theta" => fields.theta = Some(value.parse().map_err(|_| bad("a number"))?),
                "max_samples" => {
                    fields.max_samples = Some(value.parse().map_err(|_| bad("a whole number"))?)
                }
                "seed" => fields.seed = Some(value.parse().map_err(|_| bad("a whole number"))?),
                "standardize" => {
                    fields.standardize =
                        Some(parse_bool(value).ok_or_else(|| bad("true or false"))?)
                }
                "skip_null_rows" => {
                    fields.skip_null_rows =
                        Some(parse_bool(value).ok_or_else(|| bad("true or false"))?)
                }
                "placement" => {
                    fields.placement = Some(match value {
                        "seams" => Placement::Seams,
                        "tree" => Placement::Tree,
                        _ => return Err(bad("seams or tree")),
                    })
                }
                "shrink" => {
                    fields.shrink = Some(
                        Shrink::parse(value)
                            .map_err(|e| options_error(format!("{key}: expected {e}")))?,
                    )
                }
                "weights" => {
                    fields.weights =
                        Some(Weighting::parse(value).ok_or_else(|| bad(WEIGHTS_EXPECTED))?)
                }
                "neighbours" => {
                    fields.neighbours = Some(
                        value
                            .parse()
                            .ok()
                            .filter(|&k: &usize| k > 0)
                            .ok_or_else(|| bad("a whole number of at least 1"))?,
                    )
                }
                "array" => fields.array = Some(value.to_string()),
                "features_prefix" => fields.features_prefix = Some(value.to_string()),
                "label" => fields.label = Some(value.to_string()),
                _ => unreachable!("every known key is handled"),
            }
        }
        Ok(fields)
    }
}

/// The parsed and checked options of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionOptions {
    pub profile: ProfileOptions,
    /// Drop rows whose features hold a null instead of failing.
    pub skip_null_rows: bool,
    /// How each tree node's children are placed in an order.
    pub placement: Placement,
    /// How the partitioner's weights are shrunk before an order is found.
    pub shrink: Shrink,
    /// How the surrogate weights are held.
    pub weighting: Weighting,
    /// Strongest correlations kept per feature with sparse weights.
    pub neighbours: usize,
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
        const SURROGATE: &[&str] = &[
            "shape",
            "levels",
            "seed",
            "skip_null_rows",
            "placement",
            "shrink",
            "weights",
            "neighbours",
        ];
        const TABLE: &[&str] = &[
            "shape",
            "levels",
            "seed",
            "skip_null_rows",
            "placement",
            "shrink",
            "weights",
            "neighbours",
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

    /// Every key of either set, each once (for "unknown key" messages).
    fn allowed_with(self, other: OptionKeys) -> Vec<&'static str> {
        let mut keys = other.allowed().to_vec();
        keys.extend(
            self.allowed()
                .iter()
                .filter(|k| !other.allowed().contains(k)),
        );
        keys
    }
}

/// An options problem, before the function's name is known.
fn options_error(problem: String) -> Error {
    Error::option("options", problem)
}

impl FunctionOptions {
    /// Parses an options string for `function`, accepting the `keys` it takes.
    pub fn parse(text: &str, function: &str, keys: OptionKeys) -> Result<Self> {
        let fields = EntangleOptions::parse_keys(text, keys.allowed())
            .map_err(|e| for_function(function, e))?;
        FunctionOptions::resolve(&fields, function, keys)
    }

    /// Checks `fields` for `function`: only the `keys` it takes, and values
    /// the core accepts. Errors read `function: options: key: problem`.
    pub fn resolve(fields: &EntangleOptions, function: &str, keys: OptionKeys) -> Result<Self> {
        let fail = |problem: String| for_function(function, options_error(problem));
        if let Some(key) = fields
            .given()
            .into_iter()
            .find(|k| !keys.allowed().contains(k))
        {
            return Err(fail(format!(
                "unknown key '{key}' (known: {})",
                keys.allowed().join(", ")
            )));
        }
        if fields.array.is_some() && fields.features_prefix.is_some() {
            return Err(fail(
                "give either array or features_prefix, not both".to_string(),
            ));
        }
        if fields
            .shape
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.contains(&0))
        {
            return Err(fail(format!(
                "shape: expected positive sizes like 8x8, got {:?}",
                fields.shape.as_deref().unwrap_or_default()
            )));
        }
        // Sorted and deduplicated as the string form is.
        let levels = match &fields.levels {
            Some(levels) => {
                let text: Vec<String> = levels.iter().map(usize::to_string).collect();
                Some(parse_levels(&text.join(","), "levels").map_err(|e| fail(e.to_string()))?)
            }
            None => None,
        };
        if fields.neighbours == Some(0) {
            return Err(fail(
                "neighbours: expected a whole number of at least 1, got 0".to_string(),
            ));
        }
        let defaults = ProfileOptions::default();
        let profile = ProfileOptions {
            theta: fields.theta.unwrap_or(defaults.theta),
            standardize: fields.standardize.unwrap_or(defaults.standardize),
            levels,
            max_samples: fields.max_samples.unwrap_or(defaults.max_samples),
            seed: fields.seed.unwrap_or(defaults.seed),
            shape: fields.shape.clone(),
        };
        profile.validate().map_err(|e| for_function(function, e))?;
        let selection = match (&fields.array, &fields.features_prefix) {
            (Some(a), _) => Some(FeatureSelection::Array(a.clone())),
            (_, Some(p)) => Some(FeatureSelection::Prefix(p.clone())),
            _ => None,
        };
        Ok(FunctionOptions {
            profile,
            skip_null_rows: fields.skip_null_rows.unwrap_or(false),
            placement: fields.placement.unwrap_or_default(),
            shrink: fields.shrink.unwrap_or_default(),
            weighting: fields.weights.unwrap_or_default(),
            neighbours: fields.neighbours.unwrap_or(DEFAULT_NEIGHBOURS),
            selection,
            label: fields.label.clone(),
        })
    }
}

impl Default for FunctionOptions {
    fn default() -> Self {
        FunctionOptions {
            profile: ProfileOptions::default(),
            skip_null_rows: false,
            placement: Placement::default(),
            shrink: Shrink::default(),
            weighting: Weighting::default(),
            neighbours: DEFAULT_NEIGHBOURS,
            selection: None,
            label: None,
        }
    }
}

/// An entangle error as a function's error: the function's name first, and
/// an option named by its key (the core names the CLI's flag).
pub fn for_function(function: &str, e: Error) -> Error {
    let message = match e {
        Error::Option { option, problem } if option.starts_with("--") => format!(
            "options: {}: {problem}",
            option.trim_start_matches("--").replace('-', "_")
        ),
        Error::Memory(m) => return Error::Memory(format!("{function}: {m}")),
        e => e.to_string(),
    };
    Error::Function(format!("{function}: {message}"))
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
        let o = FunctionOptions::parse(
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
            FunctionOptions::parse("", "f", OptionKeys::Profile).unwrap(),
            FunctionOptions::default()
        );
        assert_eq!(
            FunctionOptions::parse("levels=2", "f", OptionKeys::Surrogate)
                .unwrap()
                .profile
                .levels,
            Some(vec![2])
        );
        let o = FunctionOptions::parse("weights=sparse, neighbours=4", "f", OptionKeys::Surrogate)
            .unwrap();
        assert_eq!((o.weighting, o.neighbours), (Weighting::Sparse, 4));
        let defaults = FunctionOptions::default();
        assert_eq!(
            (defaults.weighting, defaults.neighbours),
            (Weighting::Auto, DEFAULT_NEIGHBOURS)
        );
        let fields: EntangleOptions =
            serde_json::from_str(r#"{"weights": "dense", "neighbours": 8}"#).unwrap();
        let e = serde_json::from_str::<EntangleOptions>(r#"{"weights": "blocky"}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("weights: expected auto, dense or sparse, got 'blocky'"),
            "{e}"
        );
        assert_eq!(
            (fields.weights, fields.neighbours),
            (Some(Weighting::Dense), Some(8))
        );
        let zero = EntangleOptions {
            neighbours: Some(0),
            ..Default::default()
        };
        assert_eq!(
            FunctionOptions::resolve(&zero, "f", OptionKeys::Surrogate)
                .unwrap_err()
                .to_string(),
            "f: options: neighbours: expected a whole number of at least 1, got 0"
        );
    }

    #[test]
    fn deserialized_options_equal_the_string_form() {
        let json = r#"{"shape": [8, 8], "theta": 0.1, "levels": [3, 1, 2, 2], "max_samples": 50,
                       "seed": 7, "standardize": false, "skip_null_rows": true}"#;
        let fields: EntangleOptions = serde_json::from_str(json).unwrap();
        let text = "shape=8x8, theta=0.1, levels=1..3, max_samples=50, seed=7, standardize=false, skip_null_rows=true";
        assert_eq!(
            fields,
            text.parse::<EntangleOptions>()
                .unwrap()
                .with_levels(vec![3, 1, 2, 2])
        );
        assert_eq!(
            FunctionOptions::resolve(&fields, "f", OptionKeys::Profile).unwrap(),
            FunctionOptions::parse(text, "f", OptionKeys::Profile).unwrap()
        );
        let unknown = serde_json::from_str::<EntangleOptions>(r#"{"colour": 1}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `colour`"),
            "{unknown}"
        );
    }

    impl EntangleOptions {
        fn with_levels(mut self, levels: Vec<usize>) -> Self {
            self.levels = Some(levels);
            self
        }
    }

    #[test]
    fn malformed_options_name_the_key() {
        let err = |text: &str, keys| {
            FunctionOptions::parse(text, "entanglement", keys)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("shape=8y8", OptionKeys::Profile),
            "entanglement: options: shape: expected positive sizes like 8x8, got '8y8'"
        );
        assert_eq!(
            err("theta", OptionKeys::Profile),
            "entanglement: options: 'theta' is not key=value"
        );
        assert!(
            err("colour=red", OptionKeys::Profile)
                .contains("unknown key 'colour' (known: shape, levels")
        );
        assert_eq!(
            err("theta=0.1", OptionKeys::Surrogate),
            "entanglement: options: unknown key 'theta' (known: shape, levels, seed, skip_null_rows, placement, shrink, weights, neighbours)"
        );
        assert!(err("seed=1, seed=2", OptionKeys::Profile).contains("'seed' is given twice"));
        assert_eq!(
            err("weights=blocky", OptionKeys::Surrogate),
            "entanglement: options: weights: expected auto, dense or sparse, got 'blocky'"
        );
        assert_eq!(
            err("neighbours=0", OptionKeys::Surrogate),
            "entanglement: options: neighbours: expected a whole number of at least 1, got '0'"
        );
        assert!(
            err("weights=sparse", OptionKeys::Profile).contains("unknown key 'weights'"),
            "entropies take no weights"
        );
        assert_eq!(
            err("theta=-1", OptionKeys::Profile),
            "entanglement: options: theta: must be a positive number, got -1"
        );
        assert!(
            err("max_samples=1", OptionKeys::Profile).contains("max_samples: must be at least 2")
        );
        assert!(err("levels=3..1", OptionKeys::Profile).contains("levels"));
        let fields = EntangleOptions {
            shape: Some(vec![4, 0]),
            ..Default::default()
        };
        assert_eq!(
            FunctionOptions::resolve(&fields, "f", OptionKeys::Profile)
                .unwrap_err()
                .to_string(),
            "f: options: shape: expected positive sizes like 8x8, got [4, 0]"
        );
    }
}
