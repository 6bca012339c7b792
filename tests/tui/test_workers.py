"""Thread workers: live transcription into the open app, export, real mpv playback."""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import Checkbox

from annotator.core.store import Workspace
from annotator.tui.screens.export import ExportScreen

from .conftest import AppFactory
from support import DEMO, shared_file


async def test_new_file_is_transcribed_while_the_app_is_open(make_app: AppFactory,
                                                             tmp_path: Path) -> None:
    clip = tmp_path / "goforward.wav"
    shutil.copy(shared_file("goforward.wav"), clip)
    db = tmp_path / "live.db"
    app = make_app(db, str(clip))
    seen: list[int] = []
    async with app.run_test(size=(120, 35)) as pilot:
        assert app.review.transcriber.job is not None
        assert "transcribing" in app.review.status.activity
        deadline = time.monotonic() + 60
        while app.review.transcriber.job is not None and time.monotonic() < deadline:
            seen.append(len(app.review.table.rows))
            await pilot.pause(0.05)
        assert app.review.transcriber.job is None, app.review.status.activity
        assert app.review.table.rows and app.review.table.rows == list(app.review.session.segments)
        assert "forward" in " ".join(s.text.lower() for s in app.review.table.rows)
        assert app.review.status.reviewed == (0, len(app.review.table.rows))
        # then the detectors run in a worker, progress in the status bar, screen live
        assert "suggesting" in app.review.status.activity
        await pilot.press("j", "k")
        while app.review.suggested.running and time.monotonic() < deadline + 30:
            await pilot.pause(0.05)
        assert not app.review.suggested.running and not app.review.status.suggesting
        if importlib.util.find_spec("torch") is not None:  # annotator[voices]: who spoke
            assert app.review.table.cells(0)[2].plain.startswith("Voice ")
        await pilot.press("t", "v")
    with Workspace(db) as ws:
        media = ws.find_media("goforward.wav")
        run = ws.current_run(media.id)
        assert run is not None and run.status == "done"
        assert "verbal_order" in ws.segments(media.id)[0].tags


async def test_export_writes_files_with_the_review(make_app: AppFactory, demo_db: Path,
                                                   demo_ref: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    app = make_app(demo_db, demo_ref, export_dir=out)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("t", "w", "s", "f", "E")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        formats = app.review.exporter.formats()
        assert len(app.review.exporter.last) == len(formats) + 1  # every format, the manifest
    suffixes = {p.suffix for p in app.review.exporter.last}
    assert {".ass", ".json", ".srt", ".vtt"} <= suffixes
    assert app.review.exporter.last[-1].name.endswith(".manifest.json")
    assert all(p.parent == out and p.is_file() for p in app.review.exporter.last)
    written = app.review.exporter.last
    record = json.loads(next(p for p in written if p.suffix == ".json").read_text())
    text = json.dumps(record)
    assert "window_broken" in text and "Federal agent" in text
    srt = next(p for p in app.review.exporter.last if p.suffix == ".srt").read_text()
    assert "Federal agent" in srt
    assert record["provenance"]["paths_redacted"] is False
    assert record["media"]["path"] == record["provenance"]["media"]["path"]


async def test_export_dialog_can_leave_folder_paths_out(
    make_app: AppFactory, demo_db: Path, demo_ref: str, tmp_path: Path
) -> None:
    with Workspace(demo_db) as ws:
        ws.conn.execute("UPDATE media SET path=? WHERE id=?",
                        ("/home/jane/Evidence/Main St stop/IMG_0001.mp4", int(demo_ref)))
    out = tmp_path / "out"
    app = make_app(demo_db, demo_ref, export_dir=out)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("E")
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#export-redact", Checkbox).value = True
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    for path in app.review.exporter.last:
        text = path.read_text()
        assert "jane" not in text and "Evidence" not in text, path
    written = app.review.exporter.last
    record = json.loads(next(p for p in written if p.suffix == ".json").read_text())
    assert record["media"]["path"] == "IMG_0001.mp4"
    assert record["provenance"]["paths_redacted"] is True
    assert "/" not in record["run"]["options"]["model_path"]


@pytest.mark.mpv
async def test_real_mpv_plays_and_the_table_follows(make_app: AppFactory,
                                                    demo_db: Path, demo_ref: str) -> None:
    with Workspace(demo_db) as ws:
        ws.conn.execute("UPDATE media SET path=? WHERE id=?", (str(DEMO), int(demo_ref)))
    app = make_app(demo_db, demo_ref, player_args=("--ao=null",))
    async with app.run_test(size=(120, 35)) as pilot:
        deadline = time.monotonic() + 10
        while app.review.playback.state == "starting" and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.review.playback.state == "ready"
        await pilot.press("j", "j", "enter")
        target = app.review.session.segments[2]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the position and the row follow the player
            pos = app.review.status.position_ms
            if (pos is not None and pos > target.start_ms + 300
                    and app.review.table.playing_id == target.id):
                break
            await pilot.pause(0.05)
        assert app.review.status.position_ms is not None
        assert app.review.status.position_ms >= target.start_ms
        assert app.review.table.playing_id == target.id
        await pilot.press("space")
    assert app.review.playback.player is None  # closed on exit
