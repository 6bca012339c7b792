"""Setting a person's agency from the speaker chord: ``s`` then ``@`` then the agency's key.

An agency belongs to the person (:mod:`annotator.core.agency`): the reviewer sets it once on
the speaker and every line of that speaker shows it. The natural moment is when choosing who
speaks, so the speaker chord offers one more key, ``@`` ("agency of Officer…"), when the
selected lines share one speaker; it opens a second chord with the codebook's agencies (the
speaker's current one marked, ``-`` for none). Choosing is one session edit, audited and
undoable; a line-level agency tag (``a``) still overrides it for that line.

Pure functions from session state to choices and chords, like :mod:`annotator.tui.choices`,
so the screen only forwards the chosen operation to its usual apply path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from annotator.core.edits import Change
from annotator.core.session import ReviewSession
from annotator.tui.display import clean
from annotator.tui.screens.picker import CLEAR, Choice, assign_keys
from annotator.tui.widgets.detail import Chord

#: The speaker chord's value for "set the agency of this speaker…".
SPEAKER_AGENCY = "\x00speaker-agency"
#: Its key in the speaker chord (never a codebook shortcut: those are letters and digits).
AGENCY_KEY = "@"


def shared_speaker(session: ReviewSession, ids: Sequence[int]) -> int | None:
    """The speaker all of ``ids`` are attributed to, if they share one."""
    current = {session.segment(i).speaker_id for i in ids}
    only = next(iter(current)) if len(current) == 1 else None
    return only if only is not None and only in session.speakers else None


def agency_item(
    session: ReviewSession, ids: Sequence[int]
) -> tuple[str, str, str, str, bool] | None:
    """The speaker chord's ``@`` item (for :func:`assign_keys`), or None when the lines do
    not share one speaker. Its detail is the speaker's agency now."""
    speaker_id = shared_speaker(session, ids)
    if speaker_id is None:
        return None
    sp = session.speaker(speaker_id)
    now = session.codebook.label(sp.agency) if sp.agency else "no agency"
    return (AGENCY_KEY, SPEAKER_AGENCY, f"agency of {sp.label}…", now, False)


def agency_choices(session: ReviewSession, speaker_id: int) -> list[Choice]:
    """The codebook's agencies; marked: the speaker's."""
    current = session.speaker(speaker_id).agency
    return assign_keys(
        (e.shortcut, e.key, e.label, e.description, e.key == current)
        for e in session.codebook.of_kind("agency")
    )


def agency_chord(
    session: ReviewSession, ids: Sequence[int], apply: Callable[[Callable[[], Change]], None]
) -> Chord | None:
    """The second chord: choosing an agency hands the session edit to ``apply`` (the screen's
    usual path: errors shown, view repainted, undo offered). None without a shared speaker."""
    speaker_id = shared_speaker(session, ids)
    if speaker_id is None:
        return None

    def chosen(value: str) -> None:
        key = "" if value == CLEAR else value
        apply(lambda: session.set_speaker_agency(speaker_id, key))

    label = clean(session.speaker(speaker_id).label)  # a typed name: shown literally
    return Chord(f"Agency of {label} (every line of theirs)", agency_choices(session, speaker_id),
                 chosen, clear_label="no agency")
