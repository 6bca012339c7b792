"""Batch behaviour: skipping known files, failures that do not stop the batch, crash recovery."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from annotator.core import runs
from annotator.core.document import load_transcript
from annotator.core.media import Probe, probe
from annotator.core.model import (
    FIRST_CHECKPOINT,
    Checkpoint,
    ReviewState,
    Run,
    RunStatus,
    SuppressedSegment,
)
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import (
    Action,
    MediaState,
    plan,
    run_batch,
    transcribe_probed,
)

from support import DEMO, shared_file


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(TranscribeOptions())


def test_batch_with_missing_and_corrupt_files_finishes_good_ones(
    tmp_path: Path, engine: Engine
) -> None:
    good = shared_file("goforward.wav")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    missing = tmp_path / "missing.wav"
    with Workspace(tmp_path / "w.db") as ws:
        results = run_batch(
            ws, [missing, corrupt, good], TranscribeOptions(), engine_factory=lambda _o: engine
        )
        assert [r.status for r in results] == ["failed", "failed", "done"]
        assert "missing.wav: no such file" in (results[0].error or "")
        assert "corrupt.mp4" in (results[1].error or "")
        assert results[2].segments >= 1
        assert len(ws.list_media()) == 1


def test_known_file_is_skipped_and_force_redoes_it(tmp_path: Path, engine: Engine) -> None:
    clip = tmp_path / "a copy with another name.wav"
    shutil.copy(shared_file("goforward.wav"), clip)
    with Workspace(tmp_path / "w.db") as ws:
        first = run_batch(ws, [clip], TranscribeOptions(), engine_factory=lambda _o: engine)
        again = run_batch(
            ws, [shared_file("goforward.wav")], TranscribeOptions(),
            engine_factory=lambda _o: engine,
        )
        assert first[0].status == "done" and again[0].status == "skipped"
        assert again[0].segments == first[0].segments
        assert again[0].note == "already transcribed with tiny.en (--force redoes it)"
        other = run_batch(ws, [clip], TranscribeOptions(model="base"))  # no model is loaded
        assert other[0].status == "skipped"
        assert other[0].note == "already transcribed with tiny.en, not base (--force redoes it)"
        media = ws.list_media()[0]
        forced = run_batch(
            ws, [clip], TranscribeOptions(), force=True, engine_factory=lambda _o: engine
        )
        assert forced[0].status == "done"
        assert len(ws.runs(media.id)) == 2
        assert len(ws.segments(media.id)) == forced[0].segments  # replaced, not doubled


def test_force_never_replaces_reviewed_work(tmp_path: Path, engine: Engine) -> None:
    clip = shared_file("goforward.wav")
    with Workspace(tmp_path / "w.db") as ws:
        run_batch(ws, [clip], TranscribeOptions(), engine_factory=lambda _o: engine)
        media = ws.list_media()[0]
        ws.append_audit("ana", media.id, "set_text", [])
        result = run_batch(
            ws, [clip], TranscribeOptions(), force=True, engine_factory=lambda _o: engine
        )[0]
        assert result.status == "failed" and "already reviewed" in (result.error or "")


def _interrupt_after_first_segment(ws: Workspace, engine: Engine, info: Probe) -> None:
    def boom(_seg: object) -> None:
        raise KeyboardInterrupt  # the process is stopped after the first segment

    with pytest.raises(KeyboardInterrupt):
        transcribe_probed(ws, engine, info, on_segment=boom)


def test_interrupted_run_is_resumed_keeping_review_work(tmp_path: Path, engine: Engine) -> None:
    """Segments are committed one by one; the next start resumes the run, so nothing stored
    (nor what a reviewer did with it meanwhile) is lost."""
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        assert ws.runs(media.id)[0].status == "failed"
        (first,) = ws.segments(media.id)  # the committed segment survived
        partial = load_transcript(ws, media.id)
        assert partial.run is not None and partial.run.status == "failed"
        assert partial.run.model_sha256 == engine.model.sha256
        session = ReviewSession(ws, media.id, "ana")
        session.set_text(first.id, "And so, my fellow Americans,")
        _, added = transcribe_probed(ws, engine, info)
        runs = ws.runs(media.id)
        assert len(runs) == 1 and runs[0].status == "done"
        segments = ws.segments(media.id)
        assert added >= 1 and len(segments) == added + 1
        assert segments[0].id == first.id
        assert segments[0].human_text == "And so, my fellow Americans,"
        assert [d.index for d in ws.drafts(runs[0].id)] == list(range(len(segments)))
        assert segments[1].start_ms >= first.end_ms - 1


def test_resume_decodes_again_from_the_last_checkpoint(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine is asked to start from the run's last stored checkpoint (jfk.flac is one
    piece: its start), with the language the run found, and the result is exactly the clean
    run's (times, text and words). Long runs: test_resume.py."""
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "whole.db") as ws:
        transcribe_probed(ws, engine, info)
        whole = [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(1)]
    asked: list[tuple[Checkpoint | None, str | None]] = []
    original = engine.transcribe

    def spy(path: Path, resume: Checkpoint | None = None, language: str | None = None) -> Any:
        asked.append((resume, language))
        return original(path, resume, language)

    monkeypatch.setattr(engine, "transcribe", spy)
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        (run,) = ws.runs(media.id)
        assert runs.last_checkpoint(ws, run.id) == FIRST_CHECKPOINT
        transcribe_probed(ws, engine, info)
        assert asked == [(None, None), (FIRST_CHECKPOINT, "en")]
        assert [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(run.id)] == whole


def _interrupt_after(ws: Workspace, engine: Engine, info: Probe, count: int) -> None:
    seen: list[object] = []

    def stop(seg: object) -> None:
        seen.append(seg)
        if len(seen) == count:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transcribe_probed(ws, engine, info, on_segment=stop)


def test_resume_replaces_a_stored_segment_it_decodes_differently_unless_reviewed(
    tmp_path: Path, engine: Engine
) -> None:
    """If a stored segment and the new decode of it differ (a decoder that is not
    deterministic, a damaged row), the unreviewed one is replaced by the new decode and the
    reviewed one is kept, with a run warning carrying the new text."""
    info = probe(DEMO)
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after(ws, engine, info, 4)
        media = ws.media_by_sha(info.sha256)
        (run,) = ws.runs(media.id)
        # Segment 2 as a different decode would have stored it; nobody reviewed it.
        ws.conn.execute("UPDATE draft_segment SET text='not what was said' WHERE idx=1")
        ws.conn.execute(
            "UPDATE segment SET machine_text='not what was said' WHERE draft_id ="
            " (SELECT id FROM draft_segment WHERE idx=1)"
        )
        # Segment 3 likewise, but a reviewer corrected it.
        ws.conn.execute("UPDATE draft_segment SET text='also different' WHERE idx=2")
        third = next(s for s in ws.segments(media.id) if s.draft_id == ws.drafts(run.id)[2].id)
        ws.update_segment(replace(third, machine_text="also different"))
        ReviewSession(ws, media.id, "ana").set_text(third.id, "what ana heard")
        transcribe_probed(ws, engine, info)
        done = ws.run(run.id)
        drafts = ws.drafts(run.id)
        assert done.status == RunStatus.DONE and len(drafts) == 23
        assert drafts[1].text == "I am not rolling it down."
        assert drafts[2].text == "also different"
        assert ws.segment(third.id).human_text == "what ana heard"
        (warning,) = done.warnings
        assert "segment 3 (0:05)" in warning and "Why did you stop me?" in warning
        assert "reviewed segment is kept" in warning


def test_plan_decides_without_the_engine() -> None:
    """skip / refuse / resume / new, from what the workspace holds."""
    run = Run(1, 1, "tiny.en", "0" * 64, {}, {}, "en", 1.0, "t0", status=RunStatus.DONE)
    partial = Run(2, 1, "tiny.en", "0" * 64, {}, {}, "en", 1.0, "t1",
                  status=RunStatus.FAILED)
    cp = Checkpoint(piece=2, restart_sample=100, cut_sample=200, first_index=7)
    none = MediaState(None, None, None, 0)
    assert plan(none, resumable=False, force=False).action is Action.NEW
    assert plan(MediaState(run, None, None, 0), resumable=False, force=False).action is (
        Action.SKIP)
    forced = plan(MediaState(run, None, None, 0), resumable=False, force=True)
    assert forced.action is Action.NEW and forced.replace_layer
    refused = plan(MediaState(run, None, None, 3), resumable=False, force=True)
    assert refused.action is Action.REFUSE and "3 recorded human changes" in refused.reason
    resumed = plan(MediaState(None, partial, cp, 5), resumable=True, force=False)
    assert (resumed.action, resumed.run, resumed.start) == (Action.RESUME, partial, cp)
    legacy = plan(MediaState(None, partial, None, 0), resumable=True, force=True)
    assert legacy.action is Action.RESUME and legacy.start == FIRST_CHECKPOINT
    other = plan(MediaState(None, partial, cp, 0), resumable=False, force=False)
    assert other.action is Action.NEW and not other.replace_layer
    kept = plan(MediaState(None, partial, cp, 2), resumable=False, force=False)
    assert kept.action is Action.REFUSE and "resume it with that model" in kept.reason


def test_interrupted_run_of_other_settings_is_discarded_unless_reviewed(
    tmp_path: Path, engine: Engine
) -> None:
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        ws.conn.execute("UPDATE run SET model_sha256='other'")
        transcribe_probed(ws, engine, info)
        runs = ws.runs(media.id)
        assert len(runs) == 1 and runs[0].model_sha256 == engine.model.sha256
        assert len(ws.segments(media.id)) == len(ws.drafts(runs[0].id))

    with Workspace(tmp_path / "w1.db") as ws:  # another faster-whisper: not the same run
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        ws.conn.execute("""UPDATE run SET engine_versions='{"faster-whisper": "1.0.0"}'""")
        transcribe_probed(ws, engine, info)
        (run,) = ws.runs(media.id)
        assert run.engine_versions == engine.versions and run.status == RunStatus.DONE

    with Workspace(tmp_path / "w2.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        session = ReviewSession(ws, media.id, "ana")
        session.set_state(session.segments[0].id, ReviewState.REVIEWED)
        ws.conn.execute("UPDATE run SET model_sha256='other'")
        with pytest.raises(MediaError, match="interrupted transcription with 1 human"):
            transcribe_probed(ws, engine, info)
        assert len(ws.segments(media.id)) == 1  # the reviewed segment is still there


def test_model_error_is_not_a_file_error(tmp_path: Path) -> None:
    from annotator.errors import ModelError

    with Workspace(tmp_path / "w.db") as ws, pytest.raises(ModelError):
        run_batch(ws, [shared_file("goforward.wav")], TranscribeOptions(model=str(tmp_path)))


def test_media_error_names_the_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all")
    with pytest.raises(MediaError) as info:
        probe(text)
    assert info.value.path == text and "decode" in info.value.cause


def test_held_back_segments_are_kept_across_a_resume(tmp_path: Path, engine: Engine) -> None:
    """A segment the interrupted run held back stays with the run, even if the new decode
    does not produce it again (a reviewer may still restore it)."""
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        (run,) = ws.runs(media.id)
        held = SuppressedSegment(
            index=-1, start_ms=10_400, end_ms=11_000, text="Stay in the car.", words=(),
            avg_logprob=-0.7, no_speech_prob=0.8, compression_ratio=1.1, temperature=0.6,
            reason="no-speech probability 0.80 > 0.60 and a sampled retry",
        )
        ws.add_suppressed(run.id, held)
        transcribe_probed(ws, engine, info)
        assert ws.run(run.id).status == RunStatus.DONE
        assert [s.text for s in ws.suppressed(run.id)] == ["Stay in the car."]


def test_an_interrupted_forced_rerun_is_what_exports_and_list_describe(
    workspace_copy: Workspace, demo_media_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forced re-run replaces the review layer with its first segment; stopped after 3 (a
    full disk here), the layer holds those 3, so the transcript, its export warnings and
    ``list`` must describe that interrupted run, not the older finished one."""
    from annotator.cli_output import media_json

    from support import DiskFull

    ws = workspace_copy
    finished = ws.current_run(demo_media_id)
    assert finished is not None
    monkeypatch.setattr(runs, "store_draft", DiskFull(3))
    try:
        (result,) = run_batch(ws, [DEMO], TranscribeOptions(), force=True)
        assert result.status == "failed"
    except Exception as exc:  # the full disk may also refuse the failed status
        assert "full" in str(exc)
    monkeypatch.undo()
    transcript = load_transcript(ws, demo_media_id)
    assert len(transcript.segments) == 3
    assert transcript.run is not None and transcript.run.id != finished.id
    assert any(w.startswith("partial transcript") for w in transcript.warnings)
    listed = media_json(ws, ws.media(demo_media_id))
    assert listed["status"] == "interrupted" and listed["segments"] == 3
    warnings = listed["warnings"]
    assert isinstance(warnings, list)
    assert any(str(w).startswith("partial transcript") for w in warnings)
