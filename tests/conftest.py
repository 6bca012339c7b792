"""Fixtures shared across the suite.

The real engine with the real bundled model runs once per test session on the demo clip and on
jfk.flac; every test that needs a transcribed workspace copies that file, so the suite stays
fast without faking the engine.

Tests marked ``mpv`` or ``tmux`` need that program: they skip without it locally and fail under
``CI`` (see ``support.missing``), checked here before any fixture starts it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.core.store import Workspace

from support import DEMO, TOOL_MARKERS, require_tool, shared_file


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for tool in TOOL_MARKERS:
        if item.get_closest_marker(tool) is not None:
            require_tool(tool)


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the user's cache (model hash results, assembled models) out of tests."""
    monkeypatch.setenv("ANNOTATOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def transcribed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding real transcriptions of the demo clip and jfk.flac."""
    from annotator.transcribe.engine import TranscribeOptions
    from annotator.transcribe.pipeline import run_batch

    db = tmp_path_factory.mktemp("transcribed") / "annotator.db"
    paths = [DEMO, shared_file("jfk.flac")]
    mp = pytest.MonkeyPatch()
    mp.setenv("ANNOTATOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    try:
        with Workspace(db) as ws:
            results = run_batch(ws, paths, TranscribeOptions())
    finally:
        mp.undo()
    assert [r.status for r in results] == ["done"] * len(paths), [r.error for r in results]
    return db


@pytest.fixture
def workspace_copy(transcribed_db: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private, writable copy of the transcribed workspace."""
    target = tmp_path / "annotator.db"
    with Workspace(transcribed_db) as src:
        src.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(transcribed_db, target)
    ws = Workspace(target)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def demo_media_id(workspace_copy: Workspace) -> int:
    return workspace_copy.find_media("demo.mp4").id
