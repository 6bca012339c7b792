"""The review app's state and the one path from a session change to the screen.

:class:`ReviewBase` owns the :class:`~annotator.core.session.ReviewSession` (every change goes
through it and is saved before the call returns), the widgets, and two helpers every action
uses: :meth:`ReviewBase.apply` runs a session call and reports errors, and
:meth:`ReviewBase.show_change` repaints exactly what a :class:`~annotator.core.session.Change`
names: one row for a tag or a state, the row list only when segments were inserted, deleted or
moved. The action mixins (:mod:`annotator.tui.navigation`, :mod:`annotator.tui.editing`,
:mod:`annotator.tui.playback`,
:mod:`annotator.tui.transcription`) build on it; :class:`annotator.tui.app.ReviewApp` puts
them together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, ComposeResult
from textual.widgets import Footer

from annotator.core.document import held_back
from annotator.core.edits import Change
from annotator.core.model import Segment
from annotator.core.session import ReviewSession
from annotator.errors import AnnotatorError
from annotator.tui.display import clean
from annotator.tui.widgets.detail import DetailPane
from annotator.tui.widgets.segment_table import SegmentTable
from annotator.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from annotator.core.media import Probe
    from annotator.player import Player


@dataclass(frozen=True)
class ViewFilter:
    """What the filter view shows: criteria for :meth:`ReviewSession.filter` and a name."""

    name: str
    criteria: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TranscribeJob:
    """A media file the app must transcribe in the background before (while) reviewing."""

    path: Path
    model: str = "tiny.en"
    probe: Probe | None = None


class ReviewBase(App[None]):
    """Shared state of the review app; see the module docstring."""

    def __init__(
        self,
        session: ReviewSession,
        *,
        db_path: Path,
        media_path: Path | None = None,
        transcribe: TranscribeJob | None = None,
        video: bool = False,
        player_args: Sequence[str] = (),
        export_dir: Path = Path("exports"),
    ) -> None:
        super().__init__()
        self.session = session
        self.db_path = db_path
        self.media_path = media_path or Path(session.media.path)
        self.transcribe_job = transcribe
        self.video = video
        self.player_args = tuple(player_args)
        self.export_dir = export_dir
        self.view_filter: ViewFilter | None = None
        self.follow = True
        self.player: Player | None = None
        self.player_state = "none"  # none | starting | ready | failed
        self.last_export: list[Path] = []
        self.transcribe_progress = ""
        self.transcribing = False
        self.keymap_overrides: dict[str, str] = {}
        self.table = SegmentTable(id="segments")
        self.detail = DetailPane(id="detail")
        self.status = StatusBar(id="status")

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.detail
        yield self.status
        yield Footer()

    def setup_view(self) -> None:
        """Fill the widgets from the session (called once the app is mounted)."""
        media = self.session.media
        name = clean(Path(media.path).name)
        self.title = f"annotator review - {name}"
        self.status.media = name
        self.status.duration_ms = media.duration_ms
        self.status.reviewer = self.session.reviewer
        self.refresh_view()
        self.table.focus()
        self.update_progress()
        self.report_held_back()

    def report_held_back(self) -> None:
        """Say when the transcription held segments back as heard in silence: they are not
        in the table, and a reviewer should know they exist and where to find them."""
        count = len(held_back(self.session.ws, self.session.media_id))
        if count:
            self.notify(
                f"{count} machine segment{'s' if count != 1 else ''} held back as text heard "
                "in silence; not shown here. H lists them and restores one; the JSON export "
                "lists them under 'suppressed'.",
                title="Held back", timeout=8, markup=False,
            )

    # -- the view -------------------------------------------------------------------------

    def view_rows(self) -> list[Segment]:
        """The segments the table shows: all of them, or those the filter keeps."""
        segments = self.session.segments
        if self.view_filter is None:
            return list(segments)
        return [segments[i] for i in self.session.filter(**self.view_filter.criteria)]

    def refresh_view(self, keep_id: int | None = None) -> None:
        """Rebuild the row list (cheap: rows render only when drawn)."""
        current = self.table.current
        keep = keep_id if keep_id is not None else (current.id if current else None)
        self.table.set_rows(
            self.view_rows(), self.session.speakers, self.session.codebook, keep_id=keep
        )
        self.show_current()
        self.update_activity()

    def show_current(self) -> None:
        self.show_detail(self.table.current)

    def show_detail(self, segment: Segment | None) -> None:
        """Show ``segment`` in the detail pane (unless a chord's choices are there, see
        :meth:`annotator.tui.chord.ChordActions.show_detail`)."""
        self.detail.show(segment, self.session.speakers, self.session.codebook)

    def on_segment_table_segment_highlighted(
        self, message: SegmentTable.SegmentHighlighted
    ) -> None:
        self.show_detail(message.segment)
        self.status.selection = len(self.table.selected())

    def update_progress(self) -> None:
        done, total = self.session.progress()
        self.status.reviewed = (done, total)

    def update_activity(self) -> None:
        parts = []
        if self.view_filter is not None:
            parts.append(f"filter: {self.view_filter.name} ({len(self.table.rows)})")
        if self.transcribe_progress:
            parts.append(self.transcribe_progress)
        self.status.activity = "  ".join(parts)

    # -- changing things ------------------------------------------------------------------

    def targets(self) -> list[int]:
        """Ids of the segments an action applies to: the marked range, or the cursor row."""
        return [seg.id for seg in self.table.selected()]

    def apply(self, call: Callable[[], Change], *, focus: int | None = None) -> Change | None:
        """Run one session call; show what changed, or the error. Returns the change."""
        try:
            change = call()
        except AnnotatorError as exc:
            self.status.error = True
            self.status.saved = "not saved"
            self.notify(str(exc), title="Not done", severity="error", markup=False)
            return None
        self.mark_saved()
        self.show_change(change, focus=focus)
        return change

    def mark_saved(self) -> None:
        self.status.error = False
        self.status.saved = f"saved {datetime.now():%H:%M:%S}"

    def show_change(self, change: Change, *, focus: int | None = None) -> None:
        """Repaint what ``change`` touched (and nothing else)."""
        if change.empty:
            return
        if change.codebook or change.speakers:
            # Labels shown in many rows changed: re-render lazily, keep the row list.
            self.table.set_rows(self.table.rows, self.session.speakers, self.session.codebook)
        if change.reordered or change.inserted or change.deleted:
            self.refresh_view(keep_id=focus)
        else:
            for seg_id in change.updated:
                self.table.replace_row(self.session.segment(seg_id))
            if focus is not None:
                self.focus_segment(focus)
        self.show_current()
        self.update_progress()

    def focus_segment(self, seg_id: int) -> None:
        """Put the cursor on a segment if the view shows it."""
        index = self.table.index_of(seg_id)
        if index is not None:
            self.table.move_to(index)

    def clear_mark(self) -> None:
        self.table.action_clear_mark()
        self.status.selection = 1
