"""Fixtures for core tests: a real temporary workspace holding a small, realistic transcript."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.core.model import Media
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace

from .builders import add_media, add_transcript


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "annotator.db"


@pytest.fixture
def ws(db: Path) -> Iterator[Workspace]:
    workspace = Workspace(db)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def media(ws: Workspace) -> Media:
    m = add_media(ws)
    add_transcript(ws, m)
    return m


@pytest.fixture
def session(ws: Workspace, media: Media) -> ReviewSession:
    return ReviewSession(ws, media.id, "ana")
