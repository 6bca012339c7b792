"""Decoded audio for the detectors: one float32 mono array at a chosen rate.

The detectors (voices, impacts) look at a whole media file at once, unlike transcription,
which streams it in pieces. They decode with the same PyAV path as transcription
(:func:`annotator.transcribe.chunks.decode_stream`, engine-free), so the samples they see
are exactly the ones the transcript's times refer to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from annotator.core.model import SAMPLE_RATE
from annotator.errors import MediaError

__all__ = ["Samples", "load_mono"]

Samples = np.ndarray[Any, np.dtype[np.float32]]


def load_mono(path: Path, sample_rate: int = SAMPLE_RATE) -> Samples:
    """All of ``path``'s audio as float32 mono samples in [-1, 1] at ``sample_rate``.

    Raises :class:`MediaError` naming the file when it is missing, cannot be decoded or
    has no audio.
    """
    from annotator.transcribe.chunks import decode_stream  # PyAV only, no engine

    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "no such file")
    blocks = list(decode_stream(path))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:
        audio = _resample(audio, SAMPLE_RATE, sample_rate)
    return audio.astype(np.float32, copy=False)


def _resample(audio: Samples, source: int, target: int) -> Samples:
    """Linear-interpolation resampling: the detectors need envelopes and spectra, not
    studio-grade conversion, and this keeps numpy the only requirement."""
    if audio.size == 0:
        return audio
    count = round(audio.size * target / source)
    positions = np.arange(count, dtype=np.float64) * (source / target)
    return np.interp(positions, np.arange(audio.size), audio).astype(np.float32)
