"""Benchmark: ``annotator transcribe`` against raw faster-whisper on the same file.

Both sides run as fresh subprocesses (interpreter start, imports, model load, decoding), with
the same model folder and the same options, alternating, ``--repeat`` times; the medians are
compared. Prints the real-time factor (wall seconds / audio seconds) of each and their ratio.

Raw faster-whisper runs twice per round: with its default thread count, and with the count
annotator chooses (``engine_threads``: one thread for tiny.en on two cores). annotator runs
twice: with ``--keep-hallucinations`` it does exactly the engine work of the second raw run,
so that ratio is annotator's own overhead (probing, hashing, the workspace); by default it
also runs the silence check (annotator/transcribe/silence.py: a VAD pass, no sampled retries
on windows judged silent, a token budget on short windows), which is what a user gets.

Targets on 2 CPU cores: overhead ratio <= 1.05; tiny.en beam 5 RTF <= 0.08.
This is a measurement, not a test: these machines are shared and noisy.

    .venv/bin/python bench/transcribe.py [FILE] [--repeat 3] [--beam-size 5] [--model tiny.en]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RAW = """
import sys
from faster_whisper import WhisperModel
path, model_dir, beam, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
segments, info = model.transcribe(
    path, beam_size=beam, word_timestamps=True, vad_filter=True,
    vad_parameters={"min_silence_duration_ms": 2000},  # annotator's default
)
n = sum(1 for _ in segments)
print(n, info.duration)
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def decode_only(
    path: Path, model_dir: str, model: str, beam: int, repeat: int
) -> tuple[float, float, float]:
    """Median decode time with the model already loaded: raw faster-whisper, annotator's
    Engine without and with the silence check (same folder, same options), alternating."""
    from faster_whisper import WhisperModel

    from annotator.transcribe.engine import Engine, TranscribeOptions

    plain = Engine(TranscribeOptions(model=model, beam_size=beam,
                                     suppress_silent_hallucinations=False))
    checked = Engine(TranscribeOptions(model=model, beam_size=beam))
    whisper = WhisperModel(model_dir, device="cpu", compute_type="int8",
                           cpu_threads=plain.threads)
    times: list[list[float]] = [[], [], []]
    for _ in range(repeat):
        start = time.perf_counter()
        segments, _info = whisper.transcribe(
            str(path), beam_size=beam, word_timestamps=True, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 2000},
        )
        sum(1 for _ in segments)
        times[0].append(time.perf_counter() - start)
        for slot, engine in ((1, plain), (2, checked)):
            start = time.perf_counter()
            _einfo, segs = engine.transcribe(path)
            sum(1 for _ in segs)
            times[slot].append(time.perf_counter() - start)
    raw, same, default = (statistics.median(t) for t in times)
    return raw, same, default


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(ROOT / "media" / "demo.mp4"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args()

    from annotator.core.media import probe
    from annotator.transcribe.models import resolve_model

    media = probe(Path(args.file))
    audio_s = media.duration_ms / 1000
    model_dir = str(resolve_model(args.model).path)  # verify (and cache) outside the timings
    from annotator.transcribe.engine import engine_threads

    threads = engine_threads(0, Path(model_dir))
    sides = ("raw faster-whisper, threads 0", f"raw faster-whisper, threads {threads}",
             "annotator --keep-hallucinations", "annotator (default)")
    walls: list[list[float]] = [[] for _ in sides]
    peaks: list[list[float]] = [[] for _ in sides]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            ann = [sys.executable, "-m", "annotator", "transcribe", args.file, "--model",
                   args.model, "--beam-size", str(args.beam_size)]
            raw = [sys.executable, "-c", RAW, args.file, model_dir, str(args.beam_size)]
            commands = [
                [*raw, "0"],
                [*raw, str(threads)],
                [*ann, "--keep-hallucinations", "--db", str(Path(tmp) / f"same{i}.db")],
                [*ann, "--db", str(Path(tmp) / f"default{i}.db")],
            ]
            for slot, cmd in enumerate(commands):
                wall, rss = timed(cmd)
                walls[slot].append(wall)
                peaks[slot].append(rss)
            print(f"run {i + 1}: " + ", ".join(
                f"{name} {w[-1]:.2f} s" for name, w in zip(sides, walls, strict=True)
            ), file=sys.stderr)
    raw_default, raw, same, default = (statistics.median(w) for w in walls)
    warm = decode_only(Path(args.file), model_dir, args.model, args.beam_size, args.repeat)
    print(f"file: {args.file} ({audio_s:.1f} s audio), model {args.model}, "
          f"beam {args.beam_size}, runs {args.repeat} (median)")
    for name, wall, peak in zip(sides, (raw_default, raw, same, default), peaks, strict=True):
        print(f"{name}: {wall:.2f} s  RTF {wall / audio_s:.3f}  peak RSS {max(peak):.0f} MiB")
    print(f"overhead ratio (annotator --keep-hallucinations / raw): {same / raw:.3f}  "
          "(target <= 1.05)")
    print(f"annotator default / raw faster-whisper with its defaults: "
          f"{default / raw_default:.3f}")
    rtf = [t / audio_s for t in warm]
    print(f"decode only (model loaded, in process, threads {threads}): RTF raw {rtf[0]:.3f}, "
          f"same work {rtf[1]:.3f}, default {rtf[2]:.3f}; overhead ratio {warm[1] / warm[0]:.3f}")

    def verdict(rtf: float) -> str:
        return "met" if rtf <= 0.08 else "not met"

    print(f"RTF target for tiny.en beam 5: <= 0.08 -> default whole command "
          f"{verdict(default / audio_s)}, default decode only {verdict(warm[2] / audio_s)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
