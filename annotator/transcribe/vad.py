"""Where a voice activity detector hears speech: the finer pass the silence check relies on.

faster-whisper's own VAD (Silero) trims silence before decoding; annotator runs a second,
finer pass (:data:`annotator.transcribe.silence.CHECK_VAD`) to judge whether the text under a
segment was heard at all (:func:`annotator.transcribe.silence.judge`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from annotator.transcribe.chunks import SAMPLE_RATE
from annotator.transcribe.silence import CHECK_VAD

#: The VAD pass reads this many seconds at a time: faster-whisper's Silero keeps state for the
#: whole input at once (measured: about 220 MB for a 10-minute piece, 20 MB per minute).
VAD_SLICE_S = 60


def speech_spans(audio: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    """Where the finer VAD hears speech, as sorted (start_ms, end_ms) pairs (a span crossing
    a slice border comes out as two adjacent spans, which
    :func:`~annotator.transcribe.silence.heard_ms` adds up)."""
    spans: list[tuple[int, int]] = []
    step = VAD_SLICE_S * SAMPLE_RATE
    for offset in range(0, len(audio), step):
        found = get_speech_timestamps(audio[offset : offset + step], VadOptions(**CHECK_VAD))
        spans.extend(
            ((offset + s["start"]) * 1000 // SAMPLE_RATE, (offset + s["end"]) * 1000 // SAMPLE_RATE)
            for s in found
        )
    return spans
