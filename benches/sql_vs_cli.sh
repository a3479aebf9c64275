#!/usr/bin/env bash
# Times the SQL aggregates against `entangle profile` on one generated file:
#   benches/sql_vs_cli.sh [ROWS] [FEATURES]     (default 1000000 256)
# Builds the release binary with DataFusion, writes DIR/bench_ROWSxFEATURES.parquet
# (wide layout f0000…, label `label`) and its array-layout copy (column `x`)
# unless they exist, and prints wall time and peak RSS (/usr/bin/time) for
# each command. DIR defaults to /tmp/entangle-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
features=${2:-256}
dir=${DIR:-/tmp/entangle-bench}
mkdir -p "$dir"
file="$dir/bench_${rows}x${features}.parquet"
array_file="$dir/bench_${rows}x${features}_array.parquet"
bin=target/release/entangle

cargo build --release --features datafusion --bin entangle --example bench_data
[ -f "$file" ] || target/release/examples/bench_data "$file" "$rows" "$features"
columns=$(seq -f "f%04g" 0 $((features - 1)) | paste -sd, -)
[ -f "$array_file" ] ||
    $bin sql "COPY (SELECT make_array($columns) AS x FROM '$file') TO '$array_file'" >/dev/null
echo "input: $file, $rows rows x $features features, $(stat -L -c %s "$file") bytes"

run() {
    echo "== $1" >&2
    shift
    /usr/bin/time -f "wall %e s, peak RSS %M KB" "$@"
}
profile_query() {
    echo "SELECT entanglement_profile($1, NULL, 'max_samples=1000') FROM '$2'"
}

echo "-- wide layout: $features columns" >&2
run "entangle profile (CLI)" $bin profile "$file" --features-prefix f --json >/dev/null
run "SELECT entanglement_profile(struct(...))" \
    $bin sql --format json "$(profile_query "struct($columns)" "$file")" >/dev/null
run "SELECT entanglement_profile(make_array(...))" \
    $bin sql --format json "$(profile_query "make_array($columns)" "$file")" >/dev/null
run "SELECT surrogate_entanglement(struct(...))" $bin sql --format csv \
    "SELECT surrogate_entanglement(struct($columns)) AS surrogate FROM '$file'"
run "SELECT count(...) (plain scan of the same columns as a struct)" $bin sql --format csv \
    "SELECT count(s) AS n FROM (SELECT struct($columns) AS s FROM '$file')"

echo "-- array layout: one FixedSizeList column" >&2
run "entangle profile --array x (CLI)" $bin profile "$array_file" --array x --json >/dev/null
run "SELECT entanglement_profile(x)" \
    $bin sql --format json "$(profile_query x "$array_file")" >/dev/null
run "SELECT surrogate_entanglement(x)" $bin sql --format csv \
    "SELECT surrogate_entanglement(x) AS surrogate FROM '$array_file'"
run "SELECT count(*), sum(array_length(x)) (plain scan)" $bin sql --format csv \
    "SELECT count(*) AS n, sum(array_length(x)) AS values FROM '$array_file'"
