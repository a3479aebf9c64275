//! `entangle arrange`: rearrange the features, write the dataset, and print
//! the profile before and after.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use entangle::analysis::{Report as ReportKind, ReportChoice};
use entangle::arrange::neighbours::SPARSE_ABOVE;
use entangle::arrange::seams::Placement;
use entangle::arrange::shrink::Shrink;
use entangle::error::{Error, Result};
use entangle::io::plot::{plot_format, plot_profiles};
use entangle::jobs::{ArrangeJob, ArrangeOutputs, ArrangeReport};

use crate::measure::{MeasureArgs, SelectionArgs, choice};
use crate::progress::Bars;
use crate::render::{emit, render_comparison, render_surrogate_comparison, write_page};
use crate::rewrite::check_stale;

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
    #[arg(long, value_parser = choice::<ReportChoice>(), default_value = "auto")]
    pub report: ReportChoice,
    #[arg(long, value_parser = choice::<Placement>(), default_value = "seams")]
    pub placement: Placement,
    #[arg(long, value_name = "none|auto|τ", default_value = "none", value_parser = Shrink::parse)]
    pub shrink: Shrink,
    /// Print {"report", "order", "before", "after"} as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the profile before and after to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write the report page to FILE: one self-contained HTML file with the
    /// profile, the partitions on the grid, the correlations and sampled
    /// rows before and after, and the order. Written atomically.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Remove the temporary outputs that killed runs left beside the
    /// outputs (they are reported either way).
    #[arg(long)]
    pub clean_stale: bool,
}

/// The line that says how to get the exact report when `--report auto`
/// chose the surrogate.
fn auto_surrogate_note(features: usize, output: &str) -> String {
    format!(
        "note: {features} features (above {SPARSE_ABOVE}): reported the surrogate on all \
         rows; for the exact entanglement add --report entanglement, or run \
         `entangle profile {output}`"
    )
}

pub fn arrange_command(args: ArrangeArgs) -> Result<()> {
    let start = Instant::now();
    let measure = args.measure.measure(args.selection.shape.as_ref())?;
    args.plot.as_deref().map(plot_format).transpose()?;
    let outputs: Vec<&Path> = [
        Some(args.output.as_path()),
        args.order_out.as_deref(),
        args.plot.as_deref(),
        args.html.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_stale(&outputs, args.clean_stale)?;
    let bars = Bars::default();
    let job = ArrangeJob::read(
        &args.input,
        &args.output,
        &args.selection.job_selection(),
        &measure,
        &bars,
    )?;
    let n = job.features();
    let report_kind = args.report.resolve(n);
    if report_kind == ReportKind::Surrogate && args.plot.is_some() {
        let why = match args.report {
            ReportChoice::Auto => format!(
                "with {n} features (above {SPARSE_ABOVE}) --report auto reports the surrogate alone"
            ),
            _ => "--report surrogate reports the surrogate alone".to_string(),
        };
        return Err(Error::option(
            "plot",
            format!("draws the entanglement profiles, and {why}: add --report entanglement"),
        ));
    }
    let mut arranged = job.run(
        report_kind,
        args.placement,
        args.shrink,
        ArrangeOutputs {
            order_out: args.order_out.as_deref(),
            page: args.html.is_some(),
        },
        &bars,
    )?;
    if let (Some(path), Some(page)) = (&args.html, arranged.page.take()) {
        write_page(page, path, start)?;
    }
    if let (Some(plot), ArrangeReport::Entanglement { before, after }) =
        (&args.plot, &arranged.report)
    {
        let title = format!("{} → {}", args.input.display(), args.output.display());
        plot_profiles(plot, &title, &[("before", before), ("after", after)])?;
    }
    let (input, output) = (
        args.input.display().to_string(),
        args.output.display().to_string(),
    );
    if args.json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&arranged.json())
                .map_err(|e| Error::Data(e.to_string()))?
        ))?;
    } else {
        let table = match &arranged.report {
            ArrangeReport::Entanglement { before, after } => {
                render_comparison((&input, &output), &arranged.feature_columns, before, after)
            }
            ArrangeReport::Surrogate { before, after } => render_surrogate_comparison(
                (&input, &output),
                &arranged.feature_columns,
                (arranged.rows, n, &arranged.shape),
                before,
                after,
            ),
        };
        let shrink = match (arranged.shrink, args.shrink) {
            (Some(tau), Shrink::Auto) => {
                format!("shrink {tau} (auto: the highest seams of T = 0, 0.05, …, 0.3)\n")
            }
            (Some(tau), _) => format!("shrink {tau}\n"),
            (None, _) => String::new(),
        };
        emit(&format!(
            "{table}{shrink}time {:.2} s ({})\n",
            start.elapsed().as_secs_f64(),
            arranged.phases
        ))?;
    }
    if let ArrangeReport::Surrogate { .. } = arranged.report
        && args.report == ReportChoice::Auto
    {
        eprintln!("{}", auto_surrogate_note(n, &output));
    }
    for w in &arranged.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
