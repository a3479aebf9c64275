#!/usr/bin/env bash
# Every test (README's command 2; CI runs it from a clean checkout): the
# Rust tests, the Python package's tests, the cluster demo and the check of
# every command and Python example shown in README.md and docs/, and one
# summary line over all of them. Needs only the
# machine's Rust toolchain (cargo), python3 (with venv) and, for the browser
# test, Debian's chromium (installed when missing); every crate
# comes from crates.io through Cargo.lock, every Python package from PyPI
# at the versions of python/requirements-test.txt.
set -uo pipefail
cd "$(dirname "$0")/.."

for tool in cargo python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$tool not found: install it first (cargo: rustup)" >&2
        exit 1
    fi
done
cargo --version

df -h . | tail -1 | awk '{ print "disk before the build: " $4 " free of " $2 }'
# Incremental caches help an edit-compile loop, not a one-shot build, and
# would take several more GB of disk.
export CARGO_INCREMENTAL=0

log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$SECONDS
# The Rust tests:
cargo test --all-features 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "cargo test: $((SECONDS - started)) s; target/ after the build: $(du -sh target | cut -f1)"

# Counts over every test binary's `test result:` line.
read -r passed failed ignored < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) passed += $(i-1);
            if ($(i) ~ /^failed;?$/) failed += $(i-1);
            if ($(i) ~ /^ignored;?$/) ignored += $(i-1);
        }
     }
     END { printf "%d %d %d\n", passed, failed, ignored }' "$log")
echo "cargo test: $passed passed, $failed failed, $ignored skipped"

# The Python package (issue #22): a virtual environment with the pinned
# packages from PyPI, the wheel built in the test profile (sharing target/
# with the Rust tests) and installed from target/wheels, pytest with
# polars 2.x, then the polars plugin's
# tests again with polars 1.44 (the plugin is what depends on its version).
echo "== python: wheel and pytest"
# The report page's browser test renders pages in headless Chromium: Debian's
# packages, installed here when missing.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing Debian's chromium and chromium-driver for the report page's browser test"
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
        || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium chromium-driver >/dev/null; } \
        || echo "could not install chromium: the browser test will fail"
fi
python_status=0
python_started=$SECONDS
venv=target/python-venv
rm -rf "$venv"
if python3 -m venv "$venv" \
    && "$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-test.txt \
    && rm -rf target/wheels \
    && "$venv/bin/maturin" build --quiet --profile dev --manifest-path python/Cargo.toml --out target/wheels \
    && wheel=$(ls target/wheels/entangle-*.whl) \
    && "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$wheel"; then
    for polars_version in "" 1.44.2; do
        tests=python/tests
        if [ -n "$polars_version" ]; then
            "$venv/bin/pip" install --quiet --disable-pip-version-check "polars==$polars_version" || python_status=1
            tests=python/tests/test_polars.py
        fi
        echo "-- pytest with polars $("$venv/bin/python" -c 'import polars; print(polars.__version__)')"
        ENTANGLE_BIN="$PWD/target/debug/entangle" "$venv/bin/python" -m pytest -q "$tests" 2>&1 | tee "$log"
        [ "${PIPESTATUS[0]}" = 0 ] || python_status=1
        read -r py_passed py_failed py_skipped < <(awk '/ in [0-9.]+s/ {
                for (i = 2; i <= NF; i++) {
                    if ($(i) ~ /^passed/) p += $(i-1);
                    if ($(i) ~ /^(failed|errors?)/) f += $(i-1);
                    if ($(i) ~ /^skipped/) s += $(i-1);
                }
             }
             END { printf "%d %d %d\n", p, f, s }' "$log")
        passed=$((passed + py_passed)); failed=$((failed + py_failed)); ignored=$((ignored + py_skipped))
        [ "$py_passed" -gt 0 ] || python_status=1
    done
else
    python_status=1
fi
if [ "$python_status" != 0 ]; then
    failed=$((failed + 1)); echo "python: FAILED"
fi
echo "python: $((SECONDS - python_started)) s"

# The same wheel as a new user installs it (issue #34): a fresh virtual
# environment without cargo or rustc on PATH, README's Python example.
echo "== scripts/test_wheel.sh"
if [ -n "${wheel:-}" ] && bash scripts/test_wheel.sh "$wheel"; then
    passed=$((passed + 1)); echo "wheel: passed"
else
    failed=$((failed + 1)); echo "wheel: FAILED"
fi

# The cluster demo (issue #7): a scheduler and two executor processes on
# 127.0.0.1 running the sample queries, with the binary the tests built.
echo "== scripts/cluster_demo.sh"
if bash scripts/cluster_demo.sh target/debug/entangle; then
    passed=$((passed + 1)); echo "cluster demo: passed"
else
    failed=$((failed + 1)); echo "cluster demo: FAILED"
fi

# Every command shown in README.md and docs/*.md, as written (issue #20), and
# every Python example, with the package just built.
echo "== scripts/check_docs.py"
python3 scripts/check_docs.py target/debug "$PWD/$venv/bin/python" | tee "$log"
docs=${PIPESTATUS[0]}
read -r docs_passed docs_failed < <(awk '/^docs: / { print $2, $4 }' "$log")
passed=$((passed + ${docs_passed:-0}))
failed=$((failed + ${docs_failed:-0}))
[ "$docs" = 0 ] || [ "${docs_failed:-0}" != 0 ] || failed=$((failed + 1))

echo "ci: $((SECONDS - started)) s in all"
echo "summary: $passed passed, $failed failed, $ignored skipped"
[ "$status" = 0 ] && [ "$failed" = 0 ]
