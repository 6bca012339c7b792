"""``annotator suggest`` end to end on a real transcribed clip, in process and once through
``python -m annotator``; exit codes for a detector that is not installed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core import suggestions as layer
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind
from annotator.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

from support import shared_file


def test_suggest_rules_and_distrust_then_export(
        workspace_copy: Workspace, demo_media_id: int, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = workspace_copy.path
    workspace_copy.close()
    code = main(["suggest", "demo.mp4", "--rules", "--distrust", "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err
    assert out.startswith("demo.mp4: rules ") and ", distrust " in out
    assert "running rules" in err  # progress on stderr
    with Workspace(db) as ws:
        kinds = {x.kind for x in layer.suggestions(ws, demo_media_id)}
        assert Kind.TAG in kinds and not kinds & {Kind.SPEAKER, Kind.EVENT}
    code = main(["export", "demo.mp4", "--format", "json,rttm", "--out", str(tmp_path),
                 "--db", str(db)])
    assert code == EXIT_OK
    (exported,) = [p for p in tmp_path.glob("demo.*.json") if ".manifest." not in p.name]
    data = json.loads(exported.read_text("utf-8"))
    assert {s["status"] for s in data["suggestions"]} == {"open"}
    assert any(s["value"] == "warrant_requested" for s in data["suggestions"])
    assert next(tmp_path.glob("demo.*.rttm")).read_text("utf-8") == ""  # no voices yet


def test_named_detector_missing_exits_1_default_run_warns(
        workspace_copy: Workspace, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db = workspace_copy.path
    workspace_copy.close()
    monkeypatch.setitem(sys.modules, "annotator.suggest.voices", None)
    monkeypatch.setitem(sys.modules, "annotator.suggest.impacts", None)
    assert main(["suggest", "demo.mp4", "--voices", "--db", str(db)]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "annotator: error: voices unavailable: install annotator[voices]" in err
    assert main(["suggest", "demo.mp4", "--db", str(db)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "warning: voices unavailable" in err and "(impacts unavailable, voices " in out
    assert main(["suggest", "nosuch.mp4", "--rules", "--db", str(db)]) == EXIT_FAILURE
    assert main(["suggest", "demo.mp4", "--speakers", "0", "--db", str(db)]) == EXIT_USAGE


def test_python_m_annotator_suggest(workspace_copy: Workspace) -> None:
    db = workspace_copy.path
    workspace_copy.close()
    done = subprocess.run(
        [sys.executable, "-m", "annotator", "suggest", "jfk.flac", "--rules", "--db", str(db)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout.startswith("jfk.flac: ")



def test_transcribe_suggest(workspace_copy: Workspace, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    """``transcribe --suggest`` runs the passes after each file (here jfk.flac, already in
    the workspace, so skipped by transcription: the passes still run, as after a decode); a
    detector that is not installed is a warning, not a failure."""
    db = workspace_copy.path
    workspace_copy.close()
    monkeypatch.setitem(sys.modules, "annotator.suggest.voices", None)  # as without the extra
    code = main(["transcribe", str(shared_file("jfk.flac")), "--suggest", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    found = re.search(r"jfk\.flac: rules (\d+), distrust (\d+)", err)
    assert found is not None, err
    assert "warning: voices unavailable: install annotator[voices]" in err
    with Workspace(db) as ws:
        media = ws.find_media("jfk.flac")
        tags = layer.suggestions(ws, media.id, kinds=[Kind.TAG])
        doubts = layer.suggestions(ws, media.id, kinds=[Kind.DISTRUST])
    assert (len(tags), len(doubts)) == (int(found[1]), int(found[2]))
