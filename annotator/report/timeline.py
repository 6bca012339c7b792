"""The incident timeline: what a report shows, computed once and rendered as HTML or Markdown.

A report is for people who will not open the workspace: an editor checking a quote, a lawyer
filing a complaint. So it is built from one snapshot of the transcript
(:class:`~annotator.core.document.Transcript`) and says, row by row in time order, who spoke
(speaker and agency), what they did (the codebook's action tags), what they said (the
reviewed text, marked where it differs from the machine draft, which is given too) and how
far that line has been reviewed; then a summary: actions per agency and per speaker, counts
of each action, the share of the recording still unreviewed or disputed, and where it all
came from (media and model hashes, acquisition facts, the audit chain's head, the export
manifests beside it).

Renderers (:mod:`annotator.report.html`, :mod:`annotator.report.markdown`) only lay this
out; every piece of text here is untrusted and each renderer escapes it its own way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from annotator.core.agency import effective_agency
from annotator.core.document import Transcript
from annotator.core.model import ReviewState, Segment, TagKind
from annotator.core.redaction import role_label
from annotator.core.suggestions import Event, Status, Suggestion, event_status


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the timeline."""

    start_ms: int
    end_ms: int
    fragment: str  # "<media file>#t=1.5,3.25": a W3C media fragment link
    speaker: str
    agency: str
    actions: tuple[str, ...]
    other_tags: tuple[str, ...]
    text: str  # what was said, as reviewed
    machine_text: str | None  # the machine draft's text when a reviewer changed it
    state: str
    note: str
    #: a sound on the timeline (an impact event), not speech: no speaker, the text is its cue
    sound: bool = False


@dataclass(frozen=True)
class Timeline:
    """Everything a report shows (see the module docstring)."""

    title: str
    media_name: str
    rows: tuple[Row, ...]
    actions_by_agency: dict[str, dict[str, int]]
    actions_by_speaker: dict[str, dict[str, int]]
    action_counts: dict[str, int]
    duration_ms: int
    unreviewed_ms: int
    disputed_ms: int
    provenance: dict[str, Any]
    acquisition: dict[str, Any] = field(default_factory=dict)
    chain_head: dict[str, Any] | None = None
    manifests: tuple[tuple[str, str], ...] = ()  # (manifest file name, its SHA-256)
    names_redacted: bool = False
    warnings: tuple[str, ...] = ()

    def share(self, ms: int) -> float:
        """``ms`` as a share of the recording (0 for a recording of unknown length)."""
        return ms / self.duration_ms if self.duration_ms > 0 else 0.0


def fragment(media_name: str, start_ms: int, end_ms: int) -> str:
    """A media-fragment URI (``#t=start,end`` in seconds) to the recording beside the
    report: a browser opening it plays just that stretch."""
    return f"{media_name}#t={start_ms / 1000:g},{end_ms / 1000:g}"


def clock(ms: int) -> str:
    """``h:mm:ss.d``: times a reader can find in a player."""
    s, tenth = divmod(max(ms, 0) // 100, 10)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}.{tenth}"


def _speaker(transcript: Transcript, seg: Segment, redact: bool) -> str:
    sp = transcript.speaker_of(seg)
    if sp is None:
        return ""
    if redact:  # a role and an agency say what the report needs; a name may endanger someone
        return role_label(transcript, sp)
    return sp.label


def _agency(transcript: Transcript, seg: Segment) -> str:
    """The line's effective agency (its own agency tags, else its speaker's), the same rule
    every other output uses (:func:`annotator.core.agency.effective_agency`)."""
    found = effective_agency(seg, transcript.speakers, transcript.codebook)
    return "" if found is None else ", ".join(found.labels(transcript.codebook))


def _events(transcript: Transcript) -> list[Event]:
    """The impact events a report shows: every one not rejected
    (:func:`annotator.core.suggestions.event_status`, the review app's rule): accepted
    ones, and the machine's detections still open."""
    about: dict[int, list[Suggestion]] = {}
    for s in transcript.suggestions:
        if s.event_id is not None:
            about.setdefault(s.event_id, []).append(s)
    return [ev for ev in transcript.events
            if event_status(ev, about.get(ev.id, ())) is not Status.REJECTED]


def build(
    transcript: Transcript, *, acquisition: dict[str, Any] | None = None,
    chain_head: dict[str, Any] | None = None, manifests: tuple[tuple[str, str], ...] = (),
    redact_names: bool = False,
) -> Timeline:
    """The timeline of one transcript. With ``redact_names``, speakers appear by role and
    agency, and notes (free text that may name people) are left out."""
    media_name = PurePath(transcript.media.path).name
    cb = transcript.codebook
    kinds = {e.key: e.kind for e in cb.entries} if cb is not None else {}
    rows: list[Row] = []
    by_agency: dict[str, Counter[str]] = {}
    by_speaker: dict[str, Counter[str]] = {}
    counts: Counter[str] = Counter()
    unreviewed = disputed = 0
    for seg in transcript.segments:
        speaker, agency = _speaker(transcript, seg, redact_names), _agency(transcript, seg)
        actions = tuple(transcript.tag_label(t) for t in seg.tags
                        if kinds.get(t) == TagKind.ACTION.value)
        others = tuple(transcript.tag_label(t) for t in seg.tags
                       if kinds.get(t) not in (TagKind.ACTION.value, TagKind.AGENCY.value))
        for action in actions:
            counts[action] += 1
            by_agency.setdefault(agency or "(no agency)", Counter())[action] += 1
            by_speaker.setdefault(speaker or "(unknown speaker)", Counter())[action] += 1
        if seg.state == ReviewState.UNREVIEWED:
            unreviewed += seg.duration_ms
        elif seg.state == ReviewState.DISPUTED:
            disputed += seg.duration_ms
        rows.append(Row(
            seg.start_ms, seg.end_ms, fragment(media_name, seg.start_ms, seg.end_ms),
            speaker, agency, actions, others, seg.text,
            seg.machine_text if seg.corrected else None, str(seg.state),
            "" if redact_names else seg.note,
        ))
    for ev in _events(transcript):
        actions = tuple(transcript.tag_label(t) for t in ev.tags
                        if kinds.get(t) == TagKind.ACTION.value)
        if ev.state != ReviewState.UNREVIEWED:  # a reviewer accepted it: it counts
            for action in actions:
                counts[action] += 1
                by_agency.setdefault("(no agency)", Counter())[action] += 1
        detected = f"{ev.caption} (sound detected: {ev.kind}, strength {ev.strength:.2f})"
        rows.append(Row(
            ev.start_ms, ev.end_ms, fragment(media_name, ev.start_ms, ev.end_ms), "", "",
            actions, (), detected, None, str(ev.state), "" if redact_names else ev.note,
            sound=True,
        ))
    rows.sort(key=lambda r: (r.start_ms, r.sound))
    return Timeline(
        title=f"Incident timeline: {media_name}", media_name=media_name, rows=tuple(rows),
        actions_by_agency={k: dict(v.most_common()) for k, v in sorted(by_agency.items())},
        actions_by_speaker={k: dict(v.most_common()) for k, v in sorted(by_speaker.items())},
        action_counts=dict(counts.most_common()),
        duration_ms=transcript.media.duration_ms, unreviewed_ms=unreviewed,
        disputed_ms=disputed, provenance=transcript.provenance(),
        acquisition=acquisition or {}, chain_head=chain_head, manifests=manifests,
        names_redacted=redact_names, warnings=transcript.warnings,
    )
