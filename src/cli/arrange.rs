//! `entangle arrange`: rearrange the features, write the dataset, and print
//! the profile before and after.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use entangle::analysis::Report as ReportKind;
use entangle::arrange::neighbours::SPARSE_ABOVE;
use entangle::arrange::seams::Placement;
use entangle::error::{Error, Result};
use entangle::io::atomic::write_atomically;
use entangle::io::plot::{plot_format, plot_profiles};
use entangle::io::read::{Source, resolve_features};
use entangle::io::rewrite::OrderFile;
use entangle::math::profile::{Profile, SurrogateProfile};
use entangle::math::tree::{CanonicalTree, Grid};

use crate::measure::{MeasureArgs, SelectionArgs, analyse, profile_of};
use crate::render::{Phases, emit, render_comparison, render_surrogate_comparison};
use crate::rewrite::{check_stale, rewrite_all, rewrite_targets};

#[derive(Args)]
pub struct ArrangeArgs {
    /// Input: a Parquet or CSV file.
    pub input: PathBuf,
    /// Output file (Parquet; CSV if it ends in .csv). Written atomically.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Also write the order as JSON (for `entangle apply`).
    #[arg(long, value_name = "FILE")]
    pub order_out: Option<PathBuf>,
    /// What to report before and after: the exact entanglement profiles
    /// (on the rows `profile` uses), the surrogate alone (all rows, no
    /// entropies; seconds for tens of thousands of features), or auto
    /// (entanglement up to 4096 features, the surrogate above).
    #[arg(long, value_enum, default_value = "auto")]
    pub report: ReportArg,
    /// How each tree node's children are placed: to maximise the seams
    /// (|correlation| of grid neighbours, which CNN kernels and sequence
    /// models see), or as the partitioner left them. No canonical cut
    /// changes either way.
    #[arg(long, value_enum, default_value = "seams")]
    pub placement: PlacementArg,
    /// Print {"report", "order", "before", "after"} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the profile before and after to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Remove the temporary outputs that killed runs left beside the
    /// outputs (they are reported either way).
    #[arg(long)]
    pub clean_stale: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportArg {
    Auto,
    Entanglement,
    Surrogate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlacementArg {
    Seams,
    Tree,
}

impl From<PlacementArg> for Placement {
    fn from(arg: PlacementArg) -> Self {
        match arg {
            PlacementArg::Seams => Placement::Seams,
            PlacementArg::Tree => Placement::Tree,
        }
    }
}

impl ReportArg {
    fn resolve(self, features: usize) -> ReportKind {
        match self {
            ReportArg::Auto => ReportKind::auto(features),
            ReportArg::Entanglement => ReportKind::Entanglement,
            ReportArg::Surrogate => ReportKind::Surrogate,
        }
    }
}

/// The before/after measure `arrange` prints.
enum Report {
    Entanglement {
        before: Box<Profile>,
        after: Box<Profile>,
    },
    Surrogate {
        before: SurrogateProfile,
        after: SurrogateProfile,
    },
}

pub fn arrange_command(args: ArrangeArgs) -> Result<()> {
    let start = Instant::now();
    let options = args.measure.options(args.selection.shape.as_ref())?;
    args.plot.as_deref().map(plot_format).transpose()?;
    // Cheap checks before the long work: no output is an input, the
    // selection resolves (the write needs it again).
    let targets = rewrite_targets(&args.input, &args.output)?;
    let outputs: Vec<&Path> = [
        Some(args.output.as_path()),
        args.order_out.as_deref(),
        args.plot.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_stale(&outputs, args.clean_stale)?;
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
    let report_kind = args.report.resolve(n);
    let placement = args.placement.into();
    if report_kind == ReportKind::Surrogate && args.plot.is_some() {
        let why = match args.report {
            ReportArg::Auto => format!(
                "with {n} features (above {SPARSE_ABOVE}) --report auto reports the surrogate alone"
            ),
            _ => "--report surrogate reports the surrogate alone".to_string(),
        };
        return Err(Error::option(
            "--plot",
            format!("draws the entanglement profiles, and {why}: add --report entanglement"),
        ));
    }
    let (order, report) = match report_kind {
        ReportKind::Surrogate => {
            let before = phases.time("surrogate", || {
                analysis.surrogate_profile(&tree, &levels, None)
            });
            let order = phases.time("arrange", || {
                analysis.partition(&tree, &levels, options.seed)
            });
            let order = phases.time("placement", || analysis.place(&tree, &order, placement));
            let after = phases.time("surrogate", || {
                analysis.surrogate_profile(&tree, &levels, Some(&order))
            });
            (order, Report::Surrogate { before, after })
        }
        ReportKind::Entanglement => {
            let before = phases.time("profiles", || profile_of(&analysis, &options, None))?;
            let order = phases.time("arrange", || {
                analysis.partition(&tree, &levels, options.seed)
            });
            let order = phases.time("placement", || analysis.place(&tree, &order, placement));
            let after =
                phases.time("profiles", || profile_of(&analysis, &options, Some(&order)))?;
            let (before, after) = (Box::new(before), Box::new(after));
            (order, Report::Entanglement { before, after })
        }
    };

    phases.time("write", || {
        rewrite_all(
            &targets,
            &args.selection.selection(),
            args.selection.label.as_deref(),
            &order,
            options.shape.as_deref(),
        )
    })?;
    if let Some(path) = &args.order_out {
        let file = OrderFile::new(&order, &features, options.shape.as_deref());
        let json = serde_json::to_string(&file).map_err(|e| Error::Data(e.to_string()))?;
        write_atomically(path, format!("{json}\n").as_bytes())?;
    }
    if let (Some(plot), Report::Entanglement { before, after }) = (&args.plot, &report) {
        let title = format!("{} → {}", args.input.display(), args.output.display());
        plot_profiles(plot, &title, &[("before", before), ("after", after)])?;
    }
    let json = match &report {
        Report::Entanglement { before, after } => serde_json::json!({
            "report": "entanglement", "order": order, "before": before, "after": after,
        }),
        Report::Surrogate { before, after } => serde_json::json!({
            "report": "surrogate", "rows": analysis.rows, "features": n,
            "shape": tree.grid().shape(), "levels": levels,
            "order": order, "before": before, "after": after,
        }),
    };
    let (input, output) = (
        args.input.display().to_string(),
        args.output.display().to_string(),
    );
    if args.json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).map_err(|e| Error::Data(e.to_string()))?
        ))?;
    } else {
        let table = match &report {
            Report::Entanglement { before, after } => {
                render_comparison(&input, &output, before, after)
            }
            Report::Surrogate { before, after } => render_surrogate_comparison(
                &input,
                &output,
                (analysis.rows, n, tree.grid().shape()),
                before,
                after,
            ),
        };
        emit(&format!(
            "{table}time {:.2} s ({})\n",
            start.elapsed().as_secs_f64(),
            phases
        ))?;
    }
    if let Report::Surrogate { .. } = report
        && args.report == ReportArg::Auto
    {
        eprintln!("{}", ReportKind::auto_surrogate_note(n, &output));
    }
    let warnings = match &report {
        Report::Entanglement { before, .. } => &before.warnings,
        Report::Surrogate { .. } => &analysis.warnings,
    };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
