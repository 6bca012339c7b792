"""Names and paths (issue 6.5): media found from any folder, ambiguity listed (exit 2), long
names exported, languages checked. Workspaces are built with the store API (no engine)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core.model import Media
from annotator.core.store import Workspace
from annotator.errors import AmbiguousMediaError, NotFoundError


def _media(ws: Workspace, typed: str, sha: str | None = None) -> Media:
    """A media with a finished one-segment transcript, registered as ``typed``."""
    sha = sha or hashlib.sha256(typed.encode()).hexdigest()
    media = ws.add_media(typed, sha, 1234, 20_000)
    run = ws.start_run(media.id, "tiny.en", "0" * 64, {}, {})
    ws.add_draft(run, 0, 1000, 3000, "Step out of the car.", (), -0.2, 0.01, 1.1)
    ws.finish_run(run.id)
    return media


def test_paths_are_stored_absolute_and_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where_it_ran = tmp_path / "case"
    (where_it_ran / "clips").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(where_it_ran)
    with Workspace(tmp_path / "w.db") as ws:
        media = _media(ws, "clips/stop.mp4")
        assert media.path == str(where_it_ran / "clips" / "stop.mp4")
        assert media.typed_path == "clips/stop.mp4"
        monkeypatch.chdir(elsewhere)
        assert ws.find_media("../case/clips/stop.mp4").id == media.id
        assert ws.find_media(str(where_it_ran / "clips" / "stop.mp4")).id == media.id
        assert ws.find_media("stop.mp4").id == media.id
        with pytest.raises(NotFoundError):
            ws.find_media("clips/stop.mp4")  # from here that is another file


def test_a_copy_of_the_file_finds_its_media_by_content(tmp_path: Path) -> None:
    original = tmp_path / "a" / "stop.mp4"
    original.parent.mkdir()
    original.write_bytes(b"the bytes of a livestream")
    copy = tmp_path / "b" / "renamed.mp4"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    with Workspace(tmp_path / "w.db") as ws:
        media = _media(ws, str(original), hashlib.sha256(original.read_bytes()).hexdigest())
        assert ws.find_media(str(copy)).id == media.id


def test_two_media_with_one_name_are_listed_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        first = _media(ws, "/phone-a/IMG_0001.MOV")
        second = _media(ws, "/phone-b/IMG_0001.MOV")
        with pytest.raises(AmbiguousMediaError) as info:
            ws.find_media("IMG_0001.MOV")
    assert info.value.how == "file name" and len(info.value.candidates) == 2
    out = tmp_path / "out"
    assert main(["export", "IMG_0001.MOV", "--out", str(out), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matches 2 media by file name" in err
    for media in (first, second):
        assert f"id {media.id}" in err and media.sha256[:12] in err and media.path in err
    assert not out.exists()  # nothing chosen for the user
    assert main(["export", str(second.id), "--format", "srt", "--out", str(out),
                 "--db", str(db)]) == 0


def test_a_shared_sha256_prefix_is_listed_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        one = _media(ws, "/x/one.mp4", "abcdef" + "1" * 58)
        _media(ws, "/x/two.mp4", "abcdef" + "2" * 58)
    assert main(["export", "abcdef", "--out", str(tmp_path / "out"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "matches 2 media by SHA-256 prefix" in err and "one.mp4" in err and "two.mp4" in err
    assert main(["export", "ABCDEF1", "--format", "srt", "--out", str(tmp_path / "out"),
                 "--db", str(db)]) == 0
    written = [Path(line).name for line in capsys.readouterr().out.split()]
    assert written == [f"one.{one.sha256[:12]}.srt", f"one.{one.sha256[:12]}.manifest.json"]


@pytest.mark.parametrize("redact", [False, True])
@pytest.mark.parametrize("char", ["a", "é"], ids=["ascii", "two-byte"])
def test_a_249_character_name_can_be_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], redact: bool, char: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    stem = char * 245 if char == "a" else char * 123  # a legal name: 249 / 250 bytes
    name = f"{stem}.mp4"
    (folder / name).write_bytes(b"x")  # the file system takes the name itself
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        # Registered under the file's own hash: export refuses a file that is not the
        # recording the workspace describes (annotator.core.acquisition).
        first = _media(ws, str(folder / name), hashlib.sha256(b"x").hexdigest())
        second = _media(ws, str(folder / (stem[:-1] + "b.mp4")), "2" * 64)
    out = tmp_path / "out"
    args = ["export", str(first.id), str(second.id), "--out", str(out), "--db", str(db)]
    assert main(args + (["--redact-paths"] if redact else [])) == 0, capsys.readouterr().err
    written = sorted(out.iterdir())
    assert len(written) == 10  # four formats and a manifest, two media: no name clashed
    for path in written:
        assert len(path.name.encode()) <= 255
        assert path.name.startswith(stem[:50])
        assert first.sha256[:12] in path.name or second.sha256[:12] in path.name
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_unknown_language_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.db"
    assert main(["transcribe", "x.wav", "--language", "xx", "--db", str(db)]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err
    assert main(["transcribe", "x.wav", "--language", "fr", "--db", str(db)]) == 2
    assert "tiny.en is an English-only model" in capsys.readouterr().err
    assert not db.exists()  # nothing was done


def test_typed_path_is_exported_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    case = tmp_path / "jane" / "Evidence"
    case.mkdir(parents=True)
    monkeypatch.chdir(case)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = _media(ws, "../Evidence/stop.mp4")
    out = tmp_path / "out"
    assert main(["export", str(media.id), "--format", "json", "--out", str(out),
                 "--db", str(db)]) == 0
    (plain,) = [p for p in out.iterdir() if not p.name.endswith(".manifest.json")]
    assert json.loads(plain.read_text())["media"]["typed_path"] == "../Evidence/stop.mp4"
    assert main(["export", str(media.id), "--redact-paths", "--out", str(out),
                 "--db", str(db)]) == 0
    for path in out.iterdir():
        assert "jane" not in path.read_text() and "Evidence" not in path.read_text(), path
    record = json.loads(plain.read_text())
    assert record["media"]["typed_path"] == "stop.mp4" and record["media"]["path"] == "stop.mp4"


def test_unresolvable_references_are_not_found_rather_than_crashing(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with Workspace(tmp_path / "w.db") as ws:
        _media(ws, "/x/stop.mp4")
        for ref in (str(loop / "stop.mp4"), "stop\0.mp4"):
            with pytest.raises(NotFoundError):
                ws.find_media(ref)
