"""The review app: a segment table, a detail pane, a status bar and the keys of
:mod:`annotator.tui.bindings`.

The app class only assembles the pieces: state and the change-to-screen path live in
:mod:`annotator.tui.base`, actions in :mod:`~annotator.tui.navigation`,
:mod:`~annotator.tui.editing`, :mod:`~annotator.tui.playback`,
:mod:`~annotator.tui.transcription` and :mod:`~annotator.tui.exporting`, widgets in
:mod:`annotator.tui.widgets` and dialogs in :mod:`annotator.tui.screens`. Styles are in
``app.tcss``. Start it with :func:`annotator.tui.launch.launch_review`.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType, Keymap
from textual.worker import Worker, WorkerState

from annotator.tui.bindings import APP_BINDINGS, SECTIONS
from annotator.tui.editing import EditingActions
from annotator.tui.exporting import ExportActions
from annotator.tui.navigation import NavigationActions
from annotator.tui.playback import PlaybackActions
from annotator.tui.screens.help import HelpScreen
from annotator.tui.transcription import TranscriptionActions
from annotator.tui.widgets.segment_table import SegmentTable


class ReviewApp(
    EditingActions, NavigationActions, PlaybackActions, TranscriptionActions, ExportActions
):
    """Review one media file's transcript: listen, correct, attribute, tag, export."""

    CSS_PATH = "app.tcss"
    TITLE = "annotator review"
    ENABLE_COMMAND_PALETTE = False  # every action has a key; ? lists them
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)

    def on_mount(self) -> None:
        self.setup_view()
        self.start_player()
        self.start_transcription()

    def on_unmount(self) -> None:
        self.stop_player()

    def set_keymap(self, keymap: Keymap) -> None:
        """Remap keys by binding id (remembered so the help screen shows the user's keys)."""
        self.keymap_overrides = {**self.keymap_overrides, **keymap}
        super().set_keymap(keymap)

    def action_help(self) -> None:
        table_keys = ("Move and mark", [
            b for b in SegmentTable.BINDINGS if not isinstance(b, tuple | str)
        ])
        self.push_screen(HelpScreen([table_keys, *SECTIONS], self.keymap_overrides))

    _quit_armed = False

    async def action_quit(self) -> None:
        """Quit; while a transcription runs, ask for a second q (it would be cut short)."""
        if self.transcribing and not self._quit_armed:
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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Workers report expected failures as messages; this catches the unexpected."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed",
                        severity="error", timeout=15, markup=False)
