"""The suggestion layer: what the machine proposes, kept apart from what a person decided.

Detectors (voices, impacts) and codebook rules never write annotations. They write
:class:`Suggestion` rows: a kind (:class:`Kind`), a value (a voice "B", a codebook key, a word
to split at, an action for an event, the reasons to distrust a line), the span it is about,
its source (detector or rule, with versions and settings) and a confidence. A person then
accepts or rejects each one through the review session (:mod:`annotator.core.suggesting`),
which writes the ordinary annotation, audited and undoable, and records the decision here.

Decided rows are never deleted: a re-run of the detectors replaces only *open* suggestions,
and skips any proposal whose :attr:`Suggestion.key` was already decided, so a rejected
suggestion is not proposed again (:func:`replace_open`).

Events (:class:`Event`) are sounds on the timeline between segments (a burst of strikes on a
window), with their own review state and tags; voices keep each media's voice embeddings
(:func:`save_voices`) so a voice named in one video can be suggested in another later.

This module is the storage and the types; nothing here knows a detector or the UI.
"""

from __future__ import annotations

import enum
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from annotator.core.model import ReviewState, Segment
from annotator.core.store import Workspace, utcnow
from annotator.errors import NotFoundError


class Kind(enum.StrEnum):
    """What a suggestion proposes."""

    SPEAKER = "speaker"  # value: a voice label ("A"); accepting attributes the segment
    TAG = "tag"  # value: a codebook key; accepting tags the segment
    SPLIT = "split"  # value: the word's text; detail["at_ms"]: the word's start
    EVENT = "event"  # value: an action key; accepting reviews and tags the event
    DISTRUST = "distrust"  # value: reason codes; accepting marks the segment disputed


class Status(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Proposal:
    """A suggestion as a detector or rule makes it, before it is stored."""

    kind: Kind
    start_ms: int
    end_ms: int
    value: str
    source: dict[str, Any]
    confidence: float | None = None
    segment_id: int | None = None
    event_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What makes two proposals "the same" across re-runs (see :func:`replace_open`)."""
        return f"{self.kind}:{self.value}@{self.start_ms}-{self.end_ms}"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A stored suggestion and what became of it."""

    id: int
    media_id: int
    kind: Kind
    key: str
    start_ms: int
    end_ms: int
    value: str
    segment_id: int | None = None
    event_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    status: Status = Status.OPEN
    decided_by: str | None = None
    decided_at: str | None = None
    audit_id: int | None = None
    created_at: str = ""

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    def decided(self, status: Status, by: str | None, at: str | None) -> Suggestion:
        return replace(self, status=status, decided_by=by, decided_at=at)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as the JSON export writes them (a figure that is not finite, which
        JSON cannot hold, as null)."""
        return _finite_dict({
            "id": self.id, "kind": str(self.kind), "value": self.value,
            "start_ms": self.start_ms, "end_ms": self.end_ms, "segment_id": self.segment_id,
            "event_id": self.event_id, "detail": self.detail, "source": self.source,
            "confidence": self.confidence, "status": str(self.status),
            "decided_by": self.decided_by, "decided_at": self.decided_at,
            "audit_id": self.audit_id, "created_at": self.created_at,
        })


@dataclass(frozen=True, slots=True)
class Event:
    """A sound on the timeline (kind "knock", "glass", "impulse"; ``count`` hits)."""

    id: int
    media_id: int
    kind: str
    start_ms: int
    end_ms: int
    count: int = 1
    strength: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    state: ReviewState = ReviewState.UNREVIEWED
    tags: tuple[str, ...] = ()
    note: str = ""

    @property
    def caption(self) -> str:
        """The cue text exports write for an accepted event: ``[12 strikes]``."""
        noun = {"glass": "glass breaking"}.get(self.kind, "strike" if self.count == 1
                                              else "strikes")
        if self.kind == "glass":
            return f"[{noun}]" if self.count == 1 else f"[{noun}, {self.count} hits]"
        return f"[{self.count} {noun}]" if self.count != 1 else f"[{noun}]"

    def to_dict(self) -> dict[str, Any]:
        return _finite_dict({
            "id": self.id, "kind": self.kind, "start_ms": self.start_ms,
            "end_ms": self.end_ms, "count": self.count, "strength": self.strength,
            "detail": self.detail, "state": str(self.state), "tags": list(self.tags),
            "note": self.note, "caption": self.caption,
        })


def event_status(ev: Event, items: Iterable[Suggestion]) -> Status:
    """An event's review state as every reader shows it (review app, report): accepted once
    a person reviewed it or accepted one of its suggestions, rejected when every suggestion
    about it was rejected, else open. ``items``: the suggestions about this event."""
    items = list(items)
    if ev.state is not ReviewState.UNREVIEWED or any(
            s.status is Status.ACCEPTED for s in items):
        return Status.ACCEPTED
    if items and all(s.status is Status.REJECTED for s in items):
        return Status.REJECTED
    return Status.OPEN


# -- reading ----------------------------------------------------------------------------------


def _suggestion(row: sqlite3.Row) -> Suggestion:
    return Suggestion(
        id=row["id"], media_id=row["media_id"], kind=Kind(row["kind"]), key=row["key"],
        start_ms=row["start_ms"], end_ms=row["end_ms"], value=row["value"],
        segment_id=row["segment_id"], event_id=row["event_id"],
        detail=json.loads(row["detail"]), source=json.loads(row["source"]),
        confidence=row["confidence"], status=Status(row["status"]),
        decided_by=row["decided_by"], decided_at=row["decided_at"],
        audit_id=row["audit_id"], created_at=row["created_at"],
    )


def _event(row: sqlite3.Row) -> Event:
    return Event(
        id=row["id"], media_id=row["media_id"], kind=row["kind"], start_ms=row["start_ms"],
        end_ms=row["end_ms"], count=row["count"], strength=row["strength"],
        detail=json.loads(row["detail"]), state=ReviewState(row["state"]),
        tags=tuple(json.loads(row["tags"])), note=row["note"],
    )


def suggestions(
    ws: Workspace, media_id: int, *, status: Status | None = None,
    kinds: Iterable[Kind] | None = None,
) -> list[Suggestion]:
    """A media's suggestions in timeline order, optionally of one status and some kinds."""
    sql = "SELECT * FROM suggestion WHERE media_id=?"
    args: list[Any] = [media_id]
    if status is not None:
        sql += " AND status=?"
        args.append(str(status))
    wanted = None if kinds is None else {str(k) for k in kinds}
    rows = ws.conn.execute(sql + " ORDER BY start_ms, id", args)
    return [s for s in map(_suggestion, rows) if wanted is None or s.kind in wanted]


def suggestions_about(
    ws: Workspace, media_id: int, segment_ids: Iterable[int], *, events: bool = False,
) -> list[Suggestion]:
    """A media's suggestions about some segments (and, if ``events``, every one about an
    event), in timeline order: what a decision touched, read without reading them all (a
    livestream has thousands)."""
    ids = sorted(set(segment_ids))
    found: dict[int, Suggestion] = {}
    for i in range(0, len(ids), 500):  # within SQLite's limit on bound parameters
        chunk = ids[i:i + 500]
        rows = ws.conn.execute(
            "SELECT * FROM suggestion WHERE media_id=? AND segment_id IN"
            f" ({','.join('?' * len(chunk))})", (media_id, *chunk))
        found.update((r["id"], _suggestion(r)) for r in rows)
    if events:
        rows = ws.conn.execute(
            "SELECT * FROM suggestion WHERE media_id=? AND event_id IS NOT NULL", (media_id,))
        found.update((r["id"], _suggestion(r)) for r in rows)
    return sorted(found.values(), key=lambda s: (s.start_ms, s.id))


def suggestion(ws: Workspace, suggestion_id: int) -> Suggestion:
    row = ws.conn.execute("SELECT * FROM suggestion WHERE id=?", (suggestion_id,)).fetchone()
    if row is None:
        raise NotFoundError("suggestion", suggestion_id)
    return _suggestion(row)


def stored_suggestion(ws: Workspace, suggestion_id: int) -> Suggestion | None:
    try:
        return suggestion(ws, suggestion_id)
    except NotFoundError:
        return None


def events(ws: Workspace, media_id: int) -> list[Event]:
    rows = ws.conn.execute(
        "SELECT * FROM event WHERE media_id=? ORDER BY start_ms, id", (media_id,)
    )
    return [_event(r) for r in rows]


def event(ws: Workspace, event_id: int) -> Event:
    row = ws.conn.execute("SELECT * FROM event WHERE id=?", (event_id,)).fetchone()
    if row is None:
        raise NotFoundError("event", event_id)
    return _event(row)


def stored_event(ws: Workspace, event_id: int) -> Event | None:
    try:
        return event(ws, event_id)
    except NotFoundError:
        return None


def segment_origins(layer: Iterable[Suggestion], seg: Segment) -> list[dict[str, Any]]:
    """The accepted suggestions a segment's annotations came from, as long as the segment
    still holds what was accepted (a line a person set otherwise afterwards has none)."""
    out = []
    for s in layer:
        if s.status is not Status.ACCEPTED or s.segment_id != seg.id:
            continue
        holds = {
            Kind.SPEAKER: seg.speaker_id == s.detail.get("speaker_id"),
            Kind.TAG: s.value in seg.tags,
            Kind.DISTRUST: seg.state is ReviewState.DISPUTED,
        }.get(s.kind, True)
        if holds:
            out.append(origin_record(s))
    return out


def event_origins(layer: Iterable[Suggestion], ev: Event) -> list[dict[str, Any]]:
    """The accepted suggestions whose action an event still carries."""
    return [origin_record(s) for s in layer if s.status is Status.ACCEPTED
            and s.event_id == ev.id and s.value in ev.tags]


def origin_record(s: Suggestion) -> dict[str, Any]:
    """How an accepted annotation says where it came from."""
    return {
        "suggestion_id": s.id, "kind": str(s.kind), "value": s.value, "source": s.source,
        "confidence": s.confidence, "accepted_by": s.decided_by, "accepted_at": s.decided_at,
    }


def voices(ws: Workspace, media_id: int) -> dict[str, list[float]]:
    """Voice label -> its embedding (centroid) as the voice detector left it."""
    rows = ws.conn.execute(
        "SELECT label, centroid FROM voice WHERE media_id=? ORDER BY label", (media_id,)
    )
    return {str(r[0]): [float(x) for x in json.loads(r[1])] for r in rows}


@dataclass(frozen=True, slots=True)
class NamedVoice:
    """A voice of another media that a person named (accepted its speaker suggestions)."""

    media_id: int
    media_name: str
    voice: str
    speaker: str
    centroid: tuple[float, ...]
    source: dict[str, Any]


def named_voices(ws: Workspace, exclude_media: int) -> list[NamedVoice]:
    """Voices of the other media in the workspace, with the speaker a person named each as
    (for suggesting the same name when the voice is heard again)."""
    out: list[NamedVoice] = []
    rows = ws.conn.execute(
        "SELECT v.media_id, m.path, v.label, v.centroid, v.source, sp.label FROM voice v"
        " JOIN media m ON m.id = v.media_id"
        " JOIN suggestion s ON s.media_id = v.media_id AND s.kind='speaker'"
        " AND s.value = v.label AND s.status='accepted'"
        " JOIN speaker sp ON sp.id = json_extract(s.detail, '$.speaker_id')"
        " WHERE v.media_id != ? GROUP BY v.media_id, v.label, sp.id ORDER BY v.media_id",
        (exclude_media,),
    )
    for r in rows:
        name = str(r[1]).replace("\\", "/").rsplit("/", 1)[-1]
        out.append(NamedVoice(int(r[0]), name, str(r[2]), str(r[5]),
                              tuple(float(x) for x in json.loads(r[3])), json.loads(r[4])))
    return out


# -- writing (each call is one transaction, or joins the caller's) ----------------------------


def replace_open(
    ws: Workspace, media_id: int, kinds: Iterable[Kind], proposals: Sequence[Proposal],
) -> tuple[int, int]:
    """Store a detector pass: drop the media's *open* suggestions of ``kinds`` and add
    ``proposals``, except those whose key a person already decided (accepted or rejected:
    never proposed again). Returns (added, skipped as already decided)."""
    names = [str(k) for k in kinds]
    marks = ",".join("?" * len(names))
    now = utcnow()
    added = skipped = 0
    with ws.transaction() as c:
        if names:
            c.execute(
                f"DELETE FROM suggestion WHERE media_id=? AND status='open' AND kind IN ({marks})",
                (media_id, *names),
            )
        decided = {
            str(r[0]) for r in c.execute(
                "SELECT key FROM suggestion WHERE media_id=? AND status!='open'", (media_id,))
        }
        for p in proposals:
            if p.key in decided:
                skipped += 1
                continue
            decided.add(p.key)  # one open row per key
            c.execute(
                "INSERT INTO suggestion(media_id, kind, key, segment_id, event_id, start_ms,"
                " end_ms, value, detail, source, confidence, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (media_id, str(p.kind), p.key, p.segment_id, p.event_id, p.start_ms,
                 p.end_ms, p.value, _json(p.detail), _json(p.source), p.confidence, now),
            )
            added += 1
    return added, skipped


def write_suggestion(ws: Workspace, s: Suggestion, *, insert: bool = False) -> None:
    """Write one suggestion row as it is (used by the review session's edits and undo)."""
    values = (s.media_id, str(s.kind), s.key, s.segment_id, s.event_id, s.start_ms, s.end_ms,
              s.value, _json(s.detail), _json(s.source), s.confidence, str(s.status),
              s.decided_by, s.decided_at, s.audit_id, s.created_at or utcnow())
    with ws.transaction() as c:
        if insert:
            c.execute(
                "INSERT INTO suggestion(media_id, kind, key, segment_id, event_id, start_ms,"
                " end_ms, value, detail, source, confidence, status, decided_by, decided_at,"
                " audit_id, created_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, s.id),
            )
        else:
            c.execute(
                "UPDATE suggestion SET media_id=?, kind=?, key=?, segment_id=?, event_id=?,"
                " start_ms=?, end_ms=?, value=?, detail=?, source=?, confidence=?, status=?,"
                " decided_by=?, decided_at=?, audit_id=?, created_at=? WHERE id=?",
                (*values, s.id),
            )


def delete_suggestion(ws: Workspace, suggestion_id: int) -> None:
    with ws.transaction() as c:
        c.execute("DELETE FROM suggestion WHERE id=?", (suggestion_id,))


def max_suggestion_id(ws: Workspace) -> int:
    return int(ws.conn.execute("SELECT COALESCE(MAX(id), 0) FROM suggestion").fetchone()[0])


def add_event(ws: Workspace, e: Event) -> Event:
    """Insert an event (``e.id`` 0: allocate); returns it as stored."""
    with ws.transaction() as c:
        cols = ("media_id, kind, start_ms, end_ms, count, strength, detail, state, tags,"
                " note")
        values = _event_values(e)
        if e.id:
            c.execute(f"INSERT INTO event(id, {cols}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      (e.id, *values))
            new_id = e.id
        else:
            cur = c.execute(f"INSERT INTO event({cols}) VALUES (?,?,?,?,?,?,?,?,?,?)", values)
            new_id = int(cur.lastrowid or 0)
    return event(ws, new_id)


def update_event(ws: Workspace, e: Event) -> None:
    with ws.transaction() as c:
        c.execute(
            "UPDATE event SET media_id=?, kind=?, start_ms=?, end_ms=?, count=?, strength=?,"
            " detail=?, state=?, tags=?, note=? WHERE id=?", (*_event_values(e), e.id),
        )


def replace_events(ws: Workspace, media_id: int, new: Sequence[Event]) -> list[Event]:
    """Store an impact pass: events nobody reviewed and no decided suggestion points at are
    replaced; a new event at the same span and kind as a kept one is not added twice.
    Returns the events as stored (the kept ones that match included), in ``new``'s order."""
    with ws.transaction() as c:
        c.execute(
            "DELETE FROM event WHERE media_id=? AND state='unreviewed' AND id NOT IN"
            " (SELECT event_id FROM suggestion WHERE event_id IS NOT NULL"
            " AND status!='open')", (media_id,),
        )
        kept = {(e.kind, e.start_ms, e.end_ms): e for e in events(ws, media_id)}
        out = []
        for e in new:
            same = kept.get((e.kind, e.start_ms, e.end_ms))
            out.append(same if same is not None else add_event(ws, replace(e, id=0)))
    return out


def save_voices(
    ws: Workspace, media_id: int, centroids: Mapping[str, Sequence[float]],
    source: Mapping[str, Any],
) -> None:
    """Keep a media's voice embeddings (replacing a previous pass's)."""
    now = utcnow()
    with ws.transaction() as c:
        c.execute("DELETE FROM voice WHERE media_id=?", (media_id,))
        c.executemany(
            "INSERT INTO voice(media_id, label, centroid, source, created_at) VALUES (?,?,?,?,?)",
            [(media_id, label, json.dumps([float(x) for x in vec]), _json(source), now)
             for label, vec in centroids.items()],
        )


def _event_values(e: Event) -> tuple[Any, ...]:
    return (e.media_id, e.kind, e.start_ms, e.end_ms, e.count, e.strength, _json(e.detail),
            str(e.state), json.dumps(sorted(set(e.tags))), e.note)


def _finite_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _finite(v) for k, v in value.items()}


def _finite(value: Any) -> Any:
    """``value`` with every float that is not finite (NaN, infinity) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
