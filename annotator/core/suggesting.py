"""Accepting and rejecting suggestions: the review session's edits on the suggestion layer.

A decision is one review edit like any other (see :mod:`annotator.core.edits`): the rows it
touches before and after, written in one transaction with one audit entry, one undo step.
What it adds to an ordinary edit is a second pair of snapshots, :class:`Layer`, holding the
suggestion rows (their status, who decided, when) and the events it changes, so that
undoing an accepted suggestion takes back both the annotation *and* the "accepted" mark, and
the audit entry records both.

What accepting writes (the ordinary annotation, so exports and the review app need nothing
special to show it):

- speaker (voice "B"): the segment is attributed to the speaker the voice was named as
  (:func:`name_voice`), else to a speaker labelled "Voice B" (created if needed);
- tag: the segment gets the codebook tag;
- split: the segment is split before the suggested word (found by its start time, so the
  suggestion survives edits elsewhere); the open speaker suggestion of the part after the
  cut moves to the new segment;
- event: the event is marked reviewed and tagged with the suggested action;
- distrust: the segment is marked disputed (the reviewer agrees the line is doubtful).

Rejecting writes only the decision. Accepted and rejected rows are kept, so a re-run of the
detectors does not propose them again (:func:`annotator.core.suggestions.replace_open`).

An event is also tagged by hand (:func:`tag_event`): the reviewer says what the sound was with
an action of the codebook, whatever the detector proposed. It is the same kind of step (the
event row before and after, one audit entry, one undo), and an event a person tagged counts
as reviewed, as an accepted one does: it is captioned and counted in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from annotator.core import attribution, editing, edits
from annotator.core import suggestions as layer
from annotator.core.edits import Change, Edit, Rows
from annotator.core.model import ReviewState, Segment, Speaker
from annotator.core.store import utcnow
from annotator.core.suggestions import Event, Kind, Status, Suggestion
from annotator.errors import EditError, NotFoundError

if TYPE_CHECKING:
    from annotator.core.session import ReviewSession

#: Audit actions of decisions.
ACCEPT, REJECT, NAME_VOICE = "suggestion.accept", "suggestion.reject", "suggestion.name_voice"
#: Audit action of a tag a person put on (or took off) an event.
TAG_EVENT = "event.tag"


@dataclass
class Layer:
    """Suggestion and event rows on one side of an edit (``None``: row absent)."""

    suggestions: dict[int, Suggestion | None] = field(default_factory=dict)
    events: dict[int, Event | None] = field(default_factory=dict)

    def empty(self) -> bool:
        return not self.suggestions and not self.events


@dataclass(frozen=True)
class SuggestionEdit(Edit):
    """One undoable decision: the segment/speaker rows of an ordinary edit plus the
    suggestion and event rows (:class:`Layer`) before and after."""

    layer_before: Layer = field(default_factory=Layer)
    layer_after: Layer = field(default_factory=Layer)


Build = Callable[[], tuple[Rows, Rows, Layer, Layer]]


# -- the decisions ----------------------------------------------------------------------------


def accept(s: ReviewSession, ids: Sequence[int]) -> Change:
    """Accept open suggestions (one undo step however many); decided ones are left as they
    are. A split is accepted on its own (its segment cannot change twice in one step)."""
    return commit(s, ACCEPT, lambda: _accept(s, [_open(s, i) for i in ids], None))


def reject(s: ReviewSession, ids: Sequence[int]) -> Change:
    """Reject open suggestions: recorded (who, when), nothing else changes."""
    def build() -> tuple[Rows, Rows, Layer, Layer]:
        lb, la, now = Layer(), Layer(), utcnow()
        for sug in (_open(s, i) for i in ids):
            if sug is not None:
                lb.suggestions[sug.id] = sug
                la.suggestions[sug.id] = sug.decided(Status.REJECTED, s.reviewer, now)
        return Rows(), Rows(), lb, la
    return commit(s, REJECT, build)


def name_voice(
    s: ReviewSession, voice: str, label: str, role: str = "", agency: str = ""
) -> Change:
    """"Voice B is the ICE agent": accept every open speaker suggestion of ``voice`` for the
    speaker labelled ``label`` (an existing one, matched ignoring case, else a new one with
    ``role`` and ``agency``), in one undo step. A single line can still be set otherwise."""
    if not label.strip():
        raise EditError("a voice needs a name")
    wanted = [x for x in open_of(s, Kind.SPEAKER) if x.value == voice]
    if not wanted:
        raise EditError(f"no open suggestion for voice {voice!r}")

    def build() -> tuple[Rows, Rows, Layer, Layer]:
        existing = _speaker_by_label(s, label)
        before, after = Rows(), Rows()
        if existing is None:
            before, after = attribution.add_speaker(s, label, role, agency, [])
            new = next(sp for sp in after.speakers.values() if sp is not None)
            target: Speaker = new
        else:
            target = existing
        return _accept(s, wanted, target, before, after)
    return commit(s, NAME_VOICE, build)


def tag_event(s: ReviewSession, event_id: int, key: str) -> Change:
    """Put the codebook tag ``key`` on an event, or take it off if the event carries it
    (one undo step). Adding one marks an unreviewed event reviewed: a person said what the
    sound was. Taking one off leaves the state as it is (``z`` restores both)."""
    def build() -> tuple[Rows, Rows, Layer, Layer]:
        ev = layer.event(s.ws, event_id)
        if ev.media_id != s.media_id:
            raise EditError(f"event {event_id} is not about this media")
        if key in ev.tags:
            after = replace(ev, tags=tuple(t for t in ev.tags if t != key))
        else:
            attribution.tag_entry(s.codebook, key)  # NotFoundError: not a tag of the codebook
            state = ReviewState.REVIEWED if ev.state is ReviewState.UNREVIEWED else ev.state
            after = replace(ev, state=state, tags=tuple(sorted({*ev.tags, key})))
        return Rows(), Rows(), Layer(events={ev.id: ev}), Layer(events={ev.id: after})
    return commit(s, TAG_EVENT, build)


def open_of(s: ReviewSession, kind: Kind | None = None) -> list[Suggestion]:
    """The media's open suggestions (of one kind), in timeline order."""
    kinds = None if kind is None else [kind]
    return layer.suggestions(s.ws, s.media_id, status=Status.OPEN, kinds=kinds)


def voice_speaker(s: ReviewSession, voice: str) -> Speaker | None:
    """The speaker a voice was named as: the one its accepted suggestions attributed."""
    for sug in layer.suggestions(s.ws, s.media_id, status=Status.ACCEPTED, kinds=[Kind.SPEAKER]):
        sid = sug.detail.get("speaker_id")
        if sug.value == voice and isinstance(sid, int) and sid in s.speakers:
            return s.speakers[sid]
    return None


# -- the one write path -----------------------------------------------------------------------


def commit(s: ReviewSession, action: str, build: Build) -> Change:
    """Like :meth:`ReviewSession._commit`, with the suggestion layer in the same step."""
    link: tuple[int | None, int] | None = None
    with s.ws.transaction():
        before, after, lb, la = build()
        edits.drop_unchanged(before, after)
        _drop_unchanged(lb, la)
        if before.empty() and lb.empty():
            return Change(action)
        if (not before.empty() or la.events) and s._codebook_id is None:
            # the tags written name entries of the codebook: link it, as ordinary edits do
            new_id = s._saved_codebook_id()
            link = (s.ws.media_codebook(s.media_id), new_id)
            s.ws.set_media_codebook(s.media_id, new_id)
        audit_id = _write(s, action, before, after, lb, la, link=link)
    if link is not None:
        s._codebook_id = link[1]
    s._absorb(before, after)
    s._undo.append(SuggestionEdit(action, before, after, audit_id, lb, la))
    s._redo.clear()
    return _summary(action, audit_id, before, after, lb, la)


def replay(s: ReviewSession, edit: SuggestionEdit, *, undo: bool) -> Change:
    """Undo (or redo) a decision: rows and layer back (or forward), audited."""
    action = "undo" if undo else "redo"
    before, after = (edit.after, edit.before) if undo else (edit.before, edit.after)
    lb, la = ((edit.layer_after, edit.layer_before) if undo
              else (edit.layer_before, edit.layer_after))
    with s.ws.transaction():
        audit_id = _write(s, action, before, after, lb, la, of=edit)
    s._absorb(before, after)
    return _summary(action, audit_id, before, after, lb, la, of=edit.action)


def _write(
    s: ReviewSession, action: str, before: Rows, after: Rows, lb: Layer, la: Layer,
    link: tuple[int | None, int] | None = None, of: Edit | None = None,
) -> int:
    edits.check_current(s.ws, s.media_id, before)
    for sid, sug in lb.suggestions.items():
        if layer.stored_suggestion(s.ws, sid) != _unstamped(sug, layer.stored_suggestion(
                s.ws, sid)):
            raise EditError(f"suggestion {sid} was changed outside this session; reload")
    for eid, ev in lb.events.items():
        if layer.stored_event(s.ws, eid) != ev:
            raise EditError(f"event {eid} was changed outside this session; reload")
    edits.write_rows(s.ws, s.media_id, before, after)
    changes = edits.audit_changes(s.ws, s.media_id, before, after, link=link, of=of)
    changes += [_layer_change("suggestion", k, v, la.suggestions[k])
                for k, v in lb.suggestions.items()]
    changes += [_layer_change("event", k, v, la.events[k]) for k, v in lb.events.items()]
    if of is not None:
        for c in changes:
            c["of"] = {"audit_id": of.audit_id, "action": of.action}
    audit_id = s.ws.append_audit(s.reviewer, s.media_id, action, changes)
    for eid, ev in la.events.items():
        if ev is None:
            s.ws.conn.execute("DELETE FROM event WHERE id=?", (eid,))
        elif lb.events[eid] is None:
            layer.add_event(s.ws, ev)
        else:
            layer.update_event(s.ws, ev)
    for sid, sug in la.suggestions.items():
        if sug is None:
            layer.delete_suggestion(s.ws, sid)
        else:
            stamped = replace(sug, audit_id=audit_id if sug.status is not Status.OPEN else None)
            layer.write_suggestion(s.ws, stamped, insert=lb.suggestions[sid] is None)
    return audit_id


def _unstamped(sug: Suggestion | None, stored: Suggestion | None) -> Suggestion | None:
    """``sug`` with the audit id the workspace stamped on it (snapshots are taken before the
    audit entry exists, so they do not hold it)."""
    if sug is None or stored is None:
        return sug
    return replace(sug, audit_id=stored.audit_id)


def _summary(
    action: str, audit_id: int, before: Rows, after: Rows, lb: Layer, la: Layer, of: str = ""
) -> Change:
    change = edits.summarize(action, audit_id, before, after, of=of)
    touched = {x.segment_id for x in [*lb.suggestions.values(), *la.suggestions.values()]
               if x is not None and x.segment_id is not None}
    extra = tuple(sorted(touched - set(change.updated) - set(change.inserted)
                         - set(change.deleted)))
    return replace(change, updated=change.updated + extra)


# -- building an acceptance -------------------------------------------------------------------


def _accept(
    s: ReviewSession, wanted: Iterable[Suggestion | None], speaker: Speaker | None,
    before: Rows | None = None, after: Rows | None = None,
) -> tuple[Rows, Rows, Layer, Layer]:
    before, after = before or Rows(), after or Rows()
    lb, la, now = Layer(), Layer(), utcnow()
    work: dict[int, Segment] = {}
    chosen = [x for x in wanted if x is not None]
    splits = [x for x in chosen if x.kind is Kind.SPLIT]
    if splits and len(chosen) > 1:
        raise EditError("accept a split on its own")
    for sug in chosen:
        detail: dict[str, Any] = {}
        if sug.kind is Kind.SPLIT:
            _accept_split(s, sug, before, after, lb, la)
        elif sug.kind is Kind.EVENT:
            _accept_event(s, sug, lb, la)
        else:
            seg = work.get(sug.segment_id or 0) or _segment_of(s, sug)
            if sug.kind is Kind.SPEAKER:
                sp = speaker or voice_speaker(s, sug.value) or _voice_speaker(
                    s, sug.value, before, after)
                seg = replace(seg, speaker_id=sp.id)
                detail["speaker_id"] = sp.id
            elif sug.kind is Kind.TAG:
                attribution.tag_entry(s.codebook, sug.value)
                seg = seg.tagged(sug.value, True)
            elif sug.kind is Kind.DISTRUST:
                seg = replace(seg, state=ReviewState.DISPUTED)
            before.segments.setdefault(seg.id, s.segment(seg.id))
            work[seg.id] = seg
        lb.suggestions[sug.id] = sug
        la.suggestions[sug.id] = replace(
            sug.decided(Status.ACCEPTED, s.reviewer, now), detail={**sug.detail, **detail})
    for sid, seg in work.items():
        after.segments[sid] = seg
    return before, after, lb, la


def _accept_split(
    s: ReviewSession, sug: Suggestion, before: Rows, after: Rows, lb: Layer, la: Layer
) -> None:
    seg = _segment_of(s, sug)
    at_ms = int(sug.detail.get("at_ms", sug.start_ms))
    index = next((i for i, w in enumerate(seg.words) if w.start_ms >= at_ms), None)
    if index is None or index == 0:
        raise EditError(f"segment {seg.id} no longer has a word at {at_ms} ms to split at")
    b, a = editing.split(s, seg.id, index)
    before.segments.update(b.segments)
    after.segments.update(a.segments)
    new_id = next(k for k, v in b.segments.items() if v is None)
    cut = after.segments[new_id]
    assert cut is not None
    # The open suggestions about the words after the cut now concern the new segment; the
    # voice suggestion of the segment keeps the words before the cut, and the words after it
    # get one of their own (the voice the split was proposed for).
    for other in open_of(s):
        if other.segment_id != seg.id or other.id == sug.id:
            continue
        if other.kind is Kind.SPEAKER:
            voices = list(other.detail.get("word_voices", []))
            lb.suggestions[other.id] = other
            la.suggestions[other.id] = replace(
                other, end_ms=cut.start_ms, detail={**other.detail, "word_voices": voices[:index]})
            new_sug = replace(
                other, id=_next_suggestion_id(s, la), segment_id=new_id, start_ms=cut.start_ms,
                end_ms=cut.end_ms, value=str(sug.detail.get("voice_after", other.value)),
                detail={**other.detail, "word_voices": voices[index:]}, created_at=utcnow(),
            )
            new_sug = replace(new_sug, key=f"{new_sug.kind}:{new_sug.value}@"
                                           f"{new_sug.start_ms}-{new_sug.end_ms}")
            lb.suggestions[new_sug.id] = None
            la.suggestions[new_sug.id] = new_sug
        elif other.start_ms >= cut.start_ms:
            lb.suggestions[other.id] = other
            la.suggestions[other.id] = replace(other, segment_id=new_id)


def _next_suggestion_id(s: ReviewSession, la: Layer) -> int:
    return max([layer.max_suggestion_id(s.ws), *la.suggestions]) + 1


def _accept_event(s: ReviewSession, sug: Suggestion, lb: Layer, la: Layer) -> None:
    if sug.event_id is None:
        raise EditError(f"suggestion {sug.id} names no event")
    attribution.tag_entry(s.codebook, sug.value)
    ev = la.events.get(sug.event_id) or layer.event(s.ws, sug.event_id)
    lb.events.setdefault(ev.id, layer.event(s.ws, ev.id))
    la.events[ev.id] = replace(ev, state=ReviewState.REVIEWED,
                               tags=tuple(sorted(set(ev.tags) | {sug.value})))


def _voice_speaker(s: ReviewSession, voice: str, before: Rows, after: Rows) -> Speaker:
    """The speaker "Voice B": an existing one of that label, or one this edit creates."""
    label = f"Voice {voice}"
    for sp in after.speakers.values():
        if sp is not None and sp.label == label:
            return sp
    existing = _speaker_by_label(s, label)
    if existing is not None:
        return existing
    b, a = attribution.add_speaker(s, label, "", "", [])
    before.speakers.update(b.speakers)
    after.speakers.update(a.speakers)
    return next(sp for sp in a.speakers.values() if sp is not None)


def _speaker_by_label(s: ReviewSession, label: str) -> Speaker | None:
    wanted = label.strip().casefold()
    return next((sp for sp in s.speakers.values() if sp.label.casefold() == wanted), None)


def _open(s: ReviewSession, suggestion_id: int) -> Suggestion | None:
    sug = layer.suggestion(s.ws, suggestion_id)
    if sug.media_id != s.media_id:
        raise EditError(f"suggestion {suggestion_id} is not about this media")
    return sug if sug.is_open else None


def _segment_of(s: ReviewSession, sug: Suggestion) -> Segment:
    try:
        return s.segment(sug.segment_id if sug.segment_id is not None else -1)
    except NotFoundError:
        raise EditError(
            f"the segment of suggestion {sug.id} is gone (deleted or merged)") from None


def _drop_unchanged(before: Layer, after: Layer) -> None:
    for table in ("suggestions", "events"):
        b, a = getattr(before, table), getattr(after, table)
        for key in [k for k in b if b[k] == a[k]]:
            del b[key], a[key]


def _layer_change(table: str, key: int, before: Any, after: Any) -> dict[str, Any]:
    def data(row: Suggestion | Event | None) -> dict[str, Any] | None:
        if row is None:
            return None
        d = row.to_dict()
        d.pop("audit_id", None)
        return d
    b, a = data(before), data(after)
    if b is not None and a is not None:
        changed = [n for n in a if a[n] != b[n]]
        b, a = {n: b[n] for n in changed}, {n: a[n] for n in changed}
    return {"table": table, "id": key, "before": b, "after": a}
