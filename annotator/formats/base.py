"""The interface every export format implements.

A format turns a :class:`~annotator.core.document.Transcript` (one consistent snapshot of a
media file's review) into the text of one file. Formats never touch the workspace or the
filesystem: :func:`annotator.formats.export` picks the file name and writes atomically, so a
format is a pure function that is easy to test.

How to add a format (say ``csv``):

1. write ``annotator/formats/csv_format.py`` with a subclass of :class:`FormatBase` that sets
   :attr:`~FormatBase.identifier`, :attr:`~FormatBase.extension` and
   :attr:`~FormatBase.description` and implements :meth:`~FormatBase.to_string`;
2. add one line to ``FORMAT_IDENTIFIER_TO_FORMAT_CLASS`` in ``annotator/formats/__init__.py``
   (the extension map is derived from it);
3. add ``tests/formats/test_csv.py`` that parses the output back with an independent reader.

Subtitle-like formats must pass every piece of transcript text (segment text, speaker labels,
tag labels, provenance values, warnings) through :mod:`annotator.formats.text`: it is
untrusted.

**Warnings.** A transcript may not be the whole story: its run may still be in progress or
have been interrupted, or the file may end before its container says
(:attr:`Transcript.warnings <annotator.core.document.Transcript.warnings>`). Every format
must say so where a reader of the file sees it: :func:`warning_lines` gives them as
``WARNING: ...`` lines, which a format writes in its own comment syntax, escaped its own way
(WebVTT: a ``NOTE`` block of its own, first; ASS: ``;`` comment lines at the top of
``[Script Info]``; SRT, which has no comments: a first, labelled cue; JSON:
``provenance.warnings``). A new format must do the same; ``tests/formats/test_warnings.py``
checks every registered format.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import PurePath
from typing import ClassVar

from annotator.core.document import Transcript
from annotator.core.model import Segment
from annotator.formats.text import one_line

#: What ``--captions`` may ask caption formats (SRT, WebVTT, ASS) to write.
CAPTIONS = ("original", "translation", "both")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")


class FormatBase(ABC):
    """Base class of export formats; subclasses are used as classes, never instantiated."""

    #: Short lowercase name used on the command line (``--format json,srt``).
    identifier: ClassVar[str]
    #: File extension with its dot (``.srt``).
    extension: ClassVar[str]
    #: One line for help texts.
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def to_string(cls, transcript: Transcript) -> str:
        """The whole file, as text with ``\\n`` line ends (written as UTF-8)."""


def caption_lines(transcript: Transcript, seg: Segment) -> list[tuple[str, str | None]]:
    """The lines of one caption as (raw text, language tag or None), as
    :attr:`Transcript.captions <annotator.core.document.Transcript.captions>` asks: the
    original, the translation (segments without one keep their original), or both, the
    original above. Text is raw: each format escapes it its own way; the language tag is a
    well-formed code or None (it is never taken as markup)."""
    recorded = transcript.language_of(seg)
    original_tag = recorded.language if recorded is not None else ""
    translated = transcript.translation_of(seg)
    original = (seg.text, _tag(original_tag))
    if translated is None or not translated.text.strip() or transcript.captions == "original":
        return [original]
    translation = (translated.text, _tag(translated.language))
    return [translation] if transcript.captions == "translation" else [original, translation]


def _tag(code: str) -> str | None:
    return code if _LANGUAGE_TAG.fullmatch(code or "") else None


def warning_lines(transcript: Transcript) -> list[str]:
    """Each of the transcript's warnings as one ``WARNING: ...`` line (:func:`one_line`-clean;
    each format still escapes them for its own syntax)."""
    return [one_line(f"WARNING: {warning}") for warning in transcript.warnings]


def provenance_lines(transcript: Transcript) -> list[str]:
    """Provenance in a few human-readable lines, for formats with room for a comment header
    (WebVTT ``NOTE``, ASS ``[Script Info]`` comments). Each line is :func:`one_line`-clean.

    The media appears by file name and hash only: a folder path can name people and places
    and does not identify the file anyway (the JSON export keeps the full path).
    """
    media = transcript.media
    lines = [
        f"Transcript exported by annotator {transcript.tool_version}"
        f" at {transcript.exported_at or 'an unknown time'}",
        f"Media: {PurePath(media.path).name} sha256 {media.sha256}",
    ]
    run = transcript.run
    if run is None:
        lines.append("Model: none (no finished transcription run)")
    else:
        lines.append(f"Model: {run.model_id} sha256 {run.model_sha256 or 'unknown'}")
        if run.language:
            lines.append(f"Language: {run.language}")
    cb = transcript.codebook_info
    if cb is not None:
        lines.append(
            f"Codebook: {cb.get('name', '')} {cb.get('version', '')} sha256 {cb.get('sha256', '')}"
        )
    return [one_line(line) for line in lines]
