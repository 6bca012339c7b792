"""End to end: real transcriptions of the demo clip and jfk.flac exported in all four formats
through the CLI, then read back with independent parsers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pysubs2
import pytest
import webvtt

from annotator.cli import main
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.formats.json_format import load_schema


def _export(ws: Workspace, media: str, out: Path) -> dict[str, Path]:
    ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    code = main(["export", media, "--format", "json,srt,vtt,ass", "--out", str(out),
                 "--db", str(ws.path)])
    assert code == 0
    return {p.suffix.lstrip("."): p for p in out.iterdir()}


@pytest.mark.parametrize("media", ["demo.mp4", "jfk.flac"])
def test_all_formats_parse_back_with_same_times(
    workspace_copy: Workspace, tmp_path: Path, media: str
) -> None:
    m = workspace_copy.find_media(media)
    segments = workspace_copy.segments(m.id)
    files = _export(workspace_copy, media, tmp_path / "out")
    assert set(files) == {"json", "srt", "vtt", "ass"}

    data = json.loads(files["json"].read_text())
    jsonschema.validate(data, load_schema())
    assert data["provenance"]["media"]["sha256"] == m.sha256
    assert data["provenance"]["run"]["model_sha256"]
    assert [(s["start_ms"], s["end_ms"], s["text"]) for s in data["segments"]] == [
        (s.start_ms, s.end_ms, s.text) for s in segments
    ]

    srt = pysubs2.load(str(files["srt"]))
    assert [(e.start, e.end) for e in srt] == [(s.start_ms, s.end_ms) for s in segments]
    vtt = webvtt.read(str(files["vtt"]))
    assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in vtt] == [
        (s.start_ms, s.end_ms) for s in segments
    ]
    ass = [e for e in pysubs2.load(str(files["ass"])) if not e.is_comment]
    # ASS stores centiseconds: each time within 10 ms of the millisecond original
    assert len(ass) == len(segments)
    for event, seg in zip(ass, segments, strict=True):
        assert abs(event.start - seg.start_ms) <= 10 and abs(event.end - seg.end_ms) <= 10


def test_review_tags_and_speakers_reach_every_format(
    workspace_copy: Workspace, tmp_path: Path
) -> None:
    m = workspace_copy.find_media("demo.mp4")
    session = ReviewSession(workspace_copy, m.id, "tester")
    first, second = session.segments[0].id, session.segments[1].id
    session.add_speaker("Officer Diaz", role="officer", agency="local_police", assign=[first])
    session.add_speaker("Driver", assign=[second])
    tag = next(e.key for e in session.codebook.entries if e.kind == "action")
    session.add_tag(first, tag)
    session.set_text(second, "I am not rolling it down, why did you stop me?")
    files = _export(workspace_copy, "demo.mp4", tmp_path / "out")

    data = json.loads(files["json"].read_text())
    seg0, seg1 = data["segments"][0], data["segments"][1]
    assert seg0["speaker"] == "Officer Diaz" and tag in seg0["tags"]
    assert seg1["corrected"] and seg1["machine_text"] != seg1["text"]
    assert pysubs2.load(str(files["srt"]))[0].plaintext.startswith("Officer Diaz: ")
    vtt = webvtt.read(str(files["vtt"]))
    assert vtt.captions[0].voice == "Officer Diaz" and vtt.captions[1].voice == "Driver"
    ass = pysubs2.load(str(files["ass"]))
    dialogue = [e for e in ass if not e.is_comment]
    assert dialogue[0].name == "Officer Diaz" and dialogue[0].style != dialogue[1].style
    comments = [e for e in ass if e.is_comment]
    assert any(session.codebook.label(tag) in c.plaintext for c in comments)


def test_redact_paths_leaves_folders_out_of_every_format(
    workspace_copy: Workspace, tmp_path: Path
) -> None:
    media = workspace_copy.find_media("demo.mp4")
    folder = str(Path(media.path).parent)
    run = workspace_copy.current_run(media.id)
    assert run is not None
    model_folder = str(Path(run.options["model_path"]).parent)
    workspace_copy.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = tmp_path / "out"
    code = main(["export", "demo.mp4", "--redact-paths", "--out", str(out),
                 "--db", str(workspace_copy.path)])
    assert code == 0
    files = {p.suffix.lstrip("."): p for p in out.iterdir()}
    assert sorted(files) == ["ass", "json", "srt", "vtt"]
    for path in files.values():
        text = path.read_text()
        assert folder not in text and model_folder not in text, path
    record = json.loads(files["json"].read_text())
    jsonschema.Draft202012Validator(load_schema()).validate(record)
    assert record["media"]["path"] == record["provenance"]["media"]["path"] == "demo.mp4"
    assert record["media"]["sha256"] == media.sha256
    assert record["provenance"]["paths_redacted"] is True


def test_export_during_a_real_run_says_it_is_partial(tmp_path: Path) -> None:
    """Issue 6.4 as a user meets it: `annotator export` while `annotator transcribe` is still
    working on the file. The transcriber is frozen (SIGSTOP) once it has stored a segment, so
    the export certainly happens mid-run, then it is let go and interrupted."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    import wave

    from faster_whisper import decode_audio

    from support import DEMO

    clip = (decode_audio(str(DEMO)) * 32767).astype("<i2").tobytes()
    stream = tmp_path / "stop.wav"
    with wave.open(str(stream), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(clip * 2)
    db = tmp_path / "w.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotator", "transcribe", str(stream), "--threads", "1",
         "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        stored = 0
        deadline = time.monotonic() + 120
        while stored == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                with sqlite3.connect(db) as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM segment").fetchone()[0]
            except sqlite3.Error:
                continue
        assert proc.poll() is None, "finished before a segment could be seen"
        proc.send_signal(signal.SIGSTOP)
        out = tmp_path / "out"
        exported = subprocess.run(
            [sys.executable, "-m", "annotator", "export", "stop.wav", "--out", str(out),
             "--db", str(db)], capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert "annotator: warning:" in exported.stderr and "still in progress" in exported.stderr
    files = {p.suffix.lstrip("."): p for p in out.iterdir()}
    record = json.loads(files["json"].read_text())
    jsonschema.validate(record, load_schema())
    assert "still in progress" in record["provenance"]["warnings"][0]
    cues = len(record["segments"])
    assert cues >= 1
    srt = pysubs2.load(str(files["srt"]))
    assert "WARNING: partial transcript" in srt[0].plaintext and len(srt) == cues + 1
    vtt_text = files["vtt"].read_text()
    assert vtt_text.split("\n\n")[1].startswith("NOTE\nWARNING: partial transcript")
    assert len(webvtt.read(str(files["vtt"]))) == cues
    ass_info = files["ass"].read_text().split("[V4+ Styles]")[0]
    assert "; WARNING: partial transcript" in ass_info
