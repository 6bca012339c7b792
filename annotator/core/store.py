"""The workspace: one SQLite file that holds media, runs, the machine draft and the review layer.

Why SQLite: every reviewer action must be durable the moment it is shown as saved, without
rewriting a whole file. Each change is one small transaction; WAL mode lets the transcription
worker write while the review screen reads; ``synchronous=FULL`` makes a committed change
survive a ``kill -9`` or a power cut.

The schema is versioned with ``PRAGMA user_version`` and upgraded by the ordered list of
:data:`MIGRATIONS`; to change the schema, append a migration, never edit an old one.

A :class:`Workspace` (one connection) belongs to one thread. A background worker opens its
own :class:`Workspace` on the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annotator.core import chain
from annotator.core.connection import SCHEMA_VERSION as SCHEMA_VERSION
from annotator.core.connection import connect, workspace_error
from annotator.core.media import Probe, absolute_path, file_sha256, match_media
from annotator.core.model import (
    Codebook,
    CodebookEntry,
    DraftSegment,
    Media,
    ReviewState,
    Run,
    RunStatus,
    Segment,
    Speaker,
    StreamInfo,
    SuppressedSegment,
    Word,
)
from annotator.errors import NotFoundError

DEFAULT_DB = Path("annotator.db")
#: A full run, not a run over one span (see :mod:`annotator.core.gapfill`, which sets
#: ``options.only``): only full runs are current, resumed or discarded.
FULL_RUN_SQL = "json_extract(options, '$.only') IS NULL"


def utcnow() -> str:
    """ISO-8601 UTC timestamp with seconds precision: what every record stores."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _words_json(words: Iterable[Word]) -> str:
    return json.dumps([w.to_dict() for w in words], ensure_ascii=False)


def _words_from(text: str) -> tuple[Word, ...]:
    return tuple(Word.from_dict(d) for d in json.loads(text))


class Workspace:
    """A connection to one workspace file, with typed reads and small atomic writes."""

    def __init__(self, path: Path | str = DEFAULT_DB, *, read_only: bool = False) -> None:
        """Open (creating if new, upgrading if old) the workspace at ``path``; another
        program's SQLite file is refused without a byte written (see
        :mod:`annotator.core.connection`). ``read_only`` writes nothing, so a workspace on
        read-only media can be listed and exported, and its writes raise
        :class:`~annotator.errors.WorkspaceError` (only a workspace from an older annotator is
        upgraded first, once, where the file can be written)."""
        self.path = Path(path)
        self.read_only = read_only
        self._depth = 0
        self.conn = connect(self.path, read_only=read_only)
        if not read_only:
            chain.seal(self.conn)  # the chain start an upgrade left (annotator.core.chain)

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable change. Nested calls join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        try:
            # A read-only workspace still takes a (deferred) transaction: one snapshot.
            self.conn.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0
        except sqlite3.OperationalError as exc:
            # A full disk or read-only media is the user's to fix: say so, naming the file.
            error = workspace_error(self.path, exc)
            if "not a usable" in error.cause:
                raise
            raise error from exc

    # -- media ----------------------------------------------------------------------------

    @staticmethod
    def _media(row: sqlite3.Row) -> Media:
        streams = tuple(StreamInfo(**s) for s in json.loads(row["streams"]))
        return Media(
            row["id"], row["path"], row["sha256"], row["size"], row["duration_ms"],
            streams, row["added_at"], row["typed_path"],
        )

    def add_media(
        self, path: str, sha256: str, size: int, duration_ms: int,
        streams: Iterable[StreamInfo] = (),
    ) -> Media:
        """Register a media file by content hash; an already known hash returns its record
        (updating the last-seen path). ``path`` is stored absolute and resolved, so the media
        is found and played from any folder, and as typed (``typed_path``)."""
        streams_json = json.dumps([s.to_dict() for s in streams])
        typed, resolved = str(path), absolute_path(str(path))
        with self.transaction() as c:
            row = c.execute("SELECT id FROM media WHERE sha256=?", (sha256,)).fetchone()
            if row is None:
                c.execute(
                    "INSERT INTO media(sha256, path, size, duration_ms, streams, added_at,"
                    " typed_path) VALUES (?,?,?,?,?,?,?)",
                    (sha256, resolved, size, duration_ms, streams_json, utcnow(), typed),
                )
            else:
                c.execute(
                    "UPDATE media SET path=?, typed_path=? WHERE id=?",
                    (resolved, typed, row["id"]),
                )
        return self.media_by_sha(sha256)

    def add_probed(self, info: Probe) -> Media:
        """Register a probed media file (see :meth:`add_media`)."""
        return self.add_media(
            str(info.path), info.sha256, info.size, info.duration_ms, info.streams
        )

    def media_by_sha(self, sha256: str) -> Media:
        row = self.conn.execute("SELECT * FROM media WHERE sha256=?", (sha256,)).fetchone()
        if row is None:
            raise NotFoundError("media", sha256)
        return self._media(row)

    def media(self, media_id: int) -> Media:
        row = self.conn.execute("SELECT * FROM media WHERE id=?", (media_id,)).fetchone()
        if row is None:
            raise NotFoundError("media", media_id)
        return self._media(row)

    def list_media(self) -> list[Media]:
        return [self._media(r) for r in self.conn.execute("SELECT * FROM media ORDER BY id")]

    def find_media(self, ref: str) -> Media:
        """Resolve what a user typed: a numeric id, a path (from any folder), a SHA-256
        prefix (>= 6 hex digits) or a file name (see :func:`match_media`), and last, a file
        on disk by its content. Raises :class:`NotFoundError`, or
        :class:`~annotator.errors.AmbiguousMediaError` listing the candidates."""
        if ref.isdigit():
            try:
                return self.media(int(ref))
            except NotFoundError:
                pass
        found = match_media(self.list_media(), ref)
        if found is not None:
            return found
        if Path(ref).expanduser().is_file():  # a copy, a hard link, a moved file
            try:
                return self.media_by_sha(file_sha256(Path(ref).expanduser()))
            except NotFoundError:
                pass
        raise NotFoundError("media", ref)

    # -- runs and the machine draft -------------------------------------------------------

    @staticmethod
    def _run(row: sqlite3.Row) -> Run:
        return Run(
            row["id"], row["media_id"], row["model_id"], row["model_sha256"],
            json.loads(row["engine_versions"]), json.loads(row["options"]), row["language"],
            row["language_probability"], row["created_at"], row["finished_at"],
            RunStatus(row["status"]),
            json.loads(row["owner"]), row["heartbeat_at"], row["decoded_ms"],
            tuple(json.loads(row["warnings"])),
        )

    def start_run(
        self, media_id: int, model_id: str, model_sha256: str,
        engine_versions: dict[str, str], options: dict[str, Any],
    ) -> Run:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO run(media_id, model_id, model_sha256, engine_versions, options,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (media_id, model_id, model_sha256, json.dumps(engine_versions),
                 json.dumps(options, default=str), utcnow()),
            )
            run_id = int(cur.lastrowid or 0)
            chain.record_run(c, run_id)
        return self.run(run_id)

    def set_run_language(self, run_id: int, language: str, probability: float) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE run SET language=?, language_probability=? WHERE id=?",
                (language, probability, run_id),
            )

    def finish_run(self, run_id: int, status: str = "done") -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE run SET status=?, finished_at=? WHERE id=?", (status, utcnow(), run_id)
            )
            chain.record_run_outcome(c, run_id)

    def run(self, run_id: int) -> Run:
        row = self.conn.execute("SELECT * FROM run WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError("run", run_id)
        return self._run(row)

    def runs(self, media_id: int) -> list[Run]:
        rows = self.conn.execute("SELECT * FROM run WHERE media_id=? ORDER BY id", (media_id,))
        return [self._run(r) for r in rows]

    def current_run(self, media_id: int) -> Run | None:
        """The latest finished run: the one whose draft the review layer was built from.
        A run over one span (:mod:`annotator.core.gapfill`) is never it."""
        row = self.conn.execute(
            "SELECT * FROM run WHERE media_id=? AND status='done' AND"
            f" {FULL_RUN_SQL} ORDER BY id DESC LIMIT 1",
            (media_id,),
        ).fetchone()
        return self._run(row) if row else None

    def add_draft(
        self, run: Run, index: int, start_ms: int, end_ms: int, text: str,
        words: tuple[Word, ...], avg_logprob: float, no_speech_prob: float,
        compression_ratio: float,
    ) -> Segment:
        """Store one machine segment and its review-layer copy in one transaction, so a
        reviewer can see it immediately and a crash never leaves one without the other."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO draft_segment(run_id, idx, start_ms, end_ms, text, words,"
                " avg_logprob, no_speech_prob, compression_ratio) VALUES (?,?,?,?,?,?,?,?,?)",
                (run.id, index, start_ms, end_ms, text, _words_json(words), avg_logprob,
                 no_speech_prob, compression_ratio),
            )
            draft_id = int(cur.lastrowid or 0)
            chain.record_draft(c, draft_id)
            seg = Segment(
                0, run.media_id, start_ms, end_ms, text, words, None, draft_id, avg_logprob,
                no_speech_prob, compression_ratio,
            )
            return self.insert_segment(seg)

    def add_suppressed(self, run_id: int, seg: SuppressedSegment) -> None:
        """Keep a held-back machine segment with its run (a resumed run may decode the same
        one again: stored once)."""
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO suppressed_segment(run_id, start_ms, end_ms, text, words,"
                " avg_logprob, no_speech_prob, compression_ratio, temperature, reason)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (run_id, seg.start_ms, seg.end_ms, seg.text, _words_json(seg.words),
                 seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio, seg.temperature,
                 seg.reason),
            )

    def suppressed(self, run_id: int) -> list[SuppressedSegment]:
        rows = self.conn.execute(
            "SELECT * FROM suppressed_segment WHERE run_id=? ORDER BY start_ms, id", (run_id,)
        )
        return [
            SuppressedSegment(
                index=i, start_ms=r["start_ms"], end_ms=r["end_ms"], text=r["text"],
                words=_words_from(r["words"]), avg_logprob=r["avg_logprob"],
                no_speech_prob=r["no_speech_prob"], compression_ratio=r["compression_ratio"],
                temperature=r["temperature"], reason=r["reason"],
            )
            for i, r in enumerate(rows)
        ]

    def drafts(self, run_id: int) -> list[DraftSegment]:
        rows = self.conn.execute(
            "SELECT * FROM draft_segment WHERE run_id=? ORDER BY idx", (run_id,)
        )
        return [
            DraftSegment(
                id=r["id"], run_id=r["run_id"], index=r["idx"], start_ms=r["start_ms"],
                end_ms=r["end_ms"], text=r["text"], words=_words_from(r["words"]),
                avg_logprob=r["avg_logprob"], no_speech_prob=r["no_speech_prob"],
                compression_ratio=r["compression_ratio"],
            )
            for r in rows
        ]

    def unfinished_run(self, media_id: int) -> Run | None:
        """The latest run a crash or a cancel left unfinished, if it is newer than any
        finished run (an older leftover is just debris). Span runs are never resumed."""
        row = self.conn.execute(
            f"SELECT * FROM run WHERE media_id=? AND {FULL_RUN_SQL} ORDER BY id DESC LIMIT 1",
            (media_id,),
        ).fetchone()
        return self._run(row) if row is not None and row["status"] != "done" else None

    def reopen_run(self, run_id: int) -> None:
        with self.transaction() as c:
            c.execute("UPDATE run SET status='running', finished_at=NULL WHERE id=?", (run_id,))

    def discard_unfinished_runs(self, media_id: int) -> int:
        """Remove runs a crash left behind (status 'running'/'failed') and their segments.
        A failed span run stays as it ended (its drafts never reached the review layer)."""
        with self.transaction() as c:
            ids = [
                r["id"] for r in c.execute(
                    f"SELECT id FROM run WHERE media_id=? AND status!='done' AND {FULL_RUN_SQL}",
                    (media_id,),
                )
            ]
            chain.record_runs_discarded(c, media_id, ids)
            for run_id in ids:
                c.execute(
                    "DELETE FROM segment WHERE draft_id IN"
                    " (SELECT id FROM draft_segment WHERE run_id=?)", (run_id,),
                )
                c.execute("DELETE FROM run WHERE id=?", (run_id,))
        return len(ids)

    def clear_review_layer(self, media_id: int) -> None:
        """Drop the review layer of a media (used only by a forced re-transcription of a file
        nobody has reviewed yet; the caller checks that)."""
        with self.transaction() as c:
            c.execute("DELETE FROM segment WHERE media_id=?", (media_id,))

    def human_work_count(self, media_id: int) -> int:
        """How many audit entries (human actions on the transcript) exist for this media:
        machine entries of the chain and acquisition facts (``media.*``) are not review."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM audit WHERE media_id=? AND action NOT LIKE 'machine.%'"
            " AND action NOT LIKE 'media.%'", (media_id,)
        ).fetchone()
        return int(row[0])

    # -- the review layer -----------------------------------------------------------------

    @staticmethod
    def _segment(row: sqlite3.Row) -> Segment:
        return Segment(
            id=row["id"], media_id=row["media_id"], start_ms=row["start_ms"],
            end_ms=row["end_ms"], machine_text=row["machine_text"],
            words=_words_from(row["words"]), human_text=row["human_text"],
            draft_id=row["draft_id"], avg_logprob=row["avg_logprob"],
            no_speech_prob=row["no_speech_prob"], compression_ratio=row["compression_ratio"],
            speaker_id=row["speaker_id"], tags=tuple(json.loads(row["tags"])),
            state=ReviewState(row["state"]), note=row["note"],
        )

    _SEGMENT_COLUMNS = (
        "media_id, start_ms, end_ms, machine_text, words, human_text, draft_id, avg_logprob,"
        " no_speech_prob, compression_ratio, speaker_id, tags, state, note"
    )

    @staticmethod
    def _segment_values(seg: Segment) -> tuple[Any, ...]:
        return (
            seg.media_id, seg.start_ms, seg.end_ms, seg.machine_text, _words_json(seg.words),
            seg.human_text, seg.draft_id, seg.avg_logprob, seg.no_speech_prob,
            seg.compression_ratio, seg.speaker_id, json.dumps(sorted(set(seg.tags))),
            str(seg.state), seg.note,
        )

    def segments(self, media_id: int) -> list[Segment]:
        rows = self.conn.execute(
            "SELECT * FROM segment WHERE media_id=? ORDER BY start_ms, id", (media_id,)
        )
        return [self._segment(r) for r in rows]

    def segment(self, segment_id: int) -> Segment:
        row = self.conn.execute("SELECT * FROM segment WHERE id=?", (segment_id,)).fetchone()
        if row is None:
            raise NotFoundError("segment", segment_id)
        return self._segment(row)

    def insert_segment(self, seg: Segment) -> Segment:
        """Insert a review-layer segment. ``seg.id`` 0 means "allocate"; another id is kept
        (undo re-inserts a deleted segment under its old id)."""
        with self.transaction() as c:
            if seg.id:
                cur = c.execute(
                    f"INSERT INTO segment(id, {self._SEGMENT_COLUMNS})"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (seg.id, *self._segment_values(seg)),
                )
            else:
                cur = c.execute(
                    f"INSERT INTO segment({self._SEGMENT_COLUMNS})"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    self._segment_values(seg),
                )
            new_id = int(cur.lastrowid or seg.id)
        return self.segment(new_id)

    def update_segment(self, seg: Segment) -> None:
        with self.transaction() as c:
            cur = c.execute(
                "UPDATE segment SET media_id=?, start_ms=?, end_ms=?, machine_text=?, words=?,"
                " human_text=?, draft_id=?, avg_logprob=?, no_speech_prob=?,"
                " compression_ratio=?, speaker_id=?, tags=?, state=?, note=? WHERE id=?",
                (*self._segment_values(seg), seg.id),
            )
            if cur.rowcount != 1:
                raise NotFoundError("segment", seg.id)

    def delete_segment(self, segment_id: int) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM segment WHERE id=?", (segment_id,))

    def max_row_id(self, table: str) -> int:
        """The largest id in ``segment`` or ``speaker`` (0 when empty). The review session
        allocates ids itself, inside its transaction, so that a row keeps one id through
        undo and redo and the audit log never names two rows with one id in a session."""
        if table not in ("segment", "speaker"):
            raise ValueError(f"no id allocation for table {table!r}")
        row = self.conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()
        return int(row[0] or 0)

    def segment_counts(self, media_id: int) -> tuple[int, int]:
        """(segments, segments no longer unreviewed) for progress displays."""
        row = self.conn.execute(
            "SELECT COUNT(*), SUM(state != 'unreviewed') FROM segment WHERE media_id=?",
            (media_id,),
        ).fetchone()
        return int(row[0]), int(row[1] or 0)

    # -- speakers -------------------------------------------------------------------------

    @staticmethod
    def _speaker(row: sqlite3.Row) -> Speaker:
        return Speaker(row["id"], row["media_id"], row["label"], row["role"], row["agency"])

    def speakers(self, media_id: int) -> list[Speaker]:
        rows = self.conn.execute("SELECT * FROM speaker WHERE media_id=? ORDER BY id", (media_id,))
        return [self._speaker(r) for r in rows]

    def speaker(self, speaker_id: int) -> Speaker:
        row = self.conn.execute("SELECT * FROM speaker WHERE id=?", (speaker_id,)).fetchone()
        if row is None:
            raise NotFoundError("speaker", speaker_id)
        return self._speaker(row)

    def insert_speaker(self, sp: Speaker) -> Speaker:
        with self.transaction() as c:
            if sp.id:
                c.execute(
                    "INSERT INTO speaker(id, media_id, label, role, agency) VALUES (?,?,?,?,?)",
                    (sp.id, sp.media_id, sp.label, sp.role, sp.agency),
                )
                new_id = sp.id
            else:
                cur = c.execute(
                    "INSERT INTO speaker(media_id, label, role, agency) VALUES (?,?,?,?)",
                    (sp.media_id, sp.label, sp.role, sp.agency),
                )
                new_id = int(cur.lastrowid or 0)
        return self.speaker(new_id)

    def update_speaker(self, sp: Speaker) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE speaker SET label=?, role=?, agency=? WHERE id=?",
                (sp.label, sp.role, sp.agency, sp.id),
            )

    def delete_speaker(self, speaker_id: int) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM speaker WHERE id=?", (speaker_id,))

    # -- codebooks ------------------------------------------------------------------------

    def save_codebook(self, codebook: Codebook, sha256: str, source: str) -> int:
        """Store a codebook version (idempotent on name+version+hash); returns its id."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT id FROM codebook WHERE name=? AND version=? AND sha256=?",
                (codebook.name, codebook.version, sha256),
            ).fetchone()
            if row is not None:
                return int(row["id"])
            cur = c.execute(
                "INSERT INTO codebook(name, version, sha256, source, created_at)"
                " VALUES (?,?,?,?,?)",
                (codebook.name, codebook.version, sha256, source, utcnow()),
            )
            cb_id = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO codebook_entry(codebook_id, position, kind, key, label,"
                " description, shortcut) VALUES (?,?,?,?,?,?,?)",
                [
                    (cb_id, i, e.kind, e.key, e.label, e.description, e.shortcut)
                    for i, e in enumerate(codebook.entries)
                ],
            )
        return cb_id

    def load_codebook(self, codebook_id: int) -> Codebook:
        row = self.conn.execute("SELECT * FROM codebook WHERE id=?", (codebook_id,)).fetchone()
        if row is None:
            raise NotFoundError("codebook", codebook_id)
        entries = tuple(
            CodebookEntry(r["kind"], r["key"], r["label"], r["description"], r["shortcut"])
            for r in self.conn.execute(
                "SELECT * FROM codebook_entry WHERE codebook_id=? ORDER BY position",
                (codebook_id,),
            )
        )
        return Codebook(row["name"], row["version"], entries)

    def codebook_versions(self, name: str) -> set[str]:
        """Every version stored under a codebook name (to number a local extension)."""
        rows = self.conn.execute("SELECT version FROM codebook WHERE name=?", (name,))
        return {str(r[0]) for r in rows}

    def codebook_info(self, codebook_id: int) -> dict[str, str]:
        row = self.conn.execute(
            "SELECT name, version, sha256, created_at FROM codebook WHERE id=?", (codebook_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError("codebook", codebook_id)
        return dict(row)

    def set_media_codebook(self, media_id: int, codebook_id: int) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO media_codebook(media_id, codebook_id) VALUES (?,?)"
                " ON CONFLICT(media_id) DO UPDATE SET codebook_id=excluded.codebook_id",
                (media_id, codebook_id),
            )

    def media_codebook(self, media_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT codebook_id FROM media_codebook WHERE media_id=?", (media_id,)
        ).fetchone()
        return int(row[0]) if row else None

    # -- audit log ------------------------------------------------------------------------

    def append_audit(
        self, reviewer: str, media_id: int, action: str, changes: list[dict[str, Any]]
    ) -> int:
        """Record who did what, with before/after snapshots. Call inside the change's own
        transaction so the log and the data can never disagree."""
        with self.transaction() as c:
            return chain.append(c, reviewer, media_id, action, changes, utcnow())

    def audit(self, media_id: int) -> list[dict[str, Any]]:
        """The people's entries for a media (the chain's machine entries left out)."""
        rows = self.conn.execute(
            "SELECT * FROM audit WHERE media_id=? AND action NOT LIKE 'machine.%' ORDER BY id",
            (media_id,),
        )
        return [
            {
                "id": r["id"], "ts": r["ts"], "reviewer": r["reviewer"], "action": r["action"],
                "changes": json.loads(r["changes"]),
            }
            for r in rows
        ]

