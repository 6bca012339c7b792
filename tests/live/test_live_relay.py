"""The relay path (:mod:`annotator.live.relay`) on loopback: sources PyAV's FFmpeg cannot
open, read by the system ffmpeg. ffmpeg publishes the demo recording as live DASH into a
folder served on 127.0.0.1, and serves it over SRT as a listener; each capture must hold a
run of the published audio packets, byte for byte, in pieces whose hashes verify."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from annotator.core import captures
from annotator.core.store import Workspace
from annotator.live import relay
from annotator.live.capture import CaptureOptions, CaptureResult, run_capture, source_kind

from support import Server, demo_excerpt, require_tool

CLIP_S = 8


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """8 s of the demo, a keyframe every second, as MP4 (what a DASH packager takes) and as
    MPEG-TS (what SRT carries)."""
    folder = tmp_path_factory.mktemp("relay")
    return {suffix: demo_excerpt(folder / f"clip.{suffix}", CLIP_S, keyframe_each_second=True)
            for suffix in ("mp4", "ts")}


def _audio_packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as media:
        return [bytes(p) for p in media.demux(audio=0) if p.size]


def _check(result: CaptureResult, clip: Path, ws: Workspace, least: int) -> None:
    """The capture went through the relay, its pieces verify, and its audio packets are a
    run of the clip's, in order, without one changed or missing (a live source is joined
    where it is: the run need not start at the clip's first packet)."""
    cap = result.capture
    pieces = captures.pieces(ws, cap.id)
    assert cap.kind == "relay" and result.media_id is not None and len(pieces) >= 2
    assert captures.check_pieces(cap, pieces) == []
    assert all(p.size % 188 == 0 for p in pieces)  # whole MPEG-TS packets
    assert any(p.stream_start_ms is not None for p in pieces)
    originals, copied = _audio_packets(clip), _audio_packets(Path(cap.path))
    assert len(copied) >= least, (len(copied), len(originals))
    # MPEG-TS carries AAC with an ADTS header (7 or 9 bytes) before the original bytes
    first = next(i for i, o in enumerate(originals) if copied[0].endswith(o))
    pairs = zip(copied, originals[first : first + len(copied)], strict=True)
    wrong = [i for i, (c, o) in enumerate(pairs)
             if not (c.endswith(o) and len(c) - len(o) in (0, 7, 9))]
    assert not wrong, (first, wrong[:5], len(copied), captures.gaps(ws, cap.id))


def _wait_for(ready: Callable[[], bool], seconds: float = 20) -> None:
    """Poll ``ready`` until it holds (the publisher has started), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Is process ``pid`` alive (not gone, not a zombie waiting to be reaped)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _udp_bound(port: int) -> bool:
    """Is a UDP socket bound to ``port`` on this machine (Linux: /proc/net/udp)?"""
    table = Path("/proc/net/udp").read_text().splitlines()[1:]
    return any(line.split()[1].endswith(f":{port:04X}") for line in table)


def test_sources_pyav_cannot_open_go_through_the_relay() -> None:
    assert source_kind("https://cdn.example/live/stream.mpd?token=1") == "relay"
    assert source_kind("srt://203.0.113.5:9000?mode=caller") == "relay"
    assert source_kind("rtmp://127.0.0.1/live/x") == "remux"
    assert source_kind("https://cdn.example/live/stream.m3u8") == "hls"


def test_a_live_dash_stream_is_captured_through_ffmpeg(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    """ffmpeg publishes 1-s DASH segments in real time (a reader places the live edge by the
    wall clock, so a faster publisher is not live to it); the capture joins the live
    presentation, copies the packets into hashed MPEG-TS pieces and ends once nothing new
    has come for ``--give-up`` seconds (ffmpeg's DASH reader waits for segments for ever)."""
    ffmpeg = require_tool("ffmpeg")
    folder = tmp_path / "www"
    folder.mkdir()
    server = Server(folder)
    server.start()
    publisher = subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-re", "-i", str(clips["mp4"]), "-c", "copy", "-f", "dash",
         "-seg_duration", "1", "-window_size", "0", "-use_timeline", "0",
         str(folder / "live.mpd")])
    try:
        _wait_for((folder / "live.mpd").exists)
        with Workspace(tmp_path / "annotator.db") as ws:
            result = run_capture(
                ws, f"http://127.0.0.1:{server.port}/live.mpd",
                CaptureOptions(out=tmp_path / "cap", name="dash", give_up_s=3),
                threading.Event())
            assert result.capture.status == "lost" and "nothing new" in (result.lost or "")
            _check(result, clips["mp4"], ws, least=50)  # AAC at 48 kHz: 47 packets a second
    finally:
        publisher.wait(timeout=30)
        server.stop()


def test_an_srt_stream_is_captured_through_ffmpeg(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    """ffmpeg serves the clip over SRT as a listener; the capture connects as the caller
    (its first attempts may find no listener yet: the link retries) and copies everything
    the listener sends until it hangs up."""
    ffmpeg = require_tool("ffmpeg")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # SRT runs over UDP
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    listener = subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-re", "-i", str(clips["ts"]), "-c", "copy",
         "-f", "mpegts", f"srt://127.0.0.1:{port}?mode=listener"])
    try:
        # a caller that finds no listener waits for SRT's connect timeout (3 s): wait until
        # the listener's UDP port is open (the listener sends nothing before a caller comes)
        _wait_for(lambda: _udp_bound(port))
        with Workspace(tmp_path / "annotator.db") as ws:
            result = run_capture(
                ws, f"srt://127.0.0.1:{port}?mode=caller",
                # ffmpeg writes nothing before it has probed 2 s of stream (4-5 s here)
                CaptureOptions(out=tmp_path / "cap", name="srt", give_up_s=6),
                threading.Event())
            _check(result, clips["ts"], ws, least=len(_audio_packets(clips["ts"])) // 2)
    finally:
        listener.wait(timeout=30)


def test_without_the_ffmpeg_program_the_capture_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay.shutil, "which", lambda _name: None)
    with Workspace(tmp_path / "annotator.db") as ws:
        result = run_capture(ws, "srt://127.0.0.1:9", CaptureOptions(
            out=tmp_path / "cap", name="none", give_up_s=30), threading.Event())
    assert result.capture.status == "lost" and result.pieces == 0
    assert "needs the ffmpeg program (apt-get install ffmpeg)" in (result.lost or "")


def test_the_relay_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A capture killed with SIGKILL (no cleanup runs) does not leave its ffmpeg behind:
    here ffmpeg waits on a server that accepts and never answers, as a DASH reader waits for
    segments that never come."""
    import os
    import signal
    import sys

    require_tool("ffmpeg")
    require_tool("setpriv")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/live.mpd"
        script = (
            "import threading\nfrom pathlib import Path\n"
            "from annotator.core.store import Workspace\n"
            "from annotator.live.capture import CaptureOptions, run_capture\n"
            f"with Workspace({str(tmp_path / 'a.db')!r}) as ws:\n"
            f"    run_capture(ws, {url!r}, CaptureOptions(out=Path({str(tmp_path)!r})),"
            " threading.Event())\n")
        capture = subprocess.Popen([sys.executable, "-c", script])
        children = Path(f"/proc/{capture.pid}/task/{capture.pid}/children")
        relay: list[int] = []

        def started() -> bool:
            relay[:] = [int(p) for p in children.read_text().split()] if children.exists() else []
            return bool(relay)

        _wait_for(started)
        assert relay, "the capture started no relay"
        capture.send_signal(signal.SIGKILL)
        capture.wait(timeout=10)
        _wait_for(lambda: not _running(relay[0]), 5)
        alive = _running(relay[0])
        if alive:
            os.kill(relay[0], signal.SIGKILL)
        assert not alive, "ffmpeg outlived the capture that started it"
