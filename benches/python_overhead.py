"""The Python package's overhead over the command line on one file.

    python benches/python_overhead.py DATA.parquet [ENTANGLE_BIN|-] [REPEATS]

DATA is a wide file with feature columns f0000, f0001, ... and a label
`label`, as `cargo run --release --example bench_data -- DATA 1000000 256`
writes it. Runs, back to back and REPEATS times (default 3):

* cli      `entangle profile DATA --features-prefix f --label label --json`
* job      `entangle.profile(DATA, features_prefix="f", label="label")` (the
           same job in process)
* polars   `pl.scan_parquet(DATA).select(entanglement(pl.struct(f...), "label"))`
* cli/polars surrogate: `--levels`-free surrogate of the same columns, read
           from the CLI JSON's `surrogate.mean`, and `surrogate_entanglement`
* sql      `SELECT entanglement(named_struct('f0000', f0000, ...), label)` in
           datafusion-python through `entangle.datafusion` (when datafusion
           is installed)

checks that all give the same numbers, and prints the medians and ratios
(to the CLI, and to the in-process job, which runs the CLI's own code:
`src/jobs.rs`). `-` for ENTANGLE_BIN skips the CLI. Build the wheel
optimised for this (`pip install ./python` or `maturin build --release`),
and the CLI with `cargo build --release`.
"""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
import time

import polars as pl

import entangle


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def main() -> None:
    data = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else "target/release/entangle"
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    names = [n for n in pl.read_parquet_schema(data) if n.startswith("f")]
    features = pl.struct(names)

    def cli():
        out = subprocess.run(
            [binary, "profile", data, "--features-prefix", "f", "--label", "label", "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(out)

    def job():
        return entangle.profile(data, features_prefix="f", label="label")

    def polars_entanglement():
        frame = pl.scan_parquet(data).select(entangle.entanglement(features, "label")).collect()
        return frame.item()

    def polars_surrogate():
        frame = pl.scan_parquet(data).select(entangle.surrogate_entanglement(features)).collect()
        return frame.item()

    def sql_entanglement():
        fields = ", ".join(f"'{n}', \"{n}\"" for n in names)
        query = f"SELECT entanglement(named_struct({fields}), label) FROM data"
        return context.sql(query).to_arrow_table().column(0)[0].as_py()

    runs = {"cli": [], "job": [], "polars entanglement": [], "polars surrogate": [], "sql": []}
    if binary == "-":
        del runs["cli"]
    try:
        import datafusion

        # By name: `import entangle.datafusion` would make `entangle` a local
        # of main(), unbound in the closures above when the import fails.
        sql_functions = importlib.import_module("entangle.datafusion")
        context = datafusion.SessionContext()
        sql_functions.register(context)
        context.register_parquet("data", data)
    except ImportError:
        del runs["sql"]
    reference = None
    for _ in range(repeats):
        seconds, profile = timed(job)
        runs["job"].append(seconds)
        if binary != "-":
            seconds, value = timed(cli)
            runs["cli"].append(seconds)
            assert value == profile, "entangle.profile differs from the CLI"
        reference = profile
        seconds, value = timed(polars_entanglement)
        runs["polars entanglement"].append(seconds)
        assert value == profile["mean_entropy"], (value, profile["mean_entropy"])
        seconds, value = timed(polars_surrogate)
        runs["polars surrogate"].append(seconds)
        # Streamed and exact co-moments agree to 1e-12 relative (docs/conventions.md#co-moments).
        expected = profile["surrogate"]["mean"]
        assert abs(value - expected) <= 1e-12 * abs(expected), (value, expected)
        if "sql" in runs:
            seconds, value = timed(sql_entanglement)
            runs["sql"].append(seconds)
            assert value == profile["mean_entropy"], (value, profile["mean_entropy"])
    base = "cli" if "cli" in runs else "job"
    base_median = statistics.median(runs[base])
    print(f"{data}: {reference['rows']} rows x {reference['features']} features, {repeats} runs")
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        spread = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{name:22s} median {median:7.2f} s  ({spread})  ratio to {base} {median / base_median:.2f}")


if __name__ == "__main__":
    main()
