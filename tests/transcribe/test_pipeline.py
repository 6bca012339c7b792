"""Batch behaviour: skipping known files, failures that do not stop the batch, crash recovery."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from annotator.core.document import load_transcript
from annotator.core.media import Probe, probe
from annotator.core.model import ReviewState
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import run_batch, transcribe_probed

from support import normalise, shared_file


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


def test_resume_transcribes_only_the_audio_after_the_stored_segments(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4-hour stream interrupted at hour 3 must not be transcribed again from the start:
    the engine is asked for the audio after the last stored segment, and the result is the
    same transcript as an uninterrupted run."""
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "whole.db") as ws:
        transcribe_probed(ws, engine, info)
        whole = normalise(" ".join(s.text for s in ws.segments(ws.media_by_sha(info.sha256).id)))
    asked: list[int] = []
    original = engine.transcribe

    def spy(path: Path, start_ms: int = 0) -> Any:
        asked.append(start_ms)
        return original(path, start_ms)

    monkeypatch.setattr(engine, "transcribe", spy)
    with Workspace(tmp_path / "w.db") as ws:
        _interrupt_after_first_segment(ws, engine, info)
        media = ws.media_by_sha(info.sha256)
        (first,) = ws.segments(media.id)
        transcribe_probed(ws, engine, info)
        assert asked == [0, first.end_ms]
        assert normalise(" ".join(s.text for s in ws.segments(media.id))) == whole


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
