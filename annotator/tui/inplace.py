"""What the review screen does about suggestions in place (kept out of the screen).

:class:`InPlace` is a plain object the :class:`~annotator.tui.screens.review.ReviewScreen`
owns, like :class:`~annotator.tui.gapview.GapView`: it reads the suggestion layer into an
:class:`~annotator.tui.hints.Overlay` (when the layer changed: a decision, its undo, a detector
run; never per keystroke) and hands it to the table and the detail pane, adds the event rows
to the rows the table shows, and carries the review keys' decisions through the session (one
audited operation each, one ``z``):

- accept / reject the suggestions of the current line (or the marked range): its speaker,
  tag and event suggestions together; a split or a distrust flag when it is the line's only
  one left (a split changes the segment, so it is decided on its own);
- accept all of this voice or this rule (a choice in the detail pane when the line has both);
- name the voice of the line ("Voice B is the ICE agent": all its open lines at once);
- walk to the next / previous row with an open suggestion;
- tag an event row by hand (``t``: the action chord toggles the tag on the event).

After a transcription in the app finishes, :meth:`InPlace.run_detectors` computes the
suggestions in a thread worker (:class:`~annotator.tui.suggestions.SuggestWorker`), with
progress in the status bar; the table repaints when they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from annotator.core import suggestions as layer
from annotator.core.edits import Change
from annotator.core.model import Segment
from annotator.core.suggestions import Kind, Status, Suggestion
from annotator.tui import choices
from annotator.tui.agency import SPEAKER_AGENCY
from annotator.tui.hints import EventRow, Overlay, label
from annotator.tui.screens.picker import ADD, assign_keys
from annotator.tui.suggestions import SuggestWorker
from annotator.tui.widgets.detail import Chord

if TYPE_CHECKING:
    from annotator.tui.screens.review import ReviewScreen

#: Audit actions that change the suggestion layer or the events (a decision, an event tag).
LAYER_ACTIONS = ("suggestion.", "event.")
#: Kinds decided together by one accept / reject key on a line.
TOGETHER = frozenset({Kind.SPEAKER, Kind.TAG, Kind.EVENT})


def front(items: Sequence[Suggestion]) -> list[Suggestion]:
    """The suggestions one accept / reject key decides on a row: its speaker, tag and event
    suggestions; when none is left, its distrust flag, then its split (one at a time)."""
    together = [s for s in items if s.kind in TOGETHER]
    if together:
        return together
    rest = sorted(items, key=lambda s: (s.kind is not Kind.DISTRUST, s.start_ms))
    return rest[:1]


def with_events(rows: Sequence[Segment], events: Sequence[EventRow]) -> list[Segment]:
    """Rows and event rows in time order (an event after the rows starting with it; the
    sort is stable, so the rows keep their own order, gap rows included)."""
    out: list[Segment] = [*rows, *events]
    out.sort(key=lambda s: (s.start_ms, isinstance(s, EventRow)))
    return out


class InPlace:
    """Suggestions in the review table, their keys and the detector worker; see the module."""

    def __init__(self, screen: ReviewScreen) -> None:
        self.screen = screen
        self.overlay = Overlay()
        self.worker = SuggestWorker(screen, screen.settings.db_path, screen.session.media_id)
        self.running = False

    # -- the layer --------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the layer again and have the table and detail pane draw it."""
        session = self.screen.session
        self.overlay = Overlay.read(session.ws, session.media_id)
        self.screen.table.overlay = self.overlay
        self.screen.detail.overlay = self.overlay
        self.screen.table.invalidate()
        self.screen.detail.forget()
        self.screen.status.suggested = self.overlay.count()

    def absorb(self, change: Change) -> bool:
        """If ``change`` decided a suggestion (or undid / redid a decision), read again what
        it touched and forget those rows' drawing. True if the event rows changed (the
        row list must be rebuilt); the segments it touched are in ``change`` as usual."""
        if not any(a.startswith(LAYER_ACTIONS) for a in (change.action, change.of)):
            return False
        session = self.screen.session
        ids = [*change.updated, *change.inserted, *change.deleted]
        events = self.overlay.update(session.ws, session.media_id, ids)
        self.screen.table.forget(ids)
        self.screen.detail.forget()
        self.screen.status.suggested = self.overlay.count()
        return events

    def rows(self, rows: Sequence[Segment]) -> list[Segment]:
        """The rows with the media's events among them (none while a filter view is on)."""
        if not self.overlay.events:
            return list(rows)
        return with_events(rows, self.overlay.events)

    def open_rows(self, segments: Sequence[Segment]) -> list[Segment]:
        """The filter view "with open suggestions": the lines with one, and the event rows
        still open or with one, in time order."""
        found = self.overlay.by_segment
        return with_events([s for s in segments if s.id in found], [
            r for r in self.overlay.events if r.status is Status.OPEN or r.open_items])

    # -- keys -------------------------------------------------------------------------------

    def _chosen(self) -> list[Suggestion]:
        """What accept / reject act on: the front suggestions of each marked row."""
        picked = [s for row in self.screen.table.selected()
                  for s in front(self.overlay.open_items(row))]
        if len(picked) > 1:
            picked = [s for s in picked if s.kind is not Kind.SPLIT]  # decided on its own
        return picked

    def decide(self, accept: bool) -> None:
        picked = self._chosen()
        if not picked:
            self.screen.notify("No open suggestion here (. finds the next one).", timeout=3)
            return
        ids = [s.id for s in picked]
        session = self.screen.session
        call = ((lambda: session.accept_suggestions(ids)) if accept
                else (lambda: session.reject_suggestions(ids)))
        change = self.screen.apply(call)
        self.screen.clear_mark()
        if change is not None and change.audit_id is not None:
            verb = "Accepted" if accept else "Rejected"
            what = ", ".join(label(s, session.codebook) + (
                " (marked disputed)" if accept and s.kind is Kind.DISTRUST else "")
                for s in picked)
            self.screen.notify(f"{verb}: {what} (z undoes).", timeout=3, markup=False)

    def groups(self, row: Segment | None) -> list[tuple[Kind, str, list[int]]]:
        """The voice and the rules (tags, event actions) of a row's open suggestions, each
        with every open suggestion of the media that shares it."""
        session = self.screen.session
        out = []
        seen: set[tuple[Kind, str]] = set()
        for s in self.overlay.open_items(row):
            if s.kind not in TOGETHER or (s.kind, s.value) in seen:
                continue
            seen.add((s.kind, s.value))
            same = layer.suggestions(session.ws, session.media_id, status=Status.OPEN,
                                     kinds=[s.kind])
            out.append((s.kind, s.value, [x.id for x in same if x.value == s.value]))
        return out

    def accept_all(self) -> None:
        """Accept every open suggestion of this line's voice or rule; when the line has
        more than one, the detail pane offers them (one more key)."""
        groups = self.groups(self.screen.table.current)
        if not groups:
            self.screen.notify("No voice or rule suggested here.", timeout=3)
            return
        if len(groups) == 1:
            self._accept_group(*groups[0])
            return
        codebook = self.screen.session.codebook
        items = []
        for i, (kind, value, ids) in enumerate(groups):
            shortcut = "v" if kind is Kind.SPEAKER else str(i + 1)
            name = f"Voice {value}" if kind is Kind.SPEAKER else codebook.label(value)
            items.append((shortcut, str(i), f"{name} ({len(ids)} open)", "", False))

        def chosen(value: str) -> None:
            if value.isdigit() and int(value) < len(groups):
                self._accept_group(*groups[int(value)])

        self.screen.detail.open_chord(Chord("Accept all of…", assign_keys(items), chosen))

    def _accept_group(self, kind: Kind, value: str, ids: list[int]) -> None:
        session = self.screen.session
        change = self.screen.apply(lambda: session.accept_suggestions(ids))
        if change is not None and change.audit_id is not None:
            name = f"Voice {value}" if kind is Kind.SPEAKER else session.codebook.label(value)
            self.screen.notify(f"Accepted {name} on {len(ids)} row(s) (z undoes).", timeout=3,
                               markup=False)

    def name_voice(self) -> None:
        """Say who the line's voice is, with the speaker chord's keys (a codebook role such as
        ``o`` Officer, a speaker already named, ``+`` a new name): every open line of the
        voice is attributed in one step."""
        row = self.screen.table.current
        found = self.overlay.hints(row)
        voice = found.voice if found is not None else None
        if row is None or voice is None:
            self.screen.notify("No open voice suggestion on this line (R renames its "
                               "speaker everywhere).", timeout=3)
            return
        session = self.screen.session
        offers = [c for c in choices.speaker_choices(session, [row.id])
                  if c.value != SPEAKER_AGENCY]

        def named(label: str, role: str = "") -> None:
            change = self.screen.apply(lambda: session.name_voice(voice, label.strip(), role))
            if change is not None and change.audit_id is not None:
                self.screen.notify(f"Voice {voice} is {label.strip()} on {len(change.updated)} "
                                   "line(s) (z undoes); s then @ sets their agency.",
                                   timeout=4, markup=False)

        def chosen(value: str) -> None:
            if value == ADD:
                self.screen.ask(f"Who is Voice {voice}? (every open line of the voice)", named,
                                allow_empty=False)
            elif value.startswith("role:"):
                key = value.removeprefix("role:")
                sp = session.role_speaker(key)  # the role's speaker, if anyone plays it
                if sp is not None:
                    named(sp.label)
                else:
                    named(session.codebook.label(key), key)
            elif value.startswith("speaker:"):
                named(session.speaker(int(value.removeprefix("speaker:"))).label)

        self.screen.detail.open_chord(Chord(
            f"Voice {voice} is… (every open line of it)", offers, chosen,
            add_label="new speaker…"))

    def tag_event(self, kind: str) -> bool:
        """The tag chord of ``kind`` on an event row: the chosen tag goes on the event (or
        comes off it), one ``z``. False when the cursor is not on an event row."""
        row = self.screen.table.current
        if not isinstance(row, EventRow):
            return False
        session, ev = self.screen.session, row.event
        noun = choices.KIND_TITLES.get(kind, kind)

        def chosen(key: str) -> None:
            change = self.screen.apply(lambda: session.toggle_event_tag(ev.id, key))
            if change is not None and change.audit_id is not None:
                self.screen.notify(f"{ev.caption}: {session.codebook.label(key)} "
                                   f"{'off' if key in ev.tags else 'on'} (z undoes).",
                                   timeout=3, markup=False)

        self.screen.detail.open_chord(Chord(
            f"{noun} of {ev.caption} (toggle)",
            choices.event_tag_choices(session.codebook, kind, ev.tags), chosen))
        return True

    def walk(self, reverse: bool) -> None:
        """Move the cursor to the next (previous) row with an open suggestion."""
        from annotator.core.search import next_index

        overlay = self.overlay
        self.screen.table.find(
            "open suggestion", lambda rows, i, back: next_index(
                rows, i, lambda r: bool(overlay.open_items(r)), reverse=back),
            reverse=reverse, timeline=True)

    # -- the detectors after a transcription ------------------------------------------------

    def run_detectors(self) -> None:
        """Compute suggestions in a thread worker; progress shows in the status bar."""
        self.running = True
        self.screen.status.suggesting = "suggesting: starting…"
        self.worker.start()

    def progress(self, text: str) -> None:
        self.screen.status.suggesting = f"suggesting: {text}"

    def stopped(self) -> None:
        """The worker ended without its result (an unexpected error, reported apart)."""
        self.running = False
        self.screen.status.suggesting = ""

    def done(self, summary: str, problems: Sequence[str]) -> None:
        self.running = False
        self.screen.status.suggesting = ""
        self.reload()
        self.screen.refresh_view()
        count = self.overlay.count()
        lines = [summary, *problems]
        if count:
            lines.append(f"{count} open: shown in place (dim, with ?); . walks them, "
                         "Y accepts, X rejects, W names a voice.")
        self.screen.notify("\n".join(lines), title="Suggestions", timeout=8, markup=False)
