"""The review app's suggestions on the real demo workspace: the queue (``w``: accept, reject,
name a voice, run the detectors in a worker, ``z`` in the review screen undoes a decision), and
issue 9's "done when" end to end with the real engine and detectors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core import suggestions as layer
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Proposal, Status
from annotator.errors import EXIT_OK
from annotator.tui.hints import EventRow
from annotator.tui.launch import build_app
from annotator.tui.screens.export import ExportScreen
from annotator.tui.screens.suggestions import SuggestionsScreen

from support import DEMO, require_module

SIZE = (120, 34)


@pytest.fixture(autouse=True)
def _quiet_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("annotator.player.find_mpv", lambda: None)
    monkeypatch.setenv("ANNOTATOR_KEYMAP", str(tmp_path / "no-keymap"))
    monkeypatch.setitem(sys.modules, "annotator.suggest.voices", None)  # keep it fast
    monkeypatch.setitem(sys.modules, "annotator.suggest.impacts", None)


async def test_queue_decides_and_review_undoes(workspace_copy: Workspace, demo_media_id: int,
                                               tmp_path: Path) -> None:
    ws, mid = workspace_copy, demo_media_id
    segs = ws.segments(mid)
    voices = {s.id: "B" if "warrant" in s.text.lower() else "A" for s in segs}
    layer.replace_open(ws, mid, [Kind.SPEAKER], [
        Proposal(Kind.SPEAKER, s.start_ms, s.end_ms, voices[s.id], {"detector": "t"}, 0.9,
                 segment_id=s.id) for s in segs])
    app = build_app(ws, ws.path, str(mid), "ana", export_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SuggestionsScreen)
        assert len(screen.queue.items) == len(segs)
        await pilot.press("G")  # the detectors run in a worker; the screen stays live
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "rules" in screen.message and "voices unavailable" in screen.message
        await pilot.press("K")  # speaker suggestions only
        assert screen.queue.kind == "speaker"
        while screen.queue.current is not None and screen.queue.current.value != "B":
            await pilot.press("j")
        await pilot.press("v", *"ICE agent", "enter")
        await pilot.pause()
        b_lines = [k for k, v in voices.items() if v == "B"]
        named = {app.review.session.speaker_label(app.review.session.segment(i))
                 for i in b_lines}
        assert named == {"ICE agent"}
        await pilot.press("K")  # tag suggestions
        first = screen.queue.current
        assert first is not None and first.kind == "tag"
        await pilot.press("a")
        assert layer.suggestion(ws, first.id).status is Status.ACCEPTED
        second = screen.queue.current
        assert second is not None and second.id != first.id
        await pilot.press("x")
        assert layer.suggestion(ws, second.id).status is Status.REJECTED
        info = screen.info.render()
        assert "Saved" in str(info)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SuggestionsScreen)
        row = app.review.table.index_of(first.segment_id or 0)
        assert row is not None
        tags_cell = app.review.table.cells(row)[4].plain
        assert ws.load_codebook(ws.media_codebook(mid) or 0).label(first.value) in tags_cell
        await pilot.press("z")  # the rejection
        await pilot.press("z")  # the acceptance
        await pilot.pause()
        assert layer.suggestion(ws, first.id).status is Status.OPEN
        assert first.value not in ws.segment(first.segment_id or 0).tags


async def test_done_when_transcribe_suggest_name_voices_accept_burst_export(
    workspace_copy: Workspace, demo_media_id: int, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 9's "done when", on the real engine and detectors: ``annotator transcribe
    --suggest`` on the demo clip (its transcription is the session's real one, so the command
    goes on to the detectors), then in the review app: name the voices with W and a role's
    key (W o: Officer, W d: Driver), accept the strike burst with Y on its timeline row,
    export; the captions say who speaks and ``[N strikes]``."""
    require_module("torch", "pip install 'annotator[voices]'; .ci/setup installs it")
    for name in ("annotator.suggest.voices", "annotator.suggest.impacts"):
        monkeypatch.delitem(sys.modules, name, raising=False)  # the real detectors here
    ws, mid = workspace_copy, demo_media_id
    assert main(["transcribe", str(DEMO), "--suggest", "--db", str(ws.path)]) == EXIT_OK
    assert layer.events(ws, mid), "the impact pass found no burst on the demo clip"
    out = tmp_path / "out"
    app = build_app(ws, ws.path, str(mid), "ana", export_dir=out)
    names = iter(["o", "d", "p", "b"])  # the speaker chord's roles: Officer, Driver, ...
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review = app.review
        table, overlay = review.table, lambda: review.suggested.overlay
        for _ in range(len(table.rows)):  # walk the open suggestions, naming each new voice
            hints = overlay().hints(table.current)
            if hints is not None and hints.voice is not None:
                await pilot.press("W", next(names))
            if not any(h.voice for h in overlay().by_segment.values()):
                break
            await pilot.press("full_stop")
        assert not any(h.voice for h in overlay().by_segment.values())
        for _ in range(len(table.rows)):
            if isinstance(table.current, EventRow):
                break
            await pilot.press("full_stop")
        assert isinstance(table.current, EventRow)
        await pilot.press("Y")
        assert table.current.status is Status.ACCEPTED  # type: ignore[attr-defined]
        await pilot.press("E")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        written = review.exporter.last
    session = review.session
    lines = {s.text.strip().lower(): session.speaker_label(s) for s in session.segments}
    assert lines["driver, roll your window down right now."] == "Officer"
    assert lines["do you have a warrant?"] == "Driver"
    srt = next(p for p in written if p.suffix == ".srt").read_text()
    assert "Officer" in srt and "Driver" in srt
    assert re.search(r"\[\d+ strikes\]", srt), srt[:400]
