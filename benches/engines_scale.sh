#!/usr/bin/env bash
# The engines at the command line's scale (issue #32). For N = 4096, 20,000
# and 50,000 scrambled features × 2,000 rows, as one FixedSizeList<Float64, N>
# column `v` (generated under $DIR unless there):
#   * `entangle arrange --report surrogate` (the CLI: order + rearranged file);
#   * SQL `feature_order(v)` and `surrogate_entanglement(v)` (`entangle sql`);
#   * SQL `COPY (SELECT * FROM rearrange(...)) TO ...` (order + rearranged file);
#   * polars `feature_order` + the rearranged file (examples/polars_etl
#     --order-only, what `entangle.rearrange` runs from Python);
# each with wall time and peak RSS (/usr/bin/time), and every order checked
# equal to the CLI's.
#
#   DIR=/tmp/entangle-engines benches/engines_scale.sh [N...]
# (SKIP_BUILD=1 times the release binaries already built.)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-/tmp/entangle-engines}
mkdir -p "$DIR"
[ -n "${SKIP_BUILD:-}" ] ||
    cargo build --release --features datafusion,polars --bin entangle --example bench_data \
        --example polars_etl
BIN=target/release/entangle
POLARS=target/release/examples/polars_etl

# timed LABEL OUT CMD...: runs CMD with stdout to OUT, prints LABEL, wall time and peak RSS.
timed() {
    local label=$1 out=$2
    shift 2
    if ! /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" >"$out" 2>"$DIR/stderr"; then
        echo "$label failed:" >&2
        cat "$DIR/stderr" >&2
        exit 1
    fi
    read -r wall rss <"$DIR/time"
    printf '  %-44s wall %7.1f s   peak RSS %6d MB\n' "$label" "$wall" $((rss / 1024))
}

# same_order A B: the "order" of two JSON outputs (object or list of rows) agree.
same_order() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
def order(path):
    text = open(path).read().strip()
    value = json.loads(text) if text.startswith(("{", "[")) else None
    if isinstance(value, list):
        value = value[0]
    return value.get("order") or value.get("o")
a, b = order(sys.argv[1]), order(sys.argv[2])
sys.exit(0 if a == b else f"orders differ: {sys.argv[1]} and {sys.argv[2]}")
EOF
}

sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(4096 20000 50000)
for n in "${sizes[@]}"; do
    f=$DIR/scrambled_${n}x2000_array.parquet
    [ -f "$f" ] || target/release/examples/bench_data "$f" 2000 "$n" 0 shuffled array
    echo "== $n features x 2000 rows, column v ($(($(stat -c %s "$f") >> 20)) MB)"
    timed "entangle arrange --report surrogate" "$DIR/cli.json" \
        $BIN arrange "$f" --array v -o "$DIR/cli_$n.parquet" --report surrogate --json
    timed "SQL feature_order(v)" "$DIR/sql.json" \
        $BIN sql --format json "SELECT feature_order(v) AS o FROM '$f'"
    same_order "$DIR/cli.json" "$DIR/sql.json"
    timed "SQL surrogate_entanglement(v)" "$DIR/surrogate.csv" \
        $BIN sql --format csv "SELECT surrogate_entanglement(v) AS s FROM '$f'"
    timed "SQL COPY (rearrange(...)) TO file" /dev/null \
        $BIN sql "COPY (SELECT * FROM rearrange('$f', 'array=v')) TO '$DIR/sql_$n.parquet'"
    timed "polars feature_order + rearranged file" "$DIR/polars.json" \
        $POLARS "$f" "$DIR/polars_$n.parquet" --array v --order-only
    same_order "$DIR/cli.json" "$DIR/polars.json"
    echo "  surrogate: CLI $(python3 -c "import json; print(json.load(open('$DIR/cli.json'))['before']['mean'])"), SQL $(tail -1 "$DIR/surrogate.csv")"
done
