"""Advanced SubStation Alpha (ASS): captions for editors such as Aegisub and for libass.

Written with pysubs2. Each speaker gets a style of its own with a distinct colour (the first
ten speakers get ten different colours, then the palette repeats); segments without a speaker
use the white ``Default`` style. Every event's Name field is the speaker label; libass shows
a speaker only as the style's colour, so the event text also starts with a visible label
(``Officer: text``, ``--labels``: see :mod:`annotator.formats.labels`). Tags are
written as ``Comment`` events over the same time span (``tags: Strike on window or vehicle;
ICE``), which editors list but renderers never draw. Provenance goes in the comment lines at
the top of ``[Script Info]``, after ``WARNING:`` lines when the transcript has warnings (a
partial or truncated transcript). ASS times have centisecond resolution: pysubs2 rounds each
time to the nearest 10 ms, as Aegisub does (the JSON export keeps the exact milliseconds).

ASS text is markup: ``{...}`` is an override block and ``\\N``, ``\\n`` and ``\\h`` are line
breaks and hard spaces, so braces and backslashes in transcript text become their full-width
look-alikes (see :mod:`annotator.formats.text`); a literal backslash can then never start an
override or a line break. Style and Name fields are comma-separated, so commas in labels
become full-width commas (U+FF0C) too.
"""

from __future__ import annotations

from pathlib import PurePath

import pysubs2

from annotator.core.document import Transcript
from annotator.core.model import Segment, Speaker
from annotator.formats.base import FormatBase, caption_lines, provenance_lines, warning_lines
from annotator.formats.labels import caption_label, labelled
from annotator.formats.text import lookalike_markup, one_line

DEFAULT_STYLE = "Default"

#: Primary colours (RGB) for speakers, chosen to stay distinct on video and to each other.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 221, 0),  # yellow
    (0, 212, 255),  # cyan
    (120, 255, 120),  # light green
    (255, 150, 50),  # orange
    (255, 120, 210),  # pink
    (150, 160, 255),  # periwinkle
    (200, 255, 0),  # lime
    (255, 120, 120),  # salmon
    (200, 140, 255),  # violet
    (0, 200, 160),  # teal
)


def safe_text(text: str) -> str:
    """Event text made inert: one line, no controls, no override braces or backslashes."""
    return lookalike_markup(one_line(text))


def safe_field(text: str) -> str:
    """A Style or Name field value: :func:`safe_text` without commas (field separators)."""
    return safe_text(text).replace(",", "\uff0c")


def speaker_styles(transcript: Transcript) -> dict[int, str]:
    """Speaker id -> style name: the label made field-safe, made unique if it must be."""
    names: dict[int, str] = {}
    taken = {DEFAULT_STYLE.casefold()}
    for sp_id, sp in sorted(transcript.speakers.items()):
        name = safe_field(sp.label) or f"Speaker {sp_id}"
        while name.casefold() in taken:
            name = f"{name} #{sp_id}"
        taken.add(name.casefold())
        names[sp_id] = name
    return names


def _style(index: int) -> pysubs2.SSAStyle:
    style: pysubs2.SSAStyle = pysubs2.SSAStyle.DEFAULT_STYLE.copy()
    style.primarycolor = pysubs2.Color(*PALETTE[index % len(PALETTE)])
    return style


def tags_comment(transcript: Transcript, seg: Segment) -> str:
    """``tags: Label one; Label two`` with codebook labels."""
    return "tags: " + "; ".join(safe_text(transcript.tag_label(key)) for key in seg.tags)


def event_text(transcript: Transcript, seg: Segment) -> str:
    """The caption's lines joined by ``\\N`` (a bilingual caption: the original above its
    translation), the first starting with the visible label (:func:`caption_label`)."""
    text = "\\N".join(safe_text(line) for line, _tag in caption_lines(transcript, seg))
    label = caption_label(transcript, seg)
    return labelled(safe_text(label) if label is not None else None, text)


class AssFormat(FormatBase):
    """ASS subtitles: a style per speaker, Name = speaker, tags as Comment events."""

    identifier = "ass"
    extension = ".ass"
    description = "Advanced SubStation Alpha: a coloured style per speaker, tags as comments"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        subs = pysubs2.SSAFile()
        subs.info["Title"] = safe_text(
            f"annotator transcript of {PurePath(transcript.media.path).name}"
        )
        styles = speaker_styles(transcript)
        for index, name in enumerate(styles.values()):
            subs.styles[name] = _style(index)
        for seg in transcript.caption_cues():
            speaker: Speaker | None = transcript.speaker_of(seg)
            style = styles[speaker.id] if speaker is not None else DEFAULT_STYLE
            name = safe_field(speaker.label) if speaker is not None else ""
            start = max(seg.start_ms, 0)
            end = max(seg.end_ms, start)
            subs.append(
                pysubs2.SSAEvent(
                    start=start, end=end, style=style, name=name, text=event_text(transcript, seg),
                )
            )
            if seg.tags:
                subs.append(
                    pysubs2.SSAEvent(
                        start=start, end=end, text=tags_comment(transcript, seg), style=style,
                        name=name, type="Comment",
                    )
                )
        notice = "\n".join(
            [f"Script generated by annotator {transcript.tool_version} with pysubs2",
             *warning_lines(transcript), *provenance_lines(transcript)]
        )
        text: str = subs.to_string("ass", header_notice=notice)
        return text
