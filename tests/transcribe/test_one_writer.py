"""One writer per media: a second ``transcribe`` of a file being transcribed never writes into
the live run; ``list`` tells a live run from an interrupted one.

Real processes on a real clip. The first process is frozen with SIGSTOP once its run exists
(it then holds the lock for as long as the test needs, without any guessed sleep) and
continued with SIGCONT.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core.runlock import MediaBusyError, describe, holder, lock_path, media_lock

from support import shared_file


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ANNOTATOR_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"}


def _transcribe(tmp_path: Path, db: Path, media: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "annotator", "transcribe", "--db", str(db), str(media), *extra],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _run_exists(db: Path) -> bool:
    if not db.exists():
        return False
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return bool(conn.execute("SELECT 1 FROM run WHERE owner != '{}'").fetchall())
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _writable(db: Path) -> bool:
    """No process is inside a write transaction on the workspace right now."""
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _frozen_when_running(proc: subprocess.Popen[str], db: Path) -> None:
    """Stop ``proc`` once its run exists, between two of its workspace transactions (frozen
    inside one it would hold SQLite's write lock, which is not what this test is about)."""
    while True:
        while not _run_exists(db):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGSTOP)
        if _writable(db):
            return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)


def _list(db: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["list", "--db", str(db)]) == 0
    return capsys.readouterr().out


def test_second_transcribe_of_a_live_run_names_the_holder_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    media = shared_file("jfk.flac")
    db = tmp_path / "s.db"
    first = _transcribe(tmp_path, db, media)
    try:
        _frozen_when_running(first, db)
        second = _transcribe(tmp_path, db, media)
        _out, err = second.communicate(timeout=300)
        assert second.returncode == 1, err
        assert f"being transcribed by pid {first.pid} on " in err and "--wait" in err
        assert "IntegrityError" not in err and "internal error" not in err
        monkeypatch.setenv("COLUMNS", "200")
        listed = _list(db, capsys)
        assert f"running (pid {first.pid})" in listed and "interrupted" not in listed
    finally:
        first.send_signal(signal.SIGCONT)
    _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    listed = _list(db, capsys)
    assert "running" not in listed and "interrupted" not in listed
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*), MIN(status) FROM run").fetchall() == [(1, "done")]
    conn.close()


def test_wait_waits_for_the_holder_then_skips_the_finished_file(tmp_path: Path) -> None:
    media = shared_file("jfk.flac")
    db = tmp_path / "s.db"
    first = _transcribe(tmp_path, db, media)
    try:
        _frozen_when_running(first, db)
        second = _transcribe(tmp_path, db, media, "--wait")
        assert second.stderr is not None
        seen = []
        for line in second.stderr:  # printed before it blocks on the lock
            seen.append(line)
            if "waiting for" in line:
                break
        assert f"waiting for pid {first.pid} on " in seen[-1], seen
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    row = next(line for line in out.splitlines() if "jfk.flac" in line)
    assert "skipped" in row and "already transcribed with tiny.en" in row


def test_killed_holder_leaves_an_interrupted_run_that_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL releases the lock (the kernel drops it with the process): list says
    interrupted, and the same command takes the run over and finishes it."""
    media = shared_file("jfk.flac")
    db = tmp_path / "s.db"
    first = _transcribe(tmp_path, db, media)
    _frozen_when_running(first, db)
    first.kill()
    first.wait(timeout=60)
    monkeypatch.setenv("COLUMNS", "200")
    listed = _list(db, capsys)
    assert "interrupted (transcribe again to resume)" in listed and "running" not in listed
    again = _transcribe(tmp_path, db, media)
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*), MIN(status) FROM run").fetchall() == [(1, "done")]
    conn.close()


def test_lock_in_process(tmp_path: Path) -> None:
    """The lock file sits beside the workspace; a holder's record names it; a second taker
    in the same process (another thread's open file) is refused, and it is free after."""
    db = tmp_path / "w.db"
    owner = {"host": "here", "pid": 42, "started": "2026-12-02T15:00:00+00:00"}
    assert holder(db, "ab" * 32) is None
    with media_lock(db, "ab" * 32, Path("clip.wav"), owner):
        assert lock_path(db, "ab" * 32).parent == tmp_path / "w.db.locks"
        assert holder(db, "ab" * 32) == owner
        with pytest.raises(MediaBusyError) as busy, media_lock(
            db, "ab" * 32, Path("clip.wav"), {"pid": 1}
        ):
            pass
        assert busy.value.holder == owner and str(busy.value) == (
            "clip.wav: being transcribed by " + describe(owner)
            + "; wait for it to finish, or add --wait to wait for it"
        )
    assert holder(db, "ab" * 32) is None
