#!/usr/bin/env bash
# Times the SQL aggregates against `entangle profile` on one generated file:
#   benches/sql_vs_cli.sh [ROWS] [FEATURES]     (default 1000000 256)
# Builds the release binary with DataFusion, writes DIR/bench.parquet (wide
# layout f0000…, label `label`) unless it exists, and prints wall time and
# peak RSS (/usr/bin/time) for each command. DIR defaults to /tmp/entangle-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
features=${2:-256}
dir=${DIR:-/tmp/entangle-bench}
mkdir -p "$dir"
file="$dir/bench_${rows}x${features}.parquet"

cargo build --release --features datafusion --bin entangle --example bench_data
[ -f "$file" ] || target/release/examples/bench_data "$file" "$rows" "$features"
columns=$(seq -f "f%04g" 0 $((features - 1)) | paste -sd, -)
bytes=$(stat -c %s "$file")
echo "input: $file, $rows rows x $features features, $bytes bytes"

run() {
    echo "== $1" >&2
    shift
    /usr/bin/time -f "wall %e s, peak RSS %M KB" "$@"
}
run "entangle profile (CLI)" target/release/entangle profile "$file" --features-prefix f --json >/dev/null
run "SELECT entanglement_profile(...)" target/release/entangle sql --format json \
    "SELECT entanglement_profile(make_array($columns), NULL, 'max_samples=1000') FROM '$file'" >/dev/null
run "SELECT surrogate_entanglement(...)" target/release/entangle sql --format csv \
    "SELECT surrogate_entanglement(make_array($columns)) AS surrogate FROM '$file'"
run "SELECT count(*) (plain scan of the same columns)" target/release/entangle sql --format csv \
    "SELECT count(*) AS n, sum(array_length(make_array($columns))) AS values FROM '$file'"
