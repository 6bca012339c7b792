"""The review app: a thin :class:`~textual.app.App` around one
:class:`~annotator.tui.screens.review.ReviewScreen`.

The app holds what is the same for every screen: the stylesheet (``app.tcss``), the title,
the settings a run was started with (:class:`~annotator.tui.settings.ReviewSettings`) and the
user's key map (remembered so the help screen shows the user's keys). The review screen owns
the widgets, the session and the controllers; dialogs live in :mod:`annotator.tui.screens`.
Start the app with :func:`annotator.tui.launch.launch_review`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType, Keymap
from textual.screen import Screen

from annotator.core.session import ReviewSession
from annotator.tui.bindings import SECTIONS
from annotator.tui.screens.help import HelpScreen
from annotator.tui.screens.review import ReviewScreen
from annotator.tui.screens.suggestions import open_queue
from annotator.tui.settings import ReviewSettings
from annotator.tui.transcription import TranscribeJob
from annotator.tui.widgets.segment_table import SegmentTable


class ReviewApp(App[None]):
    """Review one media file's transcript: listen, correct, attribute, tag, export."""

    CSS_PATH = "app.tcss"
    TITLE = "annotator review"
    ENABLE_COMMAND_PALETTE = False  # every action has a key; ? lists them
    #: Textual's ctrl+q, without priority: the review screen's quit (same id, same keys)
    #: asks first while a transcription runs, and shows in the footer.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, id="app.quit"),
    ]

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
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.settings = ReviewSettings(
            db_path, media_path or Path(session.media.path), transcribe, video,
            tuple(player_args), export_dir, read_only,
        )
        self.keymap_overrides: dict[str, str] = {}
        self._quit_armed = False
        self.review = ReviewScreen(session, self.settings)

    def get_default_screen(self) -> Screen[None]:
        return self.review

    def set_keymap(self, keymap: Keymap) -> None:
        """Remap keys by binding id (remembered so the help screen shows the user's keys)."""
        self.keymap_overrides = {**self.keymap_overrides, **keymap}
        super().set_keymap(keymap)

    def action_help(self) -> None:
        table_keys = ("Move and mark", [
            b for b in SegmentTable.BINDINGS if not isinstance(b, tuple | str)
        ])
        self.review.open_dialog(HelpScreen([table_keys, *SECTIONS], self.keymap_overrides),
                                lambda _: None)

    def action_suggestions(self) -> None:
        """The suggestion queue (:mod:`annotator.tui.screens.suggestions`)."""
        open_queue(self.review)

    async def action_quit(self) -> None:
        """Quit; while a transcription runs, ask for a second q within 6 s (quitting cuts it
        short; the unfinished part is transcribed again next time)."""
        if self.review.transcriber.running and not self._quit_armed:
            self._quit_armed = True
            self.notify(
                "Transcription is still running: quitting stops it, and the unfinished part "
                "is transcribed again next time. Press q again to quit.",
                title="Quit?", severity="warning", timeout=6,
            )
            self.set_timer(6, self._disarm_quit)
            return
        self.exit()

    def _disarm_quit(self) -> None:
        self._quit_armed = False
