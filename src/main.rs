//! The `entangle` command line.

#[cfg(feature = "ballista")]
mod cluster_command;
#[cfg(feature = "datafusion")]
mod sql_command;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use entangle::analysis::Analysis;
use entangle::error::{Error, Result};
use entangle::io::{
    FeatureSelection, ResolvedFeatures, ScanOptions, Source, input_files, resolve_features, scan,
};
use entangle::neighbours::{DEFAULT_NEIGHBOURS, Weighting};
use entangle::plot::{plot_format, plot_profiles};
use entangle::profile::{DEFAULT_MAX_SAMPLES, DEFAULT_THETA, Profile, ProfileOptions};
use entangle::progress::Progress;
use entangle::rewrite::{check_distinct, check_permutation, write_atomically, write_rearranged};
use entangle::tree::parse_levels;
use entangle::tree::{CanonicalTree, Grid};

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
    /// Rearrange the features to lower the entanglement; writes the
    /// rearranged dataset and prints the profile before and after.
    Arrange(ArrangeArgs),
    /// Apply a saved order (from `arrange --order-out`) to another dataset.
    Apply(ApplyArgs),
    /// Run SQL (DataFusion) with every entangle function registered; Parquet
    /// and CSV files are queryable by path: SELECT … FROM 'data.parquet'.
    #[cfg(feature = "datafusion")]
    Sql(sql_command::SqlArgs),
    /// Run an Apache Ballista scheduler with every entangle function
    /// registered (`entangle sql --cluster df://HOST:PORT` sends it queries).
    #[cfg(feature = "ballista")]
    Scheduler(cluster_command::SchedulerArgs),
    /// Run an Apache Ballista executor for a scheduler.
    #[cfg(feature = "ballista")]
    Executor(cluster_command::ExecutorArgs),
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
    /// Surrogate weights: dense (N × N co-moments), sparse (each feature's
    /// strongest correlations, computed in blocks; for tens of thousands of
    /// features) or auto (sparse above 4096 features).
    #[arg(long, value_enum, default_value = "auto")]
    weights: WeightsArg,
    /// Strongest correlations kept per feature with sparse weights.
    #[arg(long, default_value_t = DEFAULT_NEIGHBOURS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    neighbours: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum WeightsArg {
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
    /// Draw the profile per level to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

#[derive(Args)]
struct ArrangeArgs {
    /// Input: a Parquet or CSV file.
    input: PathBuf,
    /// Output file (Parquet; CSV if it ends in .csv). Written atomically.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    measure: MeasureArgs,
    /// Also write the order as JSON (for `entangle apply`).
    #[arg(long, value_name = "FILE")]
    order_out: Option<PathBuf>,
    /// Print {"order", "before", "after"} as JSON.
    #[arg(long)]
    json: bool,
    /// Draw the profile before and after to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

#[derive(Args)]
struct ApplyArgs {
    /// Input: a Parquet or CSV file.
    input: PathBuf,
    /// The order file written by `arrange --order-out`.
    #[arg(long)]
    order: PathBuf,
    /// Output file (Parquet; CSV if it ends in .csv). Written atomically.
    #[arg(short, long)]
    output: PathBuf,
    /// Feature columns, overriding the order file's.
    #[arg(long, value_delimiter = ',', conflicts_with = "array")]
    features: Option<Vec<String>>,
    /// Array column, overriding the order file's.
    #[arg(long)]
    array: Option<String>,
    /// Grid shape, overriding the order file's (checked against the order).
    #[arg(long, value_parser = parse_shape)]
    shape: Option<Shape>,
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
        Command::Arrange(args) => arrange_command(args),
        Command::Apply(args) => apply_command(args),
        #[cfg(feature = "datafusion")]
        Command::Sql(args) => sql_command::sql_command(args, emit),
        #[cfg(feature = "ballista")]
        Command::Scheduler(args) => cluster_command::scheduler_command(args),
        #[cfg(feature = "ballista")]
        Command::Executor(args) => cluster_command::executor_command(args),
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

/// One pass over the input, ready for profiles.
fn analyse(
    files: &[PathBuf],
    selection: &SelectionArgs,
    options: &ProfileOptions,
    (weighting, neighbours): (Weighting, usize),
) -> Result<Analysis> {
    let scan_options = ScanOptions {
        selection: selection.selection(),
        label: selection.label.clone(),
        max_samples: options.max_samples,
        seed: options.seed,
        skip_null_rows: selection.skip_null_rows,
        weighting,
    };
    let reading = Progress::new(None, "reading", "rows");
    let scanned = scan(files, &scan_options, &|done, total| {
        reading.set(done, total)
    })?;
    reading.finish();
    Ok(Analysis::new(
        &scanned.summary,
        selection.label.as_deref(),
        scanned.warnings(),
    )?
    .with_neighbours(neighbours))
}

/// A profile with a progress bar over its partitions.
fn profile_of(
    analysis: &Analysis,
    options: &ProfileOptions,
    order: Option<&[usize]>,
) -> Result<Profile> {
    let solving = Progress::new(None, "partitions", "solved");
    let profile = analysis.profile(options, order, &|done, total| {
        solving.set(done as u64, Some(total as u64))
    })?;
    solving.finish();
    Ok(profile)
}

fn profile_command(args: ProfileArgs) -> Result<()> {
    let start = Instant::now();
    let options = args.measure.options(args.selection.shape.as_ref())?;
    args.plot.as_deref().map(plot_format).transpose()?;
    let files = input_files(&args.input)?;
    let profile = profile_of(
        &analyse(
            &files,
            &args.selection,
            &options,
            (args.measure.weights.into(), args.measure.neighbours),
        )?,
        &options,
        None,
    )?;
    if let Some(plot) = &args.plot {
        plot_profiles(
            plot,
            &args.input.display().to_string(),
            &[("profile", &profile)],
        )?;
    }
    if args.json {
        let json =
            serde_json::to_string_pretty(&profile).map_err(|e| Error::Data(e.to_string()))?;
        emit(&format!("{json}\n"))?;
    } else {
        let table = render_profile(&args.input.display().to_string(), &profile);
        emit(&format!(
            "{table}time {:.2} s\n",
            start.elapsed().as_secs_f64()
        ))?;
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
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Data(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// What a profile was computed on, in one line.
fn data_line(p: &Profile) -> String {
    let shape: Vec<String> = p.shape.iter().map(|s| s.to_string()).collect();
    format!(
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
    )
}

/// The human-readable profile table.
fn render_profile(name: &str, p: &Profile) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{name}");
    let _ = writeln!(out, "{}", data_line(p));
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

/// The order file: `{"order": [...], "features": [...]}` (wide layout) or
/// `{"order": [...], "array": "col"}`, plus `"shape"` when 2D.
#[derive(Debug, Serialize, Deserialize)]
struct OrderFile {
    order: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    array: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shape: Option<Vec<usize>>,
}

/// What a rewrite reads and writes: (input file, output file) pairs. One
/// file goes to OUTPUT; a directory or glob of files goes to OUTPUT/<file name>
/// each (OUTPUT a directory, created when the files are written).
struct RewriteTargets {
    pairs: Vec<(PathBuf, PathBuf)>,
    /// The output directory of several files.
    directory: Option<PathBuf>,
}

fn rewrite_targets(input: &Path, output: &Path) -> Result<RewriteTargets> {
    let files = input_files(input)?;
    if let [one] = files.as_slice()
        && one.as_path() == input
    {
        check_distinct(one, output)?;
        return Ok(RewriteTargets {
            pairs: vec![(one.clone(), output.to_path_buf())],
            directory: None,
        });
    }
    if output.is_file() {
        return Err(Error::option(
            "-o",
            format!(
                "{} is a file, but {} holds several files: give a directory",
                output.display(),
                input.display()
            ),
        ));
    }
    let mut targets: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    for file in files {
        let name = file.file_name().expect("a file has a name");
        let target = output.join(name);
        if targets.iter().any(|(_, t)| *t == target) {
            return Err(Error::file(
                &file,
                format!(
                    "another input file is also named {}",
                    name.to_string_lossy()
                ),
            ));
        }
        check_distinct(&file, &target)?;
        targets.push((file, target));
    }
    Ok(RewriteTargets {
        pairs: targets,
        directory: Some(output.to_path_buf()),
    })
}

/// Rewrites every input file with `order` applied; returns the rows written.
fn rewrite_all(
    targets: &RewriteTargets,
    selection: &FeatureSelection,
    label: Option<&str>,
    order: &[usize],
) -> Result<u64> {
    if let Some(dir) = targets.directory.as_ref().filter(|d| !d.is_dir()) {
        std::fs::create_dir(dir).map_err(|e| Error::file(dir, e))?;
    }
    let mut rows = 0;
    for (input, output) in &targets.pairs {
        let source = Source::open(input)?;
        let features = resolve_features(source.schema(), selection, label)?;
        let writing = Progress::new(source.rows(), "writing", "rows");
        rows += write_rearranged(&source, output, features, order, &|done, total| {
            writing.set(done, total)
        })?;
        writing.finish();
    }
    Ok(rows)
}

fn arrange_command(args: ArrangeArgs) -> Result<()> {
    let start = Instant::now();
    let options = args.measure.options(args.selection.shape.as_ref())?;
    args.plot.as_deref().map(plot_format).transpose()?;
    // Cheap checks before the long work: no output is an input, the
    // selection resolves (the write needs it again).
    let targets = rewrite_targets(&args.input, &args.output)?;
    let files: Vec<PathBuf> = targets
        .pairs
        .iter()
        .map(|(input, _)| input.clone())
        .collect();
    let features = resolve_features(
        Source::open(&files[0])?.schema(),
        &args.selection.selection(),
        args.selection.label.as_deref(),
    )?;
    let mut phases = Phases::default();
    let analysis = phases.time("read", || {
        analyse(
            &files,
            &args.selection,
            &options,
            (args.measure.weights.into(), args.measure.neighbours),
        )
    })?;
    let n = analysis.features();
    let tree = CanonicalTree::new(Grid::for_features(n, options.shape.as_deref())?);
    let levels = options.levels_for(&tree)?;
    let before = phases.time("profiles", || profile_of(&analysis, &options, None))?;
    let order = phases.time("arrange", || analysis.arrange(&tree, &levels, options.seed));
    let after = phases.time("profiles", || profile_of(&analysis, &options, Some(&order)))?;

    phases.time("write", || {
        rewrite_all(
            &targets,
            &args.selection.selection(),
            args.selection.label.as_deref(),
            &order,
        )
    })?;
    if let Some(path) = &args.order_out {
        let file = OrderFile {
            order: order.clone(),
            features: match &features {
                ResolvedFeatures::Wide(cols) => Some(cols.iter().map(|c| c.1.clone()).collect()),
                ResolvedFeatures::Array(..) => None,
            },
            array: match &features {
                ResolvedFeatures::Array(_, name) => Some(name.clone()),
                ResolvedFeatures::Wide(_) => None,
            },
            shape: options.shape.clone().filter(|s| s.len() > 1),
        };
        let json = serde_json::to_string(&file).map_err(|e| Error::Data(e.to_string()))?;
        write_atomically(path, format!("{json}\n").as_bytes())?;
    }
    if let Some(plot) = &args.plot {
        let title = format!("{} → {}", args.input.display(), args.output.display());
        plot_profiles(plot, &title, &[("before", &before), ("after", &after)])?;
    }
    if args.json {
        let json = serde_json::json!({"order": order, "before": before, "after": after});
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).map_err(|e| Error::Data(e.to_string()))?
        ))?;
    } else {
        let table = render_comparison(
            &args.input.display().to_string(),
            &args.output.display().to_string(),
            &before,
            &after,
        );
        emit(&format!(
            "{table}time {:.2} s ({})\n",
            start.elapsed().as_secs_f64(),
            phases
        ))?;
    }
    for w in &before.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn apply_command(args: ApplyArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.order).map_err(|e| Error::file(&args.order, e))?;
    let file: OrderFile = serde_json::from_str(&text)
        .map_err(|e| Error::file(&args.order, format!("not an order file (expected {{\"order\": [...], \"features\" or \"array\": ...}}): {e}")))?;
    let selection = match (&args.features, &args.array, &file.features, &file.array) {
        (Some(f), _, _, _) => FeatureSelection::Columns(f.clone()),
        (_, Some(a), _, _) => FeatureSelection::Array(a.clone()),
        (_, _, Some(f), _) => FeatureSelection::Columns(f.clone()),
        (_, _, _, Some(a)) => FeatureSelection::Array(a.clone()),
        _ => {
            return Err(Error::file(
                &args.order,
                "names neither \"features\" nor \"array\"; pass --features or --array",
            ));
        }
    };
    let targets = rewrite_targets(&args.input, &args.output)?;
    let features = resolve_features(
        Source::open(&targets.pairs[0].0)?.schema(),
        &selection,
        None,
    )?;
    let n = match &features {
        ResolvedFeatures::Wide(cols) => cols.len(),
        ResolvedFeatures::Array(..) => file.order.len(),
    };
    check_permutation(&file.order, n, "order file")?;
    if let Some(shape) = args
        .shape
        .as_ref()
        .map(|s| s.0.clone())
        .or(file.shape.clone())
    {
        Grid::for_features(n, Some(&shape))?;
    }
    let rows = rewrite_all(&targets, &selection, None, &file.order)?;
    emit(&format!(
        "wrote {} ({rows} rows, {n} features rearranged)\n",
        args.output.display()
    ))
}

/// Seconds spent per phase of a command, in first-use order.
#[derive(Default)]
struct Phases(Vec<(&'static str, f64)>);

impl Phases {
    fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let seconds = start.elapsed().as_secs_f64();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += seconds,
            None => self.0.push((name, seconds)),
        }
        out
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, s)| format!("{n} {s:.2} s"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The before/after table of `arrange`.
fn render_comparison(input: &str, output: &str, before: &Profile, after: &Profile) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{input} → {output}");
    let _ = writeln!(out, "{}", data_line(before));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "level   entropy before   entropy after   surrogate before   surrogate after"
    );
    let rows = before
        .levels
        .iter()
        .zip(&after.levels)
        .zip(before.surrogate.levels.iter().zip(&after.surrogate.levels));
    for ((b, a), (sb, sa)) in rows {
        let _ = writeln!(
            out,
            "{:>5}   {:>14.6}   {:>13.6}   {:>16.4}   {:>15.4}",
            b.level, b.mean_entropy, a.mean_entropy, sb.mean, sa.mean
        );
    }
    let _ = writeln!(
        out,
        "{:>5}   {:>14.6}   {:>13.6}   {:>16.4}   {:>15.4}",
        "mean",
        before.mean_entropy,
        after.mean_entropy,
        before.surrogate.mean,
        after.surrogate.mean
    );
    out
}
