"""Suggestions in place in the review screen (issue 9.6): drawn unlike decisions in the table
and detail pane, impact events as timeline rows with their own state, the review keys that
decide them (one undo step each), and the detectors run in a worker after a transcription.

The workspaces are built through the store calls the pipeline and the detectors use (segments,
then :func:`annotator.core.suggestions.replace_open` with proposals), so these run in well
under a second each; the real detectors are in ``tests/suggest/test_layer_tui.py``.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.widget import Widget

from annotator.core import suggestions as layer
from annotator.core.model import ReviewState
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.suggestions import Event, Kind, Proposal, Status
from annotator.tui.bindings import SECTIONS
from annotator.tui.hints import DISTRUST_GLYPH, SUGGESTED_STYLE, EventRow
from annotator.tui.screens.help import help_columns
from annotator.tui.screens.prompt import PromptScreen
from annotator.tui.transcription import Transcriber

from .builders import add_transcript
from .conftest import AppFactory
from .test_review import type_into_prompt

SIZE = (140, 36)
TEXTS = ["roll your window down", "I am not rolling it down", "why did you stop me",
         "roll the window down now", "please do not", "okay okay"]
VOICES = ["A", "B", "B", "A", "B", "B"]
SOURCE = {"detector": "annotator.suggest.voices", "version": "0"}
RULE = {"detector": "codebook-rules", "rule": "roll"}


def _proposals(ws: Workspace, mid: int) -> None:
    """Voices on every line, "verbal order" on the two "roll" lines, a split before "now" on
    line 3, a distrust flag on line 4, and a knock burst at 5.0 s (between lines 2 and 3)
    suggested as an action."""
    segs = ws.segments(mid)
    like = {"speaker": "Driver", "media": "earlier.mp4", "voice": "A", "similarity": 0.8}
    layer.replace_open(ws, mid, [Kind.SPEAKER], [
        Proposal(Kind.SPEAKER, s.start_ms, s.end_ms, v, SOURCE, 0.9, segment_id=s.id,
                 detail={"like": like} if v == "B" else {})
        for s, v in zip(segs, VOICES, strict=True)])
    layer.replace_open(ws, mid, [Kind.TAG], [
        Proposal(Kind.TAG, s.start_ms, s.end_ms, "verbal_order", RULE, 0.8, segment_id=s.id,
                 detail={"matched": "roll"}) for s in segs if "roll" in s.text
        and "not" not in s.text])
    at_ms = next(w.start_ms for w in segs[3].words if w.text.strip() == "now")
    layer.replace_open(ws, mid, [Kind.SPLIT], [Proposal(
        Kind.SPLIT, at_ms, segs[3].end_ms, "now", SOURCE, None, segment_id=segs[3].id,
        detail={"at_ms": at_ms, "voice_before": "A", "voice_after": "B"})])
    layer.replace_open(ws, mid, [Kind.DISTRUST], [Proposal(
        Kind.DISTRUST, segs[4].start_ms, segs[4].end_ms, "fast", {"detector": "distrust"},
        segment_id=segs[4].id, detail={"reasons": [{"why": "very fast speech for 1.9 s"}]})])
    ev = layer.add_event(ws, Event(0, mid, "knock", 5000, 5800, count=3, strength=4.2))
    layer.replace_open(ws, mid, [Kind.EVENT], [Proposal(
        Kind.EVENT, ev.start_ms, ev.end_ms, "strike_on_vehicle", {"detector": "impacts"}, 0.7,
        event_id=ev.id, detail={"count": 3, "kind": "knock"})])


def _workspace(db: Path, *, suggested: bool = True) -> int:
    with Workspace(db) as ws:
        mid = add_transcript(ws, "stop.mp4", TEXTS).id
        if suggested:
            _proposals(ws, mid)
        return mid


def pane_text(widget: Widget) -> str:
    """What a Static shows, as plain text (its content may be a Group)."""
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(widget.content)  # type: ignore[attr-defined]
    return console.export_text()


def _styles(cell: Any) -> set[str]:
    return {str(cell.style)} | {str(s.style) for s in cell.spans}


async def test_suggestions_are_drawn_unlike_decisions(make_app: AppFactory,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db)
    with Workspace(db) as ws:  # a person already set line 1's speaker and tagged line 0
        person = ReviewSession(ws, mid, "ana")
        segs = person.segments
        person.add_speaker("Driver", assign=[segs[1].id])
        person.add_tag(segs[0].id, "child_present")
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.review.table
        first = table.cells(0)
        assert first[2].plain == "Voice A?" and SUGGESTED_STYLE in _styles(first[2])
        tags = first[4]
        assert tags.plain.startswith("Child present")  # the decision, plain
        assert "Verbal order?" in tags.plain and SUGGESTED_STYLE in _styles(tags)
        assert table.cells(1)[2].plain == "Driver"  # a set speaker is never overdrawn
        assert table.cells(2)[2].plain == "B≈Driver?"  # sounds like one named elsewhere
        assert DISTRUST_GLYPH not in table.cells(0)[0].plain
        distrusted = table.index_of(app.review.session.segments[4].id)
        assert distrusted is not None and DISTRUST_GLYPH in table.cells(distrusted)[0].plain

        detail = pane_text(app.review.detail)
        assert "suggested:" in detail and "Voice A?" in detail and "voices, 0.90" in detail
        assert "Verbal order?" in detail and "rule, 0.80, matched 'roll'" in detail
        table.move_to(distrusted)
        await pilot.pause()
        detail = pane_text(app.review.detail)
        assert "distrust: very fast speech for 1.9 s" in detail
        split = table.cells(table.index_of(app.review.session.segments[3].id) or 0)[5]
        assert split.plain.startswith("✂ ") and "now" in split.plain
        assert app.review.status.suggested == len(TEXTS) + 2 + 1 + 1 + 1  # + the event
        assert "11 suggested" in str(app.review.status.render())


async def test_a_split_is_decided_after_the_line_s_other_suggestions(
    make_app: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        review, session = app.review, app.review.session
        line = session.segments[3]
        review.table.move_to(review.table.index_of(line.id) or 0)
        await pilot.press("Y")  # its voice and tag first: the split changes the segment
        assert len(session.segments) == len(TEXTS)
        assert session.speaker_label(session.segment(line.id)) == "Voice A"
        await pilot.press("Y")  # then the split, on its own
        assert len(session.segments) == len(TEXTS) + 1
        assert session.segment(line.id).text.strip() == "roll the window down"
        assert review.table.current is not None
        await pilot.press("z")
        assert len(session.segments) == len(TEXTS)


async def test_events_are_timeline_rows_with_their_own_state(make_app: AppFactory,
                                                             tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review, table = app.review, app.review.table
        kinds = [type(r).__name__ for r in table.rows]
        assert kinds == ["Segment"] * 3 + ["EventRow"] + ["Segment"] * 3  # by time
        assert review.status.reviewed == (0, len(TEXTS))  # an event is no segment
        cells = [c.plain for c in table.cells(3)]
        assert cells[0].startswith("◆?") and cells[1] == "0:05.0"
        assert cells[4] == "Strike on window or vehicle?"
        assert "[3 strikes]" in cells[5] and "strength 4.2" in cells[5]
        table.move_to(3)
        await pilot.pause()
        assert "[3 strikes]" in pane_text(review.detail)
        for action in ("set_state", "edit_text", "pick", "delete", "retranscribe"):
            assert review.check_action(action, ()) is None, action
        assert review.check_action("suggestion", ()) is True

        await pilot.press("Y")  # accept: the burst becomes the action, reviewed
        row = table.rows[3]
        assert isinstance(row, EventRow) and row.status is Status.ACCEPTED
        assert table.cells(3)[0].plain.startswith("◆✓")
        ev = layer.events(review.session.ws, mid)[0]
        assert ev.tags == ("strike_on_vehicle",) and ev.state.value == "reviewed"
        await pilot.press("z")
        assert layer.events(review.session.ws, mid)[0].tags == ()
        assert table.cells(3)[0].plain.startswith("◆?")
        await pilot.press("X")  # reject: kept, drawn struck out
        assert table.cells(3)[0].plain.startswith("◆✗")
        assert table.cursor == 3  # the cursor stays on the row it decided


async def test_t_on_an_event_row_tags_the_event(make_app: AppFactory, tmp_path: Path) -> None:
    """The action chord on an event row tags the event, not the line beside it: one audited
    step, shown on the row (the open suggestion still dim after it), exported, ``z``."""
    from annotator.core.document import load_transcript
    from annotator.formats.json_format import to_dict

    db = tmp_path / "w.db"
    mid = _workspace(db)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review, table, session = app.review, app.review.table, app.review.session
        table.move_to(3)
        assert isinstance(table.current, EventRow)
        assert review.check_action("pick", ("action",)) is True
        assert review.check_action("pick", ("agency",)) is None
        await pilot.press("a")  # an agency is a person's, not a sound's: off here
        assert review.detail.chord is None
        await pilot.press("t")
        assert review.detail.chord is not None and "[3 strikes]" in review.detail.chord.title
        await pilot.press("w")  # Window broken
        ev = layer.events(session.ws, mid)[0]
        assert ev.tags == ("window_broken",) and ev.state.value == "reviewed"
        assert not any(s.tags for s in session.segments)  # no line was tagged
        assert session.ws.audit(mid)[-1]["action"] == "event.tag"
        cells = [c.plain for c in table.cells(3)]
        assert cells[0].startswith("◆✓")
        assert cells[4] == "Window broken Strike on window or vehicle?"
        assert to_dict(load_transcript(session.ws, mid))["events"][0]["tags"] == [
            "window_broken"]
        await pilot.press("t", "w")  # the same key again takes it off
        assert layer.events(session.ws, mid)[0].tags == ()
        await pilot.press("z")
        assert layer.events(session.ws, mid)[0].tags == ("window_broken",)
        await pilot.press("z")
        untagged = replace(ev, tags=(), state=ReviewState.UNREVIEWED)
        assert layer.events(session.ws, mid)[0] == untagged
        assert table.cells(3)[0].plain.startswith("◆?") and table.cursor == 3


async def test_the_filter_view_of_open_suggestions(make_app: AppFactory,
                                                   tmp_path: Path) -> None:
    """``f w``: only the lines with an open suggestion and the open event rows; a line whose
    suggestions are all decided is not among them, and a decided event leaves the view."""
    db = tmp_path / "w.db"
    mid = _workspace(db)
    with Workspace(db) as ws:  # a person decided lines 0 and 2 already
        person = ReviewSession(ws, mid, "ana")
        segs = list(person.segments)
        about = {i: [s.id for s in layer.suggestions(ws, mid) if s.segment_id == segs[i].id]
                 for i in (0, 2)}
        person.accept_suggestions(about[0])
        person.reject_suggestions(about[2])
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review, table = app.review, app.review.table
        await pilot.press("f", "w")
        assert review.view_filter is not None and review.view_filter.suggested
        shown = [r.id for r in table.rows]
        event = next(r for r in table.rows if isinstance(r, EventRow))
        assert shown == [segs[1].id, event.id, *(segs[i].id for i in (3, 4, 5))]  # by time
        assert review.status.view == "filter: with open suggestions (5)"
        table.move_to(table.index_of(event.id) or 0)
        await pilot.press("Y")  # the event decided: it leaves the view
        assert [r.id for r in table.rows] == [segs[i].id for i in (1, 3, 4, 5)]
        await pilot.press("f", "minus")  # back to every row: the event is there, accepted
        assert review.view_filter is None and len(table.rows) == len(TEXTS) + 1


async def test_review_keys_decide_walk_and_name_voices(make_app: AppFactory,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review, table, session = app.review, app.review.table, app.review.session
        ws = session.ws
        segs = list(session.segments)

        await pilot.press("Y")  # line 0: its voice and its tag, one step
        assert session.speaker_label(session.segment(segs[0].id)) == "Voice A"
        assert "verbal_order" in session.segment(segs[0].id).tags
        assert table.cells(0)[2].plain == "Voice A"  # now a decision: drawn plain
        await pilot.press("z")  # one undo takes both back, and the suggestions are open
        assert session.segment(segs[0].id).speaker_id is None
        assert not session.segment(segs[0].id).tags
        assert {s.status for s in layer.suggestions(ws, mid) if s.segment_id == segs[0].id} \
            == {Status.OPEN}

        await pilot.press("full_stop", "full_stop", "full_stop")  # next open: 1, 2, event
        assert isinstance(table.current, EventRow)
        await pilot.press("comma")
        assert table.current == session.segment(segs[2].id)
        await pilot.press("X")  # reject line 2's voice: kept, not drawn any more
        assert table.cells(2)[2].plain == ""
        rejected = [s for s in layer.suggestions(ws, mid) if s.segment_id == segs[2].id]
        assert [s.status for s in rejected] == [Status.REJECTED]

        table.move_to(0)
        await pilot.press("A")  # line 0 has a voice and a rule: the pane offers both
        assert review.detail.chord is not None
        assert "Voice A (2 open)" in pane_text(review.detail)
        await pilot.press("v")
        a_lines = [s.id for s, v in zip(segs, VOICES, strict=True) if v == "A"]
        assert {session.speaker_label(session.segment(i)) for i in a_lines} == {"Voice A"}

        table.move_to(table.index_of(segs[1].id) or 0)
        await pilot.press("W")  # name voice B: the speaker chord's keys, + a new name
        assert review.detail.chord is not None and "Voice B is" in review.detail.chord.title
        await pilot.press("plus")
        assert isinstance(app.screen, PromptScreen)
        await type_into_prompt(pilot, "Driver")  # its open lines (not the rejected one)
        b_open = [segs[i].id for i in (1, 4, 5)]
        assert {session.speaker_label(session.segment(i)) for i in b_open} == {"Driver"}
        assert session.segment(segs[2].id).speaker_id is None
        assert table.cells(table.index_of(segs[4].id) or 0)[2].plain == "Driver"
        await pilot.press("z")
        assert {session.segment(i).speaker_id for i in b_open} == {None}
        await pilot.press("W", "o")  # a codebook role: Officer, as a speaker with that role
        assert {session.speaker_label(session.segment(i)) for i in b_open} == {"Officer"}
        assert session.role_speaker("officer") is not None


    keys = Console(file=io.StringIO(), width=200, record=True)
    keys.print(help_columns(SECTIONS, {}))  # what the help screen (?) lists
    listed = keys.export_text()
    assert "Accept all of this voice or rule" in listed and "Next open suggestion" in listed
    assert "Y" in listed and " . " in listed


async def test_read_only_review_shows_suggestions_but_cannot_decide(
    make_app: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db)
    app = make_app(db, str(mid), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.review.table.cells(0)[2].plain == "Voice A?"
        for op in ("suggestion",):
            assert app.review.check_action(op, ()) is None
        assert app.review.check_action("next_suggestion", ()) is True
        await pilot.press("Y")
        with Workspace(db) as ws:
            assert all(s.is_open for s in layer.suggestions(ws, mid))


async def test_detectors_run_after_a_transcription_without_blocking(
    make_app: AppFactory, tmp_path: Path, monkeypatch: Any
) -> None:
    """A fake detector pass (it waits until the test lets it finish) shows that the screen
    keeps taking keys while it runs, its progress is in the status bar, and the table
    repaints with what it stored."""
    db = tmp_path / "w.db"
    mid = _workspace(db, suggested=False)
    release, reached = threading.Event(), threading.Event()

    def fake_suggest(ws: Workspace, media_id: int, passes: Any, *, progress: Any,
                     **_: Any) -> Any:
        from annotator.suggest.runner import Report

        progress("voices", "running voices")
        reached.set()
        assert release.wait(10)
        _proposals(ws, media_id)
        report = Report(media_id)
        report.added.update({"voices": len(TEXTS), "rules": 2})
        return report

    monkeypatch.setattr("annotator.suggest.runner.suggest", fake_suggest)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review = app.review
        assert review.table.cells(0)[2].plain == ""
        review.post_message(Transcriber.Finished(len(TEXTS)))  # as the worker posts it
        await pilot.pause()
        assert await _until(pilot, reached.is_set)
        assert await _until(pilot, lambda: "running voices" in review.status.activity)
        await pilot.press("j", "j")  # the screen is not blocked
        assert review.table.cursor == 2
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert review.status.suggesting == ""
        assert review.table.cells(0)[2].plain == "Voice A?"
        assert any(isinstance(r, EventRow) for r in review.table.rows)
        assert any("voices 6, rules 2" in n.message for n in app._notifications)


async def _until(pilot: Any, done: Any, tries: int = 200) -> bool:
    for _ in range(tries):
        if done():
            return True
        await pilot.pause(0.02)
    return bool(done())


async def test_a_detector_crash_is_reported_and_clears_the_status(
    make_app: AppFactory, tmp_path: Path, monkeypatch: Any
) -> None:
    db = tmp_path / "w.db"
    mid = _workspace(db, suggested=False)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("detector exploded")

    monkeypatch.setattr("annotator.suggest.runner.suggest", broken)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        app.review.post_message(Transcriber.Finished(len(TEXTS)))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.review.status.suggesting == "" and not app.review.suggested.running
        assert any("detector exploded" in n.message for n in app._notifications)


async def test_quitting_does_not_wait_for_a_long_detector_pass(
    make_app: AppFactory, tmp_path: Path, monkeypatch: Any
) -> None:
    """Quitting waits for thread workers, and a pass cannot be interrupted (the voice pass of
    a long recording takes minutes): the app quits at once, and the passes stop at the next
    one."""
    db = tmp_path / "w.db"
    mid = _workspace(db, suggested=False)
    started, release, stopped = threading.Event(), threading.Event(), threading.Event()

    def slow(ws: Workspace, media_id: int, passes: Any, *, progress: Any, **_: Any) -> Any:
        progress("voices", "running voices")
        started.set()
        release.wait(20)  # one long pass
        try:
            progress("voices", "voices: 2 suggestion(s)")
        except Exception:
            stopped.set()
            raise
        raise AssertionError("not stopped")

    monkeypatch.setattr("annotator.suggest.runner.suggest", slow)
    app = make_app(db, str(mid))
    async with app.run_test(size=SIZE) as pilot:
        app.review.post_message(Transcriber.Finished(len(TEXTS)))
        assert await _until(pilot, started.is_set)
        quitting = time.monotonic()
    assert time.monotonic() - quitting < 5  # not the pass's 20 s
    release.set()
    assert stopped.wait(5)
