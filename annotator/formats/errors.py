"""Errors raised by exports and by reading exported files back.

They subclass :class:`annotator.errors.AnnotatorError` (the CLI prints them as one line) and
keep the offending value as attributes, like the rest of annotator's errors. They live here,
next to the code that raises them, until the core's ``annotator.errors`` adopts them.
"""

from __future__ import annotations

from pathlib import Path

from annotator.errors import AnnotatorError, UsageError


class ExportError(AnnotatorError):
    """An export file could not be written; any older file at ``path`` is left untouched."""

    def __init__(self, path: Path | str, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class InvalidStemError(UsageError):
    """An export file name stem that is not a plain file name (empty, a path, ``..``)."""

    def __init__(self, stem: str) -> None:
        self.stem = stem
        super().__init__(f"export name {stem!r} must be a plain file name, not a path")


class TranscriptFileError(AnnotatorError):
    """An exported transcript file that cannot be read back (not JSON, wrong version...)."""

    def __init__(self, path: Path | str, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")
