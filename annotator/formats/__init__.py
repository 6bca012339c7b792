"""Export formats: one module per format behind a small registry (the shape of pysubs2's).

Every format is a :class:`~annotator.formats.base.FormatBase` subclass that turns a
:class:`~annotator.core.document.Transcript` into text; this module maps names and file
extensions to those classes and writes files. To add a format, write a module and add one line
to :data:`FORMAT_IDENTIFIER_TO_FORMAT_CLASS` (see :mod:`annotator.formats.base`).

- ``json``: lossless record with provenance, review and word timings (the one to archive);
- ``srt``: SubRip captions, ``Speaker: text``;
- ``vtt``: WebVTT captions with ``<v Speaker>`` voice spans and a provenance ``NOTE``;
- ``ass``: ASS subtitles, a coloured style per speaker, tags as ``Comment`` events.
- ``rttm``: speaker turns for diarization scoring (named speakers, else voice suggestions).

:func:`export` names files ``<media file stem>.<first 12 hex digits of its SHA-256><ext>``,
e.g. ``demo.3f2a9c1b7d4e.srt`` for ``demo.mp4``: readable, the same on every export of the
same media (a re-export replaces the previous one), and distinct for two different videos that
share a name (phones call every clip ``IMG_0001``), so one media's export never overwrites
another's. The 12 digits are the prefix ``annotator list`` shows. Files are written atomically.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path, PurePath

from annotator.core.document import Transcript
from annotator.core.model import Media
from annotator.errors import ExportError, InvalidStemError, TranscriptFileError, UnknownFormatError
from annotator.formats.ass import AssFormat
from annotator.formats.atomic import write_atomic
from annotator.formats.base import FormatBase
from annotator.formats.json_format import JsonFormat, load_schema, read_json
from annotator.formats.manifest import SUFFIX as MANIFEST_SUFFIX
from annotator.formats.rttm import RttmFormat
from annotator.formats.srt import SrtFormat
from annotator.formats.vtt import VttFormat

__all__ = [
    "FILE_EXTENSION_TO_FORMAT_IDENTIFIER",
    "FORMAT_IDENTIFIER_TO_FORMAT_CLASS",
    "ExportError",
    "FormatBase",
    "InvalidStemError",
    "TranscriptFileError",
    "default_stem",
    "export",
    "get_format",
    "get_format_identifier",
    "load_schema",
    "parse_formats",
    "read_json",
]

#: Format identifier (as typed on the command line) -> format class. One line per format.
FORMAT_IDENTIFIER_TO_FORMAT_CLASS: dict[str, type[FormatBase]] = {
    "json": JsonFormat,
    "srt": SrtFormat,
    "vtt": VttFormat,
    "ass": AssFormat,
    "rttm": RttmFormat,
}

#: File extension (with its dot) -> format identifier.
FILE_EXTENSION_TO_FORMAT_IDENTIFIER: dict[str, str] = {
    cls.extension: identifier for identifier, cls in FORMAT_IDENTIFIER_TO_FORMAT_CLASS.items()
}

_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def get_format(identifier: str) -> type[FormatBase]:
    """The class of a format (``"srt"``, case-insensitive); :class:`UnknownFormatError`."""
    try:
        return FORMAT_IDENTIFIER_TO_FORMAT_CLASS[identifier.strip().lower()]
    except KeyError:
        raise UnknownFormatError(identifier) from None


def get_format_identifier(ext: str) -> str:
    """The format written to files with extension ``ext`` (``".vtt"``); raises
    :class:`UnknownFormatError` keeping ``ext``."""
    try:
        return FILE_EXTENSION_TO_FORMAT_IDENTIFIER[ext.lower()]
    except KeyError:
        raise UnknownFormatError(ext) from None


def parse_formats(spec: str) -> list[str]:
    """``"json, SRT,json"`` -> ``["json", "srt"]``: identifiers in the order given, each once.

    Raises :class:`UnknownFormatError` naming the first unknown item, or the whole spec when
    it names no format at all.
    """
    identifiers: list[str] = []
    for item in spec.split(","):
        name = item.strip()
        if not name:
            continue
        identifier = name.lower()
        if identifier not in FORMAT_IDENTIFIER_TO_FORMAT_CLASS:
            raise UnknownFormatError(name)
        if identifier not in identifiers:
            identifiers.append(identifier)
    if not identifiers:
        raise UnknownFormatError(spec.strip())
    return identifiers


#: The longest file name, in bytes, that common file systems take (ext4, XFS, Btrfs, APFS;
#: NTFS and exFAT count 255 UTF-16 units, which UTF-8 bytes never undercount).
NAME_MAX = 255

#: Room every export name leaves for its extension (the longest registered one, or the
#: manifest's ``.manifest.json`` written beside every export).
_EXTENSION_ROOM = max(
    *(len(cls.extension.encode()) for cls in FORMAT_IDENTIFIER_TO_FORMAT_CLASS.values()),
    len(MANIFEST_SUFFIX.encode()),
)


def default_stem(media: Media) -> str:
    """``<media file stem>.<sha256[:12]>``: see the module docstring for why.

    A legal media name can be too long to export under (249 characters plus the hash and
    ``.json`` pass 255 bytes): the media's stem is then shortened, at a character boundary,
    so that the whole name fits :data:`NAME_MAX` bytes; the SHA-256 prefix is always kept,
    so two long names that share their beginning still get two files.
    """
    stem = _UNSAFE_IN_NAME.sub("_", PurePath(media.path.replace("\\", "/")).stem).strip()
    suffix = f".{media.sha256[:12]}"
    room = NAME_MAX - len(suffix.encode()) - _EXTENSION_ROOM
    short = stem.encode()[:room].decode("utf-8", errors="ignore").rstrip(" .")
    return f"{short or 'media'}{suffix}"


def _check_stem(stem: str) -> str:
    if not stem.strip() or stem in {".", ".."} or _UNSAFE_IN_NAME.search(stem):
        raise InvalidStemError(stem)
    if len(stem.encode()) + _EXTENSION_ROOM > NAME_MAX:
        raise InvalidStemError(stem, f"is longer than a file name can be ({NAME_MAX} bytes)")
    return stem


def export(
    transcript: Transcript, identifier: str, out_dir: Path, stem: str | None = None
) -> Path:
    """Write ``transcript`` in format ``identifier`` to ``out_dir/<stem><ext>`` and return
    the path. The folder is created if needed; the file is replaced atomically (an older file
    survives any failure). ``stem`` defaults to :func:`default_stem`.

    Raises :class:`UnknownFormatError`, :class:`InvalidStemError` or :class:`ExportError`.
    """
    fmt = get_format(identifier)
    name = default_stem(transcript.media) if stem is None else _check_stem(stem)
    out_dir = Path(out_dir)
    path = out_dir / f"{name}{fmt.extension}"
    text = fmt.to_string(transcript)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExportError(path, f"text cannot be written as UTF-8 ({exc.reason})") from exc
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        why = "disk full" if full else "cannot create the folder"
        raise ExportError(out_dir, f"{why} ({exc.strerror or exc})") from exc
    write_atomic(path, data)
    return path
