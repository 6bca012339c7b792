"""Benchmark: throughput of ``annotator transcribe`` locally and on a LocalCluster (issue 11).

For each set of files (eight copies of the demo clip, each made unique by trailing padding
bytes so none is skipped as already known; and the real clips in tests/data), transcribe
them into a fresh workspace with

- the local path (:func:`run_batch`, one process, the model loaded in it), and
- ``--scheduler local:N`` for N = 1 … the machine's cores (:func:`run_cluster_batch` on a
  LocalCluster of N worker processes of one thread each, files sent as bytes),

and report audio hours per wall hour. The cluster's start (processes, imports) is timed
apart: a long batch pays it once. Overhead per task is given two ways, next to the local
path's seconds per file (a one-minute file on the demo set): what local:1 costs per file
beyond the local path, ``(wall of local:1 - wall of the local path) / files`` (transfer,
scheduling, storing, and any difference in decode speed on a worker), and the scheduling
alone, ``(wall of local:1 - the worker's decode seconds) / files``.

The ``long`` set is one file, the demo clip four times back to back (237 s), in 60-second
pieces: the cluster sends it one task per piece, each from the checkpoint the piece before
ended with, so its pieces run one after another; the figures there are what a piece costs on
the cluster beyond the local path, ``(wall of local:1 - wall of the local path) / pieces``,
and the scheduling alone per piece. Every row ends with the machine's load average (one
minute): on a shared machine the decode speed follows it, and two rows taken minutes apart
differ by more than the overhead measured.

Targets on two cores (issue 11): local:2 >= 1.6x the throughput of local:1 on eight short
files; per-task overhead < 5 % of a one-minute file's transcription time.
This is a measurement, not a test: these machines are shared and noisy.

    .venv/bin/python bench/cluster.py [--copies 8] [--max-workers N] [--sets demo,real,long]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from distributed import Client  # noqa: E402

from annotator.core.media import probe  # noqa: E402
from annotator.core.store import Workspace  # noqa: E402
from annotator.transcribe.cluster import local_cluster, run_cluster_batch  # noqa: E402
from annotator.transcribe.engine import TranscribeOptions  # noqa: E402
from annotator.transcribe.pipeline import FileResult, run_batch  # noqa: E402

DEMO = ROOT / "media" / "demo.mp4"
REAL = sorted(p for p in (ROOT / "tests" / "data").iterdir() if p.suffix in {".wav", ".flac"})


def demo_copies(folder: Path, copies: int) -> list[Path]:
    """``copies`` files with the demo's audio and each its own SHA-256 (padding after the
    container's end, which decoders ignore)."""
    data = DEMO.read_bytes()
    made = []
    for i in range(copies):
        path = folder / f"demo{i}.mp4"
        path.write_bytes(data + b"\0" * (i + 1))
        made.append(path)
    return made


def tiled_demo(folder: Path, times: int) -> Path:
    """The demo's audio ``times`` times back to back, as a 16 kHz mono WAV."""
    import wave

    import numpy as np

    from annotator.transcribe.chunks import decode_stream

    audio = np.concatenate(list(decode_stream(DEMO)))
    path = folder / f"demo-x{times}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes() * times)
    return path


def checked(results: list[FileResult]) -> None:
    failed = [r for r in results if r.status != "done"]
    if failed:
        raise SystemExit(f"not done: {[(str(r.path), r.status, r.error) for r in failed]}")


def local_path(files: list[Path], folder: Path, options: TranscribeOptions) -> float:
    with Workspace(folder / "local.db") as ws:
        start = time.perf_counter()
        results = run_batch(ws, files, options)
        wall = time.perf_counter() - start
    checked(results)
    return wall


def on_cluster(
    files: list[Path], folder: Path, workers: int, options: TranscribeOptions
) -> tuple[float, float, float, int]:
    """Start seconds, wall seconds of the batch, the workers' decode seconds summed, and
    the number of tasks (pieces) the files were decoded in."""
    start = time.perf_counter()
    seconds: list[float] = []
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter() - start
        with Workspace(folder / f"local{workers}.db") as ws:
            begin = time.perf_counter()
            results = run_cluster_batch(
                ws, files, options, scheduler="", client=client,
                on_piece=lambda _path, part: seconds.append(float(part.worker["seconds"])),
            )
            wall = time.perf_counter() - begin
            checked(results)
    return started, wall, sum(seconds), len(seconds)


def load() -> str:
    """The machine's load average over the last minute: these figures mean little without
    it on a shared machine."""
    return f"{os.getloadavg()[0]:.1f}"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--max-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sets", default="demo,real,long")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores ({cpu_name()}), Python {platform.python_version()},"
          f" tiny.en, beam 5, one engine thread per worker")
    print("| files | path | start s | wall s | audio h / wall h | vs local:1 | decode s | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            options = TranscribeOptions()
            if name == "demo":
                files = demo_copies(folder, args.copies)
            elif name == "long":
                files, options = [tiled_demo(folder, 4)], replace(options, chunk_s=60.0)
            else:
                files = REAL
            audio_s = sum(probe(f).duration_ms for f in files) / 1000
            label = f"{name}: {len(files)} files, {audio_s:.0f} s audio"
            wall = local_path(files, folder, options)
            print(f"| {label} | local path | - | {wall:.1f} | {audio_s / wall:.1f} | | | "
                  f"{load()} |")
            one = None
            for workers in range(1, args.max_workers + 1):
                started, cwall, decode, tasks = on_cluster(files, folder, workers, options)
                one = one or cwall
                print(f"| {label} | local:{workers} ({tasks} tasks) | {started:.1f} | "
                      f"{cwall:.1f} | {audio_s / cwall:.1f} | {one / cwall:.2f}x | "
                      f"{decode:.1f} | {load()} |")
                if workers == 1 and name == "long":
                    per_piece = (cwall - wall) / tasks
                    print(f"| {label} | local:1 vs local path, per piece | | {per_piece:.2f} "
                          f"| | | {100 * (cwall - wall) / wall:.1f} % of the local path |")
                    scheduling = (cwall - decode) / tasks
                    print(f"| {label} | scheduling (wall - worker decode), per piece | | "
                          f"{scheduling:.2f} | | | {100 * (cwall - decode) / wall:.1f} % |")
                elif workers == 1:
                    each = wall / len(files)
                    per_task = (cwall - wall) / len(files)
                    scheduling = (cwall - decode) / len(files)
                    print(f"| {label} | local:1 vs local path, per file | | {per_task:.2f} | | | "
                          f"{100 * per_task / each:.1f} % of a file's {each:.1f} s |")
                    print(f"| {label} | scheduling (wall - worker decode), per file | | "
                          f"{scheduling:.2f} | | | {100 * scheduling / each:.1f} % |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
