#!/usr/bin/env bash
# `surrogate_entanglement` over a 20M-row × 256-feature multi-file table, in
# process against a Ballista scheduler + 2 executors on this machine (issue #7):
#   DIR=/tmp/entangle-cluster benches/cluster.sh [FILES]      (default 20 files)
# The table is FILES hard links to one generated 1,000,000-row file (2 GB), so
# it needs ~2 GB of disk; each run prints the answer, wall time, rows/s and
# the peak RSS of every process.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-20}
rows_per_file=1000000
dir=${DIR:-/tmp/entangle-cluster}
port=${SCHEDULER_PORT:-50050}
mkdir -p "$dir/table"
cargo build --release --features ballista --bin entangle --example bench_data
bin=target/release/entangle
source=$dir/bench_${rows_per_file}x256.parquet
[ -f "$source" ] || target/release/examples/bench_data "$source" "$rows_per_file" 256
rm -f "$dir"/table/*.parquet
for i in $(seq -w 1 "$files"); do ln "$source" "$dir/table/part-$i.parquet"; done
rows=$((files * rows_per_file))
columns=$(seq -f "f%04g" 0 255 | paste -sd, -)
query="SELECT count(*) AS n, surrogate_entanglement(struct($columns)) AS s FROM '$dir/table/'"
echo "table: $files files x $rows_per_file rows x 256 features ($rows rows)"

timed() { # LABEL COMMAND...: prints the answer, wall time, rows/s, peak RSS
    local label=$1 start end
    shift
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$dir/rss" "$@"
    end=$(date +%s.%N)
    awk -v l="$label" -v s="$start" -v e="$end" -v r="$rows" -v m="$(cat "$dir/rss")" \
        'BEGIN { printf "%s: wall %.1f s, %.0f rows/s, client peak RSS %.2f GB\n", l, e - s, r / (e - s), m / 1048576 }'
}

timed "in process" "$bin" sql --format csv "$query"

logs=$dir/logs
mkdir -p "$logs"
pids=()
# Each pid is /usr/bin/time's: stop the process it measures, so that it reports.
stop() { for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
/usr/bin/time -f "scheduler peak RSS %M KB" -o "$logs/scheduler.rss" \
    "$bin" scheduler --bind "127.0.0.1:$port" 2>"$logs/scheduler.log" &
pids+=($!)
sleep 1
for i in 1 2; do
    flight=$((port + 2 * i - 1))
    /usr/bin/time -f "executor $i peak RSS %M KB" -o "$logs/executor$i.rss" \
        "$bin" executor --scheduler "127.0.0.1:$port" --flight-port "$flight" \
        --grpc-port $((flight + 1)) --concurrency 1 2>"$logs/executor$i.log" &
    pids+=($!)
done
sleep 3
timed "cluster (scheduler + 2 executors, 1 task each)" \
    "$bin" sql --cluster "df://127.0.0.1:$port" --format csv "$query"
stop
trap - EXIT
grep -h "peak RSS" "$logs"/*.rss
