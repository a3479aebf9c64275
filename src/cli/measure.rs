//! The options that `profile` and `arrange` share (which columns, which
//! measure), and the one pass over the input and the profile they both run.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Command};

use entangle::arrange::Choice;
use entangle::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use entangle::error::Result;
use entangle::io::read::FeatureSelection;
use entangle::jobs::{Measure, Selection};
use entangle::math::profile::{DEFAULT_MAX_SAMPLES, DEFAULT_THETA, ProfileOptions};
use entangle::math::tree::{parse_levels, parse_shape};
use entangle::options::{KEYS, OptionKeys};

/// clap's parser for a [`Choice`]: its names as the possible values.
pub fn choice<C: Choice + Clone + Send + Sync>() -> impl TypedValueParser<Value = C> {
    PossibleValuesParser::new(C::names()).map(|name| C::parse(&name).expect("a possible value"))
}

/// `command` with the help of each of its flags that is an option `job`
/// takes written from the option's declaration ([`KEYS`]), as the SQL
/// functions' and Python's documentation is: those flags carry no text of
/// their own. A switch that defaults on is its `--no-` negation.
pub fn with_declared_help(mut command: Command, job: OptionKeys) -> Command {
    for key in KEYS.iter().filter(|key| key.takes.contains(&job)) {
        // As clap writes help: no code marks, no closing full stop.
        let doc = key.doc.trim().trim_end_matches('.').replace('`', "");
        let negated = format!("no_{}", key.name);
        let Some(arg) = command
            .get_arguments()
            .find(|a| [key.name, negated.as_str()].contains(&a.get_id().as_str()))
        else {
            continue;
        };
        let help = if arg.get_id() == negated.as_str() {
            format!("{doc}; this flag turns it off")
        } else if arg.get_default_values().is_empty() && arg.get_action().takes_values() {
            format!("{doc} [default: {}]", key.default)
        } else {
            doc
        };
        let id = arg.get_id().clone();
        command = command.mut_arg(id, |arg| arg.help(help));
    }
    command
}

/// Which columns hold the features and the label. (The help of a flag that
/// is a declared option comes from its declaration: [`with_declared_help`].)
#[derive(Args)]
pub struct SelectionArgs {
    /// Feature columns, comma-separated, in grid order.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["features_prefix", "array"])]
    pub features: Option<Vec<String>>,
    #[arg(long, conflicts_with = "array")]
    pub features_prefix: Option<String>,
    #[arg(long)]
    pub array: Option<String>,
    #[arg(long, value_parser = shape)]
    pub shape: Option<Shape>,
    #[arg(long)]
    pub label: Option<String>,
    #[arg(long)]
    pub skip_null_rows: bool,
}

/// A `--shape` (clap would read a bare `Vec` as a repeated flag).
#[derive(Clone, Debug)]
pub struct Shape(pub Vec<usize>);

/// `--shape`: `16,16` or `16x16`.
pub fn shape(text: &str) -> std::result::Result<Shape, String> {
    parse_shape(text)
        .map(Shape)
        .ok_or_else(|| format!("'{text}' is not a shape like 16,16"))
}

/// Options of the measure (their help comes from their declarations).
#[derive(Args)]
pub struct MeasureArgs {
    #[arg(long)]
    pub levels: Option<String>,
    #[arg(long, default_value_t = DEFAULT_MAX_SAMPLES)]
    pub max_samples: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = DEFAULT_THETA, allow_negative_numbers = true)]
    pub theta: f64,
    #[arg(long)]
    pub no_standardize: bool,
    #[arg(long, value_parser = choice::<Weighting>(), default_value = "auto")]
    pub weights: Weighting,
    #[arg(long, default_value_t = DEFAULT_NEIGHBOURS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub neighbours: usize,
}

impl SelectionArgs {
    pub fn selection(&self) -> FeatureSelection {
        if let Some(features) = &self.features {
            FeatureSelection::Columns(features.clone())
        } else if let Some(array) = &self.array {
            FeatureSelection::Array(array.clone())
        } else {
            FeatureSelection::Prefix(self.features_prefix.clone().unwrap_or_default())
        }
    }
}

impl MeasureArgs {
    pub fn options(&self, shape: Option<&Shape>) -> Result<ProfileOptions> {
        let options = ProfileOptions {
            theta: self.theta,
            standardize: !self.no_standardize,
            levels: self.levels.as_deref().map(parse_levels).transpose()?,
            max_samples: self.max_samples,
            seed: self.seed,
            shape: shape.map(|s| s.0.clone()),
        };
        options.validate()?;
        Ok(options)
    }
}

impl SelectionArgs {
    /// The selection as the jobs take it.
    pub fn job_selection(&self) -> Selection {
        Selection {
            features: self.selection(),
            label: self.label.clone(),
            skip_null_rows: self.skip_null_rows,
        }
    }
}

impl MeasureArgs {
    /// The measure as the jobs take it, for the grid `shape`.
    pub fn measure(&self, shape: Option<&Shape>) -> Result<Measure> {
        Ok(Measure {
            options: self.options(shape)?,
            weighting: self.weights,
            neighbours: self.neighbours,
        })
    }
}
