"""The review app's suggestion queue (``w``) on the real demo workspace: accept, reject, name a
voice, run the detectors in a worker, and ``z`` in the review screen undoes a decision."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from annotator.core import suggestions as layer
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Proposal, Status
from annotator.tui.launch import build_app
from annotator.tui.screens.suggestions import SuggestionsScreen

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
