"""The CLI as a callable returning exit codes, and once through ``python -m annotator``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.cli import main

from support import ROOT, shared_file


def test_transcribe_exit_codes_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    good = shared_file("goforward.wav")
    code = main(["transcribe", str(good), str(tmp_path / "nope.wav"), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "nope.wav: no such file" in err
    assert "goforward.wav" in out and "done" in out
    assert err.count("Traceback") == 0
    # a second run skips the known file and succeeds
    assert main(["transcribe", str(good), "--db", str(db)]) == 0
    assert "skipped" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transcribe"]) == 2
    assert main(["transcribe", "x.wav", "--beam-size", "0"]) == 2
    assert main(["transcribe", "x.wav", "--export", "docx", "--db", str(tmp_path / "w")]) == 2
    assert "unknown export format 'docx'" in capsys.readouterr().err
    assert main(["list", "--db", str(tmp_path / "absent.db")]) == 2
    assert not (tmp_path / "w").exists()  # nothing was done


def test_folder_input_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(shared_file("goforward.wav"), folder / "a.wav")
    (folder / "readme.txt").write_text("not media")
    db = tmp_path / "w.db"
    assert main(["transcribe", str(folder), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "a.wav" in out and "0/" in out and "tiny.en" in out


def test_models_lists_the_bundled_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny.en" in out and "1a5afae06a4db91c" in out


def test_bad_workspace_file_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "not-a-db.db"
    db.write_text("hello, I am text" * 100)
    assert main(["list", "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("annotator: error:") and "not-a-db.db" in err
    assert "\n" not in err


def test_python_dash_m_help_and_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "annotator", "--help"], capture_output=True, text=True,
        cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 0
    for command in ("transcribe", "export", "list", "models", "review"):
        assert command in proc.stdout


def test_cli_import_is_light() -> None:
    """Importing the CLI must not pull the speech engine or the UI framework."""
    code = (
        "import sys, annotator.cli, annotator.core.store, annotator.core.document;"
        "bad = [m for m in ('faster_whisper', 'ctranslate2', 'textual') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ctrl_c_keeps_stored_segments_and_the_same_command_resumes(tmp_path: Path) -> None:
    """A person presses Ctrl-C mid-file: exit 130 with one line saying what is kept, `list`
    says the file is interrupted, and running the command again finishes it."""
    import signal
    import sqlite3
    import time
    import wave

    from faster_whisper import decode_audio

    from support import DEMO

    # Twice the demo clip (2 minutes): long enough to interrupt on a fast machine too.
    clip = (decode_audio(str(DEMO)) * 32767).astype("<i2").tobytes()
    stream = tmp_path / "stop.wav"
    with wave.open(str(stream), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(clip * 2)
    db = tmp_path / "w.db"
    cmd = [sys.executable, "-m", "annotator", "transcribe", str(stream), "--threads", "1",
           "--db", str(db)]
    # SIGINT must not be ignored in the child (it is in background jobs of a shell).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None and stored == 0:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db) as conn:
                stored = conn.execute("SELECT COUNT(*) FROM segment").fetchone()[0]
        except sqlite3.Error:
            continue
    assert proc.poll() is None, "finished before a segment could be seen"
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("annotator:")]
    assert "interrupted during stop.wav" in line and "resumes" in line
    listed = subprocess.run([sys.executable, "-m", "annotator", "list", "--db", str(db)],
                            capture_output=True, text=True, env={"COLUMNS": "200",
                            "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=True)
    assert "interrupted" in listed.stdout
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT status FROM run").fetchall()
        count = conn.execute("SELECT COUNT(*) FROM segment").fetchone()[0]
    assert runs == [("done",)] and count >= stored


# -- scripts: --json and a plain layout off a terminal (issue 6.8) ---------------------------

LONG_NAME = "2026-11-27 Main Street traffic stop, bystander phone livestream (full).mp4"


def _silent_wav(path: Path, seconds: float = 1.0) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(16000 * seconds))


def _scripted_workspace(tmp_path: Path) -> Path:
    """Four media, one per status: done, running, interrupted, not transcribed."""
    import hashlib

    from annotator.core.store import Workspace

    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        for i, status in enumerate(["done", "running", "failed", None]):
            name = f"{status or 'new'} {LONG_NAME}"
            media = ws.add_media(str(tmp_path / name), hashlib.sha256(name.encode()).hexdigest(),
                                 1000 + i, 59_000)
            if status is None:
                continue
            run = ws.start_run(media.id, "tiny.en", "0" * 64, {}, {})
            ws.add_draft(run, 0, 0, 2000, "Step out of the car.", (), -0.2, 0.01, 1.2)
            if status != "running":
                ws.finish_run(run.id, status)
    return db


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a script runs it: stdout a pipe, a narrow terminal size in the environment."""
    import os

    env = {**os.environ, "COLUMNS": "80", "LINES": "24"}
    return subprocess.run([sys.executable, "-m", "annotator", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_list_off_a_terminal_is_never_squeezed(tmp_path: Path) -> None:
    db = _scripted_workspace(tmp_path)
    proc = _cli("list", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout and "┃" not in proc.stdout
    lines = proc.stdout.splitlines()
    for status in ("done", "running", "failed", "new"):
        (row,) = [line for line in lines if f"{status} {LONG_NAME}" in line]
        if status == "failed":
            assert "interrupted (transcribe again to resume)" in row


def test_list_json(tmp_path: Path) -> None:
    from annotator.core.runlock import media_lock
    from annotator.core.store import Workspace

    db = _scripted_workspace(tmp_path)
    with Workspace(db) as ws:
        running = ws.list_media()[1]
    # a live run holds its media's lock: only then is a run marked running really running
    with media_lock(db, running.sha256, Path(running.path), {"pid": 1, "host": "h"}):
        proc = _cli("list", "--json", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert [r["status"] for r in records] == ["done", "running", "interrupted", "not transcribed"]
    first = records[0]
    assert first["file"] == f"done {LONG_NAME}" and first["path"] == str(tmp_path / first["file"])
    assert first["segments"] == 1 and first["reviewed"] == 0 and first["held_back"] == 0
    assert first["model"] == "tiny.en" and first["warnings"] == []
    assert first["duration_ms"] == 59_000
    assert "still in progress" in records[1]["warnings"][0]
    assert records[3]["model"] is None and records[3]["segments"] == 0


def test_transcribe_json_and_plain_summary(tmp_path: Path) -> None:
    """A known file is skipped and a missing one fails: neither needs the engine."""
    from annotator.core.media import file_sha256
    from annotator.core.store import Workspace

    clip = tmp_path / LONG_NAME.replace(".mp4", ".wav")
    _silent_wav(clip)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = ws.add_media(str(clip), file_sha256(clip), clip.stat().st_size, 1000)
        ws.finish_run(ws.start_run(media.id, "tiny.en", "0" * 64, {}, {}).id)
    missing = tmp_path / "nope.wav"
    proc = _cli("transcribe", str(clip), str(missing), "--json", "--db", str(db))
    assert proc.returncode == 1
    skipped, failed = json.loads(proc.stdout)
    assert skipped["path"] == str(clip) and skipped["status"] == "skipped"
    assert skipped["media_id"] == media.id and skipped["sha256"] == media.sha256
    assert "already transcribed with tiny.en" in skipped["note"] and skipped["error"] is None
    assert failed["status"] == "failed" and failed["media_id"] is None
    assert failed["error"].endswith("nope.wav: no such file")
    plain = _cli("transcribe", str(clip), "--db", str(db))
    assert plain.returncode == 0, plain.stderr
    (row,) = [line for line in plain.stdout.splitlines() if clip.name in line]
    assert "skipped" in row and "already transcribed with tiny.en (--force redoes it)" in row


def test_transcribe_export_writes_the_chosen_caption_labels(tmp_path: Path) -> None:
    """``transcribe --export srt --labels name+agency`` labels cues like ``export`` does
    (here on a file already transcribed and reviewed: the export is redone, not the run)."""
    from annotator.core.session import ReviewSession
    from annotator.core.store import Workspace

    clip, db, out = shared_file("goforward.wav"), tmp_path / "w.db", tmp_path / "out"
    assert main(["transcribe", str(clip), "--db", str(db)]) == 0
    with Workspace(db) as ws:
        session = ReviewSession(ws, ws.list_media()[0].id, "erin")
        change = session.add_speaker("Officer", assign=[s.id for s in session.segments])
        session.set_speaker_agency(change.speakers[0], "local_police")
    for labels, expected in (("name+agency", "Officer (Local police): "), ("none", "")):
        assert main(["transcribe", str(clip), "--db", str(db), "--export", "srt",
                     "--labels", labels, "--out", str(out / labels)]) == 0
        (srt,) = (out / labels).glob("*.srt")
        cues = [ln for ln in srt.read_text().splitlines() if ln and ln[0].isalpha()]
        assert cues and all(ln.startswith(expected) and "Officer" not in ln[len(expected):]
                            for ln in cues), cues
