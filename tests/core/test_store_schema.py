"""Workspace schema upgrades: a workspace made by an older annotator opens, keeps every row and
gains the new tables; one made by a newer annotator is refused rather than misread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from annotator.core.schema import MIGRATIONS
from annotator.core.store import SCHEMA_VERSION, Workspace
from annotator.errors import WorkspaceError


def _workspace_at_version(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version}")
    conn.execute(
        "INSERT INTO media(sha256, path, size, duration_ms, added_at)"
        " VALUES ('ab' , 'stop.mp4', 10, 59200, '2026-11-27T00:00:00+00:00')"
    )
    conn.commit()
    conn.close()


def test_version_1_workspace_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _workspace_at_version(db, 1)
    with Workspace(db) as ws:
        assert ws.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        (media,) = ws.list_media()
        assert (media.path, media.duration_ms) == ("stop.mp4", 59200)
        run = ws.start_run(media.id, "tiny.en", "0" * 64, {}, {})
        assert ws.suppressed(run.id) == []


def test_workspace_from_a_newer_annotator_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    _workspace_at_version(db, SCHEMA_VERSION)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(WorkspaceError, match="newer than this annotator"):
        Workspace(db)
