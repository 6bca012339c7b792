"""Suggestions in place: what the machine proposes, drawn in the review table and the detail
pane unlike anything a person decided (issue 9.6).

A person's decisions are drawn plain (a speaker name, a tag). What a detector proposes and
nobody decided yet is drawn dim, italic and underlined with a ``?``: "Voice B?" in the speaker
column of a line with no speaker, "Verbal order?" after the line's real tags, ``⚑`` in the
marker column of a line the distrust pass flagged. The detail pane lists the open suggestions
of the line under the cursor with their source and confidence, and the distrust reasons.

Impact events (a burst of strikes) are rows on the timeline between the segments, like speech
gaps (:mod:`annotator.tui.gaps`): an :class:`EventRow` is a
:class:`~annotator.core.model.Segment` subclass with a negative id (below every gap row's), so
no session operation can be handed one, drawn with its own review state (open, accepted,
rejected), time, count and strength.

:class:`Overlay` holds what the suggestion layer says about one media, read from the workspace
(:mod:`annotator.core.suggestions`) when the layer changed, never per keystroke; everything
else here is a pure function of it, so widgets and tests share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from annotator.core import suggestions as layer
from annotator.core.model import Codebook, Segment
from annotator.core.store import Workspace
from annotator.core.suggestions import Event, Kind, Status, Suggestion, event_status
from annotator.tui.display import clean, clock, literal

#: How a suggestion looks next to a decision: dim, italic, underlined ("outlined").
SUGGESTED_STYLE = "dim italic underline"
DISTRUST_GLYPH = "⚑"
DISTRUST_STYLE = "bold red"
SPLIT_GLYPH = "✂"
#: Event rows' ids are -(EVENT_ROW_BASE + event id): negative (never a workspace segment)
#: and apart from gap rows (-1, -2, ...).
EVENT_ROW_BASE = 1_000_000_000
EVENT_GLYPH: dict[Status, tuple[str, str]] = {
    Status.OPEN: ("◆? ", "bold yellow"),
    Status.ACCEPTED: ("◆✓ ", "bold green"),
    Status.REJECTED: ("◆✗ ", "dim"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRow(Segment):
    """An impact event as a table row (never a workspace segment: its id is negative)."""

    event: Event
    status: Status = Status.OPEN
    items: tuple[Suggestion, ...] = ()  # the event's suggestions, whatever their status

    @property
    def open_items(self) -> tuple[Suggestion, ...]:
        return tuple(s for s in self.items if s.is_open)


def is_timeline_row(row: Segment | None) -> bool:
    """A row that is not a segment (a speech gap, an event): its id is negative."""
    return row is not None and row.id < 0


def event_row(ev: Event, items: Sequence[Suggestion]) -> EventRow:
    return EventRow(id=-(EVENT_ROW_BASE + ev.id), media_id=ev.media_id, start_ms=ev.start_ms,
                    end_ms=ev.end_ms, machine_text=ev.caption, event=ev,
                    status=event_status(ev, items), items=tuple(items))


@dataclass(frozen=True, slots=True)
class RowHints:
    """The open suggestions about one segment, in timeline order."""

    items: tuple[Suggestion, ...]

    @property
    def voice(self) -> str | None:
        return next((s.value for s in self.items if s.kind is Kind.SPEAKER), None)

    @property
    def like(self) -> str | None:
        """Whom the voice sounds like: a speaker a person named in another recording of the
        workspace (a hint the voice detector leaves; never applied by itself)."""
        found = next((s.detail.get("like") for s in self.items if s.kind is Kind.SPEAKER), None)
        return str(found.get("speaker")) if isinstance(found, dict) else None

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(s.value for s in self.items if s.kind is Kind.TAG)

    @property
    def split(self) -> bool:
        return any(s.kind is Kind.SPLIT for s in self.items)

    @property
    def distrust(self) -> tuple[str, ...]:
        """Why the line is doubtful (the distrust pass's reasons), empty if not flagged."""
        return tuple(str(r.get("why", "")) for s in self.items if s.kind is Kind.DISTRUST
                     for r in s.detail.get("reasons", []) if isinstance(r, dict))


@dataclass
class Overlay:
    """The suggestion layer of one media as the review screen draws it."""

    by_segment: dict[int, RowHints] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)

    @classmethod
    def read(cls, ws: Workspace, media_id: int) -> Overlay:
        """Everything the layer holds about a media."""
        overlay = cls()
        overlay._absorb(ws, media_id, layer.suggestions(ws, media_id))
        return overlay

    def update(self, ws: Workspace, media_id: int, segment_ids: Sequence[int]) -> bool:
        """Read again what a decision touched: the suggestions of ``segment_ids`` and the
        events (few). True if the event rows changed (the row list must be rebuilt)."""
        for seg_id in segment_ids:
            self.by_segment.pop(seg_id, None)
        before = self.events
        self._absorb(ws, media_id, layer.suggestions_about(ws, media_id, segment_ids,
                                                           events=True))
        return self.events != before

    def _absorb(self, ws: Workspace, media_id: int, found: Sequence[Suggestion]) -> None:
        per_segment: dict[int, list[Suggestion]] = {}
        per_event: dict[int, list[Suggestion]] = {}
        for s in found:
            if s.event_id is not None:
                per_event.setdefault(s.event_id, []).append(s)
            elif s.is_open and s.segment_id is not None:
                per_segment.setdefault(s.segment_id, []).append(s)
        self.by_segment.update((k, RowHints(tuple(v))) for k, v in per_segment.items())
        self.events = [event_row(ev, per_event.get(ev.id, []))
                       for ev in layer.events(ws, media_id)]

    def hints(self, row: Segment | None) -> RowHints | None:
        return None if row is None or row.id < 0 else self.by_segment.get(row.id)

    def open_items(self, row: Segment | None) -> tuple[Suggestion, ...]:
        """The open suggestions a row shows (a segment's, or an event row's)."""
        if isinstance(row, EventRow):
            return row.open_items
        found = self.hints(row)
        return found.items if found is not None else ()

    def count(self) -> int:
        return sum(len(h.items) for h in self.by_segment.values()) + sum(
            len(r.open_items) for r in self.events)


# -- drawing ----------------------------------------------------------------------------------


def suggested(label: str) -> Text:
    """A proposal as a cell shows it: ``Voice B?`` dim, italic, underlined."""
    return literal(f"{label}?", SUGGESTED_STYLE)


def _joined(first: Text, extra: Sequence[Text]) -> Text:
    out = first.copy()
    for part in extra:
        if out.plain:
            out.append(" ")
        out.append_text(part)
    return out


def hinted_cells(cells: tuple[Text, ...], seg: Segment, hints: RowHints,
                 codebook: Codebook) -> tuple[Text, ...]:
    """A segment's cells (:func:`~annotator.tui.display.row_cells`) with its open
    suggestions added: the voice where no speaker is set (``B≈Driver?`` when it sounds like
    a speaker named in another recording), suggested tags after the real ones
    (agency tags in the agency column), ``⚑`` in the marker column when distrusted, ``✂``
    before the text when a split is proposed (the voice changes inside the line)."""
    marker, when, who, agency, tags, text = cells
    if hints.split:
        text = Text.assemble((SPLIT_GLYPH, SUGGESTED_STYLE), " ", text)
    if hints.distrust:
        marker = marker[:1] + Text(DISTRUST_GLYPH, DISTRUST_STYLE) + marker[2:]
    if seg.speaker_id is None and hints.voice is not None:
        like = hints.like  # "B≈Driver?": the voice, and whom it sounds like elsewhere
        who = suggested(f"{hints.voice}≈{like}" if like else f"Voice {hints.voice}")
    new = [k for k in dict.fromkeys(hints.tags) if k not in seg.tags]
    is_agency = {k: (e := codebook.get(k)) is not None and e.kind == "agency" for k in new}
    agency = _joined(agency, [suggested(codebook.label(k)) for k in new if is_agency[k]])
    tags = _joined(tags, [suggested(codebook.label(k)) for k in new if not is_agency[k]])
    return marker, when, who, agency, tags, text


def event_cells(row: EventRow, codebook: Codebook) -> tuple[Text, ...]:
    """An event row: its state glyph, time, the action (decided, or suggested), and the
    caption with count, span and strength across the text column."""
    glyph, style = EVENT_GLYPH[row.status]
    ev = row.event
    if row.status is Status.ACCEPTED:  # its tags (a person's), then what is still proposed
        action = _joined(literal(", ".join(codebook.label(k) for k in ev.tags)), [
            suggested(codebook.label(s.value)) for s in row.open_items
            if s.kind is Kind.EVENT and s.value not in ev.tags])
    else:
        labels = [codebook.label(s.value) for s in row.items if s.kind is Kind.EVENT]
        action = (suggested(", ".join(labels)) if row.status is Status.OPEN and labels
                  else literal(", ".join(labels), "dim strike"))
    text = Text(no_wrap=True, end="")
    text.append(clean(ev.caption), "bold" if row.status is not Status.REJECTED else "dim strike")
    text.append(f"  {ev.kind}, {clock(ev.start_ms)}-{clock(ev.end_ms)}, "
                f"strength {ev.strength:.1f}", "dim")
    return (literal(glyph, style), literal(clock(ev.start_ms), "dim"), literal(""),
            literal(""), action, text)


def source_name(s: Suggestion) -> str:
    """``voices``, ``impacts``, ``rule`` (the detector, without its package path)."""
    detector = str(s.source.get("detector", "?")).rsplit(".", 1)[-1]
    return "rule" if detector == "codebook-rules" else detector


def label(s: Suggestion, codebook: Codebook) -> str:
    """What a suggestion proposes, in words: ``Voice B``, ``Verbal order``, ``split before
    'No'``, ``distrust``."""
    if s.kind is Kind.SPEAKER:
        return f"Voice {s.value}"
    if s.kind in (Kind.TAG, Kind.EVENT):
        return codebook.label(s.value)
    if s.kind is Kind.SPLIT:
        return f"split before {s.value!r}"
    return "distrust"


def suggestion_lines(items: Sequence[Suggestion], codebook: Codebook) -> Text:
    """The detail pane's lines about a row's open suggestions: each with its source and
    confidence (and what a rule matched, or whom a voice sounds like), then the distrust
    reasons."""
    out = Text(end="")
    order = {Kind.SPEAKER: 0, Kind.EVENT: 0, Kind.TAG: 1, Kind.SPLIT: 2}
    shown = sorted((s for s in items if s.kind is not Kind.DISTRUST),
                   key=lambda s: order.get(s.kind, 3))
    if shown:
        out.append("\nsuggested: ", "dim")
        for i, s in enumerate(shown):
            if i:
                out.append(" · ", "dim")
            out.append(clean(label(s, codebook)) + "?", "italic underline")
            out.append(f" ({_why(s)})", "dim")
    for s in items:
        if s.kind is Kind.DISTRUST:
            out.append(f"\n{DISTRUST_GLYPH} distrust: ", DISTRUST_STYLE)
            out.append(clean("; ".join(RowHints((s,)).distrust)), "yellow")
    return out


def _why(s: Suggestion) -> str:
    parts = [source_name(s)]
    if s.confidence is not None:
        parts.append(f"{s.confidence:.2f}")
    matched = s.detail.get("matched")
    if matched:
        parts.append(f"matched {str(matched)!r}")
    like: Any = s.detail.get("like")
    if isinstance(like, dict):
        parts.append(f"sounds like {like.get('speaker')} in {like.get('media')}")
    return ", ".join(parts)


def event_detail(row: EventRow, codebook: Codebook, keys: str) -> Text:
    """The detail pane for an event row: what was heard, where, how strong, its state and
    what accepting it does."""
    ev = row.event
    out = Text(end="")
    out.append(clean(ev.caption), "bold")
    out.append(f"  {clock(ev.start_ms)} - {clock(ev.end_ms)}  ({ev.kind}, {ev.count} hit"
               f"{'s' if ev.count != 1 else ''}, strength {ev.strength:.1f})  ", "dim")
    glyph, style = EVENT_GLYPH[row.status]
    out.append(f"{glyph.strip()} {row.status}", style)
    if ev.tags:
        out.append("\naction: ", "dim")
        out.append(clean(", ".join(codebook.label(k) for k in ev.tags)), "bold cyan")
    out.append_text(suggestion_lines(row.open_items, codebook))
    hits = ev.detail.get("impacts", [])
    if isinstance(hits, list) and hits:
        out.append("\nhits: " + ", ".join(
            clock(int(h.get("start_ms", 0))) for h in hits if isinstance(h, dict)), "dim")
    out.append(f"\n{keys}", "dim")
    return out
