#!/usr/bin/env python3
"""Runs every command shown in README.md and docs/*.md, as written, and checks
every reference between the repository's files.

    python3 scripts/check_docs.py [TARGET_DIR [PYTHON]]    (default: target/debug)
    python3 scripts/check_docs.py --references             (the references alone)

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

The references check (one test in that count, and all that ``--references``
runs; it needs no build) fails, naming file:line, the reference and what is
missing, when

* a tracked text file (``.rs .py .md .slt .sh .toml .yml``) cites the
  specification that lives outside the repository (docs/conventions.md holds
  everything the code relies on);
* a citation of a section of docs/conventions.md names a heading that page
  does not have; outside Markdown it must be written with the path from the
  repository root, ``(docs/conventions.md`` then ``#`` and the anchor (and so
  must a citation of any other docs page's section, which is checked too);
* a relative Markdown link in README.md or docs/*.md, ``[text](path)`` or
  ``[text](path#anchor)``, names a file that does not exist or an anchor that
  is not a heading of that page. Anchors are GitHub's heading slugs (lower
  case, punctuation other than ``-`` and ``_`` dropped, spaces to ``-``, a
  repeated heading gets ``-1``, ``-2``, …); http(s) and mailto links and
  links inside fenced or inline code are not checked.
"""

import functools
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

# The references check. Each pattern is written so that it does not match
# itself: this file is one of the files checked.
CHECKED_SUFFIXES = (".rs", ".py", ".md", ".slt", ".sh", ".toml", ".yml")
OUTSIDE_SPEC = re.compile(r"SPEC(?: §\d*|\.md)")
CONVENTIONS = "docs/conventions.md"
CITATION = re.compile(r"((?:[\w.-]+/)*)conventions\.md#([\w-]*)")
# Outside Markdown, a section of any docs page: docs/, the page, #anchor.
DOCS_CITATION = re.compile(r"(?<![\w/.-])docs/([\w-]+\.md)#([\w-]*)")
LINK = re.compile(r"!?\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:name|id)=\"([^\"]+)\"")


def blocks(path):
    """(info, first line number, lines) of every fenced block of a Markdown file."""
    return blocks_of(path.read_text().splitlines())


def blocks_of(text_lines):
    """(info, first line number, lines) of every fenced block of Markdown lines."""
    info, start, body = None, 0, []
    for number, line in enumerate(text_lines, 1):
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


def unfenced(text):
    """The text with the lines of fenced blocks, fences included, blanked out
    (offsets kept)."""
    lines = text.split("\n")
    for _, start, body in blocks_of(lines):
        for index in range(start - 2, start + len(body)):  # 0-based, both fences
            lines[index] = " " * len(lines[index])
    return "\n".join(lines)


def prose(text):
    """The text with fenced blocks and inline code blanked out (line breaks and
    offsets kept), so that links shown as code are not taken as links."""
    def blank(match):
        return re.sub(r"[^\n]", " ", match.group(0))

    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", blank, unfenced(text), flags=re.S)


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@functools.cache
def anchors(path):
    """The anchors of a Markdown file's headings (and explicit HTML anchors)."""
    found, seen = set(), {}
    for line in unfenced(path.read_text()).split("\n"):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(HTML_ANCHOR.findall(line))
    return found


def section_missing(page, anchor):
    """What is missing for a citation of `page`'s section `anchor`, or None."""
    shown = page.relative_to(ROOT)
    if not page.exists():
        return f"{shown} does not exist"
    if anchor not in anchors(page):
        return f"{shown} has no heading with the anchor #{anchor}"
    return None


def reference_problems(name, text, pages):
    """(line, reference, what is missing) for every broken reference in the
    text of the tracked file `name` (relative to ROOT); Markdown links are
    checked when `name` is one of `pages`."""
    problems = []

    def line_of(offset):
        return text.count("\n", 0, offset) + 1

    for match in OUTSIDE_SPEC.finditer(text):
        missing = f"a specification outside the repository: cite a section of {CONVENTIONS}"
        problems.append((line_of(match.start()), match.group(0), missing))
    conventions = ROOT / CONVENTIONS
    cited = set()  # (line, anchor) already reported, not again as a link
    for match in CITATION.finditer(text):
        line, reference, anchor = line_of(match.start()), match.group(0), match.group(2)
        if not name.endswith(".md") and match.group(1) != "docs/":
            missing = f"write it as {CONVENTIONS}#ANCHOR (the path from the repository root)"
        else:
            missing = section_missing(conventions, anchor)
        if missing:
            problems.append((line, reference, missing))
            cited.add((line, anchor))
    if not name.endswith(".md"):
        for match in DOCS_CITATION.finditer(text):
            page = ROOT / "docs" / match.group(1)
            missing = page != conventions and section_missing(page, match.group(2))
            if missing:
                problems.append((line_of(match.start()), match.group(0), missing))
    if name in pages:
        page = ROOT / name
        for match in LINK.finditer(prose(text)):
            target = match.group(2)
            if not target or re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http(s), mailto: not checked
            path, _, anchor = target.partition("#")
            where = (page.parent / path).resolve() if path else page
            line = line_of(match.start())
            shown = f"[{match.group(1)}]({target})".replace("\n", " ")
            if not where.exists():
                folder = page.parent.relative_to(ROOT)
                problems.append((line, shown, f"{path} does not exist (relative to {folder}/)"))
            elif anchor and where.suffix == ".md" and (line, anchor) not in cited:
                missing = section_missing(where, anchor)
                if missing:
                    problems.append((line, shown, missing))
    return problems


def check_references():
    """The references check: prints every problem; True when there is none."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    names = sorted(n for n in listed if n.endswith(CHECKED_SUFFIXES) and (ROOT / n).is_file())
    pages = {"README.md"} | {n for n in names if re.fullmatch(r"docs/[^/]+\.md", n)}
    problems = []
    for name in names:
        text = (ROOT / name).read_text(errors="replace")
        problems += [(name, *p) for p in reference_problems(name, text, pages)]
    for name, line, reference, missing in problems:
        print(f"FAILED {name}:{line}: {reference}: {missing}")
    if problems:
        print(f"FAILED references: {len(problems)} broken in {len(names)} tracked files")
    else:
        print(f"ok     references: {len(names)} tracked files")
    return not problems


def main():
    if sys.argv[1:] == ["--references"]:
        ok = check_references()
        print(f"docs: {int(ok)} passed, {int(not ok)} failed")
        sys.exit(0 if ok else 1)
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target" / "debug").resolve()
    python = sys.argv[2] if len(sys.argv) > 2 else None
    if not (build / "entangle").exists():
        sys.exit(f"{build / 'entangle'} not found: build the binary first")
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    passed = failed = 0
    if check_references():
        passed += 1
    else:
        failed += 1
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
