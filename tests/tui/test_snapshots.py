"""Key screens as SVG snapshots (pinned Textual, fixed size, no blinking cursor).

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


def test_suggestions_in_place(snap_compare: Any, make_app: AppFactory, tmp_path: Path) -> None:
    """Open suggestions drawn unlike decisions: "Voice B?" where no speaker is set, a
    suggested tag after a real one, ⚑ on a distrusted line, a ◆ event row between lines, and
    the detail pane listing the current line's suggestions."""
    from annotator.core import suggestions as layer
    from annotator.core.suggestions import Event, Kind, Proposal

    db, ref = stop_db(tmp_path)
    with Workspace(db) as ws:
        mid = int(ref)
        segs = ws.segments(mid)
        layer.replace_open(ws, mid, [Kind.SPEAKER], [
            Proposal(Kind.SPEAKER, s.start_ms, s.end_ms, v, {"detector": "voices"}, 0.93,
                     segment_id=s.id) for s, v in zip(segs[2:], "ABA", strict=True)])
        layer.replace_open(ws, mid, [Kind.TAG], [
            Proposal(Kind.TAG, segs[2].start_ms, segs[2].end_ms, "verbal_order",
                     {"detector": "codebook-rules"}, 0.8, segment_id=segs[2].id,
                     detail={"matched": "Roll the window down"})])
        layer.replace_open(ws, mid, [Kind.DISTRUST], [Proposal(
            Kind.DISTRUST, segs[3].start_ms, segs[3].end_ms, "repeat", {"detector": "distrust"},
            segment_id=segs[3].id, detail={"reasons": [{"why": "repeats the line before"}]})])
        ev = layer.add_event(ws, Event(0, mid, "knock", 5000, 6200, count=4, strength=5.8))
        layer.replace_open(ws, mid, [Kind.EVENT], [Proposal(
            Kind.EVENT, ev.start_ms, ev.end_ms, "strike_on_vehicle", {"detector": "impacts"},
            0.62, event_id=ev.id, detail={"count": 4, "kind": "knock"})])

    async def on_line_three(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.press("j", "j")

    assert snap_compare(make_app(db, ref), terminal_size=(120, 30), run_before=on_line_three)
