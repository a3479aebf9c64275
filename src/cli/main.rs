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

use clap::{Parser, Subcommand};

use entangle::error::Result;

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
