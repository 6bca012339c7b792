"""A resumed run equals an uninterrupted one: real processes killed at several points.

Each case runs the real ``annotator transcribe`` (the bundled tiny.en on real audio) in a
subprocess, stops it once the workspace holds a given number of segments (the test polls the
workspace; no sleeping for a guessed time), runs the same command again, and compares every
stored segment (times, text, words, scores) and held-back segment with a clean run's.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import pytest
from faster_whisper import decode_audio
from faster_whisper.tokenizer import Tokenizer

from annotator.core import runs
from annotator.core.media import probe
from annotator.core.model import SAMPLE_RATE, RunStatus
from annotator.core.store import Workspace
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import run_batch

from support import DEMO, DiskFull, tiled_demo

Rows = list[tuple[Any, ...]]
Snapshot = tuple[Rows, Rows, Rows, Rows]


def _command(db: Path, media: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "annotator", "transcribe", "--db", str(db), str(media),
            *extra]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ANNOTATOR_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"}


def _query(db: Path, sql: str) -> Rows:
    """Read the workspace from outside the process writing it (WAL allows it)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _stored(db: Path) -> int:
    rows = _query(db, "SELECT COUNT(*) FROM draft_segment")
    return int(rows[0][0]) if rows else 0


def _snapshot(db: Path) -> Snapshot:
    """Everything a run wrote: drafts, the review layer, held-back segments, and its
    coverage (heard and written speech per piece, and the gaps)."""
    drafts = _query(db, "SELECT idx, start_ms, end_ms, text, words, avg_logprob,"
                        " no_speech_prob, compression_ratio FROM draft_segment ORDER BY idx")
    layer = _query(db, "SELECT start_ms, end_ms, machine_text, words, human_text, state"
                       " FROM segment ORDER BY start_ms, id")
    held = _query(db, "SELECT start_ms, end_ms, text, reason FROM suppressed_segment"
                      " ORDER BY start_ms, text")
    cover = _query(db, "SELECT piece, heard_ms, written_ms FROM run_checkpoint ORDER BY piece")
    gaps = _query(db, "SELECT start_ms, end_ms, reason, detail FROM speech_gap ORDER BY start_ms")
    return drafts, layer, held, cover + gaps


def _clean(tmp_path: Path, media: Path, *extra: str) -> Snapshot:
    db = tmp_path / "clean.db"
    done = subprocess.run(_command(db, media, *extra), env=_env(tmp_path),
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return _snapshot(db)


def _stop_after(
    tmp_path: Path, db: Path, media: Path, segments: int, sig: signal.Signals, *extra: str,
    ready: str | None = None,
) -> int:
    """Start ``annotator transcribe``, send ``sig`` once ``segments`` are stored (and the
    ``ready`` query returns a row), return its exit code."""
    # SIGINT must not be ignored in the child: it is in a pytest-xdist worker (and in a
    # shell's background jobs), and an ignored signal stays ignored across exec
    proc = subprocess.Popen(_command(db, media, *extra), env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        while proc.poll() is None:
            if _stored(db) >= segments and (ready is None or _query(db, ready)):
                proc.send_signal(sig)
                break
            time.sleep(0.02)
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = _stored(db)
    assert stored >= segments, f"the run ended before it was stopped: {err}"
    status = _query(db, "SELECT status FROM run")
    assert status and status[0][0] != "done", "the run finished before the signal arrived"
    return proc.returncode


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return _clean(tmp_path_factory.mktemp("clean"), DEMO)


@pytest.mark.parametrize(("after", "sig"), [(3, signal.SIGKILL), (5, signal.SIGINT)])
def test_stopped_run_resumes_to_the_clean_transcript(
    tmp_path: Path, clean_demo: Snapshot, after: int, sig: signal.Signals
) -> None:
    db = tmp_path / "k.db"
    code = _stop_after(tmp_path, db, DEMO, after, sig)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    again = subprocess.run(_command(db, DEMO), env=_env(tmp_path), capture_output=True,
                           text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "resumed an interrupted run (decoded again from 0:00," in again.stdout
    snapshot = _snapshot(db)
    assert len(snapshot[0]) == len(clean_demo[0]) == 23
    assert snapshot == clean_demo
    assert _query(db, "SELECT COUNT(*), MIN(status) FROM run") == [(1, "done")]


def test_run_killed_in_a_later_piece_resumes_from_that_piece(tmp_path: Path) -> None:
    """Two copies of the demo (119 s) in 40-second pieces: killed while the second piece is
    being written, the run is decoded again from that piece's checkpoint (not from the
    start) and ends exactly as a clean run."""
    media = tiled_demo(tmp_path, 2)
    pieces = ("--chunk-s", "40")
    clean = _clean(tmp_path, media, *pieces)
    db = tmp_path / "k.db"
    later = ("SELECT 1 FROM run_checkpoint c WHERE c.piece >= 1 AND (SELECT COUNT(*) FROM"
             " draft_segment) > c.first_index + 1")
    _stop_after(tmp_path, db, media, 1, signal.SIGKILL, *pieces, ready=later)
    (piece, first_index), *_ = _query(
        db, "SELECT piece, first_index FROM run_checkpoint ORDER BY piece DESC")
    assert piece >= 1 and first_index > 0
    kept_before = _query(db, f"SELECT id, idx FROM draft_segment WHERE idx < {first_index}")
    again = subprocess.run(_command(db, media, *pieces), env=_env(tmp_path),
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert _snapshot(db) == clean
    # Segments of finished pieces were not touched (same rows, same ids).
    assert _query(db, f"SELECT id, idx FROM draft_segment WHERE idx < {first_index}") == (
        kept_before)


def test_full_disk_then_retry_equals_a_clean_run(
    tmp_path: Path, transcribed_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through run_batch, as the CLI calls it: the disk fills after 6 segments; once there is
    room again the same batch completes the run to exactly what a clean run stored (the
    session's clean workspace, transcribed earlier in this same process)."""
    with Workspace(transcribed_db) as ws:
        clean_media = ws.find_media("demo.mp4")
        run = ws.current_run(clean_media.id)
        assert run is not None
        clean = [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(run.id)]
    db = tmp_path / "w.db"
    monkeypatch.setattr(runs, "store_draft", DiskFull(6))
    with Workspace(db) as ws:
        try:
            (result,) = run_batch(ws, [DEMO], TranscribeOptions())
            assert result.status == "failed" and "full" in (result.error or "")
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)
        (failed,) = ws.runs(ws.media_by_sha(probe(DEMO).sha256).id)
        assert failed.status == RunStatus.FAILED and len(ws.drafts(failed.id)) == 6
    monkeypatch.undo()
    with Workspace(db) as ws:
        (result,) = run_batch(ws, [DEMO], TranscribeOptions())
        assert result.status == "done" and not result.warnings
        media = ws.media_by_sha(probe(DEMO).sha256)
        (resumed,) = ws.runs(media.id)
        assert resumed.id == failed.id and resumed.status == RunStatus.DONE
        assert [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(resumed.id)] == clean
        assert [(s.start_ms, s.end_ms, s.machine_text) for s in ws.segments(media.id)] == [
            (s, e, t) for s, e, t, _w in clean
        ]


def test_every_piece_starts_from_the_same_sampler_state() -> None:
    """Sampled retries draw from CTranslate2's per-thread generator, which set_random_seed
    alone does not reset once it has drawn (measured with CTranslate2 4.8.5, and checked
    here). Engine._fresh_decoder reloads a decoder that has sampled, after seeding, so the
    same window samples the same text whatever the process decoded before: the condition
    for a resumed piece to equal the uninterrupted one."""
    engine = Engine(TranscribeOptions())
    whisper = engine._whisper
    features = whisper.feature_extractor(decode_audio(str(DEMO))[: 8 * SAMPLE_RATE])
    features = np.pad(features, ((0, 0), (0, 3000 - features.shape[1])))
    tokenizer = Tokenizer(whisper.hf_tokenizer, False, task="transcribe", language="en")
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]

    def sample() -> list[int]:
        result = whisper.model.generate(whisper.encode(features), [prompt], beam_size=1,
                                        sampling_temperature=1.0, sampling_topk=0,
                                        max_length=40)
        return list(result[0].sequences_ids[0])

    engine._fresh_decoder()
    first = sample()
    ctranslate2.set_random_seed(engine.options.seed)
    assert sample() != first  # the generator went on: seeding alone is not enough
    whisper.sampled = True  # what the silence-aware model records when it samples
    engine._fresh_decoder()
    assert sample() == first
    assert not whisper.sampled


def test_full_disk_that_also_refuses_the_failed_status(
    tmp_path: Path, transcribed_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a really full disk marking the run failed fails too: the first error is the one
    reported, the run stays 'running' with no process holding it (interrupted), and the
    retry completes it to the clean transcript."""
    with Workspace(transcribed_db) as ws:
        run = ws.current_run(ws.find_media("demo.mp4").id)
        assert run is not None
        clean = [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(run.id)]
    original_finish = runs.finish

    def finish(ws: Workspace, run_id: int, status: RunStatus, **kw: Any) -> None:
        if status == RunStatus.FAILED:
            raise sqlite3.OperationalError("database or disk is full")
        original_finish(ws, run_id, status, **kw)

    monkeypatch.setattr(runs, "store_draft", DiskFull(4))
    monkeypatch.setattr(runs, "finish", finish)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        try:
            (result,) = run_batch(ws, [DEMO], TranscribeOptions())
            assert result.status == "failed" and "full" in (result.error or "")
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc)
        (stuck,) = ws.runs(ws.media_by_sha(probe(DEMO).sha256).id)
        assert stuck.status == RunStatus.RUNNING and len(ws.drafts(stuck.id)) == 4
    monkeypatch.undo()
    with Workspace(db) as ws:
        (result,) = run_batch(ws, [DEMO], TranscribeOptions())
        assert result.status == "done"
        (resumed,) = ws.runs(stuck.media_id)
        assert [(d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(resumed.id)] == clean
