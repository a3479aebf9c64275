#!/usr/bin/env bash
# Scale benchmark (issue #6), generating its own data under $DIR:
#   * `entangle arrange` of 20,000 and 50,000 scrambled features × 2,000 rows
#     (sparse weights, chosen automatically above 4096 features);
#   * `entangle profile` of the 50,000 features at the default levels;
#   * `report`: `entangle arrange` at its defaults (the exact report up to 4096
#     features, the surrogate above) of 1024 × 100,000, 4096 × 5,000, 20,000 ×
#     2,000 and 50,000 × 2,000 scrambled features, and 20,000 × 2,000 with
#     `--report entanglement` (the runs of issue #23's table);
#   * a 10 GB file of 256 features × 5,000,000 rows arranged end to end,
#     against a plain read + write of the same file by the same binary
#     (`entangle apply` of the identity order), with row counts and
#     per-column checksums of input and output compared.
# Each run prints its own phase times; /usr/bin/time adds wall time and peak RSS.
#
#   * `copy`: `entangle apply` of a reversed order to 1024 × 100,000 wide
#     columns (which copies every column chunk as it is encoded) against `cp`.
#
#   DIR=/tmp/entangle-scale benches/scale.sh [wide|profile|report|big|copy]...   (default: all but copy)
# Needs ~35 GB of free disk for `big`; python3 with pyarrow and numpy for the checksums.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-/tmp/entangle-scale}
mkdir -p "$DIR"
cargo build --release --features datafusion --bin entangle --example bench_data
BIN=target/release/entangle
GEN=target/release/examples/bench_data
timed() { /usr/bin/time -f "  wall %e s, peak RSS %M KB" "$@" 2>&1 | tr '\r' '\n' | grep -vE '^\s*$|\[' | tail -4; }
# Rows and per-column checksums (sum of the values' bit patterns mod 2^64,
# by column name) of two Parquet files: equal, or the script fails.
compare_checksums() {
    echo "== rows and per-column checksums of $1 and $2"
    python3 - "$1" "$2" <<'EOF'
import sys
import numpy as np
import pyarrow.parquet as pq

def checksums(path):
    file = pq.ParquetFile(path)
    sums, rows = {}, 0
    for g in range(file.num_row_groups):
        table = file.read_row_group(g)
        rows += table.num_rows
        for name in table.column_names:
            values = table.column(name).to_numpy().astype(np.float64).view(np.uint64)
            sums[name] = (sums.get(name, 0) + int(values.sum(dtype=np.uint64))) % 2**64
    return rows, sums

(rows_in, sums_in), (rows_out, sums_out) = checksums(sys.argv[1]), checksums(sys.argv[2])
print(f"rows in {rows_in}, rows out {rows_out}; columns in {len(sums_in)}, out {len(sums_out)}")
assert rows_in == rows_out and sums_in == sums_out, "values differ"
print("every column's checksum matches")
EOF
}
# $DIR/NAME: ROWS × N scrambled features, generated once.
dataset() {
    [ -f "$DIR/$1" ] || "$GEN" "$DIR/$1" "$2" "$3" 0 shuffled >&2
    ls -l "$DIR/$1" >&2
    echo "$DIR/$1"
}
# An order file over the N features f0000…, `identity` or `reversed`.
order_file() {
    python3 -c "import json, sys
n = int(sys.argv[1])
order = list(range(n))[::-1] if sys.argv[2] == 'reversed' else list(range(n))
print(json.dumps({'order': order, 'features': ['f%04d' % j for j in range(n)]}))" "$1" "$2"
}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(wide profile report big)

for part in "${parts[@]}"; do
case $part in
wide)
    for n in 20000 50000; do
        f=$DIR/scrambled_${n}x2000.parquet
        [ -f "$f" ] || "$GEN" "$f" 2000 "$n" 0 shuffled
        echo "== arrange $n features x 2000 rows (default levels, --max-samples 100 for the exact profiles)"
        timed "$BIN" arrange "$f" -o "$DIR/arranged_$n.parquet" --features-prefix f --max-samples 100
    done
    ;;
profile)
    f=$DIR/scrambled_50000x2000.parquet
    [ -f "$f" ] || "$GEN" "$f" 2000 50000 0 shuffled
    echo "== profile 50000 features x 2000 rows, default levels and max_samples"
    timed "$BIN" profile "$f" --features-prefix f
    ;;
report)
    for input in "100000 1024" "5000 4096" "2000 20000" "2000 50000"; do
        read -r rows n <<< "$input"
        f=$DIR/scrambled_${n}x$rows.parquet
        [ -f "$f" ] || "$GEN" "$f" "$rows" "$n" 0 shuffled
        echo "== arrange $n features x $rows rows, defaults"
        timed "$BIN" arrange "$f" -o "$DIR/arranged.parquet" --features-prefix f
    done
    echo "== arrange 20000 features x 2000 rows, --report entanglement"
    timed "$BIN" arrange "$DIR/scrambled_20000x2000.parquet" -o "$DIR/arranged.parquet" \
        --features-prefix f --report entanglement
    rm -f "$DIR/arranged.parquet"
    ;;
big)
    f=$(dataset big.parquet 5000000 256)
    order_file 256 identity > "$DIR/identity.json"
    echo "== plain read + write (apply of the identity order)"
    timed "$BIN" apply "$f" --order "$DIR/identity.json" -o "$DIR/big_copy.parquet"
    rm -f "$DIR/big_copy.parquet"
    echo "== arrange end to end"
    timed "$BIN" arrange "$f" -o "$DIR/big_arranged.parquet" --features-prefix f
    compare_checksums "$f" "$DIR/big_arranged.parquet"
    rm -f "$DIR/big_arranged.parquet"
    ;;
copy)
    # Issue #35: a wide layout's columns only move, so `apply` copies their
    # encoded chunks; against `cp` of the same file (and its fsync, which
    # `apply`'s atomic write also does).
    f=$(dataset scrambled_1024x100000.parquet 100000 1024)
    order_file 1024 reversed > "$DIR/reversed.json"
    for run in 1 2 3; do
        echo "== apply of the reversed order ($run)"
        timed "$BIN" apply "$f" --order "$DIR/reversed.json" -o "$DIR/applied.parquet"
        echo "== cp and fsync ($run)"
        rm -f "$DIR/copied.parquet"
        timed sh -c 'cp "$1" "$2" && sync "$2"' sh "$f" "$DIR/copied.parquet"
    done
    compare_checksums "$f" "$DIR/applied.parquet"
    rm -f "$DIR/applied.parquet" "$DIR/copied.parquet"
    ;;
*) echo "unknown part $part (wide, profile, report, big, copy)" >&2; exit 2 ;;
esac
done
