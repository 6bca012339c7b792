"""WebVTT: captions for browsers (``<track>``) and players, with speakers and provenance.

Written by hand because pysubs2's WebVTT writer has neither voice spans nor comment blocks:

- a ``NOTE`` block after the header records where the captions came from (media SHA-256,
  model id and SHA-256, language, codebook, tool version, export time); when the transcript
  has warnings (a partial or truncated transcript), a ``NOTE`` block of ``WARNING:`` lines
  comes before it;
- each segment is one numbered cue; when the segment has a speaker the text is wrapped in a
  voice span, ``<v Speaker label>text</v>``, which players can style and screen readers can
  announce; browsers and players do not print that name, so the cue text itself also starts
  with a visible label, ``<v Officer>Officer: text</v>`` (``--labels``, see
  :mod:`annotator.formats.labels`; the voice span stays whatever the labels);
- timestamps are ``HH:MM:SS.mmm``.

Escaping follows the WebVTT spec: in cue text and in the voice annotation ``&``, ``<`` and
``>`` become ``&amp;``, ``&lt;`` and ``&gt;``, so no text can open a tag or close the voice
span, and ``-->`` can only appear as ``--&gt;``. Text is also folded onto one line (a blank
line would end the cue) and cleared of control characters (:mod:`annotator.formats.text`);
timestamp-shaped text has its colons swapped for U+2236 RATIO so lenient parsers cannot take a
caption line for a timing line. A ``NOTE`` block is not cue text (entities are not decoded
there), so its values are folded onto one line and any ``-->`` (which would end the comment)
is shortened to ``->``.
"""

from __future__ import annotations

import html

from annotator.core.document import Transcript
from annotator.core.model import Segment
from annotator.formats.base import FormatBase, caption_lines, provenance_lines, warning_lines
from annotator.formats.labels import caption_label, labelled
from annotator.formats.text import break_timestamps, one_line


def timestamp(ms: int) -> str:
    """``HH:MM:SS.mmm`` (hours grow past two digits for very long media)."""
    ms = max(ms, 0)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def escape_text(text: str) -> str:
    """Cue text or a voice name made inert: one line, no controls, entities for ``& < >``."""
    return break_timestamps(html.escape(one_line(text), quote=False))


def comment_value(text: str) -> str:
    """A ``NOTE`` line: one line, no controls, never ``-->`` (a spec parser would read the
    line as cue timings and turn the comment into a cue), no timestamp-shaped text."""
    text = one_line(text)
    while "-->" in text:
        text = text.replace("-->", "->")
    return break_timestamps(text)


def cue_payload(transcript: Transcript, seg: Segment) -> str:
    """The cue text, with a voice span when the segment has a speaker, the visible label
    (:func:`caption_label`) before the first line, and each line in a ``<lang xx>`` span when
    its language is known (a bilingual caption: the original line, then the translation's)."""
    lines = [
        f"<lang {tag}>{escape_text(line)}</lang>" if tag else escape_text(line)
        for line, tag in caption_lines(transcript, seg) if one_line(line)
    ]
    shown = caption_label(transcript, seg)
    if lines and shown:
        lines[0] = labelled(escape_text(shown), lines[0])
    text = "\n".join(lines)
    label = transcript.speaker_label(seg)
    voice = escape_text(label) if label is not None else ""
    return f"<v {voice}>{text}</v>" if voice else text


class VttFormat(FormatBase):
    """WebVTT captions with voice spans and a provenance ``NOTE``."""

    identifier = "vtt"
    extension = ".vtt"
    description = "WebVTT captions with <v Speaker> voice spans and a provenance NOTE"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        note = [comment_value(line) for line in provenance_lines(transcript)]
        out = ["WEBVTT", ""]
        warnings = [comment_value(line) for line in warning_lines(transcript)]
        if warnings:  # first, in a block of their own: the first thing a reader sees
            out += ["NOTE", *warnings, ""]
        out += ["NOTE", *note, ""]
        for number, seg in enumerate(transcript.caption_cues(), 1):
            end = max(seg.end_ms, seg.start_ms)
            out += [str(number), f"{timestamp(seg.start_ms)} --> {timestamp(end)}"]
            payload = cue_payload(transcript, seg)
            if payload:
                out.append(payload)
            out.append("")
        return "\n".join(out).rstrip("\n") + "\n"
