#!/usr/bin/env bash
# The model check of docs/science.md (issues #21, #31): the model families of
# benches/model_check.py trained on the sample datasets in four column
# orders, paired by seed:
#   natural   the order the generator drew (what the models are built for);
#   shuffled  the same columns in a fixed random order (the input of arrange);
#   tree      `entangle arrange --placement tree` of the shuffled file: the
#             partitioner's nodes, children where it left them (as the
#             paper's procedure leaves METIS's part numbering);
#   seams     `entangle arrange` (default --placement seams) of the shuffled file.
# tree and seams have the same entropies and surrogate, bit for bit.
# The 1D datasets (templates_1d, bursts_1d) train the 1D families (cnn1d,
# s4d, local_attention, gru), the 2D ones (textures_2d, images_2d) cnn2d.
#
#   PYTHON=/path/to/venv/bin/python benches/model_check.sh [SEEDS]   (default 0,1,2,3,4)
# PYTHON needs torch, pyarrow and numpy (`pip install torch pyarrow numpy`).
# THREADS (default 2) is model_check.py's --threads: 1 is much faster while
# another job keeps a core busy.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SEEDS=${1:-0,1,2,3,4}
THREADS=${THREADS:-2}
DIR=${DIR:-$(mktemp -d)}
mkdir -p "$DIR"
cargo build --release --bin entangle
BIN=target/release/entangle

check() { # name, selection for entangle, selection for model_check
    local name=$1 select=$2 model=$3
    for placement in tree seams; do
        # shellcheck disable=SC2086
        "$BIN" arrange "sample_data/${name}_shuffled.parquet" $select --placement "$placement" \
            --report surrogate -o "$DIR/${name}_$placement.parquet" | grep '^seams'
    done
    echo "$name (test accuracy % per seed $SEEDS):"
    # shellcheck disable=SC2086
    "$PYTHON" benches/model_check.py $model --seeds "$SEEDS" --threads "$THREADS" \
        natural="sample_data/$name.parquet" shuffled="sample_data/${name}_shuffled.parquet" \
        tree="$DIR/${name}_tree.parquet" seams="$DIR/${name}_seams.parquet"
}

check templates_1d "--features-prefix s" "--features-prefix s --label class"
check bursts_1d "--features-prefix t" "--features-prefix t --label burst"
check textures_2d "--array pixels --shape 16,16" "--array pixels --shape 16,16 --label texture"
check images_2d "--array pixels --shape 16,16" "--array pixels --shape 16,16 --label bright_blob"
