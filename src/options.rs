//! The options of every interface, declared once ([`declare_options!`]):
//! key, type, text parser, default, documentation and which functions take
//! it. From that one list come [`EntangleOptions`] (serde, for polars and
//! Python keywords), the SQL string form (`'shape=8x8, theta=0.085,
//! levels=1..3'`), the keys each function accepts, and [`KEYS`], the table
//! of docs/sql.md (checked by a test) that the command line and the Python
//! layer read their keys and choices from.
//!
//! Every key is optional and defaults as on the command line. Errors name
//! the function, the key and what was expected.

use std::str::FromStr;

use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};

use crate::arrange::Choice;
use crate::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use crate::arrange::seams::Placement;
use crate::arrange::shrink::Shrink;
use crate::io::read::FeatureSelection;
use crate::math::profile::ProfileOptions;
use crate::math::tree::{parse_levels, parse_shape};
use crate::{Error, Result};

/// Which functions take a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKeys {
    /// `entanglement` and `entanglement_profile` (SQL and polars): every
    /// measurement key.
    Profile,
    /// `surrogate_entanglement` and `feature_order`: no sampling or feature
    /// map keys.
    Surrogate,
    /// The `rearrange` table function: the surrogate's keys plus where the
    /// features are.
    Table,
    /// The `profile` job (`entangle profile`, Python's `entangle.profile`).
    ProfileJob,
    /// The `arrange` job (`entangle arrange`, Python's `entangle.arrange`).
    ArrangeJob,
}

/// One option as [`KEYS`] lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionKey {
    /// The canonical key: the SQL key and Python keyword; the command line's
    /// flag is `--` with dashes for underscores.
    pub name: &'static str,
    /// What a value looks like.
    pub value: &'static str,
    /// The default, as a user reads it.
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// The functions that take it.
    pub takes: &'static [OptionKeys],
}

/// Declares the options: each `key: Type = parser, "value", "default",
/// [functions]` with its documentation. The parser turns the text form into
/// the value; its error is the problem after `key: `.
macro_rules! declare_options {
    ($(
        #[doc = $doc:literal]
        $key:ident: $ty:ty = $parse:expr, $value:literal, $default:literal, [$($takes:ident),+];
    )+) => {
        /// The options as a user writes them: every field optional.
        /// Deserializes from any serde format with the keys of [`KEYS`]
        /// (`{"shape": [16, 16], "levels": "1..3", "max_samples": 500}`; a
        /// value may also be its text form), and parses from the SQL string
        /// form, `"shape=16x16, levels=1..3"`.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct EntangleOptions {
            $(#[doc = $doc] pub $key: Option<$ty>,)+
        }

        /// Every option, in declaration order.
        pub const KEYS: &[OptionKey] = &[$(OptionKey {
            name: stringify!($key),
            value: $value,
            default: $default,
            doc: $doc,
            takes: &[$(OptionKeys::$takes),+],
        }),+];

        impl EntangleOptions {
            /// The keys given, in declaration order.
            fn given(&self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $(if self.$key.is_some() {
                    keys.push(stringify!($key));
                })+
                keys
            }

            /// Sets `key` from its text form; the error is the problem.
            fn set_text(&mut self, key: &str, text: &str) -> std::result::Result<(), String> {
                match key {
                    $(stringify!($key) => {
                        let parse: fn(&str) -> std::result::Result<$ty, String> = $parse;
                        self.$key = Some(parse(text)?);
                    })+
                    _ => return Err(format!("unknown key '{key}'")),
                }
                Ok(())
            }
        }

        impl<'de> Deserialize<'de> for EntangleOptions {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                struct Keys;
                impl<'de> Visitor<'de> for Keys {
                    type Value = EntangleOptions;

                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a map of entangle options")
                    }

                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> std::result::Result<EntangleOptions, A::Error> {
                        let mut options = EntangleOptions::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $(stringify!($key) => {
                                    let parse: fn(&str) -> std::result::Result<$ty, String> = $parse;
                                    options.$key = map.next_value_seed(Keyed {
                                        key: stringify!($key),
                                        parse,
                                    })?;
                                })+
                                other => {
                                    return Err(serde::de::Error::unknown_field(
                                        other,
                                        &[$(stringify!($key)),+],
                                    ));
                                }
                            }
                        }
                        Ok(options)
                    }
                }
                deserializer.deserialize_map(Keys)
            }
        }
    };
}

declare_options! {
    /// Grid shape, e.g. `16x16` for images.
    shape: Vec<usize> = shape_value, "sizes like 16x16", "1D (one line)", [Profile, Surrogate, Table, ProfileJob, ArrangeJob];
    /// Levels to report (entropies) or to minimise (orders): `1..3`, `1,2,3` or a list.
    levels: Vec<usize> = levels_value, "levels like 1..3", "every level", [Profile, Surrogate, Table, ProfileJob, ArrangeJob];
    /// Frequency of the feature map cos(π·θ·x), sin(π·θ·x).
    theta: f64 = number, "a number", "0.085", [Profile, ProfileJob, ArrangeJob];
    /// Rows used for the entropies (a seeded bottom-k sample beyond it).
    max_samples: usize = whole_number, "a whole number", "1000", [Profile, ProfileJob, ArrangeJob];
    /// Seed of the row sample and of the arrangement.
    seed: u64 = whole_number, "a whole number", "0", [Profile, Surrogate, Table, ProfileJob, ArrangeJob];
    /// Standardize each feature before the feature map.
    standardize: bool = boolean, "true or false", "true", [Profile, ProfileJob, ArrangeJob];
    /// Drop rows whose features hold a null instead of failing.
    skip_null_rows: bool = boolean, "true or false", "false", [Profile, Surrogate, Table, ProfileJob, ArrangeJob];
    /// How each tree node's children are placed: to maximise the seams (the correlations of grid neighbours, which CNN kernels and sequence models see), or as the partitioner left them. No canonical cut changes either way.
    placement: Placement = choice, "seams or tree", "seams", [Surrogate, Table, ArrangeJob];
    /// Lower every correlation's magnitude by τ (to at least 0) before partitioning, so that weak, noisy ones (about 1/√rows) stop pulling features together; `auto` arranges with τ = 0, 0.05, …, 0.3 and keeps the order with the highest seams. Meant for few rows (hundreds); the reports use the weights themselves.
    shrink: Shrink = Shrink::parse, "none, auto or τ in [0, 1)", "none", [Surrogate, Table, ArrangeJob];
    /// Surrogate weights: N × N co-moments (`dense`), each feature's strongest correlations, computed in blocks for tens of thousands of features (`sparse`), or sparse above 4096 features (`auto`).
    weights: Weighting = choice, "auto, dense or sparse", "auto", [Surrogate, Table, ProfileJob, ArrangeJob];
    /// Strongest correlations kept per feature with sparse weights.
    neighbours: usize = at_least_one, "a whole number ≥ 1", "16", [Surrogate, Table, ProfileJob, ArrangeJob];
    /// The array column (FixedSizeList or List of numbers) holding the features.
    array: String = text, "a column", "every numeric column but the label", [Table, ProfileJob, ArrangeJob];
    /// The prefix of the wide feature columns, in file order.
    features_prefix: String = text, "a prefix", "every numeric column but the label", [Table, ProfileJob, ArrangeJob];
    /// The label column (integer, boolean or string; not a feature).
    label: String = text, "a column", "unlabeled", [Table, ProfileJob, ArrangeJob];
}

/// A value of `key`: its serde form, or its text form in a string; an error
/// names the key.
struct Keyed<T> {
    key: &'static str,
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Keyed<T> {
    type Value = Option<T>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Option<T>, D::Error> {
        let fail = |problem: String| serde::de::Error::custom(format!("{}: {problem}", self.key));
        // Buffered, so that a string can go to the text parser and anything
        // else to the value's own serde (`levels` as "1..3" or [1, 2, 3]).
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(text) => (self.parse)(&text).map(Some).map_err(fail),
            other => match T::deserialize(&other) {
                Ok(value) => Ok(Some(value)),
                // A number or boolean read as text (`levels=2`); if that
                // fails too, the value's own error says more.
                Err(e) => match other {
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        Err(fail(e.to_string()))
                    }
                    scalar => (self.parse)(&scalar.to_string())
                        .map(Some)
                        .map_err(|_| fail(e.to_string())),
                },
            },
        }
    }
}

fn shape_value(text: &str) -> std::result::Result<Vec<usize>, String> {
    parse_shape(text)
        .filter(|sides| sides.iter().all(|&side| side > 0))
        .ok_or_else(|| format!("expected positive sizes like 8x8, got '{text}'"))
}

fn levels_value(text: &str) -> std::result::Result<Vec<usize>, String> {
    parse_levels(text).map_err(|e| match e {
        Error::Option { problem, .. } => problem,
        e => e.to_string(),
    })
}

fn number(text: &str) -> std::result::Result<f64, String> {
    text.parse()
        .map_err(|_| format!("expected a number, got '{text}'"))
}

fn whole_number<T: FromStr>(text: &str) -> std::result::Result<T, String> {
    text.parse()
        .map_err(|_| format!("expected a whole number, got '{text}'"))
}

fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    text.parse()
        .ok()
        .filter(|&k: &usize| k > 0)
        .ok_or_else(|| format!("expected a whole number of at least 1, got '{text}'"))
}

fn boolean(text: &str) -> std::result::Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected true or false, got '{text}'")),
    }
}

fn choice<C: Choice>(text: &str) -> std::result::Result<C, String> {
    C::parse(text)
}

fn text(text: &str) -> std::result::Result<String, String> {
    Ok(text.to_string())
}

impl OptionKeys {
    /// The keys these functions take, in declaration order.
    pub fn allowed(self) -> Vec<&'static str> {
        KEYS.iter()
            .filter(|key| key.takes.contains(&self))
            .map(|key| key.name)
            .collect()
    }
}

/// The SQL string form, with every key of the SQL functions.
impl FromStr for EntangleOptions {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let profile = OptionKeys::Profile.allowed();
        let table = OptionKeys::Table.allowed();
        let extra = table.iter().filter(|k| !profile.contains(k));
        let keys: Vec<&str> = profile.iter().chain(extra).copied().collect();
        EntangleOptions::parse_keys(text, &keys)
    }
}

impl EntangleOptions {
    /// Parses the string form, accepting the `known` keys only.
    fn parse_keys(text: &str, known: &[&str]) -> Result<Self> {
        let mut fields = EntangleOptions::default();
        let mut seen: Vec<&str> = Vec::new();
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
            if seen.contains(&key) {
                return Err(options_error(format!("'{key}' is given twice")));
            }
            seen.push(key);
            fields
                .set_text(key, value)
                .map_err(|problem| options_error(format!("{key}: {problem}")))?;
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
    /// Where the features are (`array=col`, `features_prefix=p`); default
    /// every numeric column but the label.
    pub selection: Option<FeatureSelection>,
    /// The label column (not a feature).
    pub label: Option<String>,
}

/// An options problem, before the function's name is known.
fn options_error(problem: String) -> Error {
    Error::Function(format!("options: {problem}"))
}

impl FunctionOptions {
    /// Parses an options string for `function`, accepting the `keys` it takes.
    pub fn parse(text: &str, function: &str, keys: OptionKeys) -> Result<Self> {
        let fields = EntangleOptions::parse_keys(text, &keys.allowed())
            .map_err(|e| for_function(function, e))?;
        FunctionOptions::resolve(&fields, function, keys)
    }

    /// Checks `fields` for `function`: only the `keys` it takes, and values
    /// the core accepts. Errors read `function: options: key: problem`.
    pub fn resolve(fields: &EntangleOptions, function: &str, keys: OptionKeys) -> Result<Self> {
        let fail = |key: &str, problem: String| {
            for_function(function, Error::option(key.to_string(), problem))
        };
        let allowed = keys.allowed();
        if let Some(key) = fields.given().into_iter().find(|k| !allowed.contains(k)) {
            return Err(for_function(
                function,
                options_error(format!(
                    "unknown key '{key}' (known: {})",
                    allowed.join(", ")
                )),
            ));
        }
        if fields.array.is_some() && fields.features_prefix.is_some() {
            return Err(for_function(
                function,
                options_error("give either array or features_prefix, not both".to_string()),
            ));
        }
        if let Some(shape) = fields
            .shape
            .as_ref()
            .filter(|s| s.is_empty() || s.contains(&0))
        {
            return Err(fail(
                "shape",
                format!("expected positive sizes like 8x8, got {shape:?}"),
            ));
        }
        // Sorted and deduplicated as the string form is.
        let levels = match &fields.levels {
            Some(levels) => {
                let text: Vec<String> = levels.iter().map(usize::to_string).collect();
                Some(parse_levels(&text.join(",")).map_err(|e| for_function(function, e))?)
            }
            None => None,
        };
        if fields.neighbours == Some(0) {
            return Err(fail(
                "neighbours",
                "expected a whole number of at least 1, got 0".to_string(),
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

/// An entangle error as a SQL or polars function's error: the function's
/// name first, and an option rendered as the string form names it
/// (`options: theta: …`).
pub fn for_function(function: &str, e: Error) -> Error {
    let message = match e {
        Error::Option { option, problem } => format!("options: {option}: {problem}"),
        Error::Memory(m) => return Error::Memory(format!("{function}: {m}")),
        e => e.to_string(),
    };
    Error::Function(format!("{function}: {message}"))
}

/// An entangle error as the command line prints it: an option as its flag
/// (`--max-samples`, `-o`).
pub fn for_command_line(e: &Error) -> String {
    match e {
        Error::Option { option, problem } => format!("{}: {problem}", flag(option)),
        e => e.to_string(),
    }
}

/// The command line's flag for a canonical key.
pub fn flag(key: &str) -> String {
    match key {
        "output" => "-o".to_string(),
        key => format!("--{}", key.replace('_', "-")),
    }
}

/// docs/sql.md's table of the keys, from [`KEYS`].
pub fn keys_table() -> String {
    let functions = |key: &OptionKey| {
        let mut names = Vec::new();
        for (keys, name) in [
            (OptionKeys::Profile, "entropies"),
            (OptionKeys::Surrogate, "surrogate, order"),
            (OptionKeys::Table, "`rearrange`"),
        ] {
            if key.takes.contains(&keys) {
                names.push(name);
            }
        }
        names.join(", ")
    };
    let mut table = String::from(
        "| key | value | default | taken by | what it does |\n|---|---|---|---|---|\n",
    );
    for key in KEYS.iter().filter(|key| !functions(key).is_empty()) {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            key.name,
            key.value,
            key.default,
            functions(key),
            key.doc.trim()
        ));
    }
    table
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
        // A value in its text form, as Python keywords may give it.
        let texts: EntangleOptions = serde_json::from_str(
            r#"{"levels": "1..3", "shape": "8x8", "placement": "tree", "shrink": 0.2, "seed": null}"#,
        )
        .unwrap();
        assert_eq!(texts.levels, Some(vec![1, 2, 3]));
        assert_eq!(texts.shape, Some(vec![8, 8]));
        assert_eq!(texts.placement, Some(Placement::Tree));
        assert_eq!(texts.shrink, Some(Shrink::By(0.2)));
        assert_eq!(texts.seed, None);
        let one: EntangleOptions = serde_json::from_str(r#"{"levels": 2}"#).unwrap();
        assert_eq!(one.levels, Some(vec![2]));
        let e = serde_json::from_str::<EntangleOptions>(r#"{"levels": "1..x"}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("levels: 'x' is not a level number in '1..x'"),
            "{e}"
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

    #[test]
    fn an_option_is_named_in_each_interfaces_spelling() {
        let e = ProfileOptions {
            theta: -1.0,
            ..ProfileOptions::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            for_command_line(&e),
            "--theta: must be a positive number, got -1"
        );
        assert_eq!(e.to_string(), "theta: must be a positive number, got -1");
        assert_eq!(
            for_function("entanglement", e).to_string(),
            "entanglement: options: theta: must be a positive number, got -1"
        );
        assert_eq!(flag("max_samples"), "--max-samples");
        assert_eq!(flag("output"), "-o");
    }

    #[test]
    fn declared_defaults_are_the_cores() {
        let default = |name: &str| KEYS.iter().find(|k| k.name == name).unwrap().default;
        let core = ProfileOptions::default();
        assert_eq!(default("theta"), core.theta.to_string());
        assert_eq!(default("max_samples"), core.max_samples.to_string());
        assert_eq!(default("seed"), core.seed.to_string());
        assert_eq!(default("standardize"), core.standardize.to_string());
        assert_eq!(default("neighbours"), DEFAULT_NEIGHBOURS.to_string());
        assert_eq!(default("placement"), Placement::default().name());
        assert_eq!(default("weights"), Weighting::default().name());
        assert_eq!(Shrink::parse(default("shrink")), Ok(Shrink::default()));
    }

    #[test]
    fn docs_sql_lists_every_key_as_declared() {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sql.md"),
        )
        .unwrap();
        // The table sits in a list item, indented.
        let page: Vec<&str> = page.lines().map(str::trim_start).collect();
        let table = keys_table();
        assert!(
            page.join("\n").contains(table.trim_end()),
            "docs/sql.md's option table differs from the declaration (src/options.rs); \
             it should read:\n{table}"
        );
    }
}
