"""Shared fixtures: the sample data and the command line to compare with.

The tests compare the Python package against the ``entangle`` binary built
from the same sources (``ENTANGLE_BIN``, default ``target/debug/entangle``
of the repository, which ``cargo test`` builds)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def cli():
    binary = Path(os.environ.get("ENTANGLE_BIN", ROOT / "target" / "debug" / "entangle"))
    if not binary.exists():
        pytest.fail(f"no entangle binary at {binary}: build it (cargo build) or set ENTANGLE_BIN")

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(binary), *map(str, args)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def run_json(*args: str) -> dict:
        return json.loads(run(*args, "--json"))

    run.json = run_json
    return run
