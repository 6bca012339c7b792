"""The review app keeps the record checkable (issue 10): its export writes the manifest
``annotator verify --exports`` accepts, and a recording whose bytes are no longer the ones
transcribed is never played (nor exported) as that media, while the transcript stays
reviewable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import ClassVar

import pytest

from annotator.cli import main
from annotator.core.media import file_sha256
from annotator.core.model import Word
from annotator.core.store import Workspace
from annotator.tui.screens.export import ExportScreen

from .conftest import AppFactory

SIZE = (120, 35)
DEMO = Path(__file__).resolve().parents[2] / "media" / "demo.mp4"


@pytest.fixture
def copied(tmp_path: Path) -> tuple[Path, str, Path]:
    """A workspace whose media is a private copy of the demo clip: (db, media ref, file)."""
    clip = tmp_path / "stop.mp4"
    shutil.copyfile(DEMO, clip)
    db = tmp_path / "w.db"
    with Workspace(db) as ws:
        media = ws.add_media(str(clip), file_sha256(clip), clip.stat().st_size, 5000)
        run = ws.start_run(media.id, "tiny.en", "0" * 64, {"test": "1"}, {})
        for i, text in enumerate(["Step out of the car.", "Why am I stopped?"]):
            words = tuple(Word(i * 2000 + j * 300, i * 2000 + j * 300 + 250, " " + w, 0.9)
                          for j, w in enumerate(text.split()))
            ws.add_draft(run, i, i * 2000, i * 2000 + 1900, text, words, -0.2, 0.01, 1.2)
        ws.finish_run(run.id)
    return db, str(media.id), clip


class NoPlayer:
    """Stands in for mpv, recording which file the app would play."""

    started: ClassVar[list[Path]] = []

    def __init__(self, media_path: Path, **_: object) -> None:
        NoPlayer.started.append(media_path)

    running = True
    silent = False

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.running = False


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _messages(app: object) -> list[tuple[str, str]]:
    """Keep (title, message) of every notification while still showing it."""
    seen: list[tuple[str, str]] = []
    notify = app.notify  # type: ignore[attr-defined]

    def record(message: str, **kwargs: object) -> None:
        seen.append((str(kwargs.get("title", "")), message))
        notify(message, **kwargs)

    app.notify = record  # type: ignore[attr-defined]
    return seen


async def test_the_app_export_writes_a_manifest_verify_accepts(
    make_app: AppFactory, copied: tuple[Path, str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, ref, _clip = copied
    out = tmp_path / "out"
    app = make_app(db, ref, reviewer="ana", export_dir=out)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")  # a review decision, so the chain has a head of people's work
        await pilot.press("E")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    written = app.review.exporter.last
    manifest = next(p for p in written if p.name.endswith(".manifest.json"))
    data = json.loads(manifest.read_text())
    assert data["reviewer"] == "ana"
    assert {f["name"] for f in data["files"]} == {p.name for p in written if p != manifest}
    assert main(["verify", "--db", str(db), "--exports", str(out)]) == 0
    capsys.readouterr()
    exported = next(p for p in written if p.suffix == ".srt")
    exported.write_text(exported.read_text().replace("car", "cat"))
    assert main(["verify", "--db", str(db), "--exports", str(out)]) == 1
    said = capsys.readouterr()
    (broken,) = [line for line in (said.out + said.err).splitlines() if "differs" in line]
    assert exported.name in broken and manifest.name in broken


async def test_a_changed_recording_is_not_played_and_the_review_goes_on(
    make_app: AppFactory, copied: tuple[Path, str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, ref, clip = copied
    _flip_a_byte(clip)  # someone "fixed" the file in place after it was transcribed
    monkeypatch.setattr("annotator.player.find_mpv", lambda: "/usr/bin/mpv")
    monkeypatch.setattr("annotator.player.Player", NoPlayer)
    NoPlayer.started.clear()
    app = make_app(db, ref, export_dir=tmp_path / "out")
    seen = _messages(app)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")  # try to play the segment
        await pilot.pause()
        review = app.review
        assert NoPlayer.started == [] and review.playback.player is None
        assert review.playback.state == "failed"
        (_title, text), = [m for m in seen if m[0] == "Not the recording that was transcribed"]
        assert f"{clip} is not the recording that was transcribed" in text
        assert "annotator media relink MEDIA PATH" in text
        seg = review.table.current
        assert seg is not None
        await pilot.press("r")  # the transcript is still reviewable
        await pilot.press("E", "ctrl+s")  # but not exported as this media
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert review.session.segment(seg.id).state == "reviewed"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (failed,) = [m for m in seen if m[0] == "Export failed"]
    assert "not the recording that was transcribed" in failed[1]


async def test_without_a_player_a_changed_recording_is_still_named(
    make_app: AppFactory, copied: tuple[Path, str, Path]
) -> None:
    db, ref, clip = copied
    _flip_a_byte(clip)
    app = make_app(db, ref)
    seen = _messages(app)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
    titles = [t for t, _ in seen]
    assert "No player" in titles and "Not the recording that was transcribed" in titles


async def test_the_same_recording_plays(
    make_app: AppFactory, copied: tuple[Path, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, ref, clip = copied
    monkeypatch.setattr("annotator.player.find_mpv", lambda: "/usr/bin/mpv")
    monkeypatch.setattr("annotator.player.Player", NoPlayer)
    NoPlayer.started.clear()
    app = make_app(db, ref)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert NoPlayer.started == [clip] and app.review.playback.state == "ready"
