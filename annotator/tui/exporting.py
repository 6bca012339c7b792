"""Export from the review screen with the same registry and writer as ``annotator export``.

The dialog (:class:`~annotator.tui.screens.export.ExportScreen`) returns the formats and the
folder; a thread worker reads a consistent snapshot through its own workspace connection
(:func:`~annotator.core.document.load_transcript`), writes each file atomically with
:func:`annotator.formats.export` and posts the written paths back.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.message import Message

from annotator.errors import AnnotatorError
from annotator.tui.base import ReviewBase
from annotator.tui.screens.export import ExportRequest, ExportScreen


class Exporter:
    """Messages from the export worker."""

    class Done(Message):
        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error


class ExportActions(ReviewBase):
    def action_export(self) -> None:
        from annotator.formats import FORMAT_IDENTIFIER_TO_FORMAT_CLASS

        formats = [(ident, cls.description)
                   for ident, cls in FORMAT_IDENTIFIER_TO_FORMAT_CLASS.items()]

        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                self.export_dir = request.folder
                self.status.activity = "exporting…"
                self.run_export(request)

        self.push_screen(ExportScreen(formats, self.export_dir), chosen)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def run_export(self, request: ExportRequest) -> None:
        from annotator.core.document import load_transcript
        from annotator.core.store import Workspace
        from annotator.formats import export

        try:
            with Workspace(self.db_path) as ws:
                transcript = load_transcript(ws, self.session.media_id)
            if request.redact_paths:
                transcript = transcript.without_paths()
            paths = [export(transcript, fmt, request.folder) for fmt in request.formats]
        except AnnotatorError as exc:
            self.post_message(Exporter.Failed(str(exc)))
            return
        self.post_message(Exporter.Done(paths))

    def on_exporter_done(self, message: Exporter.Done) -> None:
        self.last_export = message.paths
        self.update_activity()
        self.notify("\n".join(str(p) for p in message.paths), title="Exported",
                    timeout=10, markup=False)

    def on_exporter_failed(self, message: Exporter.Failed) -> None:
        self.update_activity()
        self.notify(message.error, title="Export failed", severity="error", timeout=15,
                    markup=False)
