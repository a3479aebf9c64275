#!/usr/bin/env bash
# A new user's install: WHEEL into a fresh virtual environment, with no Rust
# toolchain on PATH (no cargo, no rustc) and only pip's binary packages, then
# README's Python example run from it in a directory without target/. Prints
# the install's wall time.
#
#   scripts/test_wheel.sh target/wheels/entangle-0.1.0-cp310-abi3-*.whl
set -euo pipefail
wheel=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"

# PATH without the directories that hold cargo or rustc.
kept=""
IFS=: read -ra dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
    if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ]; then continue; fi
    kept="${kept:+$kept:}$dir"
done
export PATH="$kept"
for tool in cargo rustc; do
    if command -v "$tool" >/dev/null 2>&1; then
        echo "wheel test: $tool is still on PATH" >&2
        exit 1
    fi
done

started=$(date +%s%N)
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: "$wheel"
ms=$((($(date +%s%N) - started) / 1000000))
printf 'wheel install: %d.%01d s (%s and its dependencies from PyPI, no compiler)\n' \
    $((ms / 1000)) $((ms % 1000 / 100)) "$(basename "$wheel")"
"$scratch/venv/bin/python" "$root/scripts/readme_python_example.py" --run
