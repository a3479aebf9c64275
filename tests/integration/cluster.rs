//! The SQL functions on an Apache Ballista cluster against in-process
//! DataFusion: an in-process scheduler with two executors over a three-file
//! table, the `entangle scheduler` / `executor` processes with one executor
//! killed during a query, and a cluster that is not there.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type};
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::utils::default_config_producer;
use ballista_executor::new_standalone_executor_from_state;
use ballista_scheduler::standalone::new_standalone_scheduler_from_state;

use crate::common::{
    collect_on, entangle_err, path_str, query, signal_table, split_images, write_parquet,
};
use entangle::engines::cluster::{cluster_context, session_state};

/// Starts a scheduler and `executors` executors inside `runtime` (they stop
/// with it) and returns the cluster's URL.
fn in_process_cluster(runtime: &tokio::runtime::Runtime, executors: usize) -> String {
    runtime.block_on(async {
        let state = session_state(default_config_producer()).unwrap();
        let address = new_standalone_scheduler_from_state(&state).await.unwrap();
        let scheduler = format!("http://localhost:{}", address.port());
        for _ in 0..executors {
            let client = loop {
                match SchedulerGrpcClient::connect(scheduler.clone()).await {
                    Ok(client) => break client,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            new_standalone_executor_from_state(client, 2, &state)
                .await
                .unwrap();
        }
        format!("df://localhost:{}", address.port())
    })
}

fn on_cluster(runtime: &tokio::runtime::Runtime, url: &str, dir: &Path, sql: &str) -> RecordBatch {
    let batches = runtime.block_on(async {
        let ctx = cluster_context(url).await.unwrap();
        // Six scan tasks over the three files: both executors produce
        // partial states, merged by whichever runs the final stage.
        ctx.sql(&format!(
            "SET datafusion.execution.target_partitions = '{PARTITIONS}'"
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
        collect_on(&ctx, dir, sql).await
    });
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// Scan tasks on the cluster.
const PARTITIONS: usize = 6;

/// In process the rows are split another way (4 scan partitions): the
/// results do not depend on the split.
fn in_process(dir: &Path, sql: &str) -> RecordBatch {
    in_process_with(4, dir, sql)
}

fn in_process_with(partitions: usize, dir: &Path, sql: &str) -> RecordBatch {
    let batches = query(partitions, dir, sql);
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn a_cluster_gives_the_in_process_results() {
    let dir = tempfile::tempdir().unwrap();
    split_images(dir.path());
    let runtime = entangle::engines::sql::runtime().unwrap();
    let url = in_process_cluster(&runtime, 2);

    let sql = "SELECT entanglement(pixels, bright_blob, 'shape=16x16') AS e,
                      entanglement_profile(pixels, bright_blob, 'shape=16x16') AS p,
                      surrogate_entanglement(pixels, 'shape=16x16') AS s,
                      feature_order(pixels, 'shape=16x16') AS o,
                      count(*) AS n,
                      surrogate_entanglement(pixels, 'shape=16x16, weights=sparse') AS ss,
                      feature_order(pixels, 'shape=16x16, weights=sparse') AS so
               FROM images";
    let local = in_process(dir.path(), sql);
    let remote = on_cluster(&runtime, &url, dir.path(), sql);
    assert_eq!(remote.num_rows(), 1);
    assert_eq!(remote.column(4), local.column(4), "row count");
    let value = |b: &RecordBatch, c: usize| b.column(c).as_primitive::<Float64Type>().value(0);
    // The sample is a bottom-k by row hash, so it does not depend on which
    // executor saw which rows: the entropies are the same bits.
    assert_eq!(value(&remote, 0).to_bits(), value(&local, 0).to_bits());
    assert_eq!(remote.column(1), local.column(1), "entanglement_profile");
    assert_eq!(
        remote.column(1).as_list::<i32>().value(0).len(),
        4 + 16 + 64 + 256
    );
    // The co-moments are exact sums, so partial states split and merged
    // any way give the same bits: 6 scan tasks on two executors, 4 or 1
    // partitions in process.
    assert_eq!(value(&remote, 2).to_bits(), value(&local, 2).to_bits());
    let one_partition = in_process_with(1, dir.path(), sql);
    assert_eq!(
        value(&one_partition, 2).to_bits(),
        value(&local, 2).to_bits()
    );
    let order = |b: &RecordBatch| -> Vec<i32> {
        let list = b.column(3).as_list::<i32>().value(0);
        list.as_primitive::<Int32Type>().values().to_vec()
    };
    assert_eq!(order(&remote), order(&local), "feature_order");
    // Sparse weights travel as every row's columns, read back in one
    // canonical row order: the same bits, however the rows were split.
    assert_eq!(value(&remote, 5).to_bits(), value(&local, 5).to_bits());
    assert_eq!(
        value(&one_partition, 5).to_bits(),
        value(&local, 5).to_bits()
    );
    assert_eq!(remote.column(6), local.column(6), "feature_order, sparse");
    assert_eq!(one_partition.column(6), local.column(6));

    // Per group, with the scalar `permute` inside the aggregate: every
    // executor decodes both.
    let reversed: Vec<String> = (0..256).rev().map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT bright_blob,
                entanglement(permute(pixels, make_array({})), NULL, 'shape=16x16, max_samples=300') AS e,
                count(*) AS n
         FROM images GROUP BY bright_blob ORDER BY bright_blob",
        reversed.join(", ")
    );
    let local = in_process(dir.path(), &sql);
    let remote = on_cluster(&runtime, &url, dir.path(), &sql);
    assert_eq!(remote.num_rows(), 2);
    assert_eq!(remote.column(0), local.column(0));
    assert_eq!(remote.column(2), local.column(2));
    let e = |b: &RecordBatch| b.column(1).as_primitive::<Float64Type>().values().to_vec();
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(e(&remote)), bits(e(&local)));
    assert!(e(&local).iter().all(|v| v.is_finite() && *v > 0.0));

    // The table function: its order is computed while the query is planned
    // (a job of its own on the cluster), then the rewrite runs there too.
    let sql = "SELECT id, pixels, bright_blob
               FROM rearrange('images', 'array=pixels, shape=16x16, label=bright_blob')
               ORDER BY id";
    let local = in_process(dir.path(), sql);
    let remote = on_cluster(&runtime, &url, dir.path(), sql);
    assert_eq!(remote.num_rows(), 1000);
    assert_eq!(remote.columns(), local.columns(), "rearrange");
}

/// Child processes killed when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn_entangle(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_entangle"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `entangle executor` for the scheduler on `scheduler_port`, with
/// its shuffle files in `work_dir`; returns it with its Flight port.
fn spawn_executor(scheduler_port: u16, work_dir: &Path) -> (Child, u16) {
    let (flight, grpc) = (free_port(), free_port());
    let child = spawn_entangle(&[
        "executor",
        "--scheduler",
        &format!("127.0.0.1:{scheduler_port}"),
        "--flight-port",
        &flight.to_string(),
        "--grpc-port",
        &grpc.to_string(),
        "--concurrency",
        "1",
        "--heartbeat",
        "1",
        "--work-dir",
        path_str(work_dir),
    ]);
    (child, flight)
}

/// Whether any file exists under `dir`, at any depth.
fn holds_a_file(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            path.is_file() || (path.is_dir() && holds_a_file(&path))
        })
}

#[test]
fn an_executor_killed_mid_query_never_gives_a_wrong_result() {
    // 24 files (links to one of 20,000 rows × 48 features), one task each.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table");
    std::fs::create_dir(&table).unwrap();
    let one = dir.path().join("one.parquet");
    write_parquet(&one, &signal_table(20_000, 48), 5_000);
    for file in 0..24 {
        std::fs::hard_link(&one, table.join(format!("part-{file:02}.parquet"))).unwrap();
    }
    let features: Vec<String> = (0..48).map(|j| format!("f{j:02}")).collect();
    let sql = format!(
        "SELECT count(*) AS n, entanglement(struct({}), NULL, 'max_samples=400') AS e FROM images",
        features.join(", ")
    );
    let local = in_process(&table, &sql);
    assert!(local.column(1).as_primitive::<Float64Type>().value(0) > 0.0);

    let port = free_port();
    let mut processes = Processes(vec![spawn_entangle(&[
        "scheduler",
        "--bind",
        &format!("127.0.0.1:{port}"),
        "--executor-timeout",
        "5",
    ])]);
    wait_for_port(port);
    let work_dirs = [dir.path().join("work-0"), dir.path().join("work-1")];
    for work_dir in &work_dirs {
        std::fs::create_dir(work_dir).unwrap();
        let (executor, flight) = spawn_executor(port, work_dir);
        processes.0.push(executor);
        wait_for_port(flight);
    }
    // Registration follows the first heartbeat.
    std::thread::sleep(Duration::from_secs(2));

    let statements = format!(
        "SET datafusion.execution.target_partitions = '24';
         CREATE EXTERNAL TABLE images STORED AS PARQUET LOCATION '{}/';
         {sql}",
        path_str(&table)
    );
    let url = format!("df://127.0.0.1:{port}");
    let mut client = spawn_entangle(&["sql", "--cluster", &url, "--format", "csv", &statements]);
    // Kill the first executor once it has finished a task of the scan stage:
    // its shuffle output is lost with it, and the stage's other tasks are
    // still to run.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !holds_a_file(&work_dirs[0]) {
        assert!(
            Instant::now() < deadline,
            "the first executor never ran a task"
        );
        assert!(
            client.try_wait().unwrap().is_none(),
            "the query ended before the first executor ran a task"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        client.try_wait().unwrap().is_none(),
        "the query ended before the executor could be killed"
    );
    processes.0[1].kill().unwrap();

    let deadline = Instant::now() + Duration::from_secs(300);
    while client.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = client.kill();
            panic!("the query neither finished nor failed within 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.success() {
        // Ballista ran the lost tasks again: the result must be exact.
        let n = local
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        let e = local.column(1).as_primitive::<Float64Type>();
        // The SET and CREATE statements print empty results first.
        let mut lines = stdout.lines().skip_while(|l| *l != "n,e");
        let row = lines.nth(1).expect("a result row");
        let (rows, entropy) = row.split_once(',').unwrap();
        assert_eq!(rows, n.value(0).to_string(), "{stderr}");
        // The CSV writer prints the shortest representation that reads back exactly.
        assert_eq!(
            entropy.parse::<f64>().unwrap().to_bits(),
            e.value(0).to_bits()
        );
        eprintln!("the query was retried and returned the in-process result");
    } else {
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stdout.is_empty(), "a failed query printed {stdout}");
        eprintln!("the query failed cleanly: {stderr}");
    }
}

#[test]
fn a_cluster_that_is_not_there_is_a_clear_error() {
    let port = free_port();
    let e = entangle_err(&[
        "sql",
        "--cluster",
        &format!("df://127.0.0.1:{port}"),
        "SELECT 1",
    ]);
    assert!(
        e.starts_with(&format!(
            "error: --cluster df://127.0.0.1:{port}: cannot connect to the scheduler"
        )),
        "{e}"
    );
    let e = entangle_err(&["sql", "--cluster", "127.0.0.1", "SELECT 1"]);
    assert!(
        e.starts_with("error: --cluster 127.0.0.1: expected df://HOST:PORT"),
        "{e}"
    );
}
