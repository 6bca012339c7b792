"""The remux path (:mod:`annotator.live.remux`) on loopback: an RTMP stream served by ffmpeg
itself (``-listen 1``), and a protocol the bundled FFmpeg lacks."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from annotator.core import captures
from annotator.core.store import Workspace
from annotator.live.capture import CaptureOptions, run_capture

from support import demo_excerpt, require_tool


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def flv_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of the demo recording as FLV (what RTMP carries), a keyframe every second."""
    return demo_excerpt(tmp_path_factory.mktemp("rtmp") / "clip.flv", 8,
                        keyframe_each_second=True)


def test_an_rtmp_stream_is_captured_packet_for_packet(flv_clip: Path, tmp_path: Path) -> None:
    """ffmpeg serves the clip over RTMP at four times real time; the capture connects (the
    first tries may find no server yet: the link retries), copies every audio packet into
    hashed MPEG-TS pieces, and ends once the server has hung up."""
    import av

    ffmpeg = require_tool("ffmpeg")
    url = f"rtmp://127.0.0.1:{_free_port()}/live/test"
    server = subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-readrate", "4", "-i", str(flv_clip), "-c", "copy",
         "-f", "flv", "-listen", "1", url],
    )
    stop = threading.Event()
    started = time.monotonic()
    try:
        with Workspace(tmp_path / "annotator.db") as ws:
            result = run_capture(ws, url, CaptureOptions(out=tmp_path / "cap", name="rtmp",
                                                         give_up_s=2), stop)
            pieces = captures.pieces(ws, result.capture.id)
    finally:
        server.wait(timeout=30)
    assert time.monotonic() - started < 30
    cap = result.capture
    assert cap.kind == "remux" and len(pieces) >= 2 and result.media_id is not None
    assert captures.check_pieces(cap, pieces) == []
    # the server ending its stream is an I/O error on the connection: a drop, then lost
    assert cap.status == "lost" and "nothing read" in (result.lost or "")
    with av.open(str(flv_clip)) as source, av.open(cap.path) as copy:
        originals = [bytes(p) for p in source.demux(audio=0) if p.size]
        packets = [bytes(p) for p in copy.demux(audio=0) if p.size]
    # MPEG-TS carries AAC with an ADTS header before each packet's original bytes
    assert len(packets) == len(originals)
    pairs = zip(packets, originals, strict=True)
    assert all(c.endswith(o) and len(c) - len(o) in (7, 9) for c, o in pairs)


def test_a_protocol_the_bundled_ffmpeg_lacks_is_named_at_once(tmp_path: Path) -> None:
    with Workspace(tmp_path / "annotator.db") as ws:
        started = time.monotonic()
        result = run_capture(ws, "nosuchproto://127.0.0.1:9/x", CaptureOptions(
            out=tmp_path / "cap", name="none", give_up_s=30), threading.Event())
    assert time.monotonic() - started < 5  # not retried for --give-up seconds
    assert result.capture.status == "lost" and result.pieces == 0
    assert "cannot open nosuchproto:// URLs" in (result.lost or "")
