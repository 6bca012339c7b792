"""Benchmark: the whole suggestion pass (``annotator suggest``, every pass) against
transcription (``annotator transcribe``) of the same media, wall and CPU seconds.

Issue 9's target: the suggestion pass takes at most a quarter of the transcription time.
Measured on the demo clip (``media/demo.mp4``, 59 s) and on a longer file made here: the
demo's audio and every real clip in ``../shared/data/real`` (AMI meeting audio, JFK,
LibriVox readers, ...), half a second of silence between them, the whole sequence twice
(about 5.4 minutes; several minutes of varied real speech, so fixed costs such as imports
and model loading weigh as they would on a real file). Each command runs as a fresh process
in a fresh workspace, as a user would run it; CPU seconds are the child processes' user +
system time (steadier than wall time on a shared machine), and ``os.getloadavg`` is printed
before and after, since other work on the machine slows both commands.

Then, in this process, the per-pass seconds of the suggestion runner on the same workspace
(audio decoding and VAD, rules, distrust, impacts, voices).

    .venv/bin/python bench/suggest.py [--skip-long]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from annotator.suggest.audio import load_mono

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
CLI = ROOT / ".venv" / "bin" / "annotator"
RATE = 16000


def long_file(folder: Path) -> Path:
    """The demo's audio and the real clips, 0.5 s apart, twice, as a 16-bit WAV."""
    gap = np.zeros(RATE // 2, dtype=np.float32)
    parts = [load_mono(ROOT / "media" / "demo.mp4")]
    parts += [load_mono(p) for p in sorted([*REAL.glob("*.wav"), *REAL.glob("*.flac")])]
    once = np.concatenate([x for p in parts for x in (p, gap)])
    audio = np.concatenate([once, once])
    path = folder / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def passes(db: Path, name: str) -> str:
    """The runner's own seconds per pass, in this process (imports already paid)."""
    from annotator.core.store import Workspace
    from annotator.suggest.runner import suggest

    with Workspace(db) as ws:
        report = suggest(ws, ws.find_media(name).id)
    return ", ".join(f"{k} {v:.2f}" for k, v in report.seconds.items())


def measure(media: Path, label: str) -> None:
    seconds = load_mono(media).size / RATE
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load = os.getloadavg()[0]
        t_wall, t_cpu = timed([str(CLI), "transcribe", str(media)], folder)
        s_wall, s_cpu = timed([str(CLI), "suggest", media.name], folder)
        load_after = os.getloadavg()[0]
        print(f"{label} ({seconds / 60:.1f} min of audio; load {load:.1f} -> {load_after:.1f}):")
        print(f"  transcribe  wall {t_wall:6.1f} s  cpu {t_cpu:6.1f} s")
        print(f"  suggest     wall {s_wall:6.1f} s  cpu {s_cpu:6.1f} s  "
              f"(all passes, whole command)")
        print(f"  suggest / transcribe: wall {s_wall / t_wall:.2f}, cpu {s_cpu / t_cpu:.2f} "
              f"(target <= 0.25)")
        print(f"  per pass, in process (s): {passes(folder / 'annotator.db', media.name)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-long", action="store_true", help="the demo clip only")
    args = parser.parse_args()
    measure(ROOT / "media" / "demo.mp4", "demo.mp4")
    if not args.skip_long:
        with tempfile.TemporaryDirectory() as tmp:
            measure(long_file(Path(tmp)), "demo + real clips, twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
