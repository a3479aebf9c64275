#!/usr/bin/env bash
# The release wheel of the Python package: one abi3 wheel (CPython >= 3.10)
# for this platform, built by maturin (the version python/requirements-test.txt
# pins, installed from PyPI into target/build-venv) into dist/, in Cargo.toml's
# `wheel` profile (what `pip install ./python` builds too). The release
# workflow (.github/workflows/release.yml) builds the same for every platform.
#
#   scripts/build_wheel.sh            # dist/entangle-<version>-cp310-abi3-<platform>.whl
#   pip install dist/entangle-*.whl   # no compiler needed
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/build-venv
maturin_pin=$(grep '^maturin==' python/requirements-test.txt)
if [ ! -x "$venv/bin/maturin" ] || [ "$("$venv/bin/maturin" --version | cut -d' ' -f2)" != "${maturin_pin#maturin==}" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$maturin_pin"
fi
"$venv/bin/maturin" build --profile wheel --manifest-path python/Cargo.toml --out dist "$@"
ls -l dist/*.whl
