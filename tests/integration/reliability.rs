//! Outputs that survive stops and failures, and inputs that cannot crash the
//! binary: SIGTERM/SIGINT during a write leave no temporary file and the
//! target as it was; a directory job that fails on its last file leaves no
//! output directory; leftovers of killed runs are reported and cleaned on
//! request; the order is in the Arrow schema and the Parquet footer; and a
//! fixed-seed corpus of corrupted Parquet and CSV files gives clear errors or
//! correct results, never a panic or a hang.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::common::*;

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_entangle"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a child at most `limit`; kills it and returns None past that.
fn wait_at_most(mut child: Child, limit: Duration) -> Option<Output> {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(child.wait_with_output().unwrap())
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

/// `dir/order.json`: an order file that reverses the features f00, f01, …
/// of [`signal_table`].
fn reversing_order_file(dir: &Path, features: usize) -> PathBuf {
    let order: Vec<usize> = (0..features).rev().collect();
    let names: Vec<String> = (0..features).map(|j| format!("f{j:02}")).collect();
    let order_file = dir.join("order.json");
    std::fs::write(
        &order_file,
        serde_json::json!({"order": order, "features": names}).to_string(),
    )
    .unwrap();
    order_file
}

/// A wide input large enough that writing it takes a while, and an order
/// file that reverses its 32 features.
fn big_input(dir: &Path) -> (PathBuf, PathBuf) {
    let input = dir.join("big.parquet");
    write_parquet(&input, &signal_table(400_000, 32), 50_000);
    (input, reversing_order_file(dir, 32))
}

fn stop_during_write(signal: &str, expected_code: i32, old_target: Option<&[u8]>) {
    let dir = tempfile::tempdir().unwrap();
    let (input, order) = big_input(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("arranged.parquet");
    if let Some(old) = old_target {
        std::fs::write(&target, old).unwrap();
    }
    let child = spawn(&[
        "apply",
        path_str(&input),
        "--order",
        path_str(&order),
        "-o",
        path_str(&target),
    ]);
    // Signal once the temporary output exists, i.e. mid-write.
    let start = Instant::now();
    while !entries(&out_dir).iter().any(|n| n.contains(".entangle-")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary output appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_at_most(child, Duration::from_secs(30)).expect("stopped promptly");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped by SIG{signal}; not written (left as it was): {}",
            target.display()
        )),
        "{stderr}"
    );
    let expected: Vec<String> = old_target
        .map(|_| vec!["arranged.parquet".to_string()])
        .unwrap_or_default();
    assert_eq!(entries(&out_dir), expected, "temporary files left");
    if let Some(old) = old_target {
        assert_eq!(std::fs::read(&target).unwrap(), old);
    }
}

#[test]
fn sigterm_during_a_write_leaves_no_file() {
    stop_during_write("TERM", 143, None);
}

#[test]
fn sigint_during_a_write_leaves_the_old_target() {
    stop_during_write("INT", 130, Some(b"the previous output"));
}

#[test]
fn a_directory_job_that_fails_on_its_last_file_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let table = signal_table(300, 8);
    write_parquet(&parts.join("p0.parquet"), &table.slice(0, 100), 50);
    write_parquet(&parts.join("p1.parquet"), &table.slice(100, 100), 50);
    // The last file lacks feature f07.
    let last = table.slice(200, 100);
    let without = last.project(&[0, 1, 2, 3, 4, 5, 6, 7, 9]).unwrap();
    write_parquet(&parts.join("p2.parquet"), &without, 50);
    let order_file = reversing_order_file(dir.path(), 8);
    let out = dir.path().join("arranged");
    let stderr = entangle_err(&[
        "apply",
        path_str(&parts),
        "--order",
        path_str(&order_file),
        "-o",
        path_str(&out),
    ]);
    let last = parts.join("p2.parquet");
    assert!(
        stderr.contains(&format!("{}: column 'f07'", last.display())),
        "{stderr}"
    );
    assert!(!out.exists(), "a partial output directory appeared");
    assert_eq!(entries(dir.path()), ["order.json", "parts"]);

    // The same job on good files appears whole.
    std::fs::remove_file(&last).unwrap();
    entangle_ok(&[
        "apply",
        path_str(&parts),
        "--order",
        path_str(&order_file),
        "-o",
        path_str(&out),
    ]);
    assert_eq!(entries(&out), ["p0.parquet", "p1.parquet"]);
    assert_eq!(entries(dir.path()), ["arranged", "order.json", "parts"]);
}

#[test]
fn leftovers_of_killed_runs_are_reported_and_removed_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &signal_table(50, 4), 50);
    let order_file = reversing_order_file(dir.path(), 4);
    // What a SIGKILLed run leaves: its process id is in the name.
    let stale = dir
        .path()
        .join(".out.parquet.entangle-99999999-a1B2c3.parquet");
    std::fs::write(&stale, vec![7u8; 4321]).unwrap();
    let out = dir.path().join("out.parquet");
    let args = [
        "apply",
        path_str(&input),
        "--order",
        path_str(&order_file),
        "-o",
        path_str(&out),
    ];
    let run = entangle(&args);
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: temporary outputs of killed runs: {} (4321 bytes); remove them with --clean-stale",
            stale.display()
        )),
        "{stderr}"
    );
    assert!(stale.exists(), "reported, not removed");

    let mut cleaning = args.to_vec();
    cleaning.push("--clean-stale");
    let run = entangle(&cleaning);
    assert!(run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "removed temporary outputs of killed runs: {} (4321 bytes)",
            stale.display()
        )),
        "{stderr}"
    );
    assert!(!stale.exists());
    assert_eq!(
        entries(dir.path()),
        ["in.parquet", "order.json", "out.parquet"]
    );
}

/// The metadata of the embedded Arrow schema alone (what pyarrow shows), and
/// the footer's key-value pairs.
fn arrow_and_footer_metadata(path: &Path) -> (Value, Value) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let file_metadata = builder.metadata().file_metadata();
    let footer: Vec<KeyValue> = file_metadata.key_value_metadata().unwrap().clone();
    let embedded: Vec<KeyValue> = footer
        .iter()
        .filter(|kv| kv.key == parquet::arrow::ARROW_SCHEMA_META_KEY)
        .cloned()
        .collect();
    assert_eq!(embedded.len(), 1, "no embedded Arrow schema");
    let schema =
        parquet::arrow::parquet_to_arrow_schema(file_metadata.schema_descr(), Some(&embedded))
            .unwrap();
    let pick = |pairs: Vec<(String, String)>| -> Value {
        pairs
            .into_iter()
            .filter(|(k, _)| k.starts_with("entangle."))
            .map(|(k, v)| (k, serde_json::from_str::<Value>(&v).unwrap()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    (
        pick(schema.metadata().clone().into_iter().collect()),
        pick(
            footer
                .into_iter()
                .map(|kv| (kv.key, kv.value.unwrap_or_default()))
                .collect(),
        ),
    )
}

#[test]
fn the_order_file_is_in_the_arrow_schema_and_in_the_footer() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("arranged.parquet");
    let order_out = dir.path().join("order.json");
    entangle_ok(&[
        "arrange",
        IMAGES,
        "-o",
        path_str(&out),
        "--array",
        "pixels",
        "--shape",
        "16,16",
        "--levels",
        "1",
        "--order-out",
        path_str(&order_out),
    ]);
    let order_file: Value =
        serde_json::from_str(&std::fs::read_to_string(&order_out).unwrap()).unwrap();
    let (arrow, footer) = arrow_and_footer_metadata(&out);
    let expected = serde_json::json!({
        "entangle.order": order_file["order"],
        "entangle.array": "pixels",
        "entangle.shape": [16, 16],
    });
    assert_eq!(arrow, expected);
    assert_eq!(footer, expected);

    // Rearranging the output again replaces every entry (wide layout now).
    let wide = dir.path().join("wide.parquet");
    write_parquet(&wide, &signal_table(40, 4), 40);
    let again = dir.path().join("again.parquet");
    entangle_ok(&[
        "arrange",
        path_str(&wide),
        "-o",
        path_str(&again),
        "--features-prefix",
        "f",
    ]);
    let again2 = dir.path().join("again2.parquet");
    entangle_ok(&[
        "arrange",
        path_str(&again),
        "-o",
        path_str(&again2),
        "--features-prefix",
        "f",
    ]);
    let (arrow, footer) = arrow_and_footer_metadata(&again2);
    assert_eq!(arrow, footer);
    assert_eq!(
        arrow.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["entangle.features", "entangle.order"]
    );
}

/// One corruption of a file's bytes.
fn corrupt(bytes: &[u8], kind: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let n = out.len();
    match kind {
        0 => {
            for _ in 0..rng.random_range(1..=8) {
                let at = rng.random_range(0..n);
                out[at] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => out.truncate(rng.random_range(0..n)),
        2 => {
            let at = rng.random_range(0..n);
            let len = rng.random_range(1..=64.min(n - at));
            out[at..at + len].fill(0);
        }
        3 => {
            // Wrong magic at the start or at the end.
            let at = if rng.random_bool(0.5) { 0 } else { n - 4 };
            out[at..at + 4].copy_from_slice(b"PAR0");
        }
        _ => {
            // A footer length past the end of the file.
            let len = (n as u32).wrapping_add(rng.random_range(1..1_000_000));
            out[n - 8..n - 4].copy_from_slice(&len.to_le_bytes());
        }
    }
    out
}

/// Runs one command on a corrupted input: a clear error or a result, within
/// a time limit. Returns the output on success.
fn run_corrupted(args: &[&str], input: &Path) -> Option<String> {
    let out = wait_at_most(spawn(args), Duration::from_secs(20))
        .unwrap_or_else(|| panic!("entangle {args:?} ran for more than 20 s"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "entangle {args:?} panicked: {stderr}"
    );
    if out.status.success() {
        return Some(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let name = input.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.starts_with("error: ")
            && (stderr.contains(name.as_ref()) || stderr.contains("column '")),
        "entangle {args:?}: the error names neither the file nor a column: {stderr}"
    );
    None
}

#[test]
fn corrupted_inputs_give_clear_errors_or_correct_results() {
    let dir = tempfile::tempdir().unwrap();
    let table = signal_table(300, 8);
    let parquet = dir.path().join("clean.parquet");
    write_parquet(&parquet, &table, 100);
    let csv = dir.path().join("clean.csv");
    let mut writer = arrow::csv::Writer::new(File::create(&csv).unwrap());
    writer.write(&table).unwrap();
    drop(writer);
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let (mut errors, mut results) = (0, 0);
    for case in 0..240 {
        let (clean, ext) = if case % 4 == 3 {
            (&csv, "csv")
        } else {
            (&parquet, "parquet")
        };
        // Magic and footer corruptions concern Parquet; CSV gets the rest.
        let kind = if ext == "csv" {
            rng.random_range(0..3)
        } else {
            rng.random_range(0..5)
        };
        let input = dir.path().join(format!("case{case:03}.{ext}"));
        std::fs::write(
            &input,
            corrupt(&std::fs::read(clean).unwrap(), kind, &mut rng),
        )
        .unwrap();
        let profile = run_corrupted(
            &[
                "profile",
                path_str(&input),
                "--features-prefix",
                "f",
                "--label",
                "label",
                "--levels",
                "1..2",
                "--json",
            ],
            &input,
        );
        let out = dir.path().join(format!("out{case:03}.parquet"));
        let arranged = run_corrupted(
            &[
                "arrange",
                path_str(&input),
                "-o",
                path_str(&out),
                "--features-prefix",
                "f",
                "--levels",
                "1..2",
            ],
            &input,
        );
        // A result is correct: the output holds every row the profile read.
        match (profile, arranged) {
            (Some(json), Some(_)) => {
                let rows = serde_json::from_str::<Value>(&json).unwrap()["rows"]
                    .as_u64()
                    .unwrap();
                let written: usize = read_parquet(&out).iter().map(RecordBatch::num_rows).sum();
                assert_eq!(written as u64, rows, "case {case}");
                results += 1;
            }
            // One command may fail where the other succeeds: the profile
            // reads the label, the rewrite reads every column (the id too).
            _ => errors += 1,
        }
        assert!(
            entries(dir.path())
                .iter()
                .all(|n| !n.contains(".entangle-")),
            "case {case} left a temporary file"
        );
    }
    // The corpus exercises both outcomes.
    assert!(
        errors > 100 && results > 10,
        "{errors} errors, {results} results"
    );
}

#[test]
fn corruption_kinds_change_the_bytes_as_named() {
    let bytes: Vec<u8> = b"PAR1"
        .iter()
        .chain(&[9u8; 32])
        .chain(b"PAR1")
        .copied()
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert!(corrupt(&bytes, 1, &mut rng).len() < bytes.len());
    let footer = corrupt(&bytes, 4, &mut rng);
    let len = u32::from_le_bytes(
        footer[footer.len() - 8..footer.len() - 4]
            .try_into()
            .unwrap(),
    );
    assert!(len as usize > bytes.len());
    let magic = corrupt(&bytes, 3, &mut rng);
    assert!(magic.starts_with(b"PAR0") || magic.ends_with(b"PAR0"));
}
