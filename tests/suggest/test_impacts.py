"""Impact events on real speech with synthetic strikes laid over it, on clean real speech,
and on the demo clip's window strike."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from annotator.suggest import impacts
from annotator.suggest.audio import load_mono

from support import DEMO, shared_file

RATE = 16000
CLEAN = ("jfk.flac", "goforward.wav", "librivox_sense_and_sensibility_01_0870.wav",
         "librivox_sense_and_sensibility_01_0880.wav", "mister_quilter_1272-128104-0000.wav",
         "ami_ES2011a_headset0_40-46s.wav", "digits_10001-90210-01803.wav")


def knock(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """A fist on a pane: low-passed noise (two one-pole filters at 900 Hz), 2-ms attack,
    18-ms decay."""
    n = int(0.08 * RATE)
    x = rng.standard_normal(n)
    a = float(np.exp(-2 * np.pi * 900 / RATE))
    for _ in range(2):
        y, acc = np.empty(n), 0.0
        for i, v in enumerate(x):
            acc = (1 - a) * v + a * acc
            y[i] = acc
        x = y
    t = np.arange(n)
    x = x * np.minimum(1.0, t / (0.002 * RATE)) * np.exp(-t / (0.018 * RATE))
    peaked: np.ndarray[Any, Any] = x / np.abs(x).max()
    return peaked


def glass(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """Breaking glass: noise above 3.5 kHz ringing down over 0.6 s."""
    n = int(0.6 * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / RATE) < 3500] = 0
    x = np.fft.irfft(spectrum, n) * np.exp(-np.arange(n) / (0.12 * RATE))
    peaked: np.ndarray[Any, Any] = x / np.abs(x).max()
    return peaked


@pytest.fixture(scope="module")
def speech() -> np.ndarray[Any, Any]:
    """Two real recordings (JFK, a LibriVox reading) back to back, peak 0.3: 18 s."""
    parts = [load_mono(shared_file(n)).astype(np.float64)
             for n in ("jfk.flac", "librivox_sense_and_sensibility_01_0870.wav")]
    joined = np.concatenate(parts)
    scaled: np.ndarray[Any, Any] = joined / np.abs(joined).max() * 0.3
    return scaled


def lay(bed: np.ndarray[Any, Any], events: list[tuple[float, np.ndarray[Any, Any]]]
        ) -> np.ndarray[Any, Any]:
    out = bed.copy()
    for at, sound in events:
        i = int(at * RATE)
        out[i : i + sound.size] += 0.9 * sound
    mixed: np.ndarray[Any, Any] = np.clip(out, -1, 1).astype(np.float32)
    return mixed


def test_knocks_over_real_speech_are_found_at_their_times_and_counted(
        speech: np.ndarray[Any, Any]) -> None:
    rng = np.random.default_rng(5)
    times = [2.6 + 0.4 * k for k in range(4)] + [14.0 + 0.3 * k for k in range(6)]
    found = impacts.detect(lay(speech, [(t, knock(rng)) for t in times]), RATE)
    starts = [x.start for x in found]
    hits = [t for t in times if any(abs(s - t) <= 0.05 for s in starts)]
    assert len(hits) >= len(times) - 1, (times, starts)
    assert len(found) <= len(times)
    assert all(x.kind == "knock" and 0 < x.confidence <= 1 for x in found)
    groups = impacts.bursts(found)
    assert [abs(g.count - n) <= 1 for g, n in zip(groups, (4, 6), strict=True)] == [True, True]
    assert groups[0].start == pytest.approx(2.6, abs=0.05)
    assert groups[1].end == pytest.approx(14.0 + 0.3 * 5 + 0.08, abs=0.1)
    assert groups[1].label.endswith("strikes")


@pytest.mark.parametrize("name", CLEAN)
def test_no_impacts_in_clean_real_speech(name: str) -> None:
    assert impacts.detect(load_mono(shared_file(name)), RATE) == []


def test_glass_is_told_from_knocks(speech: np.ndarray[Any, Any]) -> None:
    rng = np.random.default_rng(11)
    mixed = lay(speech, [(4.0, glass(rng)), (9.0, knock(rng)), (16.0, glass(rng))])
    found = impacts.detect(mixed, RATE)
    assert [(round(x.start), x.kind) for x in found] == [(4, "glass"), (9, "knock"),
                                                         (16, "glass")]
    assert [b.label for b in impacts.bursts(found)] == ["glass breaking", "1 strike",
                                                        "glass breaking"]


def test_demo_window_strike_is_one_burst_of_four() -> None:
    """make_demo.sh's knock: three knocks 0.29 s apart and a bang, from 29.604 s."""
    found = impacts.detect(load_mono(DEMO), RATE)
    assert [round(x.start, 1) for x in found] == [29.6, 29.9, 30.2, 30.5]
    (burst,) = impacts.bursts(found)
    assert burst.count == 4 and burst.kind == "knock" and burst.label == "4 strikes"


def test_bursts_split_at_long_gaps_and_keep_the_strongest() -> None:
    hit = [impacts.Impact(t, t + 0.05, s, "knock", 0.8)
           for t, s in ((1.0, 3.0), (1.5, 7.0), (2.0, 5.0), (10.0, 4.0))]
    first, second = impacts.bursts(hit)
    assert (first.count, first.start, first.end, first.strength) == (3, 1.0, 2.05, 7.0)
    assert second.count == 1 and second.label == "1 strike"
    assert impacts.SOURCE["detector"] == "annotator.suggest.impacts"
    assert impacts.detect(np.zeros(RATE, dtype=np.float32), RATE) == []
