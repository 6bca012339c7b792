"""The review app on a capture still being transcribed by another process: it does not start
a transcription of its own, shows segments as that process stores, replaces and drops them,
keeping the reviewer's cursor, and B bookmarks the live moment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from annotator.core import captures, runs
from annotator.core.media import probe
from annotator.core.model import MachineSegment
from annotator.core.store import Workspace
from annotator.tui.launch import build_app

from support import shared_file

SIZE = (120, 35)


def _segment(index: int, start_s: int, text: str) -> MachineSegment:
    return MachineSegment(index, start_s * 1000, start_s * 1000 + 900, text, (), -0.2, 0.01, 1.2)


@pytest.fixture(autouse=True)
def _no_player(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("annotator.player.find_mpv", lambda: None)
    monkeypatch.setenv("ANNOTATOR_KEYMAP", str(tmp_path / "no-keymap"))


async def test_review_follows_a_live_capture(tmp_path: Path) -> None:
    captured = tmp_path / "live.flac"  # stands for the growing capture file
    shutil.copyfile(shared_file("jfk.flac"), captured)
    db = tmp_path / "annotator.db"
    with Workspace(db) as writer:  # what `annotator capture --transcribe` writes
        cap = captures.start(writer, "http://127.0.0.1/live.m3u8", "hls", captured)
        media = writer.add_probed(probe(captured))
        captures.link_media(writer, cap.id, media.id)
        run = writer.start_run(media.id, "tiny.en", "0" * 64, {}, {"live_capture": True})
        runs.store_draft(writer, run, 0, _segment(0, 0, "And so my fellow Americans"))
        provisional = runs.store_draft(writer, run, 1, _segment(1, 2, "ask not"))
        ws = Workspace(db)
        app = build_app(ws, db, str(captured), "tester", export_dir=tmp_path / "exports")
        assert app.review.transcriber.job is None  # no second writer on the live run
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert [s.text for s in app.review.session.segments] == [
                "And so my fellow Americans", "ask not"]
            await pilot.press("j")  # the reviewer moves on; the rows keep coming
            runs.drop_draft(writer, provisional.id)  # replaced by the longer decode
            runs.store_draft(writer, run, 1, _segment(1, 2, "ask not what your country"))
            runs.store_draft(writer, run, 2, _segment(2, 5, "can do for you"))
            for _ in range(100):  # the next poll (once a second) and its messages
                await pilot.pause(0.1)
                if [s.text for s in app.review.session.segments][1:2] == [
                        "ask not what your country"] and len(app.review.table.rows) == 3:
                    break
            assert [s.text for s in app.review.session.segments] == [
                "And so my fellow Americans", "ask not what your country", "can do for you"]
            assert len(app.review.table.rows) == 3
            assert app.review.table.cursor == 1
            with writer.transaction() as c:  # the stream has grown to 10.5 s
                c.execute("UPDATE media SET duration_ms=10500 WHERE id=?", (media.id,))
            await pilot.press("B")  # bookmark now: a reviewer segment at the live time
            await pilot.pause()
            marks = [s for s in app.review.session.segments if s.human_text == "[bookmark]"]
            assert [(m.start_ms, m.end_ms) for m in marks] == [(9500, 10500)]
            assert app.review.table.current is not None
            assert app.review.table.current.text == "ask not what your country"
            assert any(e["action"] == "insert_segment" for e in writer.audit(media.id))
        ws.close()
