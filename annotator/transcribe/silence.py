"""Words heard in silence: how annotator keeps whisper's hallucinations out of the draft.

Whisper models produce fluent text for stretches with no speech. Measured on the demo clip
(tiny.en, beam 5): its last 0.75 s is silence that faster-whisper's VAD keeps (the VAD only
ends a chunk after 2 s of silence, and the file ends sooner). The deterministic decode of that
remnant repeats the previous line ("Do not hurt my baby.") at 58.5-59.2 s, is rejected as
repetitive, and the sampled retries that follow invent a line that was never said ("Take it
off.", "Stay in the car.", a different one on different runs) and cost 11 of the 15 seconds
the whole clip takes.

Two independent signals say a stretch is silent:

- the engine's own **no-speech probability** for the window is above its threshold (0.6);
- either the text only exists because a **sampled retry** produced it (``temperature`` > 0),
  or a second, finer VAD pass (Silero, threshold 0.3, 200 ms gaps, no padding) finds speech
  under less than a fifth of the segment. On the demo clip and the nine shared reference
  clips every real segment has more than half its span under such speech; the repeated
  line has none.

Only when both say so is a segment held back (:func:`judge`). It is not deleted: the workspace
keeps it with the run and the JSON export lists it under ``suppressed``.

:class:`~annotator.transcribe.whisper_model.SilenceAwareWhisper` saves the work such
stretches cost:

- once the deterministic decode of a window is rejected *and* the engine judges the window
  silent, anything a retry could produce would be held back by the rule above, so the window
  is treated as silence straight away (the skip faster-whisper itself makes when its
  no-speech and log-probability tests agree);
- a window shorter than 30 s (the remnant at the end of the audio) gets a token budget in
  proportion to its length (:func:`token_budget`), so a loop of repetition stops early.

This module is the policy alone, as pure functions (it does not import faster-whisper): the
subclass that applies it inside the engine, overriding faster-whisper's internal ``encode``
and ``generate_with_fallback``, is :mod:`annotator.transcribe.whisper_model`, which checks the
installed faster-whisper version on import; the finer VAD pass is
:func:`annotator.transcribe.vad.speech_spans`.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

#: The finer VAD pass that checks where speech is (recorded in every run's options).
CHECK_VAD = {"threshold": 0.3, "min_silence_duration_ms": 200, "speech_pad_ms": 0}
#: A segment with speech under less than this share of its span counts as unheard.
MIN_HEARD_SHARE = 0.2

#: A short window may use this many tokens plus this many per second of audio.
TOKEN_BUDGET = {"base": 10, "per_second": 12}

Decode = tuple[Any, float, float, float]  # (result, avg_logprob, temperature, compression)


def heard_ms(spans: list[tuple[int, int]], start_ms: int, end_ms: int) -> int:
    """How many milliseconds of [start_ms, end_ms) lie under the spans."""
    total = 0
    i = max(bisect.bisect_right(spans, (start_ms,)) - 1, 0)
    while i < len(spans) and spans[i][0] < end_ms:
        total += max(0, min(spans[i][1], end_ms) - max(spans[i][0], start_ms))
        i += 1
    return total


def judge(
    *, start_ms: int, end_ms: int, no_speech_prob: float, temperature: float,
    no_speech_threshold: float | None, spans: list[tuple[int, int]] | None,
) -> str | None:
    """Why this segment should be held back, or None to keep it."""
    if no_speech_threshold is None or no_speech_prob <= no_speech_threshold:
        return None
    silent = f"no-speech probability {no_speech_prob:.2f} > {no_speech_threshold:.2f}"
    if temperature > 0:
        return f"{silent} and the text came from a sampled retry at temperature {temperature:g}"
    if spans is not None and end_ms > start_ms:
        share = heard_ms(spans, start_ms, end_ms) / (end_ms - start_ms)
        if share < MIN_HEARD_SHARE:
            return f"{silent} and voice activity detection hears speech under {share:.0%} of it"
    return None


def _rejected(decode: Decode, options: Any) -> bool:
    """Would faster-whisper retry after this decode (too repetitive or too unlikely)?"""
    _result, avg_logprob, _temperature, ratio = decode
    cr_limit, lp_limit = options.compression_ratio_threshold, options.log_prob_threshold
    return (cr_limit is not None and ratio > cr_limit) or (
        lp_limit is not None and avg_logprob < lp_limit
    )


def settle_first_decode(first: Decode, options: Any) -> Decode | None:
    """After the deterministic decode: the decode to use, or None to go on with retries.

    A rejected decode of a window the engine judges silent comes back with an average log
    probability of -inf, which makes faster-whisper skip the window as silence.
    """
    if not _rejected(first, options):
        return first
    threshold = options.no_speech_threshold
    if threshold is not None and first[0].no_speech_prob > threshold:
        return (first[0], -math.inf, first[2], first[3])
    return None


def engine_skips(decode: Decode, options: Any) -> bool:
    """Will faster-whisper drop this window as silence (its no-speech probability above the
    threshold and its average log probability not above the log-probability threshold)?
    The rule of faster-whisper 1.2.1's ``generate_segments``; nothing of the window is
    written, so coverage records it."""
    result, avg_logprob, _temperature, _ratio = decode
    threshold, lp_limit = options.no_speech_threshold, options.log_prob_threshold
    if threshold is None or result.no_speech_prob <= threshold:
        return False
    return lp_limit is None or not avg_logprob > lp_limit


def best_of(first: Decode, rest: Decode, options: Any) -> Decode:
    """faster-whisper's choice when every attempt was rejected: prefer decodes under the
    compression limit, then the highest average log probability; report the last
    temperature tried."""
    if not _rejected(rest, options):
        return rest
    limit = options.compression_ratio_threshold
    candidates = [d for d in (first, rest) if limit is None or d[3] <= limit] or [first, rest]
    best = max(candidates, key=lambda d: d[1])
    return (best[0], best[1], options.temperatures[-1], best[3])


def content_frames(features: np.ndarray[Any, Any]) -> int:
    """How many mel frames of a window are audio: faster-whisper pads a short window (the
    remnant at the end of the audio) with all-zero frames, which real audio never gives
    (normalised log-mel is exactly 0 only at one exact energy in every band at once)."""
    frames = features.reshape(-1, features.shape[-1])
    filled = np.flatnonzero(np.any(frames != 0, axis=0))
    return int(filled[-1]) + 1 if filled.size else 0


def token_budget(frames: int, frames_per_second: int = 100) -> int:
    """Most tokens a window this long can need: fast speech is under 5 tokens a second;
    12 a second plus 10 leaves room for timestamps and punctuation. Decoding a silent
    remnant otherwise runs to the model's limit repeating the previous line (measured on
    the demo clip: 113 tokens, 1.6 s, for 0.7 s of silence)."""
    per_second = TOKEN_BUDGET["per_second"]
    return TOKEN_BUDGET["base"] + (per_second * frames + frames_per_second - 1) // frames_per_second
