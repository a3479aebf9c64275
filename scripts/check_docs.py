#!/usr/bin/env python3
"""Runs every command shown in README.md and docs/*.md, as written.

    python3 scripts/check_docs.py [TARGET_DIR [PYTHON]]    (default: target/debug)

Fenced blocks are read by their info string:

* ``console``: lines starting with ``$ `` are commands (a trailing ``\\``
  continues one); the lines after a command are its output as shown, and each
  must appear in the real stdout, in that order. ``…`` in a shown line
  matches anything.
* ``sh``: every command must exit 0.
* ``python``: the block is one script, run by PYTHON (an interpreter with
  the entangle package installed); it must exit 0. Without PYTHON these
  blocks are not run.

Any other block (``text``, ``sql``, ``rust``, ``json``) is not run. A command's
words are taken as a user would type them, with these stand-ins for the build
that CI has just made: ``entangle`` and ``target/release/entangle`` are the
built binary, ``cargo run --release [--features F] -- ARGS`` is ``entangle
ARGS``, ``cargo run --release [--features F] --example NAME -- ARGS`` is the
built example, and ``cargo build``/``cargo test``/``cargo bench``,
``scripts/test.sh``, ``pip install`` and ``maturin`` (whose results CI has
just checked) are not rerun. Commands run in a scratch
directory that holds the repository's ``sample_data/`` and an empty
``target/`` and ``docs/``, so nothing in the work tree changes. Python on the
machine suffices; the output ends with 'N passed, N failed'.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\S*)\s*$")


def blocks(path):
    """(info, first line number, lines) of every fenced block of a Markdown file."""
    info, start, body = None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = FENCE.match(line)
        if match and info is None:
            info, start, body = match.group(1), number + 1, []
        elif line.startswith("```") and info is not None:
            yield info, start, body
            info = None
        elif info is not None:
            body.append(line)


def balanced(text):
    """Whether the shell would take the text as complete (quotes closed)."""
    try:
        shlex.split(text, comments=True)
        return True
    except ValueError:
        return False


def commands(info, lines):
    """(command, shown output lines) of one block."""
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if info == "console":
            if not line.startswith("$ "):
                i += 1
                continue
            line = line[2:]
        elif not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        text = line
        while i + 1 < len(lines):
            if text.endswith("\\"):
                text = text[:-1] + " " + lines[i + 1].strip()
            elif not balanced(text):
                text = text + "\n" + lines[i + 1]
            else:
                break
            i += 1
        i += 1
        shown = []
        if info == "console":
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
        found.append((text, shown))
    return found


def translate(text, build):
    """The command to run, or None when CI has already run it."""
    words = shlex.split(text, comments=True)
    if not words:
        return None
    operators = [w for w in words if w in ("&", "&&", "|", "||", ";", ">", "<")]
    if operators:
        raise ValueError(f"shell operator {operators[0]} (write one plain command per line)")
    prefix = []
    if words[:2] == ["/usr/bin/time", "-v"]:
        prefix, words = words[:2], words[2:]
    if words[0] in ("pip", "maturin", "scripts/test.sh") or words[:2] == ["bash", "scripts/test.sh"]:
        return None
    if words[0] == "cargo":
        if words[1] in ("build", "test", "bench"):
            return None
        if words[1] != "run":
            raise ValueError(f"unknown cargo command: {text}")
        rest = words[2:]
        example = None
        while rest and rest[0] != "--":
            flag = rest.pop(0)
            if flag == "--example":
                example = rest.pop(0)
            elif flag in ("--features", "-F"):
                rest.pop(0)
            elif flag not in ("--release", "--all-features"):
                raise ValueError(f"unknown cargo run flag {flag}: {text}")
        args = rest[1:]
        binary = build / "examples" / example if example else build / "entangle"
        words = [str(binary)] + args
    elif words[0] in ("entangle", "target/release/entangle", "target/debug/entangle"):
        words = [str(build / "entangle")] + words[1:]
    return prefix + words


def matches(shown, actual):
    """Whether every shown line appears in the actual lines, in order."""
    pending = [s.rstrip() for s in shown if s.strip()]
    for line in actual:
        if not pending:
            break
        pattern = ".*".join(re.escape(part) for part in pending[0].split("…"))
        if re.fullmatch(pattern, line.rstrip()):
            pending.pop(0)
    return pending


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target" / "debug").resolve()
    python = sys.argv[2] if len(sys.argv) > 2 else None
    if not (build / "entangle").exists():
        sys.exit(f"{build / 'entangle'} not found: build the binary first")
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    passed = failed = 0
    scratch = Path(tempfile.mkdtemp(prefix="entangle-docs-"))
    try:
        os.symlink(ROOT / "sample_data", scratch / "sample_data")
        for name in ("target", "docs"):
            (scratch / name).mkdir()
        # Python blocks run where a fresh clone's user runs them: beside
        # sample_data/, with no target/ (a wheel install builds nothing).
        fresh = scratch / "fresh-clone"
        fresh.mkdir()
        os.symlink(ROOT / "sample_data", fresh / "sample_data")
        for page in pages:
            for info, start, lines in blocks(page):
                where = f"{page.relative_to(ROOT)}:{start}"
                if info == "python" and python:
                    run = subprocess.run(
                        [python, "-c", "\n".join(lines)],
                        cwd=fresh,
                        capture_output=True,
                        text=True,
                        timeout=600,
                    )
                    if run.returncode != 0:
                        failed += 1
                        print(f"FAILED {where}: python block")
                        print(f"  exit {run.returncode}: {run.stderr.strip()[-2000:]}")
                    else:
                        passed += 1
                        print(f"ok     {where}: python block")
                    continue
                if info not in ("console", "sh"):
                    continue
                for text, shown in commands(info, lines):
                    try:
                        argv = translate(text, build)
                    except ValueError as e:
                        print(f"FAILED {where}: {e}")
                        failed += 1
                        continue
                    if argv is None:
                        continue
                    run = subprocess.run(
                        argv, cwd=scratch, capture_output=True, text=True, timeout=600
                    )
                    missing = matches(shown, run.stdout.splitlines())
                    if run.returncode != 0 or missing:
                        failed += 1
                        print(f"FAILED {where}: {text}")
                        if run.returncode != 0:
                            print(f"  exit {run.returncode}: {run.stderr.strip()[-2000:]}")
                        for line in missing[:5]:
                            print(f"  not in the output: {line}")
                    else:
                        passed += 1
                        print(f"ok     {where}: {text[:100]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"docs: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
