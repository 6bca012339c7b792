"""One error hierarchy for the whole tool.

Every error annotator raises on purpose subclasses :class:`AnnotatorError`, so the CLI can
print one line on stderr (no traceback) and pick an exit code scripts can rely on. Each error
keeps the offending value (a path, a format name...) as an attribute so callers and tests can
inspect it without parsing the message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Exit codes are part of the public interface.
EXIT_OK = 0
EXIT_FAILURE = 1  # the job ran, but something (a file, an export) failed
EXIT_USAGE = 2  # bad arguments; nothing was done
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it); saved work is kept


class AnnotatorError(Exception):
    """Base class of every error annotator raises deliberately.

    Errors cross process boundaries (a worker process reports to the batch that started
    it), so every one pickles with its attributes: :meth:`__reduce__` rebuilds the instance
    from its class, its message arguments and its ``__dict__`` without calling
    ``__init__``, whose signature differs from class to class. A subclass needs nothing
    more, as long as its attributes are picklable.
    """

    exit_code = EXIT_FAILURE

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(
    cls: type[AnnotatorError], args: tuple[Any, ...], state: dict[str, Any]
) -> AnnotatorError:
    """Unpickle an :class:`AnnotatorError` (see :meth:`AnnotatorError.__reduce__`)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(AnnotatorError):
    """The user asked for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class FileError(AnnotatorError):
    """Something is wrong with one file: the message is ``<path>: <cause>``."""

    def __init__(self, path: Path | str, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class MediaError(FileError):
    """A media file is missing, unreadable or cannot be decoded."""


class ModelError(AnnotatorError):
    """A speech model cannot be found, assembled or verified."""

    def __init__(self, model: str, cause: str) -> None:
        self.model = model
        self.cause = cause
        super().__init__(f"model {model!r}: {cause}")


class WorkspaceError(FileError):
    """The SQLite workspace cannot be opened, migrated or queried."""

    @property
    def db(self) -> Path:
        return self.path


class NotFoundError(AnnotatorError):
    """A media file, segment, speaker or tag named by the user does not exist."""

    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"no {what} {key!r}")


class AmbiguousMediaError(UsageError):
    """What the user typed names more than one media: a shared file name or SHA-256 prefix.

    ``candidates`` describes each one (``id 3: sha256 3f2a9c1b7d4e, /a/demo.mp4``) so the
    user can pick one by id; nothing is chosen for them.
    """

    def __init__(self, ref: str, how: str, candidates: tuple[str, ...]) -> None:
        self.ref = ref
        self.how = how
        self.candidates = candidates
        super().__init__(
            f"{ref!r} matches {len(candidates)} media by {how}: {'; '.join(candidates)}; "
            "give the id or a longer SHA-256 prefix"
        )


class UnknownFormatError(UsageError):
    """An export format name that no module in :mod:`annotator.formats` handles."""

    def __init__(self, format_: str) -> None:
        self.format_ = format_
        super().__init__(f"unknown export format {format_!r}")


class CodebookError(AnnotatorError):
    """A codebook TOML file is malformed or inconsistent."""

    def __init__(self, source: str, cause: str) -> None:
        self.source = source
        self.cause = cause
        super().__init__(f"codebook {source}: {cause}")


class EditError(AnnotatorError):
    """A review edit that cannot be applied (split outside a segment, empty merge...)."""


class ExportError(FileError):
    """An export file could not be written; any older file at ``path`` is left untouched."""


class InvalidStemError(UsageError):
    """An export file name stem that is not a plain file name (empty, a path, ``..``)."""

    def __init__(self, stem: str, why: str = "must be a plain file name, not a path") -> None:
        self.stem = stem
        self.why = why
        super().__init__(f"export name {stem!r} {why}")


class TranscriptFileError(FileError):
    """An exported transcript file that cannot be read back (not JSON, wrong version...)."""
