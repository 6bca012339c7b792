"""Opening a workspace file: recognise it, never write into someone else's file, survive company.

Three things make opening a SQLite file harder than ``sqlite3.connect``:

- **Other programs' files.** ``--db`` can point at any SQLite file (a browser history, another
  tool's database). Writing annotator's tables into it would damage someone else's data, so a
  file is identified *before anything is written*: through a read-only connection, by
  ``PRAGMA application_id`` (:data:`~annotator.core.schema.APPLICATION_ID`, set by migration 3)
  or, for workspaces made before that (``user_version`` 1-2), by their tables. An empty file
  or a new path becomes a workspace; anything else is refused with :class:`WorkspaceError`.
- **Company.** Several processes may open a new workspace at once (two ``transcribe``
  commands, a review app and a script). Every connection waits up to :data:`BUSY_TIMEOUT_S`
  for a lock, and switching to WAL, which SQLite does not retry through the busy handler when
  another connection is switching or recovering at the same moment, is retried here.
  Migrations run under ``BEGIN IMMEDIATE`` with the version read inside the lock, so exactly
  one process creates the tables.
- **Read-only media and full disks.** ``read_only`` opens with ``mode=ro`` and
  ``query_only``: nothing is written, so a workspace on a write-protected card or share can be
  listed and exported. SQLite's "disk full" and "readonly" errors become one-line
  :class:`WorkspaceError` messages naming the file (see :func:`workspace_error`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from annotator.core.schema import APPLICATION_ID, MIGRATIONS
from annotator.errors import WorkspaceError

SCHEMA_VERSION = len(MIGRATIONS)

#: How long a connection waits for another process's lock before giving up (seconds).
BUSY_TIMEOUT_S = 30.0

#: Tables every workspace made before ``application_id`` existed (schema 1-2) has.
_OLD_WORKSPACE_TABLES = frozenset({"media", "run", "draft_segment", "segment", "speaker", "audit"})


def workspace_error(path: Path, exc: sqlite3.Error) -> WorkspaceError:
    """A SQLite error as a one-line error naming the workspace and the cause in plain words."""
    message = str(exc)
    lowered = message.lower()
    if "full" in lowered:
        return WorkspaceError(path, f"disk full ({message}); free some space and run it again")
    if "readonly" in lowered or "read-only" in lowered:
        return WorkspaceError(path, f"read-only ({message})")
    if "locked" in lowered or "busy" in lowered:
        return WorkspaceError(
            path, f"busy: another process held it for more than {BUSY_TIMEOUT_S:g} s ({message})"
        )
    return WorkspaceError(path, f"not a usable workspace ({message})")


def connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """An open, identified, up-to-date connection to the workspace at ``path``.

    Raises :class:`WorkspaceError` (nothing written) for another program's file, a workspace
    from a newer annotator, or a read-only open of a workspace that needs an upgrade it cannot
    make.
    """
    if not path.parent.is_dir():
        raise WorkspaceError(path, "folder does not exist")
    try:
        if read_only:
            return _connect_read_only(path)
        if _has_content(path):
            # Identify through a connection that cannot write, before the one that can.
            with _closing(_open(path, read_only=True, probe=True)) as probe:
                _identify(probe, path)
        conn = _open(path, read_only=False)
        try:
            _enable_wal(conn, path)
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return conn
    except sqlite3.Error as exc:
        raise workspace_error(path, exc) from exc


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise WorkspaceError(path, "no workspace here")
    with _closing(_open(path, read_only=True, probe=True)) as probe:
        version = _identify(probe, path)
    if version < SCHEMA_VERSION:
        if not _writable(path) and version == 0:
            raise WorkspaceError(path, "empty, and on read-only media: no workspace to read")
        if not _writable(path):
            raise WorkspaceError(
                path,
                f"made by an older annotator (schema {version} of {SCHEMA_VERSION}) on "
                "read-only media: copy it somewhere writable to upgrade it",
            )
        connect(path, read_only=False).close()  # our own workspace (or empty): upgrade it once
    conn = _open(path, read_only=True)
    try:
        _identify(conn, path)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _open(path: Path, *, read_only: bool, probe: bool = False) -> sqlite3.Connection:
    """A connection; ``read_only`` ones cannot write the file.

    A read-only connection to a file with no ``-wal`` beside it (nobody is writing it, so the
    file alone is the whole database) is opened ``immutable`` when it is a ``probe`` (SQLite
    then creates no ``-shm``/``-wal`` files beside someone else's database) or when the file
    cannot be written anyway (read-only media, where SQLite could not create the ``-shm`` a
    WAL reader otherwise needs)."""
    if read_only:
        wal = path.with_name(path.name + "-wal")
        alone = (probe or not _writable(path)) and not wal.exists()
        flags = "mode=ro&immutable=1" if alone else "mode=ro"
        conn = sqlite3.connect(
            f"{path.absolute().as_uri()}?{flags}", uri=True, isolation_level=None,
            timeout=BUSY_TIMEOUT_S,
        )
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    conn.row_factory = sqlite3.Row
    return conn


class _closing:
    """``contextlib.closing`` for a connection, typed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _writable(path: Path) -> bool:
    """Can this process write the file and create its journal beside it? (``access`` also
    reports a read-only file system, even to root.)"""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _identify(conn: sqlite3.Connection, path: Path) -> int:
    """The workspace's schema version (0: an empty database, fine to create); raise
    :class:`WorkspaceError` for a file that is not annotator's or is too new. Reads only."""
    own_snapshot = not conn.in_transaction  # the three reads must see one moment in time
    if own_snapshot:
        conn.execute("BEGIN")
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        if own_snapshot:
            conn.execute("COMMIT")
    ours = app_id == APPLICATION_ID or (
        app_id == 0 and 1 <= version < 3 and tables >= _OLD_WORKSPACE_TABLES
    )
    if not ours and (app_id or version or tables):
        listed = ", ".join(sorted(tables)[:6]) + (", ..." if len(tables) > 6 else "")
        raise WorkspaceError(
            path,
            f"not an annotator workspace (another program's SQLite file: application_id "
            f"{app_id:#x}, user_version {version}, tables: {listed or 'none'}); it was left "
            "untouched, give another --db",
        )
    if version > SCHEMA_VERSION:
        raise WorkspaceError(
            path, f"schema version {version} is newer than this annotator ({SCHEMA_VERSION})"
        )
    return version


def _enable_wal(conn: sqlite3.Connection, path: Path) -> None:
    """Switch to WAL (readers never block the writer). SQLite answers "database is locked"
    at once, without its busy handler, when another connection is switching the same new file
    or recovering its WAL, so retry for as long as any other lock would be waited for."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode != "wal":
                mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            if mode != "wal":
                raise WorkspaceError(path, f"cannot use write-ahead logging (journal mode {mode})")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date in one transaction, taken before the version is read, so
    two processes opening a new workspace at once cannot both create it, and a crash
    mid-upgrade leaves the old schema (the new ``user_version`` commits with it). The file is
    identified again inside the lock: it may have been empty when first looked at."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _identify(conn, path)
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number]:
                conn.execute(statement)
        if version != SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
