"""Fixtures for the format tests: a real workspace on ``tmp_path`` and a transcript builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.core.document import Transcript
from annotator.core.store import Workspace

from .builders import STOP, STOP_SPEAKERS, TranscriptBuilder
from support import shared_file


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace in its own folder, so ``tmp_path`` itself only holds what a test writes."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    with Workspace(folder / "annotator.db") as ws:
        yield ws


@pytest.fixture
def build(workspace: Workspace) -> TranscriptBuilder:
    return TranscriptBuilder(workspace)


@pytest.fixture
def stop(build: TranscriptBuilder) -> Transcript:
    """The small roadside-stop review every format test starts from."""
    return build(STOP, STOP_SPEAKERS)


@pytest.fixture
def real_subtitles() -> Path:
    """Subtitle files written by other projects (tests/data/subtitles; sources in its README)."""
    return shared_file("subtitles")
