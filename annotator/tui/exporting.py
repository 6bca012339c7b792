"""Export from the review screen with the same registry and writer as ``annotator export``.

:class:`Exporter` is a plain object the screen owns. The screen's dialog
(:class:`~annotator.tui.screens.export.ExportScreen`) returns the formats and the folder;
:meth:`Exporter.export` runs a thread worker that reads a consistent snapshot through its own
workspace connection (:func:`~annotator.core.document.load_transcript`), writes each file
atomically with :func:`annotator.formats.export` and posts the written paths back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from annotator.errors import AnnotatorError
from annotator.tui.screens.export import ExportRequest

if TYPE_CHECKING:
    from textual.dom import DOMNode


class Exporter:
    """Write the media's transcript in the chosen formats, off the event loop."""

    class Done(Message):
        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, host: DOMNode, db_path: Path, media_id: int, folder: Path) -> None:
        self.host = host
        self.db_path = db_path
        self.media_id = media_id
        self.folder = folder  # the dialog offers the last folder used
        self.last: list[Path] = []  # the files the last export wrote

    @staticmethod
    def formats() -> list[tuple[str, str]]:
        """(identifier, description) of every registered export format."""
        from annotator.formats import FORMAT_IDENTIFIER_TO_FORMAT_CLASS

        return [(ident, cls.description)
                for ident, cls in FORMAT_IDENTIFIER_TO_FORMAT_CLASS.items()]

    def export(self, request: ExportRequest) -> None:
        self.folder = request.folder
        self.host.run_worker(lambda: self._export(request), name="export", group="export",
                             exclusive=True, thread=True, exit_on_error=False)

    def _export(self, request: ExportRequest) -> None:
        """Runs in a thread worker."""
        from annotator.core.document import load_transcript
        from annotator.core.store import Workspace
        from annotator.formats import export

        try:
            with Workspace(self.db_path) as ws:
                transcript = load_transcript(ws, self.media_id)
            if request.redact_paths:
                transcript = transcript.without_paths()
            paths = [export(transcript, fmt, request.folder) for fmt in request.formats]
        except AnnotatorError as exc:
            self.host.post_message(Exporter.Failed(str(exc)))
            return
        self.host.post_message(Exporter.Done(paths))

    def done(self, paths: list[Path]) -> None:
        self.last = paths
