"""What the transcription held back as heard in silence, from the review screen.

Segments the engine wrote over audio the VAD judged silent are kept out of the review
(:func:`annotator.core.document.held_back`). :class:`HeldBack`, a plain object the
:class:`~annotator.tui.screens.review.ReviewScreen` owns, says they exist when the media opens
(they are not in the table, and a reviewer should know where to find them) and lists them on
``H``: a key restores one as unreviewed machine text, one session operation (``z`` undoes it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.core.document import held_back
from annotator.tui import choices
from annotator.tui.screens.picker import PickerScreen

if TYPE_CHECKING:
    from annotator.tui.screens.review import ReviewScreen


class HeldBack:
    """The held-back notice and picker of one review screen."""

    def __init__(self, screen: ReviewScreen) -> None:
        self.screen = screen

    def report(self) -> None:
        """Notify how many segments were held back, if any."""
        session = self.screen.session
        notice = choices.held_back_notice(len(held_back(session.ws, session.media_id)))
        if notice:
            self.screen.notify(notice, title="Held back", timeout=8, markup=False)

    def ask(self) -> None:
        """List them; a key restores one (listen with Enter, undo with z if nobody speaks)."""
        screen, session = self.screen, self.screen.session
        held = held_back(session.ws, session.media_id)
        if not held:
            screen.notify("The transcription held nothing back.", timeout=3)
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                screen.added(lambda: session.restore_held_back(held[int(value)]),
                             "Restored as machine text, unreviewed (z undoes).")

        screen.open_dialog(PickerScreen(
            "Held back as heard in silence (✓ = restored). A key restores one.",
            choices.held_back_choices(session, held),
        ), chosen)
