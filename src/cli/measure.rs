//! The options that `profile` and `arrange` share (which columns, which
//! measure), and the one pass over the input and the profile they both run.

use clap::Args;

use entangle::arrange::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use entangle::error::Result;
use entangle::io::read::FeatureSelection;
use entangle::jobs::{Measure, Selection};
use entangle::math::profile::{DEFAULT_MAX_SAMPLES, DEFAULT_THETA, ProfileOptions};
use entangle::math::tree::parse_levels;

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
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<Shape>,
    /// Label column (integer, boolean or string); omit for unlabeled data.
    #[arg(long)]
    pub label: Option<String>,
    /// Drop rows with a null feature value instead of failing.
    #[arg(long)]
    pub skip_null_rows: bool,
}

#[derive(Clone, Debug)]
pub struct Shape(pub Vec<usize>);

pub fn parse_shape(text: &str) -> std::result::Result<Shape, String> {
    text.split([',', 'x', 'X'])
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{text}' is not a shape like 16,16"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Shape)
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
    #[arg(long, value_enum, default_value = "auto")]
    pub weights: WeightsArg,
    /// Strongest correlations kept per feature with sparse weights.
    #[arg(long, default_value_t = DEFAULT_NEIGHBOURS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub neighbours: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WeightsArg {
    Auto,
    Dense,
    Sparse,
}

impl From<WeightsArg> for Weighting {
    fn from(arg: WeightsArg) -> Self {
        match arg {
            WeightsArg::Auto => Weighting::Auto,
            WeightsArg::Dense => Weighting::Dense,
            WeightsArg::Sparse => Weighting::Sparse,
        }
    }
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
            levels: self
                .levels
                .as_deref()
                .map(|l| parse_levels(l, "--levels"))
                .transpose()?,
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
            weighting: self.weights.into(),
            neighbours: self.neighbours,
        })
    }
}
