"""Opening a workspace safely: in company, on other people's files, on read-only media and on a
full disk (issue 6.2 and 6.6). Real processes, real SQLite files, no mocks of SQLite."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core.schema import APPLICATION_ID, MIGRATIONS
from annotator.core.store import SCHEMA_VERSION, Workspace
from annotator.errors import WorkspaceError

from .builders import add_media, add_transcript
from support import require_tool

_OPENER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from annotator.core.store import Workspace

    base, go = sys.argv[1], Path(sys.argv[2])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    start = float(go.read_text())
    failures = []
    for k in range(20):
        while time.time() < start + 0.25 * k:  # round k: every process at once
            pass
        try:
            with Workspace(f"{base}.{k}") as ws:
                ws.list_media()
        except Exception as exc:
            failures.append(f"{k}: {type(exc).__name__}: {exc}")
    print("\\n".join(failures))
    sys.exit(1 if failures else 0)
    """
)


def test_many_processes_create_a_new_workspace_at_once(tmp_path: Path) -> None:
    """Six processes open twenty new workspaces, one after another, all six at once on each:
    every open succeeds (no "table media already exists", no "database is locked")."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(tmp_path / "w.db"), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:  # every process is imported and waiting before any starts
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    ready = go.with_suffix(".tmp")
    ready.write_text(str(time.time() + 0.2))
    ready.rename(go)
    outputs = [(proc.wait(timeout=120), proc.stdout.read() if proc.stdout else "")
               for proc in procs]
    assert [code for code, _ in outputs] == [0] * 6, "\n".join(out for _, out in outputs)
    for k in range(20):
        conn = sqlite3.connect(tmp_path / f"w.db.{k}")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        conn.close()


# -- other programs' files ------------------------------------------------------------------


def _foreign_db(path: Path, application_id: int = 0, wal: bool = False) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO bookmarks(url) VALUES ('https://example.org')")
    if application_id:
        conn.execute(f"PRAGMA application_id={application_id}")
    conn.commit()
    conn.close()


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("application_id", "wal"), [(0, False), (0x46495245, False), (0, True)],
    ids=["plain", "other-application-id", "wal"],
)
@pytest.mark.parametrize("command", ["list", "export", "transcribe"])
def test_another_programs_sqlite_file_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, application_id: int,
    wal: bool,
) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    db = folder / "other_app.db"
    _foreign_db(db, application_id, wal)
    before = _snapshot(folder)
    time.sleep(0.01)  # so a write, even of the same bytes, would move the mtime
    args = {
        "list": ["list"],
        "export": ["export", "1", "--out", str(tmp_path / "out")],
        "transcribe": ["transcribe", str(tmp_path / "absent.wav")],
    }[command]
    assert main([*args, "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"annotator: error: {db}: not an annotator workspace"), err
    assert "bookmarks" in err and "\n" not in err
    assert _snapshot(folder) == before


def test_an_empty_file_becomes_a_workspace(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    with Workspace(db) as ws:
        assert ws.list_media() == []
    assert main(["list", "--db", str(db)]) == 0


def _old_workspace(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_workspaces_from_before_the_application_id_are_recognised(
    tmp_path: Path, version: int
) -> None:
    db = tmp_path / "old.db"
    _old_workspace(db, version)
    assert main(["list", "--db", str(db)]) == 0  # upgraded once, then listed read-only
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_a_version_2_file_without_our_tables_is_foreign(tmp_path: Path) -> None:
    db = tmp_path / "v2.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE media (id INTEGER PRIMARY KEY)")  # a common name is not enough
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    with pytest.raises(WorkspaceError, match="not an annotator workspace"):
        Workspace(db)


# -- read-only media ------------------------------------------------------------------------


@pytest.fixture
def readonly_workspace() -> Iterator[tuple[Path, Path]]:
    """A workspace with one transcript in a folder and file nobody may write (0555/0444), and
    a writable folder for exports. Outside pytest's private tmp folder, so that another user
    can reach it (see :func:`_run_as_unprivileged`)."""
    root = Path(tempfile.mkdtemp(prefix="annotator-ro-"))
    try:
        root.chmod(0o755)
        media_dir, out = root / "card", root / "out"
        media_dir.mkdir()
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        db = media_dir / "annotator.db"
        with Workspace(db) as ws:
            add_transcript(ws, add_media(ws))
        db.chmod(0o444)
        media_dir.chmod(0o555)
        yield db, out
    finally:
        for folder in (root, root / "card"):
            folder.chmod(0o755)
        shutil.rmtree(root)


def _run_as_unprivileged(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a process that file permissions apply to: as ``nobody`` (through
    util-linux's ``setpriv``) when the tests run as root, since root ignores a read-only mode
    bit, as in CI containers; else as ourselves."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = require_tool("setpriv", "util-linux is needed to test read-only media as root")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "annotator", *args], capture_output=True, text=True,
        timeout=120, cwd="/", env={**os.environ, "HOME": "/tmp"}, check=False,
    )


def test_a_workspace_on_read_only_media_can_be_listed_and_exported(
    readonly_workspace: tuple[Path, Path],
) -> None:
    db, out = readonly_workspace
    before = _snapshot(db.parent)
    listed = _run_as_unprivileged(["list", "--db", str(db)])
    assert listed.returncode == 0, listed.stderr
    assert "stop.mp4" in listed.stdout
    exported = _run_as_unprivileged(
        ["export", "stop.mp4", "--format", "json,srt", "--out", str(out), "--db", str(db)]
    )
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name.split(".", 2)[-1] for p in out.iterdir()) == [
        "json", "manifest.json", "srt",
    ]
    assert _snapshot(db.parent) == before


def test_read_only_workspace_writes_nothing_and_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = add_media(ws)
        add_transcript(ws, media)
    before = _snapshot(tmp_path)
    time.sleep(0.01)
    with Workspace(db, read_only=True) as ws:
        assert [m.id for m in ws.list_media()] == [media.id]
        assert len(ws.segments(media.id)) > 0
        with pytest.raises(WorkspaceError) as info:
            ws.delete_segment(ws.segments(media.id)[0].id)
    assert info.value.path == db and "read-only" in info.value.cause
    assert {k: v for k, v in _snapshot(tmp_path).items() if k == "w.db"} == {"w.db": before["w.db"]}


# -- full disks -----------------------------------------------------------------------------


def test_a_full_disk_is_reported_as_such_naming_the_workspace(tmp_path: Path) -> None:
    """SQLite's own SQLITE_FULL (a page limit stands in for the disk's last byte)."""
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        pages = ws.conn.execute("PRAGMA page_count").fetchone()[0]
        ws.conn.execute(f"PRAGMA max_page_count={pages}")
        with pytest.raises(WorkspaceError) as info:
            for i in range(200):
                ws.add_media("x" * 2000 + str(i), f"{i:064x}", 1, 1000)
    assert info.value.path == db
    assert info.value.cause.startswith("disk full")


def test_a_full_disk_during_export_is_reported_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        add_transcript(ws, add_media(ws))

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    out = tmp_path / "out"
    assert main(["export", "stop.mp4", "--format", "srt", "--out", str(out), "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"annotator: error: {out / 'stop.'}") and ".srt: disk full" in err, err
    assert "internal error" not in err
    assert list(out.iterdir()) == []


def test_review_read_only_refuses_what_would_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    (tmp_path / "new.mp4").write_bytes(b"not decoded: never transcribed")
    with Workspace(db) as ws:
        add_media(ws, str(tmp_path / "new.mp4"))  # registered, never transcribed
    before = _snapshot(tmp_path)
    assert main(["review", "new.mp4", "--read-only", "--db", str(db)]) == 2
    assert "--read-only cannot transcribe" in capsys.readouterr().err
    codebook = tmp_path / "cb.toml"
    codebook.write_text("")
    assert main(["review", "new.mp4", "--read-only", "--codebook", str(codebook),
                 "--db", str(db)]) == 2
    assert main(["review", "x.mp4", "--read-only", "--db", str(tmp_path / "absent.db")]) == 2
    assert {k: v for k, v in _snapshot(tmp_path).items() if k == "w.db"} == {"w.db": before["w.db"]}


def test_a_full_disk_while_upgrading_is_reported_and_leaves_the_old_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI: the disk fills while migration 3 is written (SQLite's own
    SQLITE_FULL, from a page limit on the connection that writes)."""
    import annotator.core.connection as connection

    db = tmp_path / "old.db"
    _old_workspace(db, 2)
    real_open = connection._open

    def full_disk_open(path: Path, *, read_only: bool, probe: bool = False) -> sqlite3.Connection:
        conn = real_open(path, read_only=read_only, probe=probe)
        if not read_only:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count={pages}")
        return conn

    monkeypatch.setattr(connection, "_open", full_disk_open)
    assert main(["transcribe", str(tmp_path / "x.wav"), "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"annotator: error: {db}: disk full"), err
    assert "\n" not in err and "internal error" not in err
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()
