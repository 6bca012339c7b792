"""The tamper-evident audit chain: every audit entry hashes its own content and its predecessor.

Why: annotator's records get quoted in articles and filed with complaints. An audit log that
anyone with a SQLite browser can edit proves nothing; a hash chain makes every later edit
of an entry, a machine-draft row or a run visible to :mod:`annotator.verify`, and an export
manifest that names the chain's head (:func:`head`) ties a handed-over file to the exact
state of the record it came from.

**One chain per workspace, not per media.** A single total order shows when one media's
entries were removed as a block (a per-media chain can vanish whole without a trace in the
others), needs no per-media bookkeeping when media are added, and costs nothing in
concurrency: every append already happens under SQLite's one write lock (``BEGIN
IMMEDIATE``), inside which the predecessor's hash is read.

How an entry is hashed. :func:`row_sha256` hashes the row *as stored*: each column's type
and exact bytes (text as its UTF-8 bytes, read as a blob so that even a flipped byte that
breaks UTF-8 is hashed rather than refused; reals by their exact binary value). An audit
entry's hash covers ``id, ts, reviewer, media_id, action, changes, prev_hash`` and is written
after the row, from the row read back, so writing and checking hash the same bytes.

Machine work is in the chain too. When a run is started or ends, or a draft segment is
stored or dropped, an entry with action ``machine.*`` (reviewer ``annotator``) records the
SHA-256 of that row (:func:`record_run`, :func:`record_run_outcome`, :func:`record_draft`,
:func:`record_draft_dropped`); :mod:`annotator.verify` recomputes them. These entries are
not human work: :meth:`~annotator.core.store.Workspace.audit` and
:meth:`~annotator.core.store.Workspace.human_work_count` leave them out.

**Where the chain starts.** Migration 4 (:mod:`annotator.core.schema`) inserts a
``chain.started`` entry saying so, with how many entries, runs and drafts existed before.
SQL cannot hash, so that entry is *sealed* by :func:`seal` at the first writable open (or
first append): its ``prev_hash`` becomes the digest of every earlier (pre-chain) entry, so
those are covered from the migration on too, and the runs and drafts that existed before are
recorded. Until then :mod:`annotator.verify` reports the chain as not yet sealed (nothing
follows the start, so nothing is unprotected).

What the chain cannot do alone: someone who rewrites an entry *and* every hash after it, or
deletes the newest entries, leaves a consistent chain. That is what the head written into
every export manifest is for: keep a manifest (or its hash) somewhere else and the workspace
can no longer be rewritten behind it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: ``prev_hash`` of a chain's first entry when no entry existed before it.
GENESIS = "0" * 64
#: The action of the entry migration 4 writes where the chain starts.
CHAIN_STARTED = "chain.started"
#: Who signs the entries annotator writes itself (machine work, the chain start).
MACHINE = "annotator"
#: Actions of machine entries (runs and drafts) start with this.
MACHINE_PREFIX = "machine."

AUDIT_COLUMNS = ("id", "ts", "reviewer", "media_id", "action", "changes", "prev_hash")
DRAFT_COLUMNS = (
    "id", "run_id", "idx", "start_ms", "end_ms", "text", "words", "avg_logprob",
    "no_speech_prob", "compression_ratio",
)
#: What a run is from its start (never changes afterwards).
RUN_IDENTITY = (
    "id", "media_id", "model_id", "model_sha256", "engine_versions", "options", "created_at",
)
#: What a run ended with (written by :func:`record_run_outcome` each time it ends).
RUN_OUTCOME = (
    *RUN_IDENTITY, "language", "language_probability", "status", "finished_at",
    "decoded_ms", "warnings",
)


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry of the chain: what a manifest records."""

    id: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"audit_id": self.id, "sha256": self.sha256}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _encode(kind: str, value: object) -> bytes:
    """One column, exactly: its SQLite type and its bytes."""
    if value is None:
        body = b""
    elif isinstance(value, bytes):
        body = value
    elif isinstance(value, float):
        body = value.hex().encode()
    else:
        body = str(value).encode()
    return f"{kind}:{len(body)}:".encode() + body + b";"


def row_sha256(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], row_id: int,
    key_column: str = "id",
) -> str | None:
    """SHA-256 of one row's ``columns`` as stored (None when the row does not exist).

    Text is read as a blob (its exact bytes), so a row whose text no longer decodes is still
    hashed (and found to differ) instead of failing the read."""
    select = ", ".join(
        f"typeof({c}), CASE typeof({c}) WHEN 'text' THEN CAST({c} AS BLOB) ELSE {c} END"
        for c in columns
    )
    row = conn.execute(
        f"SELECT {select} FROM {table} WHERE {key_column}=?", (row_id,)
    ).fetchone()
    if row is None:
        return None
    values = tuple(row)
    return _digest(table, [
        (name, str(values[2 * i]), values[2 * i + 1]) for i, name in enumerate(columns)
    ])


def table_sha256(
    conn: sqlite3.Connection, table: str, columns: Sequence[str]
) -> dict[int, str]:
    """:func:`row_sha256` of every row of ``table``, by id, in one read (for checking)."""
    select = ", ".join(
        f"typeof({c}), CASE typeof({c}) WHEN 'text' THEN CAST({c} AS BLOB) ELSE {c} END"
        for c in columns
    )
    out: dict[int, str] = {}
    for row in conn.execute(f"SELECT id, {select} FROM {table} ORDER BY id"):
        values = tuple(row)[1:]
        out[int(row[0])] = _digest(table, [
            (name, str(values[2 * i]), values[2 * i + 1]) for i, name in enumerate(columns)
        ])
    return out


def _digest(table: str, cells: Sequence[tuple[str, str, object]]) -> str:
    digest = hashlib.sha256(f"{table}\n".encode())
    for name, kind, value in cells:
        digest.update(name.encode() + b"=" + _encode(kind, value))
    return digest.hexdigest()


def _kind(value: object) -> str:
    """The SQLite type a Python value is stored as (in a column whose affinity keeps it)."""
    if value is None:
        return "null"
    if isinstance(value, bool | int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, bytes):
        return "blob"
    return "text"


def earlier_digest(hashes: Sequence[str]) -> str:
    """The ``prev_hash`` of the chain start: :data:`GENESIS` with no earlier entry, else a
    digest of the earlier (pre-chain) entries' content hashes in order."""
    if not hashes:
        return GENESIS
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def head(conn: sqlite3.Connection) -> Head | None:
    """The newest sealed entry (None before the chain is sealed)."""
    row = conn.execute(
        "SELECT id, hash FROM audit WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else Head(int(row[0]), str(row[1]))


def append(
    conn: sqlite3.Connection, reviewer: str, media_id: int | None, action: str,
    changes: list[dict[str, Any]] | dict[str, Any], ts: str | None = None,
) -> int:
    """Add one entry to the chain and return its id. Call inside the change's transaction
    (a write transaction: the predecessor is read under the write lock)."""
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    if last is not None and last[1] is None:
        seal(conn)
        last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = GENESIS if last is None else str(last[1])
    # The id is chosen here (under the write lock) so that the hash goes in with the row:
    # one write per entry, hashed from the values exactly as SQLite stores them.
    entry_id = 1 + int(last[0] if last is not None else 0)
    values = (entry_id, ts or _now(), reviewer, media_id, action,
              json.dumps(changes, ensure_ascii=False), prev)
    entry_hash = _digest("audit", [
        (name, _kind(v), v.encode() if isinstance(v, str) else v)
        for name, v in zip(AUDIT_COLUMNS, values, strict=True)
    ])
    conn.execute(
        "INSERT INTO audit(id, ts, reviewer, media_id, action, changes, prev_hash, hash)"
        " VALUES (?,?,?,?,?,?,?,?)", (*values, entry_hash),
    )
    return entry_id


def _unsealed(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    """The chain start, if it still waits to be sealed. It is then the newest entry (nothing
    is appended without sealing it first), so one indexed read answers on every open."""
    row = conn.execute(
        "SELECT id, changes, action, hash FROM audit ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None or row[2] != CHAIN_STARTED or row[3] is not None:
        return None
    return (row[0], row[1])


def seal(conn: sqlite3.Connection) -> bool:
    """Complete the chain start migration 4 wrote (see the module docstring); True if it did
    anything. Runs inside the caller's (write) transaction, or its own; the check is made
    again under the write lock, so two processes opening an upgraded workspace seal it once."""
    if _unsealed(conn) is None:
        return False
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN IMMEDIATE")
    try:
        row = _unsealed(conn)
        if row is None:
            if own:
                conn.execute("COMMIT")
            return False
        start_id = int(row[0])
        earlier = [
            row_sha256(conn, "audit", AUDIT_COLUMNS[:-1], int(r[0])) or ""
            for r in conn.execute("SELECT id FROM audit WHERE id<? ORDER BY id", (start_id,))
        ]
        conn.execute(
            "UPDATE audit SET prev_hash=? WHERE id=?", (earlier_digest(earlier), start_id)
        )
        conn.execute(
            "UPDATE audit SET hash=? WHERE id=?",
            (row_sha256(conn, "audit", AUDIT_COLUMNS, start_id), start_id),
        )
        info = json.loads(row[1])
        for (run_id,) in conn.execute(
            "SELECT id FROM run WHERE id<=? ORDER BY id", (int(info.get("runs_before", 0)),)
        ).fetchall():
            record_run(conn, int(run_id))
            record_run_outcome(conn, int(run_id))
        for (draft_id,) in conn.execute(
            "SELECT id FROM draft_segment WHERE id<=? ORDER BY id",
            (int(info.get("drafts_before", 0)),),
        ).fetchall():
            record_draft(conn, int(draft_id))
    except BaseException:
        if own:
            conn.execute("ROLLBACK")
        raise
    if own:
        conn.execute("COMMIT")
    return True


# -- machine work ------------------------------------------------------------------------------


def _media_of_run(conn: sqlite3.Connection, run_id: int) -> int | None:
    row = conn.execute("SELECT media_id FROM run WHERE id=?", (run_id,)).fetchone()
    return None if row is None else int(row[0])


def record_run(conn: sqlite3.Connection, run_id: int) -> int:
    """Hash a new run's identity (model, its hash, engine versions, options) into the chain."""
    return append(conn, MACHINE, _media_of_run(conn, run_id), "machine.run", {
        "table": "run", "id": run_id,
        "sha256": row_sha256(conn, "run", RUN_IDENTITY, run_id),
    })


def record_run_outcome(conn: sqlite3.Connection, run_id: int) -> int | None:
    """Hash how a run ended (status, language, decoded audio, warnings); nothing for a run
    still marked running."""
    row = conn.execute("SELECT status FROM run WHERE id=?", (run_id,)).fetchone()
    if row is None or row[0] == "running":
        return None
    return append(conn, MACHINE, _media_of_run(conn, run_id), "machine.run_outcome", {
        "table": "run", "id": run_id, "status": str(row[0]),
        "sha256": row_sha256(conn, "run", RUN_OUTCOME, run_id),
    })


def record_draft(conn: sqlite3.Connection, draft_id: int) -> int:
    """Hash a stored machine-draft segment into the chain."""
    row = conn.execute(
        "SELECT run_id, idx FROM draft_segment WHERE id=?", (draft_id,)
    ).fetchone()
    run_id = int(row[0]) if row is not None else 0
    return append(conn, MACHINE, _media_of_run(conn, run_id), "machine.draft", {
        "table": "draft_segment", "id": draft_id, "run_id": run_id,
        "index": None if row is None else int(row[1]),
        "sha256": row_sha256(conn, "draft_segment", DRAFT_COLUMNS, draft_id),
    })


def record_draft_dropped(conn: sqlite3.Connection, draft_id: int, why: str) -> int:
    """Record that a draft segment is removed (a resumed run decoded it differently), before
    the row goes, with the hash it had."""
    row = conn.execute("SELECT run_id FROM draft_segment WHERE id=?", (draft_id,)).fetchone()
    run_id = int(row[0]) if row is not None else 0
    return append(conn, MACHINE, _media_of_run(conn, run_id), "machine.draft_dropped", {
        "table": "draft_segment", "id": draft_id, "run_id": run_id, "why": why,
        "sha256": row_sha256(conn, "draft_segment", DRAFT_COLUMNS, draft_id),
    })


def record_runs_discarded(conn: sqlite3.Connection, media_id: int, run_ids: Sequence[int]) -> None:
    """Record that unfinished runs (and their drafts) are removed, before they go."""
    if run_ids:
        append(conn, MACHINE, media_id, "machine.runs_discarded", {
            "table": "run", "ids": list(run_ids),
            "drafts": [int(r[0]) for r in conn.execute(
                f"SELECT id FROM draft_segment WHERE run_id IN ({','.join('?' * len(run_ids))})"
                " ORDER BY id", tuple(run_ids),
            )],
        })


#: What a table or column name recorded in the chain must look like before it goes into SQL
#: (:mod:`annotator.verify` reads names back from entries that may have been tampered with).
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


def record_row(
    conn: sqlite3.Connection, table: str, key_column: str, key: int, columns: Sequence[str],
    media_id: int | None = None,
) -> int:
    """Hash any other machine-written row into the chain (a draft's detected language, a
    machine translation...): the entry names the table, the key and the columns hashed, so
    :mod:`annotator.verify` rechecks it without knowing the table. Call it when the row is
    stored, and again when it is replaced. A row whose ``key_column`` is ``draft_id`` may go
    with its draft (a dropped draft or a discarded run, recorded in the chain); any other
    removal needs :func:`record_row_dropped` first."""
    names = (table, key_column, *columns)
    bad = [n for n in names if not IDENTIFIER.match(n)]
    if bad:
        raise ValueError(f"not a plain SQL name: {bad[0]!r}")
    return append(conn, MACHINE, media_id, "machine.row", {
        "table": table, "key_column": key_column, "key": key, "columns": list(columns),
        "sha256": row_sha256(conn, table, columns, key, key_column),
    })


def record_row_dropped(
    conn: sqlite3.Connection, table: str, key_column: str, key: int, why: str,
    media_id: int | None = None,
) -> int:
    """Record that a row :func:`record_row` hashed is removed (before it goes)."""
    return append(conn, MACHINE, media_id, "machine.row_dropped", {
        "table": table, "key_column": key_column, "key": key, "why": why,
    })
