"""Redacted sharing: ``export --redact names`` hands out speakers by role and agency, notes
blanked, while the workspace keeps everything and the manifest says what was left out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from formats.builders import Seg, TranscriptBuilder

from annotator.cli import main
from annotator.core.model import ReviewState
from annotator.core.store import Workspace

LINES = (
    Seg(0, 1500, "Step out of the vehicle.", speaker="Officer Dana Jones", tags=("strike",)),
    Seg(1500, 3000, "Why are you stopping me?", speaker="Maria Lopez",
        state=ReviewState.REVIEWED, note="Maria Lopez lives at 12 Elm St"),
)


def test_names_are_replaced_by_roles_in_every_format_and_the_workspace_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        TranscriptBuilder(ws)(LINES, ("Officer Dana Jones", "Maria Lopez"),
                              media_path=str(tmp_path / "Maria Lopez phone" / "clip.mp4"))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = tmp_path / "out"
    assert main(["export", "1", "--redact", "names,paths", "--out", str(out),
                 "--db", str(db)]) == 0
    written = sorted(out.iterdir())
    assert len(written) == 5
    for path in written:
        text = path.read_text()
        assert "Jones" not in text and "Lopez" not in text and "Elm St" not in text, path
    srt = next(p for p in written if p.suffix == ".srt").read_text()
    assert "Officer (speaker 1): Step out of the vehicle." in srt
    assert "Bystander (speaker 2): Why are you stopping me?" in srt
    (export,) = (p for p in written if p.suffix == ".json" and ".manifest" not in p.name)
    data = json.loads(export.read_text())
    assert [s["agency"] for s in data["speakers"]] == ["ice", ""]
    assert [s["note"] for s in data["segments"]] == ["", ""]
    (manifest,) = out.glob("*.manifest.json")
    assert json.loads(manifest.read_text())["redacted"] == {"paths": True, "names": True}
    # The workspace is intact: the export only read it.
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    with Workspace(db, read_only=True) as ws:
        assert [sp.label for sp in ws.speakers(1)] == ["Officer Dana Jones", "Maria Lopez"]
        assert ws.segments(1)[1].note == "Maria Lopez lives at 12 Elm St"
    capsys.readouterr()
    assert main(["export", "1", "--redact", "faces", "--out", str(out), "--db", str(db)]) == 2
    assert "takes names and paths" in capsys.readouterr().err
