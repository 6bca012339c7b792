"""What the review screen does about speech gaps and run warnings (kept out of the screen).

:class:`GapView` is a plain object the :class:`~annotator.tui.screens.review.ReviewScreen`
owns, like its controllers: it adds gap rows to the rows the table shows (read from the
workspace each time the row list is rebuilt, so a fill, its undo or a deleted segment shows
at once), says what the run warns about when the media opens (a notification and the status
bar: "truncated at 0:16 of 0:59", low coverage), and carries a re-transcription through: the
dialog, the :class:`~annotator.tui.gaps.GapFiller` worker, then one session operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from annotator.core import gapfill, runs
from annotator.core.model import Run, Segment
from annotator.tui.display import clock
from annotator.tui.gaps import GapFiller, GapRow, RetranscribeRequest, gap_rows, with_gaps
from annotator.tui.screens.retranscribe import RetranscribeScreen

if TYPE_CHECKING:
    from annotator.tui.screens.review import ReviewScreen

#: Review-screen actions that act on a gap row (every other editing key is off there).
GAP_ACTIONS = frozenset({"retranscribe"})


class GapView:
    """Gap rows, run warnings and re-transcription for one review screen."""

    def __init__(self, screen: ReviewScreen, filler: GapFiller) -> None:
        self.screen = screen
        self.filler = filler

    def rows(self, segments: Sequence[Segment]) -> list[Segment]:
        """The segments with the media's visible speech gaps among them, in time order."""
        session = self.screen.session
        gaps = gapfill.visible_gaps(session.ws, session.media_id)
        if not gaps:
            return list(segments)
        return with_gaps(segments, gap_rows(session.media_id, gaps))

    def report_warnings(self) -> None:
        """Say what the run warns about (the file ends early, little of the heard speech
        was written) and how many gaps there are, in a notification and the status bar."""
        session = self.screen.session
        ws = session.ws
        run = runs.layer_run(ws, session.media_id)
        warnings = list(run.warnings) if run is not None else []
        gaps = gapfill.visible_gaps(ws, session.media_id)
        self.screen.status.warning = "; ".join(warnings)
        lines = [*warnings]
        if gaps:
            lines.append(f"{len(gaps)} stretch{'es' if len(gaps) != 1 else ''} of speech "
                         "with no text: shown as ░░ rows (T transcribes one again)")
        if lines:
            self.screen.notify("\n".join(lines), title="Transcript incomplete",
                               severity="warning", timeout=12, markup=False)

    def ask(self, row: Segment | None) -> None:
        """Open the settings dialog for the gap row ``row`` and start the worker."""
        if not isinstance(row, GapRow):
            self.screen.notify("Put the cursor on a speech gap (a ░░ row).", timeout=3)
            return
        if self.filler.running:
            self.screen.notify("A re-transcription is already running.", timeout=3)
            return
        run = self.screen.session.ws.current_run(self.screen.session.media_id)
        model = run.model_id if run is not None else "tiny.en"

        def chosen(request: RetranscribeRequest | None) -> None:
            if request is not None:
                self.screen.status.busy = (f"re-transcribing {clock(request.start_ms)}-"
                                           f"{clock(request.end_ms)}…")
                self.filler.start(request)

        self.screen.open_dialog(RetranscribeScreen(row, model), chosen)

    def done(self, run: Run, drafts: int) -> None:
        """The worker stored a span run: add its drafts (one operation, ``z`` undoes it)."""
        self.filler.running = False
        self.screen.status.busy = ""
        session = self.screen.session
        change = self.screen.apply(lambda: session.add_retranscribed(run)) if drafts else None
        if change is not None and change.inserted:
            self.screen.focus_segment(change.inserted[0])
            self.screen.notify(
                f"{len(change.inserted)} segment(s) added as unreviewed machine text "
                f"({gapfill.settings(run)}); z undoes.", timeout=5, markup=False)
            return
        self.screen.refresh_view()  # the gap as this attempt measured it
        self.screen.notify(f"Nothing new was written ({gapfill.settings(run)}); the gap "
                           "stays.", timeout=5, markup=False)

    def failed(self, error: str) -> None:
        self.filler.running = False
        self.screen.status.busy = ""
        self.screen.notify(error, title="Re-transcription failed", severity="error",
                           timeout=15, markup=False)
