//! The jobs that the command line and the Python package run on files:
//! profile, arrange and apply. A job reads, computes and writes; the front
//! ends parse options, show progress (through an [`Observer`]) and render
//! the results, so both give the same numbers and write the same bytes.

use crate::arrange::Choice;
use std::path::{Path, PathBuf};

pub use crate::analysis::Phases;
use crate::analysis::{Analysis, Report};
use crate::arrange::neighbours::Weighting;
use crate::arrange::seams::Placement;
use crate::arrange::shrink::Shrink;
use crate::error::{Error, Result};
use crate::io::atomic::{StagingDir, write_atomically};
use crate::io::read::{
    FeatureColumns, FeatureSelection, ResolvedFeatures, ScanOptions, Source, input_files,
    resolve_features, scan_sources,
};
use crate::io::rewrite::{OrderFile, check_distinct, check_permutation, write_rearranged};
use crate::math::profile::{Profile, ProfileOptions, SurrogateProfile};
use crate::math::tree::{CanonicalTree, Grid};
use crate::page::{Analysed, Measured, Measurement, Page};

/// Where the features and the label are.
#[derive(Debug, Clone)]
pub struct Selection {
    pub features: FeatureSelection,
    /// The label column (integer, boolean or string); `None`: unlabeled.
    pub label: Option<String>,
    /// Drop rows with a null feature value instead of failing.
    pub skip_null_rows: bool,
}

/// What is measured, and how the surrogate weights are held.
#[derive(Debug, Clone)]
pub struct Measure {
    pub options: ProfileOptions,
    pub weighting: Weighting,
    /// Strongest correlations kept per feature with sparse weights.
    pub neighbours: usize,
}

/// The stages a job reports progress of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Rows read (total known for Parquet).
    Reading,
    /// Canonical partitions solved.
    Partitions,
    /// Rows written.
    Writing,
}

impl Stage {
    pub fn message(self) -> &'static str {
        match self {
            Stage::Reading => "reading",
            Stage::Partitions => "partitions",
            Stage::Writing => "writing",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Stage::Reading | Stage::Writing => "rows",
            Stage::Partitions => "solved",
        }
    }
}

/// Told how a job advances: a progress bar, or nothing.
pub trait Observer: Sync {
    /// `stage` has done `done` of `total` (`None`: not known).
    fn progress(&self, stage: Stage, done: u64, total: Option<u64>);
    /// `stage` is over.
    fn finished(&self, _stage: Stage) {}
}

/// An observer that shows nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn progress(&self, _stage: Stage, _done: u64, _total: Option<u64>) {}
}

/// One pass over the input files, ready for profiles.
pub fn analyse(
    files: &[PathBuf],
    selection: &Selection,
    measure: &Measure,
    observer: &dyn Observer,
) -> Result<Analysis> {
    analyse_sources(&Source::open_all(files)?, selection, measure, observer)
}

/// [`analyse`] of sources already open (files, or batches in memory).
pub fn analyse_sources(
    sources: &[Source],
    selection: &Selection,
    measure: &Measure,
    observer: &dyn Observer,
) -> Result<Analysis> {
    let scan_options = ScanOptions {
        selection: selection.features.clone(),
        label: selection.label.clone(),
        max_samples: measure.options.max_samples,
        seed: measure.options.seed,
        skip_null_rows: selection.skip_null_rows,
        weighting: measure.weighting,
    };
    let scanned = scan_sources(sources, &scan_options, &|done, total| {
        observer.progress(Stage::Reading, done, total)
    })?;
    observer.finished(Stage::Reading);
    let mut analysis = Analysis::new(
        &scanned.summary,
        selection.label.as_deref(),
        scanned.warnings(),
    )?
    .with_neighbours(measure.neighbours);
    analysis.feature_columns = scanned.feature_columns;
    Ok(analysis)
}

/// The exact profile of the analysed features in `order` (`None`: input order).
pub fn profile_of(
    analysis: &Analysis,
    options: &ProfileOptions,
    order: Option<&[usize]>,
    observer: &dyn Observer,
) -> Result<Profile> {
    let profile = analysis.profile(options, order, &|done, total| {
        observer.progress(Stage::Partitions, done as u64, Some(total as u64))
    })?;
    observer.finished(Stage::Partitions);
    Ok(profile)
}

/// A finished `profile`.
pub struct Profiled {
    pub profile: Profile,
    /// The columns the features were taken from.
    pub feature_columns: FeatureColumns,
    /// The report page, when asked (its header has no time yet).
    pub page: Option<Page>,
}

impl Profiled {
    /// `profile --json`: the profile's keys and `feature_columns`.
    pub fn json(&self) -> serde_json::Value {
        let mut json = serde_json::json!(self.profile);
        json["feature_columns"] = serde_json::json!(self.feature_columns);
        json
    }
}

/// The profile of a file or directory of files (`entangle profile`), and
/// its report page when asked.
pub fn profile(
    input: &Path,
    selection: &Selection,
    measure: &Measure,
    observer: &dyn Observer,
    page: bool,
) -> Result<Profiled> {
    let files = input_files(input)?;
    let analysis = analyse(&files, selection, measure, observer)?;
    profile_analysed(
        &input.display().to_string(),
        analysis,
        measure,
        observer,
        page,
    )
}

/// The profile of an analysis of `input` (a path, or a frame's name).
pub fn profile_analysed(
    input: &str,
    analysis: Analysis,
    measure: &Measure,
    observer: &dyn Observer,
    page: bool,
) -> Result<Profiled> {
    let profile = profile_of(&analysis, &measure.options, None, observer)?;
    let page = page
        .then(|| profile_page(input, &analysis, measure, &profile))
        .transpose()?;
    Ok(Profiled {
        profile,
        feature_columns: analysis.feature_columns,
        page,
    })
}

/// The report page of a profile of `input` (a file, or a frame's name).
fn profile_page(
    input: &str,
    analysis: &Analysis,
    measure: &Measure,
    profile: &Profile,
) -> Result<Page> {
    let tree = CanonicalTree::new(Grid::for_features(
        analysis.features(),
        measure.options.shape.as_deref(),
    )?);
    let levels = measure.options.levels_for(&tree)?;
    let mut facts = vec![("input".to_string(), input.to_string())];
    facts.extend(analysis_facts(
        analysis,
        measure,
        Some(profile.samples_used),
    ));
    Page::of_analysis(Analysed {
        command: "profile",
        facts,
        analysis,
        tree: &tree,
        levels: &levels,
        measurements: vec![Measurement {
            name: "input",
            key: "",
            order: None,
            measured: Measured::Entanglement(profile),
        }],
        order_file: None,
    })
}

/// The facts of an analysis a page's header shows, options by their
/// canonical keys.
fn analysis_facts(
    analysis: &Analysis,
    measure: &Measure,
    samples_used: Option<usize>,
) -> Vec<(String, String)> {
    let o = &measure.options;
    let rows = match samples_used {
        Some(used) => format!(
            "{} ({used} sampled for the entropies; the surrogate uses all)",
            analysis.rows
        ),
        None => format!("{} (all used by the surrogate)", analysis.rows),
    };
    let shape = o.shape.as_ref().map_or("auto".to_string(), |s| {
        s.iter().map(usize::to_string).collect::<Vec<_>>().join("x")
    });
    let levels = o.levels.as_ref().map_or("auto".to_string(), |l| {
        l.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
    });
    vec![
        ("rows".into(), rows),
        ("features".into(), analysis.features().to_string()),
        (
            "label".into(),
            analysis
                .label_column
                .clone()
                .unwrap_or_else(|| "none".into()),
        ),
        (
            "options".into(),
            format!(
                "shape={shape} levels={levels} theta={} standardize={} max_samples={} seed={} \
                 weights={} neighbours={}",
                o.theta,
                o.standardize,
                o.max_samples,
                o.seed,
                measure.weighting.name(),
                measure.neighbours
            ),
        ),
    ]
}

/// What a rewrite reads and writes: each input file, opened, and its output
/// file. One file goes to OUTPUT; a directory or glob of files goes to
/// OUTPUT/<file name> each (OUTPUT a directory, created when all files are
/// written).
pub struct RewriteTargets {
    sources: Vec<Source>,
    outputs: Vec<PathBuf>,
    /// The output directory of several files.
    directory: Option<PathBuf>,
}

impl RewriteTargets {
    /// Checks where each input goes, then opens the inputs (once: the
    /// reading and the writing use what opening them learned).
    pub fn new(input: &Path, output: &Path) -> Result<Self> {
        let files = input_files(input)?;
        let (outputs, directory) = if let [one] = files.as_slice()
            && one.as_path() == input
        {
            check_distinct(one, output)?;
            (vec![output.to_path_buf()], None)
        } else {
            (
                Self::into_directory(input, &files, output)?,
                Some(output.to_path_buf()),
            )
        };
        Ok(RewriteTargets {
            sources: Source::open_all(&files)?,
            outputs,
            directory,
        })
    }

    /// OUTPUT/<file name> for each of several files.
    fn into_directory(input: &Path, files: &[PathBuf], output: &Path) -> Result<Vec<PathBuf>> {
        if output.is_file() {
            return Err(Error::option(
                "output",
                format!(
                    "{} is a file, but {} holds several files: give a directory",
                    output.display(),
                    input.display()
                ),
            ));
        }
        let mut targets: Vec<PathBuf> = Vec::with_capacity(files.len());
        for file in files {
            let name = file.file_name().expect("a file has a name");
            let target = output.join(name);
            if targets.contains(&target) {
                return Err(Error::file(
                    file,
                    format!(
                        "another input file is also named {}",
                        name.to_string_lossy()
                    ),
                ));
            }
            check_distinct(file, &target)?;
            targets.push(target);
        }
        Ok(targets)
    }

    /// The features of the first input under `selection`.
    fn features(
        &self,
        selection: &FeatureSelection,
        label: Option<&str>,
    ) -> Result<ResolvedFeatures> {
        resolve_features(self.sources[0].schema(), selection, label)
    }

    /// Rewrites every input file with `order` applied; returns the rows
    /// written. Several files are written into a staging directory first and
    /// appear in the output directory only when all of them succeeded.
    pub fn rewrite(
        &self,
        selection: &FeatureSelection,
        label: Option<&str>,
        order: &[usize],
        shape: Option<&[usize]>,
        observer: &dyn Observer,
    ) -> Result<u64> {
        let staging = self
            .directory
            .as_deref()
            .map(StagingDir::create)
            .transpose()?;
        let mut rows = 0;
        for (source, output) in self.sources.iter().zip(&self.outputs) {
            let written = match &staging {
                Some(staging) => staging
                    .path()
                    .join(output.file_name().expect("a target has a name")),
                None => output.clone(),
            };
            rows += rewrite_one(source, &written, selection, label, order, shape, observer)
                .map_err(|e| match (&staging, e) {
                    // Name the file among several, unless the error already does.
                    (Some(_), e @ Error::File { .. }) | (None, e) => e,
                    (Some(_), e) => Error::file(source.path(), e),
                })?;
        }
        if let Some(staging) = staging {
            staging.commit()?;
        }
        Ok(rows)
    }
}

fn rewrite_one(
    source: &Source,
    output: &Path,
    selection: &FeatureSelection,
    label: Option<&str>,
    order: &[usize],
    shape: Option<&[usize]>,
    observer: &dyn Observer,
) -> Result<u64> {
    let features = resolve_features(source.schema(), selection, label)?;
    let rows = write_rearranged(source, output, features, order, shape, &|done, total| {
        observer.progress(Stage::Writing, done, total)
    })?;
    observer.finished(Stage::Writing);
    Ok(rows)
}

/// What `arrange` reports before and after.
pub enum ArrangeReport {
    Entanglement {
        before: Box<Profile>,
        after: Box<Profile>,
    },
    Surrogate {
        before: SurrogateProfile,
        after: SurrogateProfile,
    },
}

/// `arrange` with its input read: the front end can look at the features
/// (to choose the report, to refuse options) before the long work.
pub struct ArrangeJob {
    targets: RewriteTargets,
    selection: Selection,
    measure: Measure,
    features: ResolvedFeatures,
    analysis: Analysis,
    phases: Phases,
}

/// A finished `arrange`.
pub struct Arranged {
    pub order: Vec<usize>,
    pub report: ArrangeReport,
    /// Rows read (all of them; the surrogate's).
    pub rows: u64,
    pub shape: Vec<usize>,
    pub levels: Vec<usize>,
    /// The order file's content (written when asked).
    pub order_file: OrderFile,
    /// The τ the partitioner's weights were shrunk by, when asked to shrink.
    pub shrink: Option<f64>,
    pub phases: Phases,
    pub warnings: Vec<String>,
    /// The columns the features were taken from.
    pub feature_columns: FeatureColumns,
    /// The report page, when asked (its header has no time yet).
    pub page: Option<Page>,
}

/// Where `arrange` writes, and what else it makes.
pub struct ArrangeOutputs<'a> {
    /// The order file (`--order-out`).
    pub order_out: Option<&'a Path>,
    /// Build the report page.
    pub page: bool,
}

impl ArrangeJob {
    /// Checks the targets and the selection, then reads the input.
    pub fn read(
        input: &Path,
        output: &Path,
        selection: &Selection,
        measure: &Measure,
        observer: &dyn Observer,
    ) -> Result<Self> {
        let targets = RewriteTargets::new(input, output)?;
        // Resolved now: a bad selection fails before the long read.
        let features = targets.features(&selection.features, selection.label.as_deref())?;
        let mut phases = Phases::default();
        let analysis = phases.time("read", || {
            analyse_sources(&targets.sources, selection, measure, observer)
        })?;
        Ok(ArrangeJob {
            targets,
            selection: selection.clone(),
            measure: measure.clone(),
            features,
            analysis,
            phases,
        })
    }

    pub fn features(&self) -> usize {
        self.analysis.features()
    }

    /// Finds the order, reports before and after, writes the output (and
    /// the order file to `order_out`).
    pub fn run(
        mut self,
        report: Report,
        placement: Placement,
        shrink: Shrink,
        outputs: ArrangeOutputs<'_>,
        observer: &dyn Observer,
    ) -> Result<Arranged> {
        let (analysis, options, phases) = (&self.analysis, &self.measure.options, &mut self.phases);
        let tree = CanonicalTree::new(Grid::for_features(
            analysis.features(),
            options.shape.as_deref(),
        )?);
        let levels = options.levels_for(&tree)?;
        let arrange = |phases: &mut Phases| {
            analysis.arrange(&tree, &levels, options.seed, placement, shrink, phases)
        };
        let (order, tau, report) = match report {
            Report::Surrogate => {
                let before = phases.time("surrogate", || {
                    analysis.surrogate_profile(&tree, &levels, None)
                });
                let (order, tau) = arrange(phases);
                let after = phases.time("surrogate", || {
                    analysis.surrogate_profile(&tree, &levels, Some(&order))
                });
                (order, tau, ArrangeReport::Surrogate { before, after })
            }
            Report::Entanglement => {
                let before =
                    phases.time("profiles", || profile_of(analysis, options, None, observer))?;
                let (order, tau) = arrange(phases);
                let after = phases.time("profiles", || {
                    profile_of(analysis, options, Some(&order), observer)
                })?;
                let (before, after) = (Box::new(before), Box::new(after));
                (order, tau, ArrangeReport::Entanglement { before, after })
            }
        };
        let shape = options.shape.as_deref();
        phases.time("write", || {
            self.targets.rewrite(
                &self.selection.features,
                self.selection.label.as_deref(),
                &order,
                shape,
                observer,
            )
        })?;
        let order_file = OrderFile::new(&order, &self.features, shape);
        if let Some(path) = outputs.order_out {
            let json =
                serde_json::to_string(&order_file).map_err(|e| Error::Data(e.to_string()))?;
            write_atomically(path, format!("{json}\n").as_bytes())?;
        }
        let warnings = match &report {
            ArrangeReport::Entanglement { before, .. } => before.warnings.clone(),
            ArrangeReport::Surrogate { .. } => analysis.warnings.clone(),
        };
        let page = if outputs.page {
            let facts = arrange_facts(
                &self.targets,
                analysis,
                &self.measure,
                &report,
                placement,
                shrink,
                tau,
            );
            let page = phases.time("page", || {
                arrange_page(
                    facts,
                    analysis,
                    &tree,
                    &levels,
                    &order,
                    &report,
                    &order_file,
                )
            })?;
            Some(page)
        } else {
            None
        };
        Ok(Arranged {
            order,
            report,
            rows: analysis.rows,
            shape: tree.grid().shape().to_vec(),
            levels,
            order_file,
            shrink: (shrink != Shrink::None).then_some(tau),
            phases: self.phases,
            warnings,
            feature_columns: analysis.feature_columns.clone(),
            page,
        })
    }
}

/// The header of an arrangement's page.
fn arrange_facts(
    targets: &RewriteTargets,
    analysis: &Analysis,
    measure: &Measure,
    report: &ArrangeReport,
    placement: Placement,
    shrink: Shrink,
    tau: f64,
) -> Vec<(String, String)> {
    let (inputs, output) = match &targets.directory {
        Some(dir) => (targets.sources.len().to_string() + " files", dir.clone()),
        None => (
            targets.sources[0].path().display().to_string(),
            targets.outputs[0].clone(),
        ),
    };
    let samples_used = match report {
        ArrangeReport::Entanglement { before, .. } => Some(before.samples_used),
        ArrangeReport::Surrogate { .. } => None,
    };
    let mut facts = vec![
        ("input".to_string(), inputs),
        ("output".to_string(), output.display().to_string()),
    ];
    facts.extend(analysis_facts(analysis, measure, samples_used));
    let shrink = match shrink {
        Shrink::None => "none".to_string(),
        Shrink::Auto => format!("auto (chose {tau})"),
        _ => tau.to_string(),
    };
    facts.push((
        "arrangement".to_string(),
        format!(
            "placement={} shrink={shrink} report={}",
            placement.name(),
            match report {
                ArrangeReport::Entanglement { .. } => "entanglement",
                ArrangeReport::Surrogate { .. } => "surrogate",
            }
        ),
    ));
    facts
}

/// The report page of an arrangement: before and after.
fn arrange_page(
    facts: Vec<(String, String)>,
    analysis: &Analysis,
    tree: &CanonicalTree,
    levels: &[usize],
    order: &[usize],
    report: &ArrangeReport,
    order_file: &OrderFile,
) -> Result<Page> {
    let (before, after) = match report {
        ArrangeReport::Entanglement { before, after } => (
            Measured::Entanglement(before.as_ref()),
            Measured::Entanglement(after.as_ref()),
        ),
        ArrangeReport::Surrogate { before, after } => {
            (Measured::Surrogate(before), Measured::Surrogate(after))
        }
    };
    Page::of_analysis(Analysed {
        command: "arrange",
        facts,
        analysis,
        tree,
        levels,
        measurements: vec![
            Measurement {
                name: "input",
                key: "before.",
                order: None,
                measured: before,
            },
            Measurement {
                name: "arranged",
                key: "after.",
                order: Some(order),
                measured: after,
            },
        ],
        order_file: Some(order_file),
    })
}

impl Arranged {
    /// `arrange --json`: `{"report", "order", "before", "after"}` (and, for
    /// the surrogate report, the data's size; when shrinking, `shrink`: the τ
    /// used).
    pub fn json(&self) -> serde_json::Value {
        let mut json = match &self.report {
            ArrangeReport::Entanglement { before, after } => serde_json::json!({
                "report": "entanglement", "order": self.order, "before": before, "after": after,
            }),
            ArrangeReport::Surrogate { before, after } => serde_json::json!({
                "report": "surrogate", "rows": self.rows, "features": self.order.len(),
                "shape": self.shape, "levels": self.levels,
                "order": self.order, "before": before, "after": after,
            }),
        };
        if let Some(tau) = self.shrink {
            json["shrink"] = serde_json::json!(tau);
        }
        json["feature_columns"] = serde_json::json!(self.feature_columns);
        json
    }
}

/// Where `apply` finds the features, overriding the order file.
#[derive(Debug, Clone, Default)]
pub struct ApplyOverrides {
    pub features: Option<Vec<String>>,
    pub array: Option<String>,
    pub shape: Option<Vec<usize>>,
}

/// What `apply` wrote.
#[derive(Debug, Clone)]
pub struct Applied {
    pub rows: u64,
    pub features: usize,
    /// The page of the order applied, when asked.
    pub page: Option<Page>,
}

/// Reads an order file written by `arrange`.
pub fn read_order_file(path: &Path) -> Result<OrderFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::file(
            path,
            format!(
                "not an order file (expected {{\"order\": [...], \"features\" or \"array\": ...}}): {e}"
            ),
        )
    })
}

/// Puts `input` in the layout of a saved order (`entangle apply`).
pub fn apply(
    input: &Path,
    order_path: &Path,
    output: &Path,
    overrides: &ApplyOverrides,
    observer: &dyn Observer,
    page: bool,
) -> Result<Applied> {
    let file = read_order_file(order_path)?;
    let selection = match (
        &overrides.features,
        &overrides.array,
        &file.features,
        &file.array,
    ) {
        (Some(f), _, _, _) => FeatureSelection::Columns(f.clone()),
        (_, Some(a), _, _) => FeatureSelection::Array(a.clone()),
        (_, _, Some(f), _) => FeatureSelection::Columns(f.clone()),
        (_, _, _, Some(a)) => FeatureSelection::Array(a.clone()),
        _ => {
            return Err(Error::file(
                order_path,
                "names neither \"features\" nor \"array\"; pass --features or --array",
            ));
        }
    };
    let targets = RewriteTargets::new(input, output)?;
    let n = match targets.features(&selection, None)? {
        ResolvedFeatures::Wide(cols) => cols.len(),
        ResolvedFeatures::Array(..) => file.order.len(),
    };
    check_permutation(&file.order, n, "order file")?;
    let shape = overrides.shape.clone().or(file.shape.clone());
    if let Some(shape) = &shape {
        Grid::for_features(n, Some(shape))?;
    }
    let rows = targets.rewrite(&selection, None, &file.order, shape.as_deref(), observer)?;
    let page = if page {
        let grid = Grid::for_features(n, shape.as_deref())?;
        let facts = vec![
            ("input".to_string(), input.display().to_string()),
            ("order file".to_string(), order_path.display().to_string()),
            ("output".to_string(), output.display().to_string()),
            ("rows".to_string(), rows.to_string()),
            ("features".to_string(), n.to_string()),
        ];
        Some(Page::of_order(facts, &file, grid.shape())?)
    } else {
        None
    };
    Ok(Applied {
        rows,
        features: n,
        page,
    })
}
