"""Edits as before/after snapshots: the one mechanism behind persistence, undo and the audit log.

Every review operation is expressed the same way: the rows it touches, as they are before and
after it (:class:`Rows`; ``None`` = row absent). From that one pair everything else follows, so
the three can never disagree:

- **persistence**: :func:`check_current` refuses to write unless the workspace still holds
  ``before`` (a second reviewer's edit is never silently overwritten), then :func:`write_rows`
  writes ``after``;
- **audit**: :func:`audit_changes` serialises the same pair into the audit entry's records;
- **undo and redo**: an :class:`Edit` keeps the pair, and undo writes ``before`` over ``after``
  (redo the reverse) through the same two steps, audited the same way;
- **the UI**: :func:`summarize` reduces the pair to a :class:`Change`, so a UI repaints only
  what changed.

This lives apart from :mod:`annotator.core.session` so the mechanism can be read (and changed)
on its own: the session builds snapshots from its in-memory rows, this module says what a pair
of snapshots means. Nothing here holds state; the functions that touch the workspace must run
inside the caller's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from annotator.core.model import Segment, Speaker
from annotator.core.store import Workspace
from annotator.errors import EditError, NotFoundError


@dataclass
class Rows:
    """The rows one edit touches, as they are on one side of it (``None``: row absent).

    ``codebook`` is the id of the media's codebook when the edit changes which codebook the
    media uses, else ``None``. ``before`` and ``after`` of one edit have the same keys.
    """

    segments: dict[int, Segment | None] = field(default_factory=dict)
    speakers: dict[int, Speaker | None] = field(default_factory=dict)
    codebook: int | None = None

    def empty(self) -> bool:
        return not self.segments and not self.speakers and self.codebook is None


@dataclass(frozen=True)
class Edit:
    """One undoable step: the action, its snapshots and the audit entry that recorded it."""

    action: str
    before: Rows
    after: Rows
    audit_id: int
    #: translation corrections of segments this edit removed (id -> text): the workspace
    #: drops them with the segment row, so undo writes them back with it
    carried: dict[int, str] = field(default_factory=dict, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Change:
    """What an operation changed, so a UI can repaint only that.

    ``reordered`` means indices may have shifted (a segment was inserted, deleted or its start
    moved). ``of`` names the action an undo or redo replayed. ``audit_id`` is ``None`` when
    nothing was written (a no-op edit, an empty undo stack, a refresh).
    """

    action: str
    audit_id: int | None = None
    inserted: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()
    speakers: tuple[int, ...] = ()
    codebook: bool = False
    reordered: bool = False
    of: str = ""

    @property
    def empty(self) -> bool:
        return not (self.inserted or self.updated or self.deleted or self.speakers
                    or self.codebook)


#: Computes an edit's ``(before, after)``; called inside the edit's transaction.
Builder = Callable[[], tuple[Rows, Rows]]


# -- building snapshots -----------------------------------------------------------------------


def segment_rows(old: Sequence[Segment], new: Sequence[Segment]) -> tuple[Rows, Rows]:
    return Rows({s.id: s for s in old}), Rows({s.id: s for s in new})


def speaker_rows(old: Speaker, new: Speaker) -> tuple[Rows, Rows]:
    return Rows(speakers={old.id: old}), Rows(speakers={new.id: new})


def drop_unchanged(before: Rows, after: Rows) -> None:
    """Remove the rows (and the codebook) that are the same on both sides, in place."""
    for table in ("segments", "speakers"):
        b, a = getattr(before, table), getattr(after, table)
        for key in [k for k in b if b[k] == a[k]]:
            del b[key], a[key]
    if before.codebook == after.codebook:
        before.codebook = after.codebook = None


def summarize(
    action: str, audit_id: int | None, before: Rows, after: Rows, of: str = ""
) -> Change:
    """The :class:`Change` a UI needs to repaint after going from ``before`` to ``after``."""
    inserted = tuple(k for k, v in before.segments.items() if v is None)
    deleted = tuple(k for k, v in after.segments.items() if v is None)
    updated = tuple(
        k for k, v in before.segments.items() if v is not None and after.segments[k] is not None
    )
    moved = any(_start(before.segments[k]) != _start(after.segments[k]) for k in updated)
    return Change(
        action, audit_id, inserted, updated, deleted, tuple(after.speakers),
        before.codebook != after.codebook, bool(inserted or deleted or moved), of,
    )


def _start(seg: Segment | None) -> int | None:
    return seg.start_ms if seg is not None else None


# -- persistence ------------------------------------------------------------------------------


def stored_segment(ws: Workspace, seg_id: int) -> Segment | None:
    """The segment as the workspace holds it now, ``None`` if absent."""
    try:
        return ws.segment(seg_id)
    except NotFoundError:
        return None


def stored_speaker(ws: Workspace, speaker_id: int) -> Speaker | None:
    try:
        return ws.speaker(speaker_id)
    except NotFoundError:
        return None


def check_current(ws: Workspace, media_id: int, before: Rows) -> None:
    """Raise :class:`EditError` unless the workspace still holds ``before``."""
    for sid, row in before.segments.items():
        if stored_segment(ws, sid) != row:
            raise EditError(f"segment {sid} was changed outside this session; reload")
    for pid, sp in before.speakers.items():
        if stored_speaker(ws, pid) != sp:
            raise EditError(f"speaker {pid} was changed outside this session; reload")
    if before.codebook is not None and ws.media_codebook(media_id) != before.codebook:
        raise EditError("the media's codebook was changed outside this session; reload")


def write_rows(ws: Workspace, media_id: int, before: Rows, after: Rows) -> None:
    """Write ``after`` over ``before`` (checked by :func:`check_current`)."""
    # Order matters for foreign keys: speakers exist before segments point at them and
    # are removed only after segments stop pointing at them.
    if after.codebook is not None:
        ws.set_media_codebook(media_id, after.codebook)
    for pid, sp in after.speakers.items():
        if sp is not None and before.speakers[pid] is None:
            ws.insert_speaker(sp)
        elif sp is not None:
            ws.update_speaker(sp)
    for sid, seg in after.segments.items():
        if seg is None:
            ws.delete_segment(sid)
    for sid, seg in after.segments.items():
        if seg is not None and before.segments[sid] is None:
            ws.insert_segment(seg)
        elif seg is not None:
            ws.update_segment(seg)
    for pid, sp in after.speakers.items():
        if sp is None:
            ws.delete_speaker(pid)


# -- audit ------------------------------------------------------------------------------------


def audit_changes(
    ws: Workspace, media_id: int, before: Rows, after: Rows,
    link: tuple[int | None, int] | None = None, of: Edit | None = None,
) -> list[dict[str, Any]]:
    """The audit records of one edit: ``link`` (old, new codebook id) when the edit first
    links the media to the session's codebook, then the codebook, speaker and segment rows.
    ``of`` is the edit an undo or redo replays."""
    changes: list[dict[str, Any]] = []
    if link is not None:
        changes.append(_codebook_change(ws, media_id, *link))
    if before.codebook is not None and after.codebook is not None:
        changes.append(_codebook_change(ws, media_id, before.codebook, after.codebook))
    changes += [_row_change("speaker", k, v, after.speakers[k])
                for k, v in before.speakers.items()]
    changes += [_row_change("segment", k, v, after.segments[k])
                for k, v in before.segments.items()]
    if of is not None:
        for c in changes:
            c["of"] = {"audit_id": of.audit_id, "action": of.action}
    return changes


def _codebook_change(
    ws: Workspace, media_id: int, before: int | None, after: int
) -> dict[str, Any]:
    def info(cid: int | None) -> dict[str, Any] | None:
        return None if cid is None else {"codebook_id": cid, **ws.codebook_info(cid)}
    return {"table": "media_codebook", "id": media_id,
            "before": info(before), "after": info(after)}


def _row_dict(row: Segment | Speaker) -> dict[str, Any]:
    data = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if isinstance(row, Segment):
        data.update(words=[w.to_dict() for w in row.words], tags=list(row.tags),
                    state=str(row.state))
    return data


def _row_change(
    table: str, key: int, before: Segment | Speaker | None, after: Segment | Speaker | None
) -> dict[str, Any]:
    """An audit record for one row. Inserts and deletes keep the whole row; updates keep the
    fields that changed, before and after (the others are by definition the same), so tagging
    a range of a long stream does not copy every machine word into the log."""
    b = _row_dict(before) if before is not None else None
    a = _row_dict(after) if after is not None else None
    if b is not None and a is not None:
        changed = [name for name in a if a[name] != b[name]]
        b, a = {n: b[n] for n in changed}, {n: a[n] for n in changed}
    return {"table": table, "id": key, "before": b, "after": a}
