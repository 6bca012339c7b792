"""SubRip (SRT): captions for any video player, one cue per segment.

Written with pysubs2. A cue reads ``Speaker label: text`` when the segment has a speaker
(the label as the reviewer typed it) and just the text otherwise; ``--labels name+agency``
adds the line's agency (``Officer (Local police): text``) and ``--labels none`` leaves the
label out (see :mod:`annotator.formats.labels`). SRT has no room for provenance or tags; use
the JSON export for those.

SRT has no comment syntax either, so a transcript with warnings (a run still in progress or
interrupted, a file that ends early) gets a first cue of its own, from 0:00 to
:data:`WARNING_CUE_MS`, reading ``[annotator] WARNING: partial transcript: ...``. Text placed
before the first cue is dropped or misread differently by each player and parser, and a
zero-length cue is hidden by some players and shown until the next cue by others; a short,
labelled cue is kept and shown the same way everywhere. It is deliberately visible: captions
of a partial transcript must not pass for complete ones.

SRT players interpret HTML-like tags (``<i>``, ``<font color=...>``) and ASS override blocks
(``{\\an8}`` moves a caption to the top of the picture), and pysubs2 turns ``\\N`` into a line
break, so text goes through :func:`annotator.formats.text.one_line`,
:func:`~annotator.formats.text.lookalike_markup` (full-width forms U+FF1C, U+FF1E, U+FF5B,
U+FF5D, U+FF3C, which read the same but are never markup) and
:func:`~annotator.formats.text.break_timestamps` (a line with two timestamps in it would be read
as the timing line of a forged cue).
"""

from __future__ import annotations

import pysubs2

from annotator.core.document import Transcript
from annotator.core.model import Segment
from annotator.formats.base import FormatBase, caption_lines, warning_lines
from annotator.formats.labels import caption_label, labelled
from annotator.formats.text import break_timestamps, lookalike_markup, one_line

#: How long the warning cue of a partial transcript shows (from the start of the media).
WARNING_CUE_MS = 5000


def safe_text(text: str) -> str:
    """Transcript text made inert for SRT (and for pysubs2's SubStation-based model)."""
    return break_timestamps(lookalike_markup(one_line(text)))


def cue_text(transcript: Transcript, seg: Segment) -> str:
    """The text of one cue: ``label: text`` when there is a label (:func:`caption_label`); a
    bilingual caption puts the translation on a line of its own below the original (pysubs2
    writes ``\\N`` as a line break; escaped text can hold no backslash)."""
    text = "\\N".join(safe_text(line) for line, _tag in caption_lines(transcript, seg))
    label = caption_label(transcript, seg)
    return labelled(safe_text(label) if label is not None else None, text)


class SrtFormat(FormatBase):
    """SubRip captions with speaker prefixes."""

    identifier = "srt"
    extension = ".srt"
    description = "SubRip captions, 'Speaker: text' per segment"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        subs = pysubs2.SSAFile()
        warnings = [safe_text(f"[annotator] {line}") for line in warning_lines(transcript)]
        if warnings:
            # pysubs2 writes "\N" as a line break: one warning per line of the cue.
            subs.append(pysubs2.SSAEvent(start=0, end=WARNING_CUE_MS, text="\\N".join(warnings)))
        for seg in transcript.caption_cues():
            start = max(seg.start_ms, 0)
            subs.append(
                pysubs2.SSAEvent(
                    start=start, end=max(seg.end_ms, start), text=cue_text(transcript, seg)
                )
            )
        text: str = subs.to_string("srt")
        return text
