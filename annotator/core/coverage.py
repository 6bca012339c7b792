"""Speech heard but not written: the stretches a transcript leaves out, and why.

A reviewer cannot tell a quiet minute from a minute the machine did not write down. Several
rules drop heard speech without a word: the engine skips a window it judges silent (its
no-speech probability above the threshold with a low log probability), annotator's silence
check holds a segment back, a token budget stops a decode early, or the decoder simply writes
nothing for a noisy stretch. Measured on ami_debug_dev00 (a real meeting) with noise at 5 dB
SNR, 8 kHz and 16 kbps MP3 applied: a voice activity detector hears 28.2 s of speech in 30 s;
tiny.en writes segments over 13.5 s of it.

This module is the pure part: interval arithmetic over integer milliseconds. It takes where a
voice activity detector hears speech, where the stored segments lie, and what the engine
reported about the rest (held-back segments, windows it skipped), and returns the gaps with
their reason. The transcription stage calls it per run; the workspace stores the gaps; the
summary, ``annotator list``, the JSON export and the review app show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Span = tuple[int, int]

#: Heard speech left uncovered for less than this is not a gap: segment edges and the
#: detector's edges disagree by a few hundred milliseconds on every clean clip.
MIN_GAP_MS = 1000
#: Uncovered stretches closer than this are one gap (a breath inside a missed sentence).
JOIN_MS = 300
#: A file whose written speech is below this share of heard speech gets a warning...
LOW_SHARE = 0.5
#: ...when at least this much speech was heard (a short clip's edges are not a warning).
LOW_MIN_HEARD_MS = 5000

#: Why a stretch of heard speech has no text, most specific first.
HELD_BACK = "held back as heard in silence"
ENGINE_SKIPPED = "engine judged no speech"
BUDGET_CUT = "decode stopped by the token budget"
NOT_DECODED = "no text decoded"


@dataclass(frozen=True, slots=True)
class SpeechGap:
    """A stretch where speech was heard and nothing was written, with the rule that dropped
    it (``reason``) and the figures behind it (``detail``: probabilities, held-back text)."""

    start_ms: int
    end_ms: int
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_ms": self.start_ms, "end_ms": self.end_ms, "reason": self.reason,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much heard speech a run wrote down."""

    heard_ms: int
    written_ms: int
    gaps: tuple[SpeechGap, ...] = ()

    @property
    def share(self) -> float:
        return self.written_ms / self.heard_ms if self.heard_ms else 1.0

    @property
    def low(self) -> bool:
        """True when so much heard speech is missing that a reviewer must be told."""
        return self.heard_ms >= LOW_MIN_HEARD_MS and self.share < LOW_SHARE

    def summary(self) -> str:
        """"speech heard 34 s, written 3 s" (whole seconds: what a reader compares)."""
        return f"speech heard {round(self.heard_ms / 1000)} s, written " \
               f"{round(self.written_ms / 1000)} s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "heard_ms": self.heard_ms, "written_ms": self.written_ms,
            "low": self.low, "gaps": [g.to_dict() for g in self.gaps],
        }


def merge(spans: Iterable[Span], join_ms: int = 0) -> list[Span]:
    """Sorted, non-overlapping spans; spans closer than ``join_ms`` become one."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1] + join_ms:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total_ms(spans: Iterable[Span]) -> int:
    return sum(end - start for start, end in merge(spans))


def subtract(spans: Iterable[Span], cuts: Iterable[Span]) -> list[Span]:
    """The parts of ``spans`` outside every span of ``cuts``."""
    holes = merge(cuts)
    out: list[Span] = []
    for start, end in merge(spans):
        position = start
        for cut_start, cut_end in holes:
            if cut_end <= position or cut_start >= end:
                continue
            if cut_start > position:
                out.append((position, cut_start))
            position = max(position, cut_end)
        if position < end:
            out.append((position, end))
    return out


def overlap_ms(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


@dataclass(frozen=True, slots=True)
class Dropped:
    """What the engine reported about a stretch it wrote no draft text for: a held-back
    segment (``reason`` HELD_BACK) or a skipped window (ENGINE_SKIPPED), with figures."""

    start_ms: int
    end_ms: int
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def find_gaps(
    heard: Iterable[Span], written: Iterable[Span], dropped: Sequence[Dropped] = (),
    *, min_gap_ms: int = MIN_GAP_MS, join_ms: int = JOIN_MS,
) -> list[SpeechGap]:
    """Every stretch of ``heard`` speech (at least ``min_gap_ms`` long once stretches closer
    than ``join_ms`` are joined) that no ``written`` segment covers, each with the reason of
    the ``dropped`` report overlapping it most (held-back text before a skipped window when
    they tie), else :data:`NOT_DECODED`."""
    uncovered = subtract(heard, written)
    gaps: list[SpeechGap] = []
    for start, end in merge(uncovered, join_ms):
        if end - start < min_gap_ms:
            continue
        best: Dropped | None = None
        best_overlap = 0
        for report in dropped:
            shared = overlap_ms((start, end), (report.start_ms, report.end_ms))
            if shared > best_overlap or (
                shared == best_overlap and shared and best is not None
                and best.reason != HELD_BACK and report.reason == HELD_BACK
            ):
                best, best_overlap = report, shared
        if best is None:
            gaps.append(SpeechGap(start, end, NOT_DECODED))
        else:
            gaps.append(SpeechGap(start, end, best.reason, dict(best.detail)))
    return gaps


def measure(
    heard: Iterable[Span], written: Iterable[Span], dropped: Sequence[Dropped] = (),
) -> Coverage:
    """Heard and written speech and the gaps between them, for one run."""
    heard_spans, written_spans = merge(heard), merge(written)
    uncovered = total_ms(subtract(heard_spans, written_spans))
    heard_total = total_ms(heard_spans)
    gaps = find_gaps(heard_spans, written_spans, dropped)
    return Coverage(heard_total, heard_total - uncovered, tuple(gaps))
