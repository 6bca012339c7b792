"""Two key screens as SVG snapshots (pinned Textual, fixed size, no blinking cursor).

Update after a deliberate visual change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from annotator.core.session import ReviewSession
from annotator.core.store import Workspace

from .builders import add_transcript
from .conftest import AppFactory

TEXTS = [
    "Driver, roll your window down right now.",
    "I am not rolling it down.",
    "Roll the window down, or I will break it.",
    "[bold red]Do you have a warrant?[/]",
    "Federal immigration agents. Step out of the vehicle.",
]


def stop_db(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "stop.db"
    with Workspace(db) as ws:
        media = add_transcript(ws, "stop.mp4", TEXTS)
        session = ReviewSession(ws, media.id, "setup")
        ids = [s.id for s in session.segments]
        session.assign_role(ids[0], "officer")
        session.assign_role(ids[1:2], "driver")
        session.add_tag(ids[0], "local_police")
        session.add_tag(ids[2], "threat_of_force")
        session.set_state(ids[:2], "reviewed")
        session.set_text(ids[1], "I'm not rolling it down.")
    return db, str(media.id)


def test_main_screen(snap_compare: Any, make_app: AppFactory, tmp_path: Path) -> None:
    db, ref = stop_db(tmp_path)
    assert snap_compare(make_app(db, ref), terminal_size=(120, 30), press=["j"])


def test_action_chord(snap_compare: Any, make_app: AppFactory, tmp_path: Path) -> None:
    """Every action of the default codebook and "+ new action…" show in full at 120
    columns, once the "No player" notice (which covered the right-hand column) is gone."""
    db, ref = stop_db(tmp_path)

    async def open_chord(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.press("j", "j", "t")

    assert snap_compare(make_app(db, ref), terminal_size=(120, 30), run_before=open_chord)
