//! The `entangle` command line: one module per subcommand.

mod apply;
mod arrange;
#[cfg(feature = "ballista")]
mod cluster;
mod measure;
mod profile;
mod progress;
mod render;
mod rewrite;
#[cfg(feature = "datafusion")]
mod sql;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use entangle::error::Result;
use entangle::options::{OptionKeys, for_command_line};

use crate::measure::with_declared_help;

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
    Profile(profile::ProfileArgs),
    /// Rearrange the features to lower the entanglement; writes the
    /// rearranged dataset and prints the profile before and after.
    Arrange(arrange::ArrangeArgs),
    /// Apply a saved order (from `arrange --order-out`) to another dataset.
    Apply(apply::ApplyArgs),
    /// Run SQL (DataFusion) with every entangle function registered; Parquet
    /// and CSV files are queryable by path: SELECT … FROM 'data.parquet'.
    #[cfg(feature = "datafusion")]
    Sql(sql::SqlArgs),
    /// Run an Apache Ballista scheduler with every entangle function
    /// registered (`entangle sql --cluster df://HOST:PORT` sends it queries).
    #[cfg(feature = "ballista")]
    Scheduler(cluster::SchedulerArgs),
    /// Run an Apache Ballista executor for a scheduler.
    #[cfg(feature = "ballista")]
    Executor(cluster::ExecutorArgs),
}

fn main() -> ExitCode {
    let command = Cli::command()
        .mut_subcommand("profile", |c| with_declared_help(c, OptionKeys::ProfileJob))
        .mut_subcommand("arrange", |c| with_declared_help(c, OptionKeys::ArrangeJob));
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    stop_on_signals();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", for_command_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Profile(args) => profile::profile_command(args),
        Command::Arrange(args) => arrange::arrange_command(args),
        Command::Apply(args) => apply::apply_command(args),
        #[cfg(feature = "datafusion")]
        Command::Sql(args) => sql::sql_command(args, render::emit),
        #[cfg(feature = "ballista")]
        Command::Scheduler(args) => cluster::scheduler_command(args),
        #[cfg(feature = "ballista")]
        Command::Executor(args) => cluster::executor_command(args),
    }
}

/// On SIGINT or SIGTERM (what `timeout`, systemd, Kubernetes and Airflow
/// send), removes the temporary outputs being written, says which targets
/// were left as they were, and exits 130 or 143 at once: no loop needs to
/// notice, and a rename already under way completes first.
fn stop_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return; // no handler: the default action still stops the process
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let targets = entangle::io::atomic::remove_unfinished();
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            let unwritten = if targets.is_empty() {
                "no output was being written".to_string()
            } else {
                let names: Vec<String> = targets.iter().map(|t| t.display().to_string()).collect();
                format!("not written (left as it was): {}", names.join(", "))
            };
            eprintln!("entangle: stopped by {name}; {unwritten}");
            std::process::exit(128 + signal);
        }
    });
}
