"""Benchmark: how far behind a live capture's transcript runs (issue 12.2).

ffmpeg publishes the demo clip, tiled ``--times`` times, as live HLS in real time (``-re``,
2-s segments) into a folder served on 127.0.0.1; ``annotator capture --transcribe`` (the same
functions, in process) follows it. For every word of the final transcript:

    delay = when the segment holding it was stored - when the word ended in the stream

where "ended in the stream" is the publisher's start plus the word's end time (the stream
plays in real time from then on), and "stored" is the first time a segment identical to the
final one (times and text) was stored (a provisional segment that is replaced later counts
from its replacement). Prints the median and 95th percentile, and the backlog (audio that had
arrived but that no finished pass had decoded yet) over time; every pass with its length.

Targets (issue 12): median < 10 s, p95 < 20 s with tiny.en on 2 cores, no growing backlog
over a 30-minute stream (``--times 30`` takes 30 minutes). This is a measurement, not a
test: the machine is shared, and what else runs on it shows in the figures.

    .venv/bin/python bench/live.py [--times 3] [--chunk-s 10] [--language en] [--model tiny.en]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotator.core.model import Segment  # noqa: E402
from annotator.core.store import Workspace  # noqa: E402
from annotator.live.capture import CaptureOptions, run_capture  # noqa: E402
from annotator.live.follow import Follower, live_options  # noqa: E402

DEMO = ROOT / "media" / "demo.mp4"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, port


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=3, help="demo copies (about 1 min each)")
    parser.add_argument("--chunk-s", type=float, default=10.0)
    parser.add_argument("--language", default=None)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        print("ffmpeg is needed (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "stream.ts"
        subprocess.run(
            [ffmpeg, "-loglevel", "error", "-stream_loop", str(args.times - 1), "-i", str(DEMO),
             "-c:v", "libx264", "-preset", "ultrafast", "-force_key_frames",
             "expr:gte(t,n_forced*2)", "-c:a", "aac", str(clip)],
            check=True,
        )
        www = root / "www"
        www.mkdir()
        httpd, port = _serve(www)
        stored: dict[tuple[int, int, str], float] = {}
        shown: list[tuple[int, int, float]] = []  # every segment stored, provisional or not

        def on_segment(seg: Segment, at: float) -> None:
            stored.setdefault((seg.start_ms, seg.end_ms, seg.text), at)
            shown.append((seg.start_ms, seg.end_ms, at))

        db = root / "annotator.db"
        follower = Follower(db, live_options(args.model, args.chunk_s, args.language),
                            on_segment=on_segment)
        published = time.monotonic()
        publisher = subprocess.Popen(
            [ffmpeg, "-loglevel", "error", "-re", "-i", str(clip), "-c", "copy", "-f", "hls",
             "-hls_time", "2", "-hls_list_size", "0", str(www / "live.m3u8")],
        )
        while not (www / "live.m3u8").exists():
            time.sleep(0.05)
        stop = threading.Event()
        with Workspace(db) as ws:
            follower.start()
            result = run_capture(
                ws, f"http://127.0.0.1:{port}/live.m3u8",
                CaptureOptions(out=root / "cap", name="live", give_up_s=15), stop,
                on_piece=follower.arrived, on_start=follower.started,
            )
            captured = time.monotonic()
            follower.capture_done(ws)
            follower.finish(stop)
            finished = time.monotonic()
            run = ws.current_run(result.media_id or 0)
            drafts = ws.drafts(run.id) if run is not None else []
        publisher.wait()
        httpd.shutdown()
    if follower.error is not None:
        print(f"transcription failed: {follower.error}", file=sys.stderr)
        return 1
    delays, first = [], []
    stretches: dict[int, tuple[list[float], list[float]]] = {}  # per 5 minutes of stream
    for d in drafts:
        at = stored.get((d.start_ms, d.end_ms, d.text))
        for word in d.words or ():
            spoken = published + word.end_ms / 1000
            stretch = stretches.setdefault(word.end_ms // 300_000, ([], []))
            if at is not None:
                delays.append(at - spoken)
                stretch[1].append(at - spoken)
            middle = (word.start_ms + word.end_ms) // 2
            seen = [t for s, e, t in shown if s <= middle <= e]
            if seen:
                first.append(min(seen) - spoken)
                stretch[0].append(min(seen) - spoken)
    audio_s = drafts[-1].end_ms / 1000 if drafts else 0.0
    print(f"stream: demo x{args.times} (~{audio_s:.0f} s of speech), model "
          f"{args.model or 'default'}, chunk_s {args.chunk_s:g}, language "
          f"{args.language or 'detected'}; {len(drafts)} segments, {len(delays)} words")
    print(f"capture ended {captured - published:.1f} s after the publisher started; the last "
          f"pass ended {finished - captured:.1f} s after that")
    if delays:
        print(f"word -> stored delay: median {statistics.median(delays):.1f} s, "
              f"p95 {_percentile(delays, 0.95):.1f} s, max {max(delays):.1f} s "
              "(the final segment's text)")
    if first:
        print(f"word -> first shown: median {statistics.median(first):.1f} s, "
              f"p95 {_percentile(first, 0.95):.1f} s (any segment over the word, "
              "provisional included)")
    if len(stretches) > 1:  # a growing backlog shows as delays growing stretch by stretch
        print("minutes  first shown median/p95 (s)  final text median/p95 (s)")
        for key, (shown_s, final_s) in sorted(stretches.items()):
            cells = [f"{statistics.median(v):5.1f} / {_percentile(v, 0.95):5.1f}" if v else "-"
                     for v in (shown_s, final_s)]
            print(f"{key * 5:3d}-{key * 5 + 5:<3d}  {cells[0]:>27}  {cells[1]:>25}")
    print("pass  kind    started(s)  seconds  audio it had(s)  backlog at its end(s)")
    for i, (began, seconds, decoded_ms, kind) in enumerate(follower.log):
        end = began + seconds - published
        arrived = min(end, captured - published)
        decoded = (decoded_ms or 0) / 1000
        print(f"{i:4d}  {kind:6}  {began - published:10.1f}  {seconds:7.1f}  {decoded:15.1f}  "
              f"{max(arrived - decoded, 0):21.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
