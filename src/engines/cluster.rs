//! The same SQL on an Apache Ballista cluster: a scheduler and executors with
//! every entangle function registered, and a client context that sends its
//! queries to them.
//!
//! Ballista ships plans between processes as protobuf and finds functions by
//! name, so each side must know them: the scheduler plans with a session
//! built by [`session_state`], the executors decode their tasks against a
//! registry built from the same state. The functions' options travel as
//! literal arguments and their partial states as Arrow binary values (the
//! encoded row summary), so no extension codec is needed.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::{default_config_producer, default_session_builder};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};

/// The port Ballista's scheduler listens on unless told otherwise.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// Where the scheduler listens and how soon it gives up on a silent executor.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// An executor whose heartbeats stop for this long is removed; its
    /// running tasks are rescheduled or their jobs fail (Ballista's policy).
    pub executor_timeout_seconds: u64,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_SCHEDULER_PORT)),
            executor_timeout_seconds: SchedulerConfig::default().executor_timeout_seconds,
        }
    }
}

/// Where an executor finds its scheduler and how it serves its own data.
#[derive(Clone, Debug)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    pub bind_host: String,
    /// Arrow Flight port: other executors fetch shuffle output here.
    pub flight_port: u16,
    /// gRPC port: the scheduler pushes tasks here.
    pub grpc_port: u16,
    /// Tasks run at once (0: one per core).
    pub concurrency: usize,
    /// Shuffle files go here (default: a temporary directory).
    pub work_dir: Option<String>,
    pub heartbeat_seconds: u64,
}

impl Default for ExecutorOptions {
    fn default() -> Self {
        let ballista = ExecutorProcessConfig::default();
        Self {
            scheduler_host: "127.0.0.1".into(),
            scheduler_port: DEFAULT_SCHEDULER_PORT,
            bind_host: "127.0.0.1".into(),
            flight_port: ballista.port,
            grpc_port: ballista.grpc_port,
            concurrency: 0,
            work_dir: None,
            heartbeat_seconds: ballista.executor_heartbeat_interval_seconds,
        }
    }
}

fn cluster_error(e: impl std::fmt::Display) -> Error {
    Error::Data(format!("ballista: {e}"))
}

/// Ballista's default session (its optimizer rules and functions) with every
/// entangle function registered: the scheduler plans with it, the executors
/// take their function registry from it.
pub fn session_state(config: SessionConfig) -> datafusion::error::Result<SessionState> {
    let ctx = SessionContext::new_with_state(default_session_builder(config)?);
    crate::engines::sql::register_all(&ctx);
    Ok(ctx.state())
}

/// The functions an executor decodes its tasks against.
pub fn executor_registry() -> Result<BallistaFunctionRegistry> {
    let state = session_state(default_config_producer()).map_err(cluster_error)?;
    Ok(BallistaFunctionRegistry::from(&state))
}

/// Runs a scheduler until the process ends.
pub async fn run_scheduler(options: &SchedulerOptions) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.bind.ip().to_string(),
        executor_timeout_seconds: options.executor_timeout_seconds,
        override_session_builder: Some(Arc::new(session_state)),
        ..Default::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(cluster_error)?;
    start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(cluster_error)
}

/// Runs an executor until the process ends or its scheduler stops it.
pub async fn run_executor(options: &ExecutorOptions) -> Result<()> {
    let config = ExecutorProcessConfig {
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        vcores: options.concurrency,
        work_dir: options.work_dir.clone(),
        executor_heartbeat_interval_seconds: options.heartbeat_seconds,
        override_function_registry: Some(Arc::new(executor_registry()?)),
        ..Default::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(cluster_error)
}

/// A client context whose queries run on the cluster at `url`
/// (`df://HOST:PORT`), with the entangle functions known to its planner and
/// files queryable by path.
pub async fn cluster_context(url: &str) -> Result<SessionContext> {
    let ctx = SessionContext::remote(url).await.map_err(|e| {
        Error::Data(format!(
            "--cluster {url}: expected df://HOST:PORT ({})",
            e.strip_backtrace()
        ))
    })?;
    crate::engines::sql::register_all(&ctx);
    Ok(ctx.enable_url_table())
}

/// Logs to stderr (`RUST_LOG` chooses the level; warnings by default), so
/// the scheduler's and executors' reasons for failing a task are seen.
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTIONS: [&str; 4] = [
        "entanglement",
        "entanglement_profile",
        "surrogate_entanglement",
        "feature_order",
    ];

    #[test]
    fn scheduler_and_executors_know_every_function() {
        let state = session_state(default_config_producer()).unwrap();
        let registry = executor_registry().unwrap();
        for name in FUNCTIONS {
            assert!(state.aggregate_functions().contains_key(name), "{name}");
            assert!(registry.aggregate_functions.contains_key(name), "{name}");
        }
        assert!(state.scalar_functions().contains_key("permute"));
        assert!(registry.scalar_functions.contains_key("permute"));
        // Ballista's own functions stay: a plan may mix them with ours.
        assert!(registry.aggregate_functions.contains_key("count"));
        assert!(registry.scalar_functions.contains_key("abs"));
    }
}
