"""The silence check: which segments count as heard in silence, and when retries stop."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from faster_whisper import decode_audio

from annotator.transcribe.chunks import SAMPLE_RATE
from annotator.transcribe.engine import engine_threads
from annotator.transcribe.silence import (
    MIN_HEARD_SHARE,
    best_of,
    content_frames,
    heard_ms,
    judge,
    settle_first_decode,
    token_budget,
)
from annotator.transcribe.vad import speech_spans
from annotator.transcribe.whisper_model import SilenceAwareWhisper

from support import DEMO, demo_truth

OPTIONS = SimpleNamespace(
    compression_ratio_threshold=2.4, log_prob_threshold=-1.0, no_speech_threshold=0.6,
    temperatures=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
)


def _decode(no_speech: float, logprob: float, ratio: float, temperature: float = 0.0) -> Any:
    return (SimpleNamespace(no_speech_prob=no_speech), logprob, temperature, ratio)


@pytest.fixture(scope="module")
def demo_spans() -> list[tuple[int, int]]:
    return speech_spans(decode_audio(str(DEMO), sampling_rate=SAMPLE_RATE))


def test_vad_hears_every_scripted_line_and_not_the_silent_tail(
    demo_spans: list[tuple[int, int]],
) -> None:
    for row in demo_truth():
        start, end = int(row["start_ms"]), int(row["end_ms"])
        assert heard_ms(demo_spans, start, end) / (end - start) >= 0.5, row["text"]
    last_line_end = max(int(r["end_ms"]) for r in demo_truth())
    assert demo_spans[-1][1] <= last_line_end + 200
    # where the deterministic decode repeats the last line (measured: 58.5-59.2 s)
    assert heard_ms(demo_spans, 58500, 59200) < MIN_HEARD_SHARE * 700


def test_heard_ms_sums_overlaps() -> None:
    spans = [(0, 100), (200, 300), (400, 1000)]
    assert heard_ms(spans, 50, 250) == 100
    assert heard_ms(spans, 100, 200) == 0
    assert heard_ms(spans, 0, 2000) == 800
    assert heard_ms([], 0, 10) == 0


@pytest.mark.parametrize(
    ("no_speech", "temperature", "span", "held"),
    [
        (0.81, 0.6, (58490, 59210), True),  # sampled text in a window judged silent
        (0.81, 0.0, (58490, 59210), True),  # deterministic text where no one speaks
        (0.64, 0.0, (100, 3400), False),  # clear speech with a high no-speech figure (espeak)
        (0.30, 0.6, (58490, 59210), False),  # the engine is sure someone speaks
        (0.81, 0.0, (100, 3400), False),  # the VAD hears speech under it
    ],
)
def test_judge_needs_both_signals(
    no_speech: float, temperature: float, span: tuple[int, int], held: bool
) -> None:
    spans = [(100, 3400), (57090, 58460)]
    reason = judge(
        start_ms=span[0], end_ms=span[1], no_speech_prob=no_speech, temperature=temperature,
        no_speech_threshold=0.6, spans=spans,
    )
    assert (reason is not None) == held
    if reason is not None:
        assert f"{no_speech:.2f} > 0.60" in reason


def test_judge_without_threshold_or_spans() -> None:
    kwargs: dict[str, Any] = {"start_ms": 0, "end_ms": 700, "no_speech_prob": 0.9}
    assert judge(**kwargs, temperature=0.6, no_speech_threshold=None, spans=[]) is None
    assert judge(**kwargs, temperature=0.0, no_speech_threshold=0.6, spans=None) is None


def test_first_decode_accepted_silent_or_retried() -> None:
    good = _decode(0.9, -0.3, 1.5)
    assert settle_first_decode(good, OPTIONS) is good  # accepted: no retries
    silent = settle_first_decode(_decode(0.81, -0.5, 3.1), OPTIONS)
    assert silent is not None and silent[1] == -math.inf  # faster-whisper then skips it
    assert settle_first_decode(_decode(0.2, -0.5, 3.1), OPTIONS) is None  # speech: retry


def test_best_of_follows_faster_whisper_when_all_fail() -> None:
    first, rest_ok = _decode(0.2, -1.5, 2.0), _decode(0.2, -0.4, 1.8, 0.4)
    assert best_of(first, rest_ok, OPTIONS) is rest_ok
    # both rejected: prefer the one under the compression limit, report the last temperature
    chosen = best_of(_decode(0.2, -1.5, 2.0), _decode(0.2, -1.2, 2.9, 1.0), OPTIONS)
    assert (chosen[1], chosen[2], chosen[3]) == (-1.5, 1.0, 2.0)
    chosen = best_of(_decode(0.2, -1.5, 2.0), _decode(0.2, -1.2, 2.1, 1.0), OPTIONS)
    assert chosen[1] == -1.2


def test_padding_is_the_only_all_zero_mel_frame_in_real_audio() -> None:
    """The token budget reads a window's length from faster-whisper's zero padding; real
    audio (speech and silence alike) never gives an all-zero normalised log-mel frame."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.feature_extractor import FeatureExtractor

    audio = decode_audio(str(DEMO), sampling_rate=SAMPLE_RATE)
    features = FeatureExtractor()(audio)
    for start, length in [(0, 3000), (2900, 70), (5700, 224), (5800, 118), (100, 1)]:
        window = pad_or_trim(features[:, start : start + length])
        assert content_frames(window) == length
    assert content_frames(np.zeros((80, 3000), dtype=np.float32)) == 0


def test_token_budget_caps_short_windows_only() -> None:
    assert token_budget(70) == 19  # the demo's 0.7 s remnant
    assert token_budget(3000) == 370  # a full window: above what a prompt leaves, no cap

    model = SimpleNamespace(_window_frames=70, frames_per_second=100, max_length=448)

    def budgeted(frames: int | None, prompt: int, max_new: int | None = None) -> Any:
        model._window_frames = frames
        opts = dataclasses.replace(Options(), max_new_tokens=max_new)
        return SilenceAwareWhisper._budgeted(model, opts, prompt).max_new_tokens

    assert budgeted(70, 20) == 19
    assert budgeted(70, 20, max_new=5) == 5  # a caller's lower limit stays
    assert budgeted(70, 20, max_new=100) == 19
    assert budgeted(3000, 100) is None  # 100 + 370 >= 448: the model's own limit applies
    assert budgeted(None, 20) is None  # no window seen yet


@dataclasses.dataclass(frozen=True)
class Options:
    """The one field of faster-whisper's TranscriptionOptions the budget touches."""

    max_new_tokens: int | None = None


@pytest.mark.parametrize(
    ("requested", "size_mb", "cores", "threads"),
    [(3, 75, 2, 3), (0, 75, 2, 1), (0, 75, 8, 0), (0, 145, 2, 0)],
)
def test_engine_threads(
    tmp_path: Path, requested: int, size_mb: int, cores: int, threads: int
) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    os.truncate(tmp_path / "model.bin", size_mb * 1024 * 1024)  # sparse: no disk used
    assert engine_threads(requested, tmp_path, cores) == threads
    assert engine_threads(0, tmp_path / "missing", 2) == 0
