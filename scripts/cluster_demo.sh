#!/usr/bin/env bash
# A Ballista cluster on 127.0.0.1: starts `entangle scheduler` and two
# `entangle executor` processes, runs the sample queries on the cluster and in
# process, checks that the answers agree, and stops the processes.
#   scripts/cluster_demo.sh [ENTANGLE_BINARY]    (default target/debug/entangle,
#                                                 built with --features ballista)
# Ports: SCHEDULER_PORT (default 50050) and the four after it for the executors.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/entangle}
port=${SCHEDULER_PORT:-50050}
url="df://127.0.0.1:$port"
logs=$(mktemp -d)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$logs"
}
trap stop EXIT

wait_for_port() {
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1; logs:" >&2
    tail -n 20 "$logs"/* >&2
    exit 1
}

"$bin" scheduler --bind "127.0.0.1:$port" 2>"$logs/scheduler.log" &
pids+=($!)
wait_for_port "$port"
for i in 1 2; do
    flight=$((port + 2 * i - 1))
    "$bin" executor --scheduler "127.0.0.1:$port" --flight-port "$flight" \
        --grpc-port $((flight + 1)) --concurrency 1 2>"$logs/executor$i.log" &
    pids+=($!)
    wait_for_port "$flight"
done
sleep 2 # the executors register with their first heartbeat
echo "cluster: scheduler on 127.0.0.1:$port, executors on ports $((port + 1))-$((port + 4))"

data=$(pwd)/sample_data
# A three-file table, so that partial states from several scan tasks merge.
signals=$logs/signals
for k in 0 1 2; do
    "$bin" sql "COPY (SELECT * FROM '$data/signals_1d.parquet' WHERE id % 3 = $k)
                TO '$signals/part$k.parquet'" >/dev/null
done
features=$(seq -f 'x%02g' 0 63 | paste -sd,)
queries=(
    "SELECT entanglement(pixels, bright_blob, 'shape=16x16') AS e,
            feature_order(pixels, 'shape=16x16') AS o
     FROM '$data/images_2d_shuffled.parquet'"
    "SELECT entanglement_profile(pixels, NULL, 'shape=16x16, levels=1') AS p
     FROM '$data/images_2d.parquet'"
    "SELECT split, count(*) AS n, surrogate_entanglement(struct($features)) AS s
     FROM '$signals/' GROUP BY split ORDER BY split"
    "SELECT surrogate_entanglement(make_array($features)) AS s,
            feature_order(make_array($features)) AS o
     FROM '$signals/'"
)
# Each side splits the scan its own way (Ballista's default is 16 tasks, in
# process one per core): the partial states are exact, so the answers are the
# same bits all the same.
status=0
for q in "${queries[@]}"; do
    echo "== $(echo "$q" | tr -s ' \n' ' ' | cut -c1-110)…"
    local_answer=$("$bin" sql --format json "$q")
    cluster_answer=$("$bin" sql --cluster "$url" --format json "$q")
    if [ "$local_answer" = "$cluster_answer" ]; then
        echo "cluster = in process: $(echo "$cluster_answer" | tail -n 1 | cut -c1-150)"
    else
        echo "DIFFERENT: in process $local_answer" >&2
        echo "           cluster    $cluster_answer" >&2
        status=1
    fi
done
exit $status
