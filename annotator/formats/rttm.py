"""RTTM: who spoke when, in the format diarization scoring tools read (NIST md-eval, dscore,
pyannote.metrics).

One line per speaker turn::

    SPEAKER <file> 1 <start s> <duration s> <NA> <NA> <speaker> <NA> <NA>

The speaker of a turn is the one a person set on the segment; where none is set, the open
voice suggestion ("Voice_B", see :mod:`annotator.core.suggestions`), split into several
turns where the words change voice (the per-word voices the suggestion keeps). Segments with
neither are left out: nobody knows who spoke there. RTTM fields are separated by spaces, so
whitespace in names and the file id becomes ``_`` (the JSON export keeps the real labels).
Warnings (a partial transcript) are written first as ``;;`` comment lines, which md-eval and
dscore skip.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from annotator.core.document import Transcript
from annotator.core.model import Segment
from annotator.core.suggestions import Kind, Status, Suggestion
from annotator.formats.base import FormatBase, warning_lines

_SPACE = re.compile(r"\s+")

Turn = tuple[int, int, str]


class RttmFormat(FormatBase):
    """Speaker turns for diarization scoring."""

    identifier = "rttm"
    extension = ".rttm"
    description = "speaker turns (named speakers, else voice suggestions) for diarization scoring"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        file_id = field(PurePath(transcript.media.path).stem) or "media"
        lines = [f";; {field(w, keep_spaces=True)}" for w in warning_lines(transcript)]
        for start, end, name in turns(transcript):
            lines.append(
                f"SPEAKER {file_id} 1 {start / 1000:.3f} {(end - start) / 1000:.3f}"
                f" <NA> <NA> {name} <NA> <NA>"
            )
        return "\n".join(lines) + "\n" if lines else ""


def field(text: str, *, keep_spaces: bool = False) -> str:
    """One RTTM field: no line breaks, and no whitespace unless ``keep_spaces`` (comments)."""
    flat = " ".join(text.split())
    return flat if keep_spaces else _SPACE.sub("_", flat)


def turns(transcript: Transcript) -> list[Turn]:
    """(start ms, end ms, speaker) per turn, in time order."""
    voices: dict[int, list[Suggestion]] = {}
    for sug in transcript.suggestions:
        if sug.kind is Kind.SPEAKER and sug.status is Status.OPEN and sug.segment_id is not None:
            voices.setdefault(sug.segment_id, []).append(sug)
    out: list[Turn] = []
    for seg in transcript.segments:
        label = transcript.speaker_label(seg)
        if label is not None:
            out.append((seg.start_ms, seg.end_ms, field(label)))
            continue
        for sug in sorted(voices.get(seg.id, []), key=lambda s: s.start_ms):
            out += _voice_turns(seg, sug)
    return [t for t in out if t[1] > t[0]]


def _voice_turns(seg: Segment, sug: Suggestion) -> list[Turn]:
    """The turns of a segment by its voice suggestion: one per run of words of the same
    voice (the suggestion keeps one voice per word of the segment), else one turn."""
    per_word = sug.detail.get("word_voices")
    if not isinstance(per_word, list) or len(per_word) != len(seg.words) or not seg.words:
        start, end = max(seg.start_ms, sug.start_ms), min(seg.end_ms, sug.end_ms)
        return [(start, end, field(f"Voice {sug.value}"))]
    out: list[Turn] = []
    run_start, run_voice = seg.start_ms, str(per_word[0])
    for w, voice in zip(seg.words[1:], per_word[1:], strict=True):
        if str(voice) != run_voice:
            out.append((run_start, w.start_ms, field(f"Voice {run_voice}")))
            run_start, run_voice = w.start_ms, str(voice)
    out.append((run_start, seg.end_ms, field(f"Voice {run_voice}")))
    return out
