#!/usr/bin/env python3
"""Runs README.md's Python example as a new user would after installing the
wheel: with this interpreter, in an empty directory that holds only
sample_data/ (no target/, no build). Exit status 0 when it ran.

    python scripts/readme_python_example.py --run
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def example() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    if len(blocks) != 1:
        sys.exit(f"README.md: expected one python block, found {len(blocks)}")
    return blocks[0]


def main() -> int:
    if sys.argv[1:] != ["--run"]:
        print(example(), end="")
        return 0
    with tempfile.TemporaryDirectory(prefix="entangle-readme-") as scratch:
        shutil.copytree(ROOT / "sample_data", Path(scratch) / "sample_data")
        run = subprocess.run([sys.executable, "-c", example()], cwd=scratch)
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
