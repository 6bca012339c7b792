"""Fixtures for the review app tests: real workspaces, the real app, no mpv by default."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from annotator.core.store import Workspace
from annotator.tui.app import ReviewApp
from annotator.tui.launch import build_app

AppFactory = Callable[..., ReviewApp]


@pytest.fixture(autouse=True)
def _no_mpv(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run without a player unless marked ``mpv`` (then they need a real one)."""
    if request.node.get_closest_marker("mpv") is None:
        monkeypatch.setattr("annotator.player.find_mpv", lambda: None)


@pytest.fixture(autouse=True)
def _no_user_keymap(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own key remapping out of tests."""
    monkeypatch.setenv("ANNOTATOR_KEYMAP", str(tmp_path_factory.getbasetemp() / "no-keymap"))


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """No blinking input cursor: nothing changes on screen unless a test did something."""
    from textual.widgets import Input

    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Build the real app on a real workspace file, as ``annotator review`` does."""
    opened: list[Workspace] = []

    def factory(db: Path, media: str, reviewer: str = "tester", **kwargs: Any) -> ReviewApp:
        ws = Workspace(db)
        opened.append(ws)
        kwargs.setdefault("export_dir", tmp_path / "exports")
        return build_app(ws, db, media, reviewer, **kwargs)

    yield factory
    for ws in opened:
        ws.close()


@pytest.fixture
def demo_db(workspace_copy: Workspace) -> Path:
    """A private copy of the workspace holding the real transcription of the demo clip."""
    return workspace_copy.path


@pytest.fixture
def demo_ref(workspace_copy: Workspace) -> str:
    return str(workspace_copy.find_media("demo.mp4").id)
