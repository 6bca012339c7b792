"""Benchmark: ``annotator transcribe`` against raw faster-whisper on the same file.

Both sides run as fresh subprocesses (interpreter start, imports, model load, decoding), with
the same model folder and the same options, alternating, ``--repeat`` times; the medians are
compared. Prints the real-time factor (wall seconds / audio seconds) of each and their ratio.

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
path, model_dir, beam = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=0)
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
) -> tuple[float, float]:
    """Median decode time with the model already loaded: raw faster-whisper vs annotator's
    Engine (same folder, same options), alternating."""
    from faster_whisper import WhisperModel

    from annotator.transcribe.engine import Engine, TranscribeOptions

    whisper = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=0)
    engine = Engine(TranscribeOptions(model=model, beam_size=beam))
    raw_t: list[float] = []
    ann_t: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        segments, _info = whisper.transcribe(
            str(path), beam_size=beam, word_timestamps=True, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 2000},
        )
        sum(1 for _ in segments)
        raw_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        _einfo, segs = engine.transcribe(path)
        sum(1 for _ in segs)
        ann_t.append(time.perf_counter() - start)
    return statistics.median(raw_t), statistics.median(ann_t)


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
    raw_times: list[float] = []
    ann_times: list[float] = []
    raw_rss: list[float] = []
    ann_rss: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            raw_cmd = [sys.executable, "-c", RAW, args.file, model_dir, str(args.beam_size)]
            wall, rss = timed(raw_cmd)
            raw_times.append(wall)
            raw_rss.append(rss)
            db = Path(tmp) / f"bench{i}.db"
            wall, rss = timed([
                sys.executable, "-m", "annotator", "transcribe", args.file,
                "--model", args.model, "--beam-size", str(args.beam_size), "--db", str(db),
            ])
            ann_times.append(wall)
            ann_rss.append(rss)
            print(f"run {i + 1}: raw {raw_times[-1]:.2f} s, annotator {ann_times[-1]:.2f} s",
                  file=sys.stderr)
    raw, ann = statistics.median(raw_times), statistics.median(ann_times)
    warm_raw, warm_ann = decode_only(Path(args.file), model_dir, args.model, args.beam_size,
                                     args.repeat)
    print(f"file: {args.file} ({audio_s:.1f} s audio), model {args.model}, "
          f"beam {args.beam_size}, runs {args.repeat} (median)")
    print(f"raw faster-whisper: {raw:.2f} s  RTF {raw / audio_s:.3f}  "
          f"peak RSS {max(raw_rss):.0f} MiB")
    print(f"annotator transcribe: {ann:.2f} s  RTF {ann / audio_s:.3f}  "
          f"peak RSS {max(ann_rss):.0f} MiB")
    print(f"overhead ratio (annotator / raw): {ann / raw:.3f}  (target <= 1.05)")
    print(f"decode only (model loaded, in process): raw RTF {warm_raw / audio_s:.3f}, "
          f"annotator engine RTF {warm_ann / audio_s:.3f}, ratio {warm_ann / warm_raw:.3f}")
    verdict = "met" if ann / audio_s <= 0.08 else "not met"
    print(f"RTF target for tiny.en beam 5: <= 0.08 -> whole command {verdict}, decode only "
          f"{'met' if warm_ann / audio_s <= 0.08 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
