"""``annotator verify``: a flipped byte in each kind of record is caught and named.

The workspace is built with the store API and a review session (what the pipeline and the
review app write); the bytes are flipped in the files themselves (the SQLite file, the
media, the exports, the manifest), as a careless edit or a forger would.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from formats.builders import STOP, STOP_SPEAKERS, TranscriptBuilder

from annotator.cli import main
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace


@pytest.fixture
def record(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A workspace with one transcribed and reviewed media file (present on disk) and an
    export of it in every format with its manifest: (db, media file, export folder)."""
    media = tmp_path / "stop.mp4"
    media.write_bytes(b"not really a video, but these are its bytes" * 100)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        TranscriptBuilder(ws)(STOP, STOP_SPEAKERS, media_path=str(media),
                              content=media.read_bytes())
        media_id = ws.list_media()[0].id
        session = ReviewSession(ws, media_id, "alice-the-reviewer")
        session.set_text(session.segments[2].id, "Okay, go ahead.")
    out = tmp_path / "exports"
    assert main(["export", str(media_id), "--out", str(out), "--db", str(db),
                 "--reviewer", "bob"]) == 0
    return db, media, out


def _verify(db: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["verify", "--db", str(db), "--exports", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _flip(path: Path, marker: bytes, at: int = 0) -> None:
    """Change one byte (``marker[at]``, one bit) in every place ``marker`` occurs."""
    data = path.read_bytes()
    assert marker in data, (path, marker)
    flipped = marker[:at] + bytes([marker[at] ^ 0x01]) + marker[at + 1 :]
    path.write_bytes(data.replace(marker, flipped))


def test_an_intact_record_verifies(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _media, out = record
    code, stdout, err = _verify(db, out, capsys)
    assert code == 0, err
    assert err == ""
    assert "ok: audit chain:" in stdout and "ok: machine drafts: 3 draft segments" in stdout
    assert "SHA-256" in stdout and "manifest.json: 4 files match" in stdout


def test_a_flipped_byte_in_the_media_file_is_caught(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, media, out = record
    _flip(media, b"these")
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert f"media 1 ({media})" in first and "not the file that was transcribed" in first


def test_a_flipped_byte_in_an_export_file_is_caught(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _media, out = record
    (srt,) = out.glob("*.srt")
    _flip(srt, b"vehicle")
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert str(srt) in first and "differs from" in first and "manifest.json" in first


def test_a_flipped_byte_in_a_manifest_is_caught(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _media, out = record
    (manifest,) = out.glob("*.manifest.json")
    _flip(manifest, b'"reviewer": "bob"', at=14)  # bob -> bnb: one bit
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    assert str(manifest) in err.splitlines()[0] and "manifest_sha256" in err
    # White space counts too: the file must be the manifest's one canonical layout.
    _flip(manifest, b'"reviewer": "bnb"', at=14)  # back to bob
    manifest.write_bytes(manifest.read_bytes().replace(b'\n  "tool"', b'\n\t"tool"'))
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1 and "canonical layout" in err.splitlines()[0]


def test_a_flipped_byte_in_an_audit_row_is_caught(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _media, out = record
    _flip(db, b"alice-the-reviewer", at=7)  # alice-tha-reviewer... one bit
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert "audit entry" in first and "(set_text)" in first
    assert "changed after it was written" in first


def test_a_flipped_byte_in_a_draft_row_is_caught(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _media, out = record
    _flip(db, b"Why are you stopping me", at=4)  # are -> `re
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("annotator: error: draft segment 2: differs from the machine draft")


def test_an_audit_row_rewritten_with_its_hash_breaks_the_link(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Recomputing a changed entry's own hash is not enough: the next entry's prev_hash no
    longer matches, and rewriting the whole chain is caught by the manifest's head."""
    import sqlite3

    from annotator.core import chain

    db, _media, out = record
    conn = sqlite3.connect(db)
    first_human = conn.execute(
        "SELECT MIN(id) FROM audit WHERE reviewer='alice-the-reviewer'"
    ).fetchone()[0]
    conn.execute("UPDATE audit SET reviewer='mallory' WHERE id=?", (first_human,))
    conn.execute("UPDATE audit SET hash=? WHERE id=?",
                 (chain.row_sha256(conn, "audit", chain.AUDIT_COLUMNS, first_human),
                  first_human))
    conn.commit()
    last = conn.execute("SELECT MAX(id) FROM audit").fetchone()[0]
    conn.close()
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    if first_human == last:  # nothing after it: the manifest's head names the old hash
        assert "audit chain head it names" in err
    else:
        assert "prev_hash does not match" in err


def test_manifests_verify_without_a_workspace(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _db, _media, out = record
    assert main(["verify", "--no-db", "--exports", str(out)]) == 0
    (manifest,) = out.glob("*.manifest.json")
    data = json.loads(manifest.read_text())
    assert data["reviewer"] == "bob" and data["redacted"] == {"paths": False, "names": False}
    assert data["audit_chain_head"]["sha256"] and len(data["files"]) == 4
    for entry in data["files"]:
        body = (out / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["size"] == len(body)
    capsys.readouterr()
    assert main(["verify", "--no-db"]) == 2  # nothing to check: a usage error


def test_an_export_and_an_audit_row_changed_together_are_both_named(
    record: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance check: one byte of an export and one audit row changed; verify
    names both (the workspace first, then the folder)."""
    db, _media, out = record
    (vtt,) = out.glob("*.vtt")
    _flip(vtt, b"vehicle")
    _flip(db, b"alice-the-reviewer", at=0)
    code, _stdout, err = _verify(db, out, capsys)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert "audit entry" in lines[0] and "(set_text)" in lines[0]
    assert lines[1].startswith(f"annotator: error: {vtt}: SHA-256 ")
