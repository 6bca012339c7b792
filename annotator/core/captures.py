"""Live captures in the workspace: the capture, its pieces and its gaps.

A capture is one copy of a stream (or of a file that is still growing) made by
``annotator capture``. The copy is **one file** that only ever grows by whole pieces; a piece
is a byte range of it (for HLS: one original segment, byte for byte). Each piece is recorded
as it arrives:

- its SHA-256, and a chain hash ``SHA-256(previous chain hash + ":" + piece hash)`` (the
  first piece chains from :data:`GENESIS`), so a piece removed, reordered or altered breaks
  every chain hash after it, and the last chain hash stands for the whole sequence;
- when it arrived (UTC, and seconds since the capture started on a monotonic clock), the
  stream's own timestamps of its first and last packets where they can be read, the
  playlist's media-sequence number and the HTTP headers worth keeping (``Last-Modified``,
  ``ETag``, ``Date``...);
- each row is hashed into the audit chain (:func:`annotator.core.chain.record_row`), so
  ``annotator verify`` notices a row edited afterwards, and rehashes the file's byte ranges
  (:func:`check_pieces`) to name the piece whose bytes changed.

Gaps (the source dropped, a reconnect, segments the playlist no longer offered) are rows of
their own with their times. This module never imports the network or media code: it only
records what :mod:`annotator.live` hands it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.core import chain
from annotator.core.media import Probe, absolute_path
from annotator.core.runlock import media_lock
from annotator.core.store import Workspace, utcnow
from annotator.errors import MediaError, NotFoundError

#: The chain hash the first piece is chained to.
GENESIS = "0" * 64

PIECE_COLUMNS = (
    "capture_id", "seq", "byte_offset", "size", "sha256", "chain_sha256", "arrived_at",
    "arrived_s", "stream_start_ms", "stream_end_ms", "media_sequence", "uri", "headers",
)
CAPTURE_COLUMNS = ("source", "kind", "path", "started_at", "ended_at", "status", "sha256", "size")


def chain_hash(previous: str, piece_sha256: str) -> str:
    """The chain hash of a piece: SHA-256 of the previous chain hash, ``:`` and its own hash
    (ASCII hex), so anyone can recompute it with ``sha256sum`` and a shell."""
    return hashlib.sha256(f"{previous}:{piece_sha256}".encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Capture:
    id: int
    source: str
    kind: str  # "hls", "growing", "remux", "relay"
    path: str  # the captured file
    media_id: int | None
    started_at: str
    ended_at: str | None
    status: str  # running, done, interrupted, lost
    sha256: str | None  # of the whole file, at the end
    size: int | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "source": self.source, "kind": self.kind, "path": self.path,
            "started_at": self.started_at, "ended_at": self.ended_at, "status": self.status,
            "sha256": self.sha256, "size": self.size, "note": self.note,
        }


@dataclass(frozen=True)
class Piece:
    """One arrived piece: bytes ``[byte_offset, byte_offset + size)`` of the captured file."""

    seq: int
    byte_offset: int
    size: int
    sha256: str
    chain_sha256: str
    arrived_at: str
    arrived_s: float
    stream_start_ms: int | None = None
    stream_end_ms: int | None = None
    media_sequence: int | None = None
    uri: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "byte_offset": self.byte_offset, "size": self.size,
            "sha256": self.sha256, "chain_sha256": self.chain_sha256,
            "arrived_at": self.arrived_at, "arrived_s": self.arrived_s,
            "stream_start_ms": self.stream_start_ms, "stream_end_ms": self.stream_end_ms,
            "media_sequence": self.media_sequence, "uri": self.uri, "headers": self.headers,
        }


@dataclass(frozen=True)
class Gap:
    """A time the source could not be read: from the first failure to the reconnect (None:
    never reconnected), after which piece, how many attempts, why, and the playlist
    sequence numbers that were no longer offered when it came back."""

    id: int
    started_at: str
    ended_at: str | None
    after_seq: int | None
    attempts: int
    reason: str
    missed: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at, "ended_at": self.ended_at,
            "after_seq": self.after_seq, "attempts": self.attempts, "reason": self.reason,
            "missed_media_sequences": list(self.missed),
        }


def start(ws: Workspace, source: str, kind: str, path: Path) -> Capture:
    """Record a new capture of ``source`` into ``path`` (running)."""
    with ws.transaction() as c:
        cur = c.execute(
            "INSERT INTO capture(source, kind, path, started_at) VALUES (?,?,?,?)",
            (source, kind, absolute_path(str(path)), utcnow()),
        )
        capture_id = int(cur.lastrowid or 0)
    return get(ws, capture_id)


def get(ws: Workspace, capture_id: int) -> Capture:
    row = ws.conn.execute("SELECT * FROM capture WHERE id=?", (capture_id,)).fetchone()
    if row is None:
        raise NotFoundError("capture", capture_id)
    return _capture(row)


def _capture(row: sqlite3.Row) -> Capture:
    return Capture(
        row["id"], row["source"], row["kind"], row["path"], row["media_id"],
        row["started_at"], row["ended_at"], row["status"], row["sha256"], row["size"],
        row["note"],
    )


def all_captures(ws: Workspace) -> list[Capture]:
    return [_capture(r) for r in ws.conn.execute("SELECT * FROM capture ORDER BY id")]


def for_media(ws: Workspace, media_id: int) -> Capture | None:
    """The capture that made a media file, if it was captured live (the latest one)."""
    row = ws.conn.execute(
        "SELECT * FROM capture WHERE media_id=? ORDER BY id DESC LIMIT 1", (media_id,)
    ).fetchone()
    return None if row is None else _capture(row)


def add_piece(ws: Workspace, capture_id: int, piece: Piece) -> None:
    """Store an arrived piece and hash its row into the audit chain, in one transaction."""
    with ws.transaction() as c:
        cur = c.execute(
            f"INSERT INTO capture_piece({', '.join(PIECE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(PIECE_COLUMNS))})",
            (capture_id, piece.seq, piece.byte_offset, piece.size, piece.sha256,
             piece.chain_sha256, piece.arrived_at, piece.arrived_s, piece.stream_start_ms,
             piece.stream_end_ms, piece.media_sequence, piece.uri,
             json.dumps(piece.headers, sort_keys=True)),
        )
        chain.record_row(c, "capture_piece", "id", int(cur.lastrowid or 0), PIECE_COLUMNS)


def pieces(ws: Workspace, capture_id: int) -> list[Piece]:
    rows = ws.conn.execute(
        "SELECT * FROM capture_piece WHERE capture_id=? ORDER BY seq", (capture_id,)
    ).fetchall()
    return [
        Piece(r["seq"], r["byte_offset"], r["size"], r["sha256"], r["chain_sha256"],
              r["arrived_at"], r["arrived_s"], r["stream_start_ms"], r["stream_end_ms"],
              r["media_sequence"], r["uri"], json.loads(r["headers"]))
        for r in rows
    ]


def open_gap(ws: Workspace, capture_id: int, after_seq: int | None, reason: str) -> int:
    with ws.transaction() as c:
        cur = c.execute(
            "INSERT INTO capture_gap(capture_id, started_at, after_seq, attempts, reason)"
            " VALUES (?,?,?,1,?)",
            (capture_id, utcnow(), after_seq, reason),
        )
        return int(cur.lastrowid or 0)


def gap_attempt(ws: Workspace, gap_id: int, reason: str) -> None:
    """One more failed attempt to reach the source (the latest reason is kept)."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE capture_gap SET attempts=attempts+1, reason=? WHERE id=?", (reason, gap_id)
        )


def close_gap(ws: Workspace, gap_id: int, missed: list[int] | None = None) -> None:
    """The source answered again (``missed``: sequence numbers it no longer offered)."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE capture_gap SET ended_at=?, missed=? WHERE id=?",
            (utcnow(), json.dumps(missed or []), gap_id),
        )


def gaps(ws: Workspace, capture_id: int) -> list[Gap]:
    rows = ws.conn.execute(
        "SELECT * FROM capture_gap WHERE capture_id=? ORDER BY id", (capture_id,)
    ).fetchall()
    return [
        Gap(r["id"], r["started_at"], r["ended_at"], r["after_seq"], r["attempts"], r["reason"],
            tuple(json.loads(r["missed"])))
        for r in rows
    ]


def finish(ws: Workspace, capture_id: int, status: str, sha256: str, size: int,
           note: str = "") -> Capture:
    """End the capture: its status, the whole file's SHA-256 and size; hashed into the
    audit chain."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE capture SET ended_at=?, status=?, sha256=?, size=?, note=? WHERE id=?",
            (utcnow(), status, sha256, size, note, capture_id),
        )
        chain.record_row(c, "capture", "id", capture_id, CAPTURE_COLUMNS)
    return get(ws, capture_id)


def link_media(ws: Workspace, capture_id: int, media_id: int) -> None:
    with ws.transaction() as c:
        c.execute("UPDATE capture SET media_id=? WHERE id=?", (media_id, capture_id))


def refresh_media(ws: Workspace, media_id: int, info: Probe) -> None:
    """A captured file grows: its media record follows it (hash, size, duration of what has
    arrived so far; at the end, of the whole file). Media rows are identified by hash, so
    the record of a live capture changes hash as it grows; the capture's pieces keep the
    hashes of every byte that arrived."""
    with ws.transaction() as c:
        c.execute(
            "UPDATE media SET sha256=?, size=?, duration_ms=?, streams=? WHERE id=?",
            (info.sha256, info.size, info.duration_ms,
             json.dumps([s.to_dict() for s in info.streams]), media_id),
        )


# -- checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PieceProblem:
    seq: int
    detail: str

    def __str__(self) -> str:
        return f"piece {self.seq}: {self.detail}"


def check_pieces(capture: Capture, recorded: list[Piece]) -> list[PieceProblem]:
    """Rehash every piece's byte range in the captured file and recompute the chain; each
    problem names the piece. A file that is not present raises :class:`MediaError`."""
    path = Path(capture.path)
    problems: list[PieceProblem] = []
    previous = GENESIS
    expected_offset = 0
    try:
        with path.open("rb") as fh:
            for piece in recorded:
                if piece.byte_offset != expected_offset:
                    problems.append(PieceProblem(
                        piece.seq, f"starts at byte {piece.byte_offset}, not {expected_offset}"
                    ))
                fh.seek(piece.byte_offset)
                data = fh.read(piece.size)
                sha = hashlib.sha256(data).hexdigest()
                if len(data) != piece.size:
                    problems.append(PieceProblem(
                        piece.seq, f"the file ends inside it ({len(data)} of {piece.size} bytes)"
                    ))
                elif sha != piece.sha256:
                    problems.append(PieceProblem(
                        piece.seq, f"bytes {piece.byte_offset}-{piece.byte_offset + piece.size}"
                        f" hash to {sha}, not {piece.sha256} as recorded when it arrived"
                    ))
                if chain_hash(previous, piece.sha256) != piece.chain_sha256:
                    problems.append(PieceProblem(piece.seq, "its chain hash does not follow "
                                                 "from the piece before"))
                previous = piece.chain_sha256
                expected_offset = piece.byte_offset + piece.size
    except OSError as exc:
        raise MediaError(path, exc.strerror or str(exc)) from exc
    return problems


def provenance(ws: Workspace, media_id: int) -> dict[str, Any] | None:
    """A live capture's record for exports: source, status, whole-file hash, every piece
    (hash chain, arrival, stream times, sequence numbers, kept headers) and every gap."""
    capture = for_media(ws, media_id)
    if capture is None:
        return None
    found = pieces(ws, capture.id)
    return {
        **capture.to_dict(),
        "chain": {"genesis": GENESIS, "rule": "sha256(previous_chain + ':' + piece_sha256)",
                  "head": found[-1].chain_sha256 if found else None},
        "pieces": [p.to_dict() for p in found],
        "gaps": [g.to_dict() for g in gaps(ws, capture.id)],
    }


def forget_provisional(ws: Workspace, run_id: int, from_ms: int) -> None:
    """Before a live run decodes its last, still growing piece again: drop what that piece's
    earlier, shorter decode held back or reported as gaps from ``from_ms`` on (neither is in
    the audit chain), so only what the final decode finds remains, as after a file run."""
    with ws.transaction() as c:
        c.execute("DELETE FROM suppressed_segment WHERE run_id=? AND end_ms>?", (run_id, from_ms))
        c.execute("DELETE FROM speech_gap WHERE run_id=? AND end_ms>?", (run_id, from_ms))


#: Beside a captured file: its capture's record (:func:`provenance`), written when it ends.
SIDECAR_SUFFIX = ".capture.json"


def write_sidecar(ws: Workspace, media_id: int, path: Path) -> Path | None:
    """Write the capture's record beside the captured file, so an export made from the file
    alone (:func:`sidecar`) carries where and how it was captured."""
    record = provenance(ws, media_id)
    if record is None:
        return None
    target = path.with_name(path.name + SIDECAR_SUFFIX)
    target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def sidecar(media_path: str, media_sha256: str) -> dict[str, Any] | None:
    """The capture record beside a media file, if there is one **for these bytes** (its
    whole-file SHA-256 equals the media's); anything else (absent, unreadable, another
    file's) is None."""
    target = Path(media_path + SIDECAR_SUFFIX)
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("sha256") != media_sha256:
        return None
    return record


@contextlib.contextmanager
def capture_lock(
    ws: Workspace, capture_id: int, media_path: Path, *, wait: bool = False,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[None]:
    """Hold the run lock of a capture's file (:func:`annotator.core.runlock.media_lock`,
    under a name of its own since the file's hash changes with every piece): the live
    follower holds it while it transcribes, and ``annotator transcribe`` of the same file
    takes it too (:func:`while_captured`), so it waits or says who is writing instead of
    starting a second run of a media still growing."""
    from annotator.core import runs

    with media_lock(ws.path, f"capture-{capture_id}", media_path, runs.owner_record(),
                    wait=wait, on_wait=on_wait):
        yield


def while_captured(
    ws: Workspace, media_path: Path, *, wait: bool = False,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> contextlib.AbstractContextManager[None]:
    """The capture lock of ``media_path`` if a capture wrote it (see :func:`capture_lock`),
    else nothing to hold."""
    row = ws.conn.execute(
        "SELECT id FROM capture WHERE path=? ORDER BY id DESC LIMIT 1",
        (absolute_path(str(media_path)),),
    ).fetchone()
    if row is None:
        return contextlib.nullcontext()
    return capture_lock(ws, int(row["id"]), media_path, wait=wait, on_wait=on_wait)
