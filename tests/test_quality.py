"""The code's own rules, checked in the same run as the behaviour tests.

- ruff and mypy (strict) are clean;
- the architecture holds: Textual only under ``annotator/tui``, the speech engine only under
  ``annotator/transcribe``, and the core importable without either;
- modules stay small enough to read (about 600 lines at most).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

PACKAGE = ROOT / "annotator"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (pip install -e '.[test]')")
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


def test_core_imports_neither_ui_nor_engine() -> None:
    modules = sorted(
        "annotator.core." + p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__"
    )
    code = (
        f"import sys; import {', '.join(modules)}, annotator.formats, annotator.player;"
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
