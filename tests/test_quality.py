"""The code's own rules, checked in the same run as the behaviour tests.

- ruff and mypy (strict) are clean;
- the architecture holds: Textual only under ``annotator/tui``, the speech engine only under
  ``annotator/transcribe``, and the core importable without either;
- modules stay small enough to read (about 600 lines at most);
- the suite runs on a fresh clone: every file in ``tests/data`` has its source and licence, and
  every program a test needs is installed by ``.ci/setup`` (and, under CI, present).
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import DATA, ROOT, TOOL_MARKERS, missing, require_tool

PACKAGE = ROOT / "annotator"
BIN = Path(sys.executable).parent
CI_SETUP = ROOT / ".ci" / "setup"
DATA_LIMIT = 10 * 1024 * 1024  # keeps the repository quick to clone


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        missing(f"{name} not installed (pip install -e '.[test]')")
    return path


def test_ruff_clean() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "annotator", "tests", "bench"], cwd=ROOT,
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = subprocess.run(
        [_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imports(pattern: str) -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if re.search(pattern, path.read_text(), re.MULTILINE):
            found.add(path.relative_to(ROOT).as_posix())
    return found


def test_textual_only_in_tui() -> None:
    users = _imports(r"^\s*(import textual|from textual)")
    assert users and all(u.startswith("annotator/tui/") for u in users), users


def test_speech_engine_only_in_transcribe() -> None:
    users = _imports(r"^\s*(import faster_whisper|from faster_whisper|import ctranslate2)")
    assert users and all(u.startswith("annotator/transcribe/") for u in users), users


def _modules(package: str) -> list[str]:
    """Every module of ``annotator.<package>``, subpackages included, as dotted names."""
    names = []
    for path in (PACKAGE / package).rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names.append(".".join(("annotator", *parts)).removesuffix(".__init__"))
    return sorted(names)


def test_core_imports_neither_ui_nor_engine() -> None:
    """Harlequin's contract: the core, the exporters and the player load without Textual or
    the speech engine, so the CLI's light commands and scripts stay fast and a headless export
    cannot break because of the UI. Every module is imported, subpackages included, so a new
    module with a stray import is caught too."""
    modules = [*_modules("core"), *_modules("formats"), "annotator.errors", "annotator.player"]
    assert {"annotator.core", "annotator.formats", "annotator.core.store"} <= set(modules)
    code = (
        f"import sys; import {', '.join(modules)};"
        "bad = [m for m in ('textual', 'faster_whisper', 'ctranslate2') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_modules_stay_small() -> None:
    big = {
        p.relative_to(ROOT).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 600
    }
    assert not big, big


# -- the suite runs on a fresh clone ------------------------------------------------------


def _ci_tools() -> list[str]:
    """The programs ``.ci/setup`` installs (its ``TOOLS="..."`` line, ``command[:package]``)."""
    match = re.search(r'^TOOLS="([^"]*)"$', CI_SETUP.read_text(), re.MULTILINE)
    assert match, f'{CI_SETUP} has no TOOLS="..." line'
    return [entry.split(":")[0] for entry in match.group(1).split()]


@pytest.mark.parametrize("tool", _ci_tools())
def test_ci_setup_tools_are_installed(tool: str) -> None:
    """Under CI every program .ci/setup installs is on PATH (locally a missing one skips)."""
    require_tool(tool)


def test_every_tool_a_test_requires_is_installed_by_ci_setup() -> None:
    """A test requiring a program (a ``require_tool`` call with its name, or the ``mpv``/``tmux``
    marker) fails under CI without it, so the program must be one .ci/setup installs."""
    wanted = set(TOOL_MARKERS)
    for path in (ROOT / "tests").rglob("*.py"):
        wanted |= set(re.findall(r"require_tool\(\s*[\"']([^\"']+)[\"']", path.read_text()))
    assert wanted <= set(_ci_tools()), sorted(wanted - set(_ci_tools()))


def test_data_files_have_source_licence_and_fit() -> None:
    """Every file in tests/data is in its manifest, unchanged (size and SHA-256), with licence
    texts that exist, so the repository can redistribute it; the folder stays under 10 MB."""
    meta = {DATA / "README.md", DATA / "manifest.tsv"}
    with (DATA / "manifest.tsv").open(newline="") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}
    files = {
        p.relative_to(DATA).as_posix(): p
        for p in DATA.rglob("*")
        if p.is_file() and p not in meta and p.relative_to(DATA).parts[0] != "LICENSES"
    }
    assert sorted(files) == sorted(rows), "tests/data and its manifest.tsv list different files"
    for name, path in files.items():
        data, row = path.read_bytes(), rows[name]
        found = (len(data), hashlib.sha256(data).hexdigest())
        assert found == (int(row["bytes"]), row["sha256"]), (name, found)
        assert row["content_license"], name
        for licence in row["license_files"].split(";"):
            assert licence == "-" or (DATA / licence).is_file(), (name, licence)
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < DATA_LIMIT, total
