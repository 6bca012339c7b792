"""What the review screen offers to choose from: speakers, tags, held-back segments (the
filter view's offers are in :mod:`annotator.tui.filtering`).

Pure functions from session state to :class:`~annotator.tui.screens.picker.Choice` lists (keys
made unique by :func:`~annotator.tui.screens.picker.assign_keys`), so the offers can be tested
without an app and the screen only maps the chosen value to one session operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from annotator.core.edits import Change
from annotator.core.model import Codebook, SuppressedSegment
from annotator.core.session import ReviewSession
from annotator.tui.agency import SPEAKER_AGENCY, agency_chord, agency_item
from annotator.tui.display import clock
from annotator.tui.screens.picker import CLEAR, Choice, assign_keys
from annotator.tui.widgets.detail import DetailPane

KIND_TITLES = {"speaker": "Speaker", "agency": "Agency", "action": "Action", "other": "Tag"}

def speaker_choices(session: ReviewSession, ids: Sequence[int]) -> list[Choice]:
    """The codebook's speaker roles (shown with the name their speaker got, if renamed) and
    every other speaker; values are ``role:KEY`` or ``speaker:ID``. Marked: the speaker all
    of ``ids`` already have; when they share one, ``@`` sets that speaker's agency
    (:mod:`annotator.tui.agency`)."""
    current = {session.segment(i).speaker_id for i in ids}
    items: list[tuple[str, str, str, str, bool]] = []
    playing_roles: set[int] = set()
    for entry in session.codebook.of_kind("speaker"):
        sp = session.role_speaker(entry.key)
        label = sp.label if sp is not None else entry.label
        renamed = sp is not None and label != entry.label
        detail = f"({entry.label})" if renamed else entry.description
        marked = sp is not None and current == {sp.id}
        if sp is not None:
            playing_roles.add(sp.id)
        items.append((entry.shortcut, f"role:{entry.key}", label, detail, marked))
    for sp in session.speakers.values():
        if sp.id not in playing_roles:
            items.append(("", f"speaker:{sp.id}", sp.label, sp.role, current == {sp.id}))
    agency = agency_item(session, ids)
    return assign_keys([*items, agency] if agency is not None else items)


def follow_up(
    session: ReviewSession, ids: Sequence[int], value: str,
    apply: Callable[[Callable[[], Change]], None], detail: DetailPane,
) -> bool:
    """Open in ``detail`` the chord a speaker choice leads to (``@``: the speaker's agency,
    :mod:`annotator.tui.agency`); False when the choice is an operation of its own."""
    if value != SPEAKER_AGENCY:
        return False
    chord = agency_chord(session, ids, apply)
    if chord is None:  # the lines no longer share one speaker
        detail.app.bell()
    else:
        detail.open_chord(chord)
    return True


def speaker_operation(
    session: ReviewSession, ids: Sequence[int], value: str
) -> Callable[[], Change]:
    """The session operation a speaker choice (but "new speaker…") stands for."""
    if value == CLEAR:
        return lambda: session.set_speaker(ids, None)
    if value.startswith("role:"):
        return lambda: session.assign_role(ids, value.removeprefix("role:"))
    return lambda: session.set_speaker(ids, int(value.removeprefix("speaker:")))


def tag_choices(session: ReviewSession, kind: str, ids: Sequence[int]) -> list[Choice]:
    """The codebook entries of ``kind``; marked: those all of ``ids`` carry."""
    segs = [session.segment(i) for i in ids]
    return assign_keys(
        (e.shortcut, e.key, e.label, e.description, all(e.key in s.tags for s in segs))
        for e in session.codebook.of_kind(kind)
    )


def event_tag_choices(codebook: Codebook, kind: str, tags: Sequence[str]) -> list[Choice]:
    """The codebook entries of ``kind`` for an impact event; marked: those it carries."""
    return assign_keys((e.shortcut, e.key, e.label, e.description, e.key in tags)
                       for e in codebook.of_kind(kind))


def all_tag_choices(codebook: Codebook) -> list[Choice]:
    """Every tag of the codebook (agencies, actions, other)."""
    return assign_keys(
        (e.shortcut, e.key, e.label, e.kind, False)
        for e in codebook.entries if e.kind != "speaker"
    )


def held_back_notice(count: int) -> str | None:
    """What to say when the transcription held ``count`` segments back (None: nothing)."""
    if not count:
        return None
    return (f"{count} machine segment{'s' if count != 1 else ''} held back as text heard in "
            "silence; not shown here. H lists them and restores one; the JSON export lists "
            "them under 'suppressed'.")


def held_back_choices(
    session: ReviewSession, held: Sequence[SuppressedSegment]
) -> list[Choice]:
    """Held-back segments by position in ``held``; marked: restored already."""
    return assign_keys(
        ("", str(i), f"{clock(h.start_ms)} - {clock(h.end_ms)}", h.text,
         session.is_restored(h))
        for i, h in enumerate(held)
    )
