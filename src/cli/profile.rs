//! `entangle profile`: the entanglement profile of a dataset.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use entangle::error::{Error, Result};
use entangle::io::plot::{plot_format, plot_profiles};
use entangle::jobs::profile;

use crate::measure::{MeasureArgs, SelectionArgs};
use crate::progress::Bars;
use crate::render::{emit, render_profile, write_page};

#[derive(Args)]
pub struct ProfileArgs {
    /// Input: a Parquet or CSV file, or a directory of them.
    pub input: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Print the profile as JSON.
    #[arg(long)]
    pub json: bool,
    /// Draw the profile per level to FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write the report page to FILE: one self-contained HTML file with the
    /// profile, the partitions on the grid, the correlations and sampled
    /// rows. Written atomically.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn profile_command(args: ProfileArgs) -> Result<()> {
    let start = Instant::now();
    let measure = args.measure.measure(args.selection.shape.as_ref())?;
    args.plot.as_deref().map(plot_format).transpose()?;
    let mut profiled = profile(
        &args.input,
        &args.selection.job_selection(),
        &measure,
        &Bars::default(),
        args.html.is_some(),
    )?;
    let profile = &profiled.profile;
    if let (Some(path), Some(page)) = (&args.html, profiled.page.take()) {
        write_page(page, path, start)?;
    }
    if let Some(plot) = &args.plot {
        plot_profiles(
            plot,
            &args.input.display().to_string(),
            &[("profile", profile)],
        )?;
    }
    if args.json {
        let json = serde_json::to_string_pretty(&profiled.json())
            .map_err(|e| Error::Data(e.to_string()))?;
        emit(&format!("{json}\n"))?;
    } else {
        let table = render_profile(
            &args.input.display().to_string(),
            &profiled.feature_columns,
            profile,
        );
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
