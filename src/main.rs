//! The `entangle` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use entangle::error::{Error, Result};
use entangle::io::{FeatureSelection, ScanOptions, input_files, scan};
use entangle::labels::LabelScheme;
use entangle::profile::{
    DEFAULT_MAX_SAMPLES, DEFAULT_THETA, Profile, ProfileInput, ProfileOptions, compute_profile,
};
use entangle::progress::Progress;
use entangle::tree::parse_levels;

/// How well does a dataset suit locally connected neural networks (CNNs,
/// RNNs, S4, local attention)? entangle measures the quantum entanglement of
/// the data tensor under the canonical partitions of the features.
#[derive(Parser)]
#[command(name = "entangle", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Entanglement profile of a Parquet or CSV dataset (exact entropies per
    /// canonical partition, per-level means, the surrogate).
    Profile(ProfileArgs),
}

/// Which columns hold the features and the label.
#[derive(Args)]
struct SelectionArgs {
    /// Feature columns, comma-separated, in grid order.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["features_prefix", "array"])]
    features: Option<Vec<String>>,
    /// Every numeric column whose name starts with this prefix, in file order
    /// (default: every numeric column except the label).
    #[arg(long, conflicts_with = "array")]
    features_prefix: Option<String>,
    /// One array column (FixedSizeList or List of numbers) holding the features.
    #[arg(long)]
    array: Option<String>,
    /// Grid shape, e.g. 16,16 (or 16x16) for images; default 1D.
    #[arg(long, value_parser = parse_shape)]
    shape: Option<Shape>,
    /// Label column (integer, boolean or string); omit for unlabeled data.
    #[arg(long)]
    label: Option<String>,
    /// Drop rows with a null feature value instead of failing.
    #[arg(long)]
    skip_null_rows: bool,
}

#[derive(Clone, Debug)]
struct Shape(Vec<usize>);

fn parse_shape(text: &str) -> std::result::Result<Shape, String> {
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
struct MeasureArgs {
    /// Levels to report: 1,2,3 or 1..3 (default: every level where all nodes exist).
    #[arg(long)]
    levels: Option<String>,
    /// Rows used for the entropies (a seeded bottom-k sample beyond this).
    #[arg(long, default_value_t = DEFAULT_MAX_SAMPLES)]
    max_samples: usize,
    /// Seed of the row sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Theta of the feature map (cos(pi·theta·x), sin(pi·theta·x)).
    #[arg(long, default_value_t = DEFAULT_THETA, allow_negative_numbers = true)]
    theta: f64,
    /// Use raw values instead of standardizing each feature.
    #[arg(long)]
    no_standardize: bool,
}

#[derive(Args)]
struct ProfileArgs {
    /// Input: a Parquet or CSV file, or a directory of them.
    input: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    measure: MeasureArgs,
    /// Print the profile as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Profile(args) => profile_command(args),
    }
}

impl SelectionArgs {
    fn selection(&self) -> FeatureSelection {
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
    fn options(&self, shape: Option<&Shape>) -> Result<ProfileOptions> {
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

/// Reads the input and computes its profile.
fn profile_of(
    input: &std::path::Path,
    selection: &SelectionArgs,
    options: &ProfileOptions,
) -> Result<Profile> {
    let files = input_files(input)?;
    let scan_options = ScanOptions {
        selection: selection.selection(),
        label: selection.label.clone(),
        max_samples: options.max_samples,
        seed: options.seed,
        skip_null_rows: selection.skip_null_rows,
    };
    let reading = Progress::new(None, "reading", "rows");
    let scanned = scan(&files, &scan_options, &|done, total| {
        reading.set(done, total)
    })?;
    reading.finish();

    let (sample, labels) = scanned.sample_matrix();
    let scheme = LabelScheme::from_labels(scanned.labels.as_ref());
    let correlation = scanned.comoments.correlation_weights();
    let solving = Progress::new(None, "partitions", "solved");
    let profile = compute_profile(
        ProfileInput {
            rows: scanned.rows,
            sample: &sample,
            labels: selection.label.as_deref().map(|c| (c, labels.as_slice())),
            scheme: &scheme,
            correlation: correlation.as_ref(),
            warnings: scanned.warnings(),
        },
        options,
        &|done, total| solving.set(done as u64, Some(total as u64)),
    )?;
    solving.finish();
    Ok(profile)
}

fn profile_command(args: ProfileArgs) -> Result<()> {
    let start = Instant::now();
    let options = args.measure.options(args.selection.shape.as_ref())?;
    let profile = profile_of(&args.input, &args.selection, &options)?;
    if args.json {
        let json =
            serde_json::to_string_pretty(&profile).map_err(|e| Error::Data(e.to_string()))?;
        emit(&format!("{json}\n"))?;
    } else {
        let table = render_profile(&args.input.display().to_string(), &profile);
        emit(&format!("{table}time {:.2} s\n", start.elapsed().as_secs_f64()))?;
    }
    for w in &profile.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`entangle … | head`) ends quietly.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Data(format!("cannot write the output: {e}"))),
        _ => Ok(()),
    }
}

/// The human-readable profile table.
fn render_profile(name: &str, p: &Profile) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let shape: Vec<String> = p.shape.iter().map(|s| s.to_string()).collect();
    let _ = writeln!(out, "{name}");
    let _ = writeln!(
        out,
        "rows {} (used {}, seed {}) · features {} · grid {} · theta {} · {}",
        p.rows,
        p.samples_used,
        p.seed,
        p.features,
        shape.join("x"),
        p.theta,
        if p.standardize {
            "standardized"
        } else {
            "raw values"
        }
    );
    if let Some(label) = &p.label {
        let values: Vec<String> = label.values.iter().map(|v| v.to_string()).collect();
        let _ = match label.scheme {
            "binary" => writeln!(
                out,
                "label '{}': binary, {} → −1, {} → +1",
                label.column, values[0], values[1]
            ),
            scheme => writeln!(
                out,
                "label '{}': {scheme} over {}",
                label.column,
                values.join(", ")
            ),
        };
    } else {
        let _ = writeln!(out, "no label (every row weighted +1)");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "level  partitions   size  mean entropy  mean geometric   surrogate"
    );
    for (level, surrogate) in p.levels.iter().zip(&p.surrogate.levels) {
        let sizes: Vec<usize> = level.partitions.iter().map(|q| q.size).collect();
        let (lo, hi) = (
            sizes.iter().min().copied().unwrap_or(0),
            sizes.iter().max().copied().unwrap_or(0),
        );
        let size = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        let _ = writeln!(
            out,
            "{:>5}  {:>10}  {:>5}  {:>12.6}  {:>14.6}  {:>10.4}",
            level.level,
            level.partitions.len(),
            size,
            level.mean_entropy,
            level.mean_geometric,
            surrogate.mean
        );
    }
    let _ = writeln!(
        out,
        "{:>5}  {:>10}  {:>5}  {:>12.6}  {:>14}  {:>10.4}",
        "mean", "", "", p.mean_entropy, "", p.surrogate.mean
    );
    for class in &p.classes {
        let _ = writeln!(
            out,
            "  class {} vs rest: mean entropy {:.6}",
            class.label, class.mean_entropy
        );
    }
    out
}
