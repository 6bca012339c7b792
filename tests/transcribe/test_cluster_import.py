"""Without ``--scheduler`` nothing about Dask is loaded (issue 11).

``distributed`` costs about a second to import and starts nothing useful for a one-machine run,
so the CLI imports :mod:`annotator.transcribe.cluster` only when ``--scheduler`` is given. Each
check runs in a fresh interpreter, so what other tests imported does not count.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import DATA

CHECK = """
import sys
from annotator.cli import main
code = main({argv!r})
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('distributed', 'dask'))
print('LOADED', loaded, 'CODE', code)
"""


def _loaded(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True,
        cwd=cwd, timeout=300,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("LOADED")), None)
    assert line is not None, done.stdout + done.stderr
    return line


def test_help_does_not_import_dask(tmp_path: Path) -> None:
    assert _loaded(["transcribe", "--help"], tmp_path) == "LOADED [] CODE 0"


@pytest.mark.engine
def test_a_plain_run_does_not_import_dask(tmp_path: Path) -> None:
    clip = DATA / "goforward.wav"
    line = _loaded(["transcribe", str(clip), "--db", str(tmp_path / "w.db")], tmp_path)
    assert line == "LOADED [] CODE 0"


def test_only_the_cluster_module_imports_dask() -> None:
    """Dask stays behind ``--scheduler``: the cluster module imports it, the module of what
    runs on a worker only inside a function (the worker's address), and the CLI imports them
    only for ``--scheduler`` (checked above)."""
    package = Path(__file__).resolve().parents[2] / "annotator"
    pattern = re.compile(r"^\s*(import|from) (dask|distributed)\b", re.MULTILINE)
    users = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if pattern.search(p.read_text())
    )
    assert users == ["transcribe/cluster.py", "transcribe/cluster_task.py"]
