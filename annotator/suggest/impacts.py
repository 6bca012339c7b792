"""What happened: short impulsive sounds (strikes on a window or a car body, glass breaking,
door slams, shots) found by signal processing, and grouped into bursts.

No model: the recordings that matter (a window struck again and again during an arrest) are
rare and varied, and what makes a strike a strike is physical. An impact here is

- a sharp onset: the 5-ms envelope rises at least :data:`RISE_DB` within :data:`RISE_S`,
  to at least :data:`ABOVE_BACKGROUND_DB` above the median level of the preceding half
  second;
- loud for the recording: its peak :data:`ABOVE_LOUDEST_DB` above the loudest speech (the
  95th percentile of the envelope): the strikes that matter are louder than the talk, and
  consonant bursts, which are as sharp and as aperiodic, are not (measured on the demo clip:
  strikes +5 to +6 dB, espeak's consonants up to +3 dB). Quieter strikes are missed;
- short: the envelope falls :data:`DECAY_DB` below the peak after :data:`MIN_LENGTH_S` and
  within :data:`MAX_LENGTH_S`;
- standing out: its peak tops the loudest moment of the preceding 150 ms by
  :data:`STANDS_OUT_DB` (a consonant inside a word does not; a strike over speech, loud
  enough to matter, does);
- not voiced: a word after a pause starts just as sharply, but a voice is periodic, and the
  loud body of the sound (down to :data:`BODY_DB` below its peak) reaches its vowel; a
  strike's or shattering glass's body has no pitch period (:func:`_voicing`).

Its kind comes from its spectrum: ``glass`` when most of the energy lies above 3 kHz (shards
ring high and long), ``knock`` when most of it lies below 1.5 kHz (a fist or a baton on a
pane or a door, a body panel), ``impulse`` otherwise (a shot, a slam, a clap). Impacts less
than :data:`BURST_GAP_S` apart form a :class:`Burst` ("12 strikes, 05:12-05:30").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SOURCE", "Burst", "Impact", "bursts", "detect"]

Floats = np.ndarray[Any, np.dtype[np.float32]]

VERSION = "1"
HOP_S = 0.005
RISE_DB = 12.0
RISE_S = 0.02
ABOVE_BACKGROUND_DB = 6.0
BACKGROUND_S = 0.5
ABOVE_LOUDEST_DB = 4.0
MIN_LENGTH_S = 0.025
#: The body (within BODY_DB of the peak) lasts at least this long: a click is one frame.
MIN_BODY_S = 0.01
DECAY_DB = 15.0
MAX_LENGTH_S = 0.8
#: The peak must also top the loudest 5 ms of the preceding RECENT_S by this much (shorter
#: than the spacing of strikes in a burst, so the previous strike does not hide the next).
STANDS_OUT_DB = 3.0
RECENT_S = 0.15
#: The body (where periodicity is checked) ends where the level falls this far below the peak.
BODY_DB = 6.0
#: Periodicity (see :func:`_voicing`) at or above which a candidate is a voice.
VOICED = 0.3
GLASS_HZ, KNOCK_HZ = 3000.0, 1500.0
BURST_GAP_S = 2.0

SOURCE: dict[str, Any] = {
    "detector": "annotator.suggest.impacts",
    "version": VERSION,
    "method": "envelope onsets, loudness and decay gates, cepstral voicing check, "
              "spectral balance for the kind",
    "settings": {
        "hop_s": HOP_S, "rise_db": RISE_DB, "rise_s": RISE_S,
        "above_background_db": ABOVE_BACKGROUND_DB, "background_s": BACKGROUND_S,
        "above_loudest_db": ABOVE_LOUDEST_DB, "min_length_s": MIN_LENGTH_S,
        "min_body_s": MIN_BODY_S, "decay_db": DECAY_DB, "max_length_s": MAX_LENGTH_S,
        "stands_out_db": STANDS_OUT_DB, "recent_s": RECENT_S, "body_db": BODY_DB,
        "voiced": VOICED, "glass_hz": GLASS_HZ, "knock_hz": KNOCK_HZ,
        "burst_gap_s": BURST_GAP_S,
    },
}


@dataclass(frozen=True)
class Impact:
    """One impulsive sound (seconds). ``strength``: its peak level above the recording's
    loud speech (95th percentile of the 5-ms envelope), in dB, comparable between the
    impacts of one recording. ``confidence`` in [0, 1]: lower when it rose little above
    what came before or when its sound is nearly periodic."""

    start: float
    end: float
    strength: float
    kind: str  # "knock" | "glass" | "impulse"
    confidence: float


@dataclass(frozen=True)
class Burst:
    """Impacts in quick succession: ``count`` of them from ``start`` to ``end``; ``kind`` is
    the most common kind, ``strength`` the strongest, ``confidence`` the mean."""

    start: float
    end: float
    count: int
    kind: str
    strength: float
    confidence: float
    impacts: tuple[Impact, ...]

    @property
    def label(self) -> str:
        """``12 strikes``, ``1 knock``, ``glass breaking``: what a caption cue says."""
        if self.kind == "glass":
            return "glass breaking"
        noun = "strike" if self.kind == "knock" else "impact"
        return f"{self.count} {noun}{'s' if self.count != 1 else ''}"


def detect(samples: Floats, sample_rate: int) -> list[Impact]:
    """Impacts in ``samples`` (float mono), in time order."""
    audio = np.asarray(samples, dtype=np.float64)
    hop = max(1, int(sample_rate * HOP_S))
    count = audio.size // hop
    if count < 10:
        return []
    frames = audio[: count * hop].reshape(count, hop)
    level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-10)
    loud = float(np.percentile(level, 95))
    rise_frames = max(1, round(RISE_S / HOP_S))
    background_frames = round(BACKGROUND_S / HOP_S)
    max_frames = round(MAX_LENGTH_S / HOP_S)
    recent_frames = round(RECENT_S / HOP_S)
    impacts: list[Impact] = []
    # the onsets (frames rising RISE_DB over the lowest of the frames just before), found at
    # once; the checks below run only there, the cheap ones first (the median of the
    # background was most of the pass's time when it ran at every onset)
    lowest = np.lib.stride_tricks.sliding_window_view(level[:-1], rise_frames).min(axis=1)
    onsets = np.flatnonzero(level[rise_frames:] - lowest >= RISE_DB) + rise_frames
    i = rise_frames
    while i < count:
        following = int(np.searchsorted(onsets, i))
        if following == onsets.size:
            break
        i = int(onsets[following])
        peak_at = i + int(np.argmax(level[i : i + rise_frames + 1]))
        peak = float(level[peak_at])
        if peak < loud + ABOVE_LOUDEST_DB:
            i += 1
            continue
        recent_part = level[max(0, i - rise_frames - recent_frames) : i - rise_frames + 1]
        recent = float(recent_part.max()) if recent_part.size else -100.0
        tail = level[peak_at : peak_at + max_frames]
        fallen = np.nonzero(tail < peak - DECAY_DB)[0]
        if peak < recent + STANDS_OUT_DB or not fallen.size:
            i += 1
            continue
        history = level[max(0, i - background_frames) : i - rise_frames + 1]
        background = float(np.median(history)) if history.size else -100.0
        if peak - background < ABOVE_BACKGROUND_DB:
            i += 1
            continue
        end_at = peak_at + int(fallen[0])
        if (end_at - i + 1) * HOP_S < MIN_LENGTH_S:
            i += 1
            continue
        body = np.nonzero(tail < peak - BODY_DB)[0]
        body_end = peak_at + (int(body[0]) if body.size else int(fallen[0]))
        if (body_end - peak_at) * HOP_S < MIN_BODY_S:  # a click, not a blow
            i += 1
            continue
        start_sample, end_sample = (i - 1) * hop, end_at * hop
        voicing = _voicing(audio[start_sample : max(body_end * hop, start_sample + 1)],
                           sample_rate)
        if voicing >= VOICED:
            i = end_at
            continue
        # the kind from the body alone: the tail of a strike over speech is mostly speech
        kind = _kind(audio[start_sample : max(body_end * hop, start_sample + 512)],
                     sample_rate)
        confidence = min(1.0, 0.6 + (peak - background - ABOVE_BACKGROUND_DB) / 20) * \
            (1.0 - 0.5 * voicing / VOICED)
        impacts.append(Impact(round(start_sample / sample_rate, 3),
                              round(end_sample / sample_rate, 3),
                              round(peak - loud, 1), kind, round(confidence, 3)))
        i = end_at + 1
    return impacts


def _voicing(piece: np.ndarray[Any, Any], sample_rate: int) -> float:
    """How periodic the loud body of a candidate is: the highest normalised autocorrelation
    at pitch periods of 2.5-12.5 ms (80-400 Hz) over its 40-ms windows (10-ms steps), on the
    first difference of the signal (which flattens the spectral tilt, so low-passed noise
    does not look periodic). Strikes and breaking glass measured 0.1-0.25, vowels 0.4-0.9;
    the windows must reach the vowel, hence the whole body rather than the onset."""
    size, step = int(0.04 * sample_rate), int(0.01 * sample_rate)
    lo, hi = int(0.0025 * sample_rate), int(0.0125 * sample_rate)
    diff = np.diff(piece)
    best = 0.0
    for start in range(0, max(1, diff.size - size + 1), step):
        window = diff[start : start + size]
        if window.size < hi * 2:
            break
        window = window * np.hanning(window.size)
        spectrum = np.abs(np.fft.rfft(window, n=2 * window.size)) ** 2
        corr = np.fft.irfft(spectrum)[: window.size]
        if corr[0] <= 0:
            continue
        best = max(best, float(corr[lo:hi].max() / corr[0]))
    return best


def _kind(piece: np.ndarray[Any, Any], sample_rate: int) -> str:
    if piece.size < 64:
        return "impulse"
    power = np.abs(np.fft.rfft(piece * np.hanning(piece.size))) ** 2
    freqs = np.fft.rfftfreq(piece.size, 1.0 / sample_rate)
    total = float(power.sum()) + 1e-12
    if float(power[freqs >= GLASS_HZ].sum()) / total >= 0.5:
        return "glass"
    if float(power[freqs <= KNOCK_HZ].sum()) / total >= 0.6:
        return "knock"
    return "impulse"


def bursts(impacts: list[Impact]) -> list[Burst]:
    """Impacts less than :data:`BURST_GAP_S` apart, grouped (a lone impact is a burst of
    one)."""
    groups: list[list[Impact]] = []
    for impact in sorted(impacts, key=lambda x: x.start):
        if groups and impact.start - groups[-1][-1].end <= BURST_GAP_S:
            groups[-1].append(impact)
        else:
            groups.append([impact])
    result = []
    for group in groups:
        kind = Counter(x.kind for x in group).most_common(1)[0][0]
        result.append(Burst(
            start=group[0].start, end=max(x.end for x in group), count=len(group), kind=kind,
            strength=max(x.strength for x in group),
            confidence=round(sum(x.confidence for x in group) / len(group), 3),
            impacts=tuple(group)))
    return result
