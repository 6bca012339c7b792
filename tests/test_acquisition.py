"""Acquisition facts: stated and audited, the file's own metadata shown beside them, and a
recording that is no longer the transcribed one refused (a moved copy relinked)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from formats.builders import STOP, STOP_SPEAKERS, TranscriptBuilder

from annotator.cli import main
from annotator.core import acquisition
from annotator.core.store import Workspace
from annotator.errors import UsageError

from support import shared_file


def _phone_clip(path: Path) -> Path:
    """A one-second AAC clip whose container says when, on which phone and where (as phones
    write it: MP4 creation_time, make, model, ISO 6709 location)."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="mp4", options={"movflags": "use_metadata_tags"}) as out:
        out.metadata.update({
            "creation_time": "2025-05-01T10:00:00.000000Z", "location": "+40.7128-074.0060/",
            "make": "Google", "model": "Pixel 7",
        })
        stream = out.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 16000), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    clip = _phone_clip(tmp_path / "clip.mp4")
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        TranscriptBuilder(ws)(STOP, STOP_SPEAKERS, media_path=str(clip),
                              content=clip.read_bytes())
    return db, clip


def test_facts_are_set_audited_and_shown_beside_the_container_metadata(
    workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _clip = workspace
    assert main(["media", "set", "1", "source_url=https://example.org/live/123",
                 "captured-by=@bystander", "--by", "erin", "--db", str(db)]) == 0
    assert main(["media", "show", "clip.mp4", "--json", "--db", str(db)]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after "recorded (...)"
    assert shown["stated"]["source_url"]["value"] == "https://example.org/live/123"
    with Workspace(db, read_only=True) as ws:
        media = ws.media(1)
        info = acquisition.describe(ws, media)
        (entry,) = ws.audit(1)
        assert ws.human_work_count(1) == 0  # facts are not review work
    assert info["stated"]["source_url"]["value"] == "https://example.org/live/123"
    assert info["stated"]["captured_by"] == {
        "value": "@bystander", "set_at": info["stated"]["captured_by"]["set_at"], "set_by": "erin"
    }
    assert info["container"] == {
        "creation_time": "2025-05-01T10:00:00.000000Z", "device_make": "Google",
        "device_model": "Pixel 7", "gps": "+40.7128-074.0060/",
        "encoder": info["container"]["encoder"],
    }
    assert info["file"]["state"] == "same"
    assert entry["action"] == "media.set" and entry["reviewer"] == "erin"
    assert {c["key"]: (c["before"], c["after"]) for c in entry["changes"]} == {
        "source_url": (None, "https://example.org/live/123"),
        "captured_by": (None, "@bystander"),
    }
    # The plain layout shows both kinds, the file's as not editable.
    assert main(["media", "show", "1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "source_url: https://example.org/live/123  (erin," in out
    assert "the file's own metadata (not editable):\n  creation_time: 2025-05-01" in out
    # Setting the same value again changes nothing; an empty value removes a fact.
    assert main(["media", "set", "1", "captured_by=@bystander", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == "unchanged"
    assert main(["media", "set", "1", "captured_by=", "--db", str(db)]) == 0
    with Workspace(db, read_only=True) as ws:
        assert "captured_by" not in acquisition.facts(ws, 1)
        assert len(ws.audit(1)) == 2


def test_unknown_or_malformed_facts_are_usage_errors(
    workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _clip = workspace
    assert main(["media", "set", "1", "device=Pixel", "--db", str(db)]) == 2
    assert "unknown fact 'device'; known: source_url" in capsys.readouterr().err
    assert main(["media", "set", "1", "source_url", "--db", str(db)]) == 2
    with pytest.raises(UsageError):
        acquisition.parse_assignment("=x")


def test_a_changed_recording_is_refused_and_a_moved_copy_relinked(
    workspace: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, clip = workspace
    moved = tmp_path / "archive" / "clip.mp4"
    moved.parent.mkdir()
    shutil.copyfile(clip, moved)
    data = bytearray(clip.read_bytes())
    data[-10] ^= 0x01  # someone "fixed" the file in place
    clip.write_bytes(bytes(data))
    out = tmp_path / "out"
    assert main(["export", "1", "--out", str(out), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert f"{clip}: this file's SHA-256 is " in err and "not the recording that was" in err
    assert "--relink PATH" in err and not out.exists()
    # A copy with other bytes is not accepted as the recording.
    assert main(["export", "1", "--relink", str(clip), "--out", str(out), "--db", str(db)]) == 1
    capsys.readouterr()
    # The moved original is.
    assert main(["export", "1", "--relink", str(moved), "--format", "srt", "--out", str(out),
                 "--db", str(db), "--reviewer", "erin"]) == 0
    with Workspace(db, read_only=True) as ws:
        assert ws.media(1).path == str(moved)
        (entry,) = ws.audit(1)
    assert entry["action"] == "media.relink" and entry["reviewer"] == "erin"
    assert entry["changes"][0]["after"]["path"] == str(moved)
    assert entry["changes"][0]["sha256"] == hashlib.sha256(moved.read_bytes()).hexdigest()


def test_transcribe_records_the_stated_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the real engine: --source-url and --captured-by on `transcribe` are stored and
    audited for the file transcribed."""
    clip = tmp_path / "jfk.flac"
    shutil.copyfile(shared_file("jfk.flac"), clip)
    db = tmp_path / "w.db"
    assert main(["transcribe", str(clip), "--source-url", "https://example.org/jfk",
                 "--captured-by", "White House Press Office", "--db", str(db)]) == 0
    capsys.readouterr()
    with Workspace(db, read_only=True) as ws:
        media = ws.list_media()[0]
        facts = acquisition.facts(ws, media.id)
        assert {k: v["value"] for k, v in facts.items()} == {
            "source_url": "https://example.org/jfk", "captured_by": "White House Press Office",
        }
        assert [e["action"] for e in ws.audit(media.id)] == ["media.set"]


def test_the_json_export_says_where_the_recording_came_from(
    workspace: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stated facts, the container's own claims and the audit chain's head at export time are
    in the JSON (valid against its schema); --redact names leaves out who stated them and the
    facts that name people."""
    import jsonschema

    from annotator.formats import load_schema, read_json

    db, _clip = workspace
    assert main(["media", "set", "1", "source_url=https://example.org/live/123",
                 "captured_by=Jane Roe", "obtained_how=yt-dlp", "--by", "erin",
                 "--db", str(db)]) == 0
    out = tmp_path / "out"
    assert main(["export", "1", "--format", "json", "--out", str(out), "--db", str(db)]) == 0
    capsys.readouterr()
    (path,) = [p for p in out.glob("*.json") if not p.name.endswith(".manifest.json")]
    data = read_json(path)
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    stated, container = data["acquisition"]["stated"], data["acquisition"]["container"]
    assert stated["source_url"]["value"] == "https://example.org/live/123"
    assert stated["captured_by"]["value"] == "Jane Roe"
    assert stated["captured_by"]["set_by"] == "erin"
    assert (container["device_model"], container["gps"]) == ("Pixel 7", "+40.7128-074.0060/")
    manifest = json.loads(next(out.glob("*.manifest.json")).read_text())
    with Workspace(db, read_only=True) as ws:
        (entry,) = ws.audit(1)  # the facts' entry is the newest link of the chain
    assert data["audit_chain_head"] == manifest["audit_chain_head"]
    assert data["audit_chain_head"]["audit_id"] == entry["id"]
    redacted = tmp_path / "redacted"
    assert main(["export", "1", "--format", "json", "--redact", "names", "--out",
                 str(redacted), "--db", str(db)]) == 0
    (path,) = [p for p in redacted.glob("*.json") if not p.name.endswith(".manifest.json")]
    text = path.read_text()
    assert "Jane Roe" not in text and "erin" not in text
    stated = json.loads(text)["acquisition"]["stated"]
    assert stated["captured_by"]["value"] == "(redacted)"
    assert stated["obtained_how"]["value"] == "yt-dlp"


def test_review_relink_accepts_a_moved_copy_before_opening(
    workspace: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``annotator review MEDIA --relink PATH`` records the new place (audited, same SHA-256
    only) and then opens the app on it; a different file is refused before anything opens."""
    import annotator.tui.launch as launch

    db, clip = workspace
    opened: list[str] = []
    monkeypatch.setattr(launch, "launch_review", lambda **kw: opened.append(kw["media"]))
    moved = tmp_path / "archive" / "clip.mp4"
    moved.parent.mkdir()
    shutil.move(clip, moved)
    other = tmp_path / "other.mp4"
    other.write_bytes(moved.read_bytes()[:-1])
    assert main(["review", "1", "--relink", str(other), "--db", str(db)]) == 1
    assert opened == []
    assert main(["review", "1", "--relink", str(moved), "--reviewer", "erin",
                 "--db", str(db)]) == 0
    assert opened == ["1"]
    with Workspace(db, read_only=True) as ws:
        assert ws.media(1).path == str(moved)
        assert [e["action"] for e in ws.audit(1)] == ["media.relink"]
    assert main(["review", "1", "--relink", str(moved), "--read-only", "--db", str(db)]) == 2
