"""A lone Spanish line in a later short piece (annotator/transcribe/routing.py, languages
carried across pieces), on the real engine: a clip spoken by espeak-ng in 8-s pieces, where
the line "Por favor no rompa la ventana." alone scores Thai 0.86 (base int8, measured). The
code before the rule had it written by base as Thai ("ขอบสามารถโรมประลาวินตาร"); now Spanish,
heard in the first piece, reaches the line's piece through the checkpoints, also when the run
is resumed there. Overlap 2 s (not 15) so the line's piece holds only silence before it and
the test decodes little speech twice (about 30 s: three runs); its own module, so
pytest-xdist can give it a worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from speech_clips import ENGLISH, SPANISH, make_clip

from annotator.core import runs
from annotator.core.store import Workspace
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import run_batch

from support import DiskFull, require_tool, run_drafts


def _lone_line_clip(folder: Path) -> Path:
    """Two Spanish lines and an English one; 6 s of silence; the Spanish line that scores
    Thai alone; 36 s of silence, so that the pieces are cut before and after it (a cut needs
    ``chunk_s`` + 30 s of audio ahead)."""
    for tool in ("espeak-ng", "sox"):
        require_tool(tool)
    first, _ = make_clip(folder, "first", [("es", SPANISH[1]), ("es", SPANISH[3]),
                                           ("en", ENGLISH[0])])
    lone, _ = make_clip(folder, "lone", [("es", SPANISH[0])])
    out = folder / "carry.wav"
    at = f"6@0:{_seconds(first):.3f}"
    subprocess.run(["sox", str(first), str(lone), str(out), "pad", at, "36"], check=True,
                   capture_output=True)
    return out


def _seconds(path: Path) -> float:
    found = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True,
                           text=True)
    return float(found.stdout)


def test_a_lone_spanish_line_in_a_later_piece_is_spanish_and_resumes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lone line's piece holds only silence before it (its overlap): Spanish comes from
    the pieces before, through the checkpoint, also when the run is resumed in that piece
    (the disk fills at its first segment)."""
    clip = _lone_line_clip(tmp_path)
    options = dataclasses.replace(TranscribeOptions(), chunk_s=8, overlap_s=2, translate=None)
    engine = Engine(options)
    with Workspace(tmp_path / "clean.db") as ws:
        (done,) = run_batch(ws, [clip], options, engine_factory=lambda _o: engine)
        assert done.status == "done", done.error
        clean = run_drafts(ws, clip)
        lone = [d for d in clean if d[0] > 15_000]
        assert lone and all(lang.language == "es" and lang.model_id == "base"
                            for *_, lang in lone), clean
        assert "ventana" in " ".join(d[2] for d in lone).lower()
        # the lone line's piece started from a checkpoint that held Spanish, and the run's
        # routing record names the rule
        run = ws.current_run(ws.find_media(str(clip)).id)
        assert run is not None
        stored = ws.conn.execute(
            "SELECT languages FROM run_checkpoint WHERE run_id=? ORDER BY piece DESC LIMIT 1",
            (run.id,)).fetchone()[0]
        assert ["es", True] in [[k, c] for k, _ms, c in json.loads(stored)]
        assert run.options["languages_routing"]["carried_languages"]["new_language_s"] > 0
    db = tmp_path / "w.db"
    monkeypatch.setattr(runs, "store_draft", DiskFull(len(clean) - len(lone)))
    with Workspace(db) as ws, contextlib.suppress(sqlite3.OperationalError):
        (failed,) = run_batch(ws, [clip], options, engine_factory=lambda _o: engine)
        assert failed.status == "failed"
    monkeypatch.undo()
    with Workspace(db) as ws:
        media = ws.find_media(str(clip))
        partial = ws.unfinished_run(media.id)
        assert partial is not None
        resumed_at = runs.last_checkpoint(ws, partial.id)
        assert resumed_at is not None and resumed_at.piece > 0
        assert ("es", True) in {(k, c) for k, _ms, c in resumed_at.languages}
        (result,) = run_batch(ws, [clip], options, engine_factory=lambda _o: engine)
        assert result.status == "done" and "resumed" in (result.note or "")
        assert run_drafts(ws, clip) == clean
