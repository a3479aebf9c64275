//! The options that `profile` and `arrange` share (which columns, which
//! measure), and the one pass over the input and the profile they both run.

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use entangle::arrange::Choice;
use entangle::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use entangle::error::Result;
use entangle::io::read::FeatureSelection;
use entangle::jobs::{Measure, Selection};
use entangle::math::profile::{DEFAULT_MAX_SAMPLES, DEFAULT_THETA, ProfileOptions};
use entangle::math::tree::{parse_levels, parse_shape};

/// clap's parser for a [`Choice`]: its names as the possible values.
pub fn choice<C: Choice + Clone + Send + Sync>() -> impl TypedValueParser<Value = C> {
    PossibleValuesParser::new(C::names()).map(|name| C::parse(&name).expect("a possible value"))
}

/// Which columns hold the features and the label.
#[derive(Args)]
pub struct SelectionArgs {
    /// Feature columns, comma-separated, in grid order.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["features_prefix", "array"])]
    pub features: Option<Vec<String>>,
    /// Every numeric column whose name starts with this prefix, in file order
    /// (default: every numeric column except the label).
    #[arg(long, conflicts_with = "array")]
    pub features_prefix: Option<String>,
    /// One array column (FixedSizeList or List of numbers) holding the features.
    #[arg(long)]
    pub array: Option<String>,
    /// Grid shape, e.g. 16,16 (or 16x16) for images; default 1D.
    #[arg(long, value_parser = shape)]
    pub shape: Option<Shape>,
    /// Label column (integer, boolean or string); omit for unlabeled data.
    #[arg(long)]
    pub label: Option<String>,
    /// Drop rows with a null feature value instead of failing.
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

/// Options of the measure.
#[derive(Args)]
pub struct MeasureArgs {
    /// Levels to report: 1,2,3 or 1..3 (default: every level where all nodes exist).
    #[arg(long)]
    pub levels: Option<String>,
    /// Rows used for the entropies (a seeded bottom-k sample beyond this).
    #[arg(long, default_value_t = DEFAULT_MAX_SAMPLES)]
    pub max_samples: usize,
    /// Seed of the row sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Theta of the feature map (cos(pi·theta·x), sin(pi·theta·x)).
    #[arg(long, default_value_t = DEFAULT_THETA, allow_negative_numbers = true)]
    pub theta: f64,
    /// Use raw values instead of standardizing each feature.
    #[arg(long)]
    pub no_standardize: bool,
    /// Surrogate weights: dense (N × N co-moments), sparse (each feature's
    /// strongest correlations, computed in blocks; for tens of thousands of
    /// features) or auto (sparse above 4096 features).
    #[arg(long, value_parser = choice::<Weighting>(), default_value = "auto")]
    pub weights: Weighting,
    /// Strongest correlations kept per feature with sparse weights.
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
