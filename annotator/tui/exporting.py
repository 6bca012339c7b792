"""Export from the review screen with the same registry and writer as ``annotator export``.

:class:`Exporter` is a plain object the screen owns. The screen's dialog
(:class:`~annotator.tui.screens.export.ExportScreen`) returns the formats and the folder;
:meth:`Exporter.export` runs a thread worker that reads a consistent snapshot through its own
workspace connection, writes each file atomically and the manifest beside them with
:func:`annotator.publish.export_media` (what ``annotator export`` calls, so ``annotator verify
--exports DIR`` checks both alike) and posts the written paths back. Like the CLI it refuses
when the file at the media's path is no longer the recording that was transcribed.
"""

from __future__ import annotations

from dataclasses import replace
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

    def __init__(self, host: DOMNode, db_path: Path, media_id: int, folder: Path, *,
                 reviewer: str = "") -> None:
        self.host = host
        self.db_path = db_path
        self.media_id = media_id
        self.reviewer = reviewer  # who exports, as the manifest records it
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
        from annotator.core.acquisition import require_same_file
        from annotator.core.document import Transcript
        from annotator.core.store import Workspace
        from annotator.formats.manifest import Redaction
        from annotator.publish import export_media

        def prepare(transcript: Transcript) -> Transcript:
            transcript = replace(transcript, labels=request.labels)
            return transcript.without_paths() if request.redact_paths else transcript

        try:
            with Workspace(self.db_path) as ws:
                # Another recording under the media's name: refuse, as `annotator export` does.
                require_same_file(ws.media(self.media_id))
                done = export_media(
                    ws, self.media_id, request.formats, request.folder,
                    reviewer=self.reviewer or "unknown",
                    redaction=Redaction(paths=request.redact_paths), prepare=prepare,
                )
        except AnnotatorError as exc:
            self.host.post_message(Exporter.Failed(str(exc)))
            return
        self.host.post_message(Exporter.Done([*done.files, done.manifest]))

    def done(self, paths: list[Path]) -> None:
        self.last = paths
