#!/usr/bin/env bash
# What the report page costs (issue #33): `entangle arrange` with and without
# `--html`, back to back, at 1,024 features (dense weights, exact profiles)
# and 20,000 features (sparse weights, the surrogate report), REPEAT times
# each; and the page's size at 50,000 features of a wide table (every
# feature's name is on the page, in the grid of names and the order file).
# Each run prints its wall time, peak RSS and arrange's own phase times (the
# page is the phase "page").
#
#   benches/report_page.sh            # builds target/release first
#   SKIP_BUILD=1 REPEAT=3 benches/report_page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-target/report_page_bench}
REPEAT=${REPEAT:-2}
mkdir -p "$DIR"
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --bin entangle --example bench_data
fi
BIN=target/release/entangle
DATA=target/release/examples/bench_data

# timed LABEL CMD...: wall seconds, peak RSS, and the phases line.
timed() {
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" > "$DIR/out" 2> "$DIR/err"
    read -r wall rss < "$DIR/time"
    printf "%-34s %8.2f s %7.0f MB   %s\n" "$label" "$wall" "$((rss / 1024))" \
        "$(grep -o '(read.*)' "$DIR/out" | tail -1)"
}

for spec in "1024 32,32 f" "20000 100,200 array"; do
    read -r n shape layout <<< "$spec"
    f="$DIR/data_$n.parquet"
    if [ "$layout" = array ]; then
        [ -f "$f" ] || $DATA "$f" 2000 "$shape" 0 shuffled array
        select=(--array v)
    else
        [ -f "$f" ] || $DATA "$f" 2000 "$shape" 0 shuffled
        select=(--features-prefix f)
    fi
    echo "== $n features × 2000 rows (shape $shape)"
    for r in $(seq "$REPEAT"); do
        timed "arrange (run $r)" $BIN arrange "$f" "${select[@]}" --shape "$shape" -o "$DIR/out_$n.parquet"
        timed "arrange --html (run $r)" $BIN arrange "$f" "${select[@]}" --shape "$shape" \
            -o "$DIR/out_$n.parquet" --html "$DIR/page_$n.html"
    done
    echo "page: $(stat -c %s "$DIR/page_$n.html") bytes"
done

n=50000
f="$DIR/data_$n.parquet"
[ -f "$f" ] || $DATA "$f" 2000 250,200 0 shuffled
echo "== $n features × 2000 rows, wide (shape 250,200)"
timed "arrange --html" $BIN arrange "$f" --features-prefix f --shape 250,200 \
    -o "$DIR/out_$n.parquet" --html "$DIR/page_$n.html"
echo "page: $(stat -c %s "$DIR/page_$n.html") bytes"
