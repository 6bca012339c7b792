"""``annotator capture`` on the loopback interface: a live HLS stream that drops and comes back,
a file that grows while it is followed, Ctrl-C, verify, and the live transcript against the
captured file's.

ffmpeg publishes a 45-s clip of the demo recording as live HLS (1-s segments, at four times
real time so the module stays short) into a folder a small HTTP server on 127.0.0.1 serves;
the server is stopped four seconds in and started again three seconds later. One capture
(with ``--transcribe``) runs for the whole module; the tests check what it left.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from annotator.cli import main
from annotator.core import captures
from annotator.core.store import Workspace

from support import ROOT, Server, demo_excerpt, require_tool

CLIP_S = 45


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 s of the demo recording as MPEG-TS with a keyframe every second (so HLS can cut
    1-s segments without re-encoding while it publishes)."""
    return demo_excerpt(tmp_path_factory.mktemp("clip") / "clip.ts", CLIP_S,
                        keyframe_each_second=True, loop=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[dict[str, Any]]:
    """One live capture with transcription of the clip published as HLS, with an outage."""
    ffmpeg = require_tool("ffmpeg")
    root = tmp_path_factory.mktemp("live")
    www = root / "www"
    www.mkdir()
    server = Server(www)
    server.start()
    publisher = subprocess.Popen(
        [ffmpeg, "-loglevel", "error", "-readrate", "4", "-i", str(clip), "-c", "copy",
         "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", str(www / "live.m3u8")],
    )
    outage: dict[str, float] = {}

    def drop_and_restart() -> None:
        time.sleep(4)
        outage["down"] = time.time()
        server.stop()
        time.sleep(3)
        server.start()
        outage["up"] = time.time()

    try:
        deadline = time.monotonic() + 20
        while not (www / "live.m3u8").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        dropper = threading.Thread(target=drop_and_restart)
        dropper.start()
        db = root / "annotator.db"
        started = time.monotonic()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main([
                "capture", f"http://127.0.0.1:{server.port}/live.m3u8", "--out",
                str(root / "cap"), "--name", "live", "--give-up", "20", "--transcribe",
                "--chunk-s", "10", "--language", "en", "--json", "--db", str(db),
            ])
        seconds = time.monotonic() - started
        dropper.join()
    finally:
        publisher.wait(timeout=60)
        server.stop()
    yield {"db": db, "code": code, "outage": outage, "seconds": seconds, "root": root,
           "summary": json.loads(printed.getvalue())}


def _capture(db: Path) -> tuple[captures.Capture, list[captures.Piece], list[captures.Gap]]:
    with Workspace(db) as ws:
        cap = captures.all_captures(ws)[-1]
        return cap, captures.pieces(ws, cap.id), captures.gaps(ws, cap.id)


def test_live_hls_capture_records_the_outage_and_reconnects(live: dict[str, Any]) -> None:
    assert live["code"] == 0
    cap, pieces, gaps = _capture(live["db"])
    assert cap.status == "done" and cap.kind == "hls"
    # every segment the playlist offered was read, in order, once
    sequences = [p.media_sequence for p in pieces]
    assert sequences == list(range(len(pieces))) and len(pieces) >= CLIP_S - 2
    assert len(gaps) == 1, gaps
    gap = gaps[0]
    assert gap.ended_at is not None and gap.attempts >= 2 and not gap.missed
    assert "refused" in gap.reason or "reset" in gap.reason.lower()
    # the gap lies within the outage (second resolution in the workspace)
    assert gap.started_at[:19] >= time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(int(live["outage"]["down"])))
    assert gap.after_seq is not None and 0 <= gap.after_seq < len(pieces)
    # arrival and what the server said about each segment are kept
    assert all(p.headers.get("Last-Modified") and p.headers.get("EXTINF") for p in pieces)
    assert all(p.stream_start_ms is not None and p.stream_end_ms is not None for p in pieces)
    assert [p.arrived_s for p in pieces] == sorted(p.arrived_s for p in pieces)


def test_captured_file_plays_and_its_hashes_verify(live: dict[str, Any], clip: Path) -> None:
    import av

    cap, pieces, _gaps = _capture(live["db"])
    path = Path(cap.path)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == cap.sha256 and len(data) == cap.size
    assert sum(p.size for p in pieces) == len(data)
    assert pieces[-1].chain_sha256 == functools.reduce(
        captures.chain_hash, [p.sha256 for p in pieces], captures.GENESIS)
    with av.open(str(path)) as container:  # it decodes, to the end
        frames = [f for f in container.decode(audio=0)]
    decoded_s = sum(f.samples for f in frames) / frames[0].sample_rate
    assert abs(decoded_s - CLIP_S) < 1.5
    assert main(["verify", "--db", str(live["db"])]) == 0


def test_a_flipped_byte_is_named_by_piece(live: dict[str, Any], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cap, pieces, _gaps = _capture(live["db"])
    copy = tmp_path / "copy.ts"
    shutil.copyfile(cap.path, copy)
    target = pieces[7]
    raw = bytearray(copy.read_bytes())
    raw[target.byte_offset + target.size // 2] ^= 0x01
    copy.write_bytes(bytes(raw))
    problems = captures.check_pieces(
        captures.Capture(**{**cap.__dict__, "path": str(copy)}), pieces)
    assert [p.seq for p in problems] == [7]
    assert "hash to" in problems[0].detail
    shutil.copyfile(copy, cap.path)  # and `annotator verify` names it too
    try:
        assert main(["verify", "--db", str(live["db"])]) == 1
        assert f"piece 7: bytes {target.byte_offset}-" in capsys.readouterr().err
    finally:
        raw[target.byte_offset + target.size // 2] ^= 0x01
        Path(cap.path).write_bytes(bytes(raw))


@pytest.mark.engine
def test_live_transcript_equals_the_captured_files(live: dict[str, Any], tmp_path: Path) -> None:
    from annotator.transcribe.engine import TranscribeOptions
    from annotator.transcribe.pipeline import run_batch

    cap, _pieces, _gaps = _capture(live["db"])
    with Workspace(live["db"]) as ws:
        assert cap.media_id is not None
        run = ws.current_run(cap.media_id)
        assert run is not None and run.options["chunk_s"] == 10
        live_drafts = [(d.start_ms, d.end_ms, d.text) for d in ws.drafts(run.id)]
        cuts = ws.conn.execute(
            "SELECT COUNT(*) FROM run_checkpoint WHERE run_id=?", (run.id,)).fetchone()[0]
        # segments were stored while the stream was still coming in, not only at its end
        first_draft = ws.conn.execute(
            "SELECT MIN(ts) FROM audit WHERE action='machine.draft'").fetchone()[0]
        assert first_draft < cap.ended_at
    assert cuts >= 2  # the live run crossed at least one cut between pieces
    # and showed the newest words by tail passes in between, which left nothing behind
    passes = re.search(r"(\d+) passes \((\d+) of them tail passes\)",
                       live["summary"]["transcript"])
    assert passes is not None and int(passes[2]) >= 1, live["summary"]
    with Workspace(tmp_path / "after.db") as ws:
        [result] = run_batch(ws, [Path(cap.path)], TranscribeOptions(chunk_s=10, language="en"))
        assert result.status == "done", result.error
        after = ws.current_run(result.media.id if result.media else 0)
        assert after is not None
        file_drafts = [(d.start_ms, d.end_ms, d.text) for d in ws.drafts(after.id)]
    assert len(live_drafts) > 10
    assert live_drafts == file_drafts


def _appender(src: Path, dest: Path, step: int, pause: float, stop: threading.Event) -> None:
    data = src.read_bytes()
    with dest.open("ab") as fh:
        for at in range(0, len(data), step):
            if stop.is_set():
                return
            fh.write(data[at:at + step])
            fh.flush()
            time.sleep(pause)


def test_a_growing_file_is_followed_to_its_end(clip: Path, tmp_path: Path) -> None:
    source = tmp_path / "recording.ts"
    source.write_bytes(b"")
    writer = threading.Thread(
        target=_appender, args=(clip, source, 64 * 1024, 0.1, threading.Event()))
    writer.start()
    db = tmp_path / "annotator.db"
    code = main(["capture", str(source), "--out", str(tmp_path / "cap"), "--name", "copy",
                 "--idle", "1.5", "--db", str(db)])
    writer.join()
    assert code == 0
    cap, pieces, gaps = _capture(db)
    assert cap.kind == "growing" and cap.status == "done" and not gaps
    assert len(pieces) >= 2
    assert Path(cap.path).read_bytes() == clip.read_bytes()  # byte for byte
    assert cap.sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert captures.check_pieces(cap, pieces) == []
    with Workspace(db) as ws:
        assert cap.media_id is not None and ws.media(cap.media_id).sha256 == cap.sha256


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def test_ctrl_c_ends_the_capture_keeping_everything(clip: Path, tmp_path: Path) -> None:
    source = tmp_path / "obs.ts"
    source.write_bytes(b"")
    db = tmp_path / "annotator.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotator", "capture", str(source), "--out",
         str(tmp_path / "cap"), "--name", "obs", "--idle", "60", "--json", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    stop = threading.Event()
    writer = threading.Thread(target=_appender, args=(clip, source, 64 * 1024, 0.3, stop))
    try:
        deadline = time.monotonic() + 30
        while _count(db, "SELECT COUNT(*) FROM capture") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        writer.start()  # the file grows once the capture is following it
        while (_count(db, "SELECT COUNT(*) FROM capture_piece") < 2
               and time.monotonic() < deadline):
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        stop.set()
        if writer.is_alive():
            writer.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; everything captured so far is kept and hashed" in err
    summary = json.loads(out)
    assert summary["status"] == "interrupted" and summary["pieces"] >= 2
    cap, pieces, _gaps = _capture(db)
    data = Path(cap.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == cap.sha256
    assert data == clip.read_bytes()[: len(data)]
    assert captures.check_pieces(cap, pieces) == []


def test_json_export_carries_the_capture_record(live: dict[str, Any], tmp_path: Path) -> None:
    import jsonschema

    from annotator.formats.json_format import load_schema

    cap, pieces, gaps = _capture(live["db"])
    assert main(["export", cap.path, "--format", "json", "--out", str(tmp_path),
                 "--db", str(live["db"])]) == 0
    [exported] = [
        p for p in tmp_path.glob("*.json") if not p.name.endswith(".manifest.json")]
    data = json.loads(exported.read_text())
    jsonschema.validate(data, load_schema())
    record = data["acquisition"]["capture"]
    assert record["source"] == cap.source and record["sha256"] == data["media"]["sha256"]
    assert [p["chain_sha256"] for p in record["pieces"]] == [p.chain_sha256 for p in pieces]
    assert record["chain"]["head"] == pieces[-1].chain_sha256
    assert [g["started_at"] for g in record["gaps"]] == [g.started_at for g in gaps]
    assert record["pieces"][3]["headers"]["Last-Modified"] == pieces[3].headers["Last-Modified"]


def test_remux_copies_packets_into_playable_pieces(clip: Path, tmp_path: Path) -> None:
    """The PyAV path (RTMP/SRT/RTSP/DASH) on a local source: packets copied, not re-encoded."""
    import av

    db = tmp_path / "annotator.db"
    assert main(["capture", str(clip), "--via", "remux", "--out", str(tmp_path / "cap"),
                 "--name", "remuxed", "--db", str(db)]) == 0
    cap, pieces, gaps = _capture(db)
    assert cap.kind == "remux" and cap.status == "done" and not gaps and len(pieces) >= 5
    assert captures.check_pieces(cap, pieces) == []
    with av.open(str(clip)) as source, av.open(cap.path) as copy:
        assert [s.codec_context.name for s in copy.streams] == [
            s.codec_context.name for s in source.streams]
        packets = [bytes(p) for p in copy.demux(audio=0) if p.size]
        originals = [bytes(p) for p in source.demux(audio=0) if p.size]
    assert packets == originals  # the same audio packets, byte for byte


def test_a_segment_the_server_keeps_refusing_is_recorded_as_missed(
    clip: Path, tmp_path: Path
) -> None:
    ffmpeg = require_tool("ffmpeg")
    www = tmp_path / "www"
    www.mkdir()
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-i", str(clip), "-t", "12", "-c", "copy", "-f", "hls",
         "-hls_time", "2", "-hls_list_size", "0", "-hls_playlist_type", "vod",
         str(www / "vod.m3u8")],
        check=True, timeout=60,
    )
    (www / "vod2.ts").unlink()  # listed, but gone from the server
    server = Server(www)
    server.start()
    db = tmp_path / "annotator.db"
    try:
        code = main(["capture", f"http://127.0.0.1:{server.port}/vod.m3u8", "--out",
                     str(tmp_path / "cap"), "--name", "vod", "--db", str(db)])
    finally:
        server.stop()
    assert code == 0
    cap, pieces, gaps = _capture(db)
    assert cap.status == "done"
    assert 2 not in [p.media_sequence for p in pieces] and len(pieces) >= 4
    assert [p.media_sequence for p in pieces][:2] == [0, 1]
    [gap] = gaps
    assert gap.missed == (2,) and "404" in gap.reason and gap.ended_at is not None
    assert captures.check_pieces(cap, pieces) == []
