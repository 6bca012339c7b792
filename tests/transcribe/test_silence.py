"""The silence check: which segments count as heard in silence, and when retries stop."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from faster_whisper import decode_audio

from annotator.transcribe.silence import (
    MIN_HEARD_SHARE,
    SAMPLE_RATE,
    best_of,
    heard_ms,
    judge,
    settle_first_decode,
    speech_spans,
)

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
