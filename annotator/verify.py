"""``annotator verify``: recompute every hash the record relies on and say what no longer holds.

Checked, in this order (the order :func:`verify` reports in, so "the first broken thing" is
stable):

1. **media files**: each media whose file is present is hashed again and compared with the
   SHA-256 it was registered under (a missing file is reported, not failed: evidence is
   often archived elsewhere);
   **live captures** (:func:`check_captures`): each piece of a captured file rehashed and
   its hash chain recomputed, naming the piece whose bytes changed;
2. **the audit chain** (:mod:`annotator.core.chain`): every entry's content against its hash,
   and every entry's ``prev_hash`` against the entry before it;
3. **machine drafts and runs**: every draft segment and run row against the hash the chain
   recorded for it when it was stored (and rows removed without a chain entry);
4. **export manifests** in a folder (:mod:`annotator.formats.manifest`): each manifest
   against itself, each file it lists against its size and SHA-256, and, with a workspace,
   the chain head it names against the workspace's entry of that id.

Nothing here writes: the workspace is opened read-only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator.core import captures, chain
from annotator.core.media import file_sha256
from annotator.core.model import Media
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.formats import manifest


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: ``ok`` False means something no longer holds."""

    ok: bool
    what: str  # the thing checked: "media 1 (demo.mp4)", "audit chain", a file
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


def verify(
    ws: Workspace | None, media: Media | None = None, exports: Path | None = None
) -> list[Finding]:
    """Every finding, problems and passes, in the order of the module docstring. ``media``
    limits the file check to that media (the chain is one per workspace and always checked
    whole)."""
    found: list[Finding] = []
    if ws is not None:
        found += check_media_files(ws.list_media() if media is None else [media])
        found += check_captures(ws, media)
        found += check_chain(ws.conn)
    if exports is not None:
        found += check_manifests(exports, ws, media)
    return found


def check_media_files(media: Iterable[Media]) -> list[Finding]:
    out = []
    for m in media:
        what = f"media {m.id} ({m.path})"
        path = Path(m.path)
        if not path.is_file():
            out.append(Finding(True, what, "file not present here; not rehashed"))
            continue
        try:
            sha = file_sha256(path)
        except MediaError as exc:
            out.append(Finding(False, what, f"cannot be read ({exc.cause})"))
            continue
        if sha != m.sha256:
            out.append(Finding(
                False, what, f"the file's SHA-256 is now {sha}, not {m.sha256} as recorded: "
                "it is not the file that was transcribed",
            ))
        else:
            out.append(Finding(True, what, f"SHA-256 {m.sha256[:12]}… matches"))
    return out


def check_captures(ws: Workspace, media: Media | None = None) -> list[Finding]:
    """Live captures (:mod:`annotator.core.captures`): every piece's bytes in the captured
    file against the SHA-256 recorded when it arrived, the chain of piece hashes, and the
    file's size against the pieces (bytes added after the capture are named too)."""
    out = []
    for cap in captures.all_captures(ws):
        if media is not None and cap.media_id != media.id:
            continue
        what = f"capture {cap.id} ({cap.path})"
        if not Path(cap.path).is_file():
            out.append(Finding(True, what, "file not present here; not rehashed"))
            continue
        recorded = captures.pieces(ws, cap.id)
        try:
            problems = [str(p) for p in captures.check_pieces(cap, recorded)]
        except MediaError as exc:
            out.append(Finding(False, what, f"cannot be read ({exc.cause})"))
            continue
        end = sum(p.size for p in recorded)
        size = Path(cap.path).stat().st_size
        if size != end and cap.status != "running":
            problems.append(f"the file holds {size} bytes, the pieces {end}")
        out += [Finding(False, what, problem) for problem in problems]
        if not problems:
            out.append(Finding(True, what, f"{len(recorded)} pieces match their SHA-256 and "
                                           "hash chain"))
    return out


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    action: str
    changes: Any
    prev_hash: str | None
    hash: str | None


def _entries(conn: sqlite3.Connection) -> list[_Entry]:
    rows = conn.execute(
        "SELECT id, CAST(action AS BLOB), CAST(changes AS BLOB), prev_hash, hash FROM audit"
        " ORDER BY id"
    )
    out = []
    for r in rows:
        try:
            changes = json.loads(bytes(r[2]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            changes = None
        out.append(_Entry(
            int(r[0]), bytes(r[1]).decode("utf-8", "replace"), changes,
            None if r[3] is None else str(r[3]), None if r[4] is None else str(r[4]),
        ))
    return out


def check_chain(conn: sqlite3.Connection) -> list[Finding]:
    """The audit chain, then the draft and run rows it recorded."""
    entries = _entries(conn)
    content = chain.table_sha256(conn, "audit", chain.AUDIT_COLUMNS)
    earlier = chain.table_sha256(conn, "audit", chain.AUDIT_COLUMNS[:-1])
    start = next((i for i, e in enumerate(entries) if e.action == chain.CHAIN_STARTED), None)
    if start is None:
        return [Finding(False, "audit chain", "no chain.started entry: the chain's start was "
                        "removed or the workspace predates it")]
    expected = chain.earlier_digest([earlier[e.id] for e in entries[:start]])
    unsealed = False
    for i, entry in enumerate(entries[start:], start):
        what = f"audit entry {entry.id} ({entry.action})"
        if entry.hash is None and i == start and len(entries) == start + 1:
            unsealed = True
            break
        if entry.prev_hash != expected:
            why = ("an earlier entry (before the chain start) was changed, added or removed"
                   if i == start else f"entry {entries[i - 1].id} before it was changed, "
                   "or an entry between them was removed or inserted")
            return [Finding(False, what, f"prev_hash does not match: {why}")]
        if entry.hash != content[entry.id]:
            return [Finding(False, what, "content does not match its SHA-256: this entry was "
                            f"changed after it was written (recorded {str(entry.hash)[:12]}…, "
                            f"now {content[entry.id][:12]}…)")]
        expected = str(entry.hash)
    out = [Finding(True, "audit chain", (
        f"{len(entries) - start} entries from entry {entries[start].id} hold"
        if not unsealed else f"starts at entry {entries[start].id}, not sealed yet (nothing "
        "written since the upgrade; it is sealed by the next writable open)"
    ))]
    covered_from = 0
    if unsealed and isinstance(entries[start].changes, dict):
        covered_from = int(entries[start].changes.get("drafts_before", 0))
    out += _check_drafts(conn, entries[start:], covered_from)
    out += _check_runs(conn, entries[start:], unsealed)
    out += _check_rows(conn, entries[start:])
    return out


def _removed_drafts(entries: list[_Entry]) -> set[int]:
    """Draft ids the chain records as dropped or discarded with their run."""
    gone: set[int] = set()
    for e in entries:
        if not isinstance(e.changes, dict):
            continue
        if e.action == "machine.draft_dropped":
            gone.add(int(e.changes.get("id", 0)))
        elif e.action == "machine.runs_discarded":
            gone.update(int(d) for d in e.changes.get("drafts", []))
    return gone


def _check_rows(conn: sqlite3.Connection, entries: list[_Entry]) -> list[Finding]:
    """Other machine rows hashed with :func:`annotator.core.chain.record_row`."""
    latest: dict[tuple[str, str, int], _Entry] = {}
    for e in entries:
        if e.action in ("machine.row", "machine.row_dropped") and isinstance(e.changes, dict):
            c = e.changes
            latest[(str(c.get("table")), str(c.get("key_column")), int(c.get("key", 0)))] = e
    if not latest:
        return []
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    gone = _removed_drafts(entries)
    for (table, key_column, key), record in latest.items():
        if record.action == "machine.row_dropped":
            continue
        columns = [str(c) for c in record.changes.get("columns", [])]
        names = [table, key_column, *columns]
        if table not in tables or not all(chain.IDENTIFIER.match(n) for n in names):
            return [Finding(False, f"audit entry {record.id}", f"names a table or column that "
                            f"is not in this workspace ({table!r})")]
        try:
            sha = chain.row_sha256(conn, table, columns, key, key_column)
        except sqlite3.Error as exc:
            return [Finding(False, f"audit entry {record.id}", f"cannot recheck {table}: {exc}")]
        what = f"{table} row {key_column}={key}"
        if sha is None:
            if key_column == "draft_id" and key in gone:
                continue
            return [Finding(False, what, f"recorded in audit entry {record.id} but no longer "
                            "in the workspace (deleted)")]
        if sha != record.changes.get("sha256"):
            return [Finding(False, what, f"differs from the machine output hashed in audit "
                            f"entry {record.id}")]
    return [Finding(True, "other machine rows", f"{len(latest)} rows match the chain")]


def _check_drafts(
    conn: sqlite3.Connection, entries: list[_Entry], covered_from: int
) -> list[Finding]:
    latest: dict[int, _Entry] = {}
    for e in entries:
        if not isinstance(e.changes, dict):
            continue
        if e.action in ("machine.draft", "machine.draft_dropped"):
            latest[int(e.changes.get("id", 0))] = e
        elif e.action == "machine.runs_discarded":
            for draft_id in e.changes.get("drafts", []):
                latest[int(draft_id)] = e
    rows = chain.table_sha256(conn, "draft_segment", chain.DRAFT_COLUMNS)
    for draft_id, sha in rows.items():
        what = f"draft segment {draft_id}"
        record = latest.get(draft_id)
        if record is None:
            if draft_id <= covered_from:
                continue
            return [Finding(False, what, "has no entry in the audit chain (inserted behind "
                            "annotator's back)")]
        if record.action != "machine.draft":
            return [Finding(False, what, f"was removed in audit entry {record.id} but is "
                            "present again")]
        if record.changes.get("sha256") != sha:
            return [Finding(False, what, f"differs from the machine draft hashed in audit "
                            f"entry {record.id}: the stored machine text, times, words or "
                            "figures were changed")]
    for draft_id, record in latest.items():
        if record.action == "machine.draft" and draft_id not in rows:
            return [Finding(False, f"draft segment {draft_id}", f"recorded in audit entry "
                            f"{record.id} but no longer in the workspace (deleted)")]
    return [Finding(True, "machine drafts", f"{len(rows)} draft segments match the chain")]


def _check_runs(conn: sqlite3.Connection, entries: list[_Entry], unsealed: bool) -> list[Finding]:
    identity = chain.table_sha256(conn, "run", chain.RUN_IDENTITY)
    outcome = chain.table_sha256(conn, "run", chain.RUN_OUTCOME)
    status = {int(r[0]): str(r[1]) for r in conn.execute("SELECT id, status FROM run")}
    started: dict[int, _Entry] = {}
    ended: dict[int, _Entry] = {}
    discarded: set[int] = set()
    for e in entries:
        if not isinstance(e.changes, dict):
            continue
        if e.action == "machine.run":
            started.setdefault(int(e.changes.get("id", 0)), e)
        elif e.action == "machine.run_outcome":
            ended[int(e.changes.get("id", 0))] = e
        elif e.action == "machine.runs_discarded":
            discarded.update(int(i) for i in e.changes.get("ids", []))
    for run_id, sha in identity.items():
        what = f"run {run_id}"
        start = started.get(run_id)
        if start is None:
            if unsealed:
                continue
            return [Finding(False, what, "has no entry in the audit chain")]
        if start.changes.get("sha256") != sha:
            return [Finding(False, what, "its model, model hash, engine versions or options "
                            f"differ from those hashed in audit entry {start.id}")]
        end = ended.get(run_id)
        if status[run_id] != "running":
            if end is None:
                return [Finding(False, what, f"is {status[run_id]} without a chain entry")]
            if end.changes.get("sha256") != outcome[run_id]:
                return [Finding(False, what, "its outcome (status, language, decoded audio, "
                                f"warnings) differs from audit entry {end.id}")]
    for run_id, e in started.items():
        if run_id not in identity and run_id not in discarded:
            return [Finding(False, f"run {run_id}", f"recorded in audit entry {e.id} but no "
                            "longer in the workspace (deleted)")]
    return [Finding(True, "runs", f"{len(identity)} runs match the chain")]


def check_manifests(folder: Path, ws: Workspace | None, media: Media | None) -> list[Finding]:
    found = sorted(folder.glob(f"*{manifest.SUFFIX}")) if folder.is_dir() else []
    if not found:
        return [Finding(False, str(folder), f"no *{manifest.SUFFIX} here to verify")]
    out = []
    for path in found:
        data, problems = manifest.problems(path)
        if data is not None and media is not None and data["media"]["sha256"] != media.sha256:
            continue
        if problems:
            out += [Finding(False, str(where), why) for where, why in problems]
            continue
        assert data is not None
        if ws is not None:
            out += _against_workspace(path, data, ws)
        out.append(Finding(True, str(path), f"{len(data['files'])} files match"))
    return out


def _against_workspace(path: Path, data: dict[str, Any], ws: Workspace) -> list[Finding]:
    sha = data["media"]["sha256"]
    known = ws.conn.execute("SELECT 1 FROM media WHERE sha256=?", (sha,)).fetchone()
    if known is None:
        return [Finding(False, str(path), f"names media {sha[:12]}…, which is not in "
                        f"{ws.path}")]
    head = data.get("audit_chain_head")
    if head is None:
        return []
    row = ws.conn.execute(
        "SELECT hash FROM audit WHERE id=?", (head.get("audit_id"),)
    ).fetchone()
    if row is None or row[0] != head.get("sha256"):
        now = "absent" if row is None else f"{str(row[0])[:12]}…"
        return [Finding(False, str(path), f"the audit chain head it names (entry "
                        f"{head.get('audit_id')}, {str(head.get('sha256'))[:12]}…) is {now} in "
                        f"{ws.path}: the workspace's record was rewritten after this export")]
    return []
