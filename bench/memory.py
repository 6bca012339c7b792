"""Benchmark: memory on a long stream, annotator's engine against raw faster-whisper.

Builds a WAV of ``--minutes`` of speech (the demo clip repeated; 16 kHz mono), then in two
fresh subprocesses transcribes it until the first ``--until`` seconds of audio are done and
reports each one's peak resident memory and wall time. faster-whisper decodes the whole file
(and computes its features) before the first segment, so its peak grows with the length of
the stream; annotator decodes and transcribes five-minute pieces, so its peak should not.

Target: annotator's peak stays flat as ``--minutes`` grows. Not a test: a measurement.

    .venv/bin/python bench/memory.py [--minutes 60] [--until 120]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

RAW = """
import sys
from faster_whisper import WhisperModel
path, model_dir, until, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
segments, info = model.transcribe(path, beam_size=5, word_timestamps=True, vad_filter=True,
                                  vad_parameters={"min_silence_duration_ms": 2000})
for seg in segments:
    if seg.end >= until:
        break
"""

ANNOTATOR = """
import sys
from pathlib import Path
from annotator.transcribe.engine import Engine, TranscribeOptions
path, until = Path(sys.argv[1]), float(sys.argv[3]) * 1000
engine = Engine(TranscribeOptions())
_info, segments = engine.transcribe(path)
for seg in segments:
    if seg.end_ms >= until:
        break
"""


def make_stream(path: Path, minutes: float) -> None:
    """Write ``minutes`` of the demo clip's audio, repeated, as 16-bit 16 kHz mono WAV."""
    from faster_whisper import decode_audio

    clip = decode_audio(str(ROOT / "media" / "demo.mp4"))
    pcm = (np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes()
    total = int(minutes * 60 * 16000)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        written = 0
        while written < total:
            take = min(len(clip), total - written)
            out.writeframes(pcm[: take * 2])
            written += take


def measure(code: str, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {code.splitlines()[2]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--until", type=float, default=120, help="audio seconds to transcribe")
    args = parser.parse_args()

    from annotator.transcribe.engine import engine_threads
    from annotator.transcribe.models import resolve_model

    model_dir = resolve_model("tiny.en").path
    threads = engine_threads(0, model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.wav"
        make_stream(stream, args.minutes)
        common = [str(stream), str(model_dir), str(args.until), str(threads)]
        raw_wall, raw_peak = measure(RAW, common)
        ann_wall, ann_peak = measure(ANNOTATOR, common)
    print(f"stream: {args.minutes:g} min of speech (WAV, 16 kHz mono), first {args.until:g} s "
          f"transcribed, tiny.en beam 5, threads {threads}")
    print(f"raw faster-whisper: peak RSS {raw_peak:.0f} MiB, {raw_wall:.1f} s")
    print(f"annotator engine:   peak RSS {ann_peak:.0f} MiB, {ann_wall:.1f} s")
    print(f"peak ratio (annotator / raw): {ann_peak / raw_peak:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
