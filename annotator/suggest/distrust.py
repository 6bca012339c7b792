"""The distrust queue: lines a reviewer should check first, each with why.

Pure functions over segments (and, when known, where a voice activity detector heard
speech); the runner stores each flagged segment as a suggestion of kind "distrust" whose
value lists the reason codes and whose detail gives each reason in words with its figure.
Accepting one marks the segment disputed; rejecting it dismisses the flag.

The thresholds, and why:

- :data:`LOW_LOGPROB` -1.0: whisper's own ``log_prob_threshold``; below it the decoder
  itself would have retried the window at a higher temperature.
- :data:`HIGH_NO_SPEECH` 0.6: whisper's ``no_speech_threshold``: the model thought the window
  more likely silent than not, yet wrote text. Whisper gives that figure per 30-s window,
  shared by every segment decoded in it: on its own it flagged 11 of the demo clip's 16 clean
  lines (no-speech 0.64, log-probability -0.14, measured), so it counts only with a
  log-probability below :data:`NO_SPEECH_LOGPROB` -0.5 (whisper itself needs both).
- :data:`HIGH_COMPRESSION` 2.4: whisper's ``compression_ratio_threshold``; text that
  compresses that well is usually a loop. A loop is also flagged when one to four words
  repeat :data:`LOOP_REPEATS` times in a row ("no no no no").
- a line repeated from the previous segment (same words, case and punctuation aside, at
  least :data:`MIN_REPEAT_WORDS` words): whisper's commonest hallucination in a pause.
- :data:`MAX_WORDS_PER_S` 6.0 / :data:`MIN_WORDS_PER_S` 0.5: conversational English runs
  2-3 words a second, fast speech about 4-5; more than 6 means words were invented or the
  timing is wrong; fewer than 0.5 over at least :data:`SLOW_MIN_MS` means the segment spans
  speech that was not written (or silence that was).
- :data:`MIN_HEARD_SHARE` 0.2: a segment whose span the VAD heard as speech for less than a
  fifth of its length is text over silence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from annotator.core.coverage import overlap_ms
from annotator.core.model import Segment
from annotator.core.suggestions import Kind, Proposal

LOW_LOGPROB = -1.0
HIGH_NO_SPEECH = 0.6
NO_SPEECH_LOGPROB = -0.5
HIGH_COMPRESSION = 2.4
LOOP_REPEATS = 4
MIN_REPEAT_WORDS = 2
MAX_WORDS_PER_S = 6.0
MIN_WORDS_PER_S = 0.5
SLOW_MIN_MS = 4000
FAST_MIN_WORDS = 4
MIN_HEARD_SHARE = 0.2

#: Name of this detector in a suggestion's source.
DETECTOR = "distrust"
SOURCE = {
    "detector": DETECTOR, "version": "1",
    "settings": {
        "low_logprob": LOW_LOGPROB, "high_no_speech": HIGH_NO_SPEECH,
        "no_speech_logprob": NO_SPEECH_LOGPROB,
        "high_compression": HIGH_COMPRESSION, "loop_repeats": LOOP_REPEATS,
        "max_words_per_s": MAX_WORDS_PER_S, "min_words_per_s": MIN_WORDS_PER_S,
        "min_heard_share": MIN_HEARD_SHARE,
    },
}

_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason to distrust a line: a stable code, a sentence, the figure behind it."""

    code: str
    why: str
    value: float

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "why": self.why, "value": self.value}


def words(text: str) -> list[str]:
    """The words of a text, lower case, without punctuation."""
    return _WORD.findall(text.lower())


def loop_length(tokens: Sequence[str], repeats: int = LOOP_REPEATS) -> int:
    """The length (1-4 words) of a phrase repeated ``repeats`` times in a row, else 0."""
    for size in range(1, 5):
        for start in range(0, len(tokens) - size * repeats + 1):
            phrase = tokens[start : start + size]
            if all(tokens[start + k * size : start + (k + 1) * size] == phrase
                   for k in range(1, repeats)):
                return size
    return 0


def reasons(
    seg: Segment, previous: Segment | None = None,
    speech: Sequence[tuple[int, int]] | None = None,
) -> list[Reason]:
    """Why ``seg`` deserves a second look (empty: no reason). ``previous``: the segment
    before it in time; ``speech``: where a VAD heard speech (None: not known)."""
    out: list[Reason] = []
    if seg.avg_logprob is not None and seg.avg_logprob < LOW_LOGPROB:
        out.append(Reason("low_logprob", f"low average log-probability ({seg.avg_logprob:.2f}"
                          f" < {LOW_LOGPROB})", seg.avg_logprob))
    if (seg.no_speech_prob is not None and seg.no_speech_prob > HIGH_NO_SPEECH
            and seg.avg_logprob is not None and seg.avg_logprob < NO_SPEECH_LOGPROB):
        out.append(Reason("no_speech", f"the model judged no speech likely"
                          f" ({seg.no_speech_prob:.2f} > {HIGH_NO_SPEECH})", seg.no_speech_prob))
    tokens = words(seg.text)
    loop = loop_length(tokens)
    ratio = seg.compression_ratio
    if loop:
        out.append(Reason("repetition_loop", f"{loop} word(s) repeated {LOOP_REPEATS}+ times"
                          " in a row", float(loop)))
    elif ratio is not None and ratio > HIGH_COMPRESSION:
        out.append(Reason("repetition_loop", f"text compresses like a loop (ratio {ratio:.2f}"
                          f" > {HIGH_COMPRESSION})", ratio))
    if (previous is not None and len(tokens) >= MIN_REPEAT_WORDS
            and tokens == words(previous.text)):
        out.append(Reason("repeated_line", "same words as the previous line",
                          float(previous.id)))
    seconds = max(seg.duration_ms, 1) / 1000
    rate = len(tokens) / seconds
    if len(tokens) >= FAST_MIN_WORDS and rate > MAX_WORDS_PER_S:
        out.append(Reason("too_fast", f"{rate:.1f} words/s for {seconds:.1f} s"
                          f" (> {MAX_WORDS_PER_S})", rate))
    elif seg.duration_ms >= SLOW_MIN_MS and rate < MIN_WORDS_PER_S:
        out.append(Reason("too_slow", f"{rate:.2f} words/s over {seconds:.1f} s"
                          f" (< {MIN_WORDS_PER_S})", rate))
    if speech is not None and seg.duration_ms > 0 and tokens:
        heard = sum(overlap_ms((seg.start_ms, seg.end_ms), span) for span in speech)
        share = heard / seg.duration_ms
        if share < MIN_HEARD_SHARE:
            out.append(Reason("silent_audio", f"the VAD heard speech under {share:.0%} of"
                              " the line", share))
    return out


def flag(
    segments: Sequence[Segment], speech: Sequence[tuple[int, int]] | None = None
) -> list[Proposal]:
    """One distrust proposal per segment with reasons; ``segments`` in time order."""
    out: list[Proposal] = []
    previous: Segment | None = None
    for seg in segments:
        found = reasons(seg, previous, speech)
        previous = seg
        if not found:
            continue
        out.append(Proposal(
            Kind.DISTRUST, seg.start_ms, seg.end_ms, ",".join(r.code for r in found), SOURCE,
            min(1.0, 0.5 + 0.25 * (len(found) - 1)), segment_id=seg.id,
            detail={"reasons": [r.to_dict() for r in found]},
        ))
    return out
