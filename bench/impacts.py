"""Benchmark: impact events (annotator/suggest/impacts.py) against known times.

Two sources:

- a scene the bench synthesises (numpy, seeded): real speech from ``tests/data`` (JFK,
  LibriVox, LibriSpeech, AMI; scaled to a 0.3 peak) with bursts of knocks (one-pole
  low-passed noise, 2-ms attack, 18-ms decay, like a fist or baton on a pane), breaking glass
  (noise above 3.5 kHz ringing for 0.6 s) and lone strikes laid over it, at peaks of
  0.6-1.0, some in pauses and some over words;
- the demo clip (``media/demo.mp4``): the window strike of ``media/make_demo.sh``, three
  knocks 0.29 s apart and a bang, whose times follow from ``media/demo_truth.tsv`` and the
  script's fixed pauses.

An impact counts as found when a detection starts within ``TOLERANCE_S`` of it (one
detection per impact); bursts are matched by overlap and counted right when their count is
within +-1. Also: the kind given to each found impact (glass vs knock), and the seconds per
audio minute. Target (issue 9): precision and recall both >= 0.9.

    .venv/bin/python bench/impacts.py [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from annotator.suggest import impacts
from annotator.suggest.audio import load_mono

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
TOLERANCE_S = 0.05
SPEECH = ("jfk.flac", "librivox_sense_and_sensibility_01_0870.wav",
          "mister_quilter_1272-128104-0000.wav", "librivox_sense_and_sensibility_01_0880.wav",
          "ami_ES2011a_headset0_40-46s.wav", "digits_10001-90210-01803.wav")
#: make_demo.sh's pause cycle and knock: three 70-ms bursts each followed by 220 ms, a bang.
DEMO_PAUSES = (0.6, 0.9, 0.5, 1.1, 0.7, 0.4, 1.0, 0.8, 1.2, 0.6, 0.5, 0.9)
DEMO_STRIKES = (0.0, 0.29, 0.58, 0.87)

Truth = list[tuple[float, str]]  # (start seconds, kind)


def _onepole(x: np.ndarray[Any, Any], hz: float) -> np.ndarray[Any, Any]:
    a = float(np.exp(-2 * np.pi * hz / RATE))
    out = np.empty_like(x)
    acc = 0.0
    for i, value in enumerate(x):
        acc = (1 - a) * value + a * acc
        out[i] = acc
    return out


def knock(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    n = int(0.08 * RATE)
    x = _onepole(_onepole(rng.standard_normal(n), 900.0), 900.0)
    t = np.arange(n)
    x = x * np.minimum(1.0, t / (0.002 * RATE)) * np.exp(-t / (0.018 * RATE))
    peaked: np.ndarray[Any, Any] = x / np.abs(x).max()
    return peaked


def glass(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    n = int(0.6 * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / RATE) < 3500] = 0
    x = np.fft.irfft(spectrum, n)
    envelope = np.exp(-np.arange(n) / (0.12 * RATE))
    envelope[: int(0.002 * RATE)] *= np.linspace(0, 1, int(0.002 * RATE))
    x = x * envelope
    peaked: np.ndarray[Any, Any] = x / np.abs(x).max()
    return peaked


def scene(seed: int) -> tuple[np.ndarray[Any, Any], Truth]:
    """Real speech with bursts laid over it; the truth as (start, kind)."""
    rng = np.random.default_rng(seed)
    parts = []
    for name in SPEECH:
        speech = load_mono(ROOT / "tests" / "data" / name).astype(np.float64)
        parts += [speech / np.abs(speech).max() * 0.3, np.zeros(int(0.7 * RATE))]
    bed = np.concatenate(parts)
    duration = bed.size / RATE
    truth: Truth = []
    events: list[tuple[float, np.ndarray[Any, Any]]] = []
    t = 1.0
    plan = [("knock", 5, 0.35), ("glass", 1, 0.0), ("knock", 12, 0.5), ("knock", 1, 0.0),
            ("knock", 3, 0.3), ("glass", 1, 0.0), ("knock", 8, 0.4), ("knock", 1, 0.0),
            ("knock", 6, 0.25)]
    for kind, count, spacing in plan:
        for k in range(count):
            at = t + k * spacing + float(rng.uniform(-0.03, 0.03))
            sound = knock(rng) if kind == "knock" else glass(rng)
            events.append((at, sound * float(rng.uniform(0.6, 1.0))))
            truth.append((at, kind))
        t += count * spacing + float(rng.uniform(2.5, 4.5))
        if t > duration - 2:
            break
    mixed = bed.copy()
    for at, sound in events:
        i = int(at * RATE)
        mixed[i : i + sound.size] += sound[: max(0, mixed.size - i)]
    return np.clip(mixed, -1, 1).astype(np.float32), truth


def demo_truth() -> Truth:
    """The demo's strikes: the sfx row of the script comes after the truth line before it
    and the pause make_demo.sh puts before it (its pauses cycle by script row)."""
    rows = list(csv.reader((ROOT / "media" / "demo_script.tsv").open(), delimiter="\t"))[1:]
    lines = list(csv.DictReader((ROOT / "media" / "demo_truth.tsv").open(), delimiter="\t"))
    truth: Truth = []
    spoken = 0
    for n, row in enumerate(rows, start=1):
        if row[0] == "sfx":
            start = int(lines[spoken - 1]["end_ms"]) / 1000 + DEMO_PAUSES[(n - 2) % 12]
            truth += [(start + offset, "knock") for offset in DEMO_STRIKES]
        else:
            spoken += 1
    return truth


def score(found: list[impacts.Impact], truth: Truth) -> dict[str, Any]:
    used: set[int] = set()
    hits = 0
    kinds_right = 0
    for at, kind in truth:
        best = min((i for i in range(len(found)) if i not in used),
                   key=lambda i: abs(found[i].start - at), default=None)
        if best is not None and abs(found[best].start - at) <= TOLERANCE_S:
            used.add(best)
            hits += 1
            kinds_right += found[best].kind == kind
    true_bursts = impacts.bursts([impacts.Impact(at, at + 0.05, 0.0, kind, 1.0)
                                  for at, kind in truth])
    got = impacts.bursts(found)
    bursts_right = 0
    for burst in true_bursts:
        match = [b for b in got if b.start < burst.end + TOLERANCE_S
                 and b.end > burst.start - TOLERANCE_S]
        if len(match) == 1 and abs(match[0].count - burst.count) <= 1:
            bursts_right += 1
    return {
        "precision": hits / len(found) if found else 1.0,
        "recall": hits / len(truth) if truth else 1.0,
        "found": len(found), "truth": len(truth), "kinds_right": kinds_right, "hits": hits,
        "bursts_right": bursts_right, "bursts": len(true_bursts), "bursts_found": len(got),
    }


def report(name: str, audio: np.ndarray[Any, Any], truth: Truth) -> None:
    start = time.perf_counter()
    found = impacts.detect(audio, RATE)
    elapsed = time.perf_counter() - start
    s = score(found, truth)
    minutes = audio.size / RATE / 60
    print(f"{name}: {minutes * 60:.0f} s of audio, {s['truth']} impacts in {s['bursts']} "
          f"bursts; found {s['found']}: precision {s['precision']:.2f}, recall "
          f"{s['recall']:.2f}; kind right {s['kinds_right']}/{s['hits']}; bursts "
          f"counted within +-1: {s['bursts_right']}/{s['bursts']} ({s['bursts_found']} "
          f"found); {elapsed / minutes:.2f} s per audio minute")
    for burst in impacts.bursts(found):
        print(f"    {burst.label:16} {burst.start:7.2f}-{burst.end:7.2f} s  "
              f"strength {burst.strength:5.1f} dB  confidence {burst.confidence:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    audio, truth = scene(args.seed)
    report(f"synthetic scene (seed {args.seed})", audio, truth)
    demo = load_mono(ROOT / "media" / "demo.mp4")
    report("demo clip", demo, demo_truth())
    return 0


if __name__ == "__main__":
    sys.exit(main())
