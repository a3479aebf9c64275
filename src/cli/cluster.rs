//! `entangle scheduler` and `entangle executor`: the two processes of an
//! Apache Ballista cluster, with every entangle function registered.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use entangle::engines::cluster::{
    DEFAULT_SCHEDULER_PORT, ExecutorOptions, SchedulerOptions, init_logging, run_executor,
    run_scheduler,
};
use entangle::engines::sql::runtime;
use entangle::error::{Error, Result};

#[derive(Args)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value_t = SchedulerOptions::default().bind)]
    bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken as lost
    /// (its tasks are rescheduled or their jobs fail, as Ballista decides).
    #[arg(long, default_value_t = SchedulerOptions::default().executor_timeout_seconds)]
    executor_timeout: u64,
}

#[derive(Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long, default_value_t = format!("127.0.0.1:{DEFAULT_SCHEDULER_PORT}"))]
    scheduler: String,
    /// Host to listen on and to advertise to the scheduler.
    #[arg(long, default_value_t = ExecutorOptions::default().bind_host)]
    bind_host: String,
    /// Arrow Flight port (other executors fetch shuffle data here).
    #[arg(long, default_value_t = ExecutorOptions::default().flight_port)]
    flight_port: u16,
    /// gRPC port (the scheduler sends tasks here).
    #[arg(long, default_value_t = ExecutorOptions::default().grpc_port)]
    grpc_port: u16,
    /// Tasks run at once (0: one per core).
    #[arg(long, default_value_t = 0)]
    concurrency: usize,
    /// Directory for shuffle files (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = ExecutorOptions::default().heartbeat_seconds)]
    heartbeat: u64,
}

pub fn scheduler_command(args: SchedulerArgs) -> Result<()> {
    init_logging();
    let options = SchedulerOptions {
        bind: args.bind,
        executor_timeout_seconds: args.executor_timeout,
    };
    runtime()?.block_on(run_scheduler(&options))
}

pub fn executor_command(args: ExecutorArgs) -> Result<()> {
    init_logging();
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            Error::Data(format!(
                "--scheduler {}: expected HOST:PORT, e.g. 127.0.0.1:{DEFAULT_SCHEDULER_PORT}",
                args.scheduler
            ))
        })?;
    let work_dir = args
        .work_dir
        .map(|d| {
            d.to_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Data(format!("--work-dir {}: not valid UTF-8", d.display())))
        })
        .transpose()?;
    let options = ExecutorOptions {
        scheduler_host: host,
        scheduler_port: port,
        bind_host: args.bind_host,
        flight_port: args.flight_port,
        grpc_port: args.grpc_port,
        concurrency: args.concurrency,
        work_dir,
        heartbeat_seconds: args.heartbeat,
    };
    runtime()?.block_on(run_executor(&options))
}
