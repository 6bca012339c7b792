"""A 4-hour livestream (5,000 segments, 40,000 words) opens whole, and tagging a segment
re-renders only its row. How fast is measured by ``bench/tui.py`` (targets: open <= 1 s, a tag
keystroke <= 50 ms), not asserted here: these machines are shared and noisy."""

from __future__ import annotations

from pathlib import Path

from annotator.core.store import Workspace
from annotator.tui.launch import build_app

from .builders import long_stream


async def test_long_stream_opens_whole_and_a_tag_rerenders_only_its_row(tmp_path: Path) -> None:
    db = tmp_path / "long.db"
    media = long_stream(db, 5000, 8)
    with Workspace(db) as ws:
        app = build_app(ws, db, str(media.id), "tester")
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.pause()
            # the stream opens, every row is there
            assert len(app.review.table.rows) == 5000
            assert sum(len(s.words) for s in app.review.session.segments) == 40000
            assert app.review.table.current == app.review.session.segments[0]
            assert app.review.status.reviewed == (0, 5000)

            table = app.review.table
            composed = 0
            compose = table._compose_line

            def counting(*args: object, **kwargs: object) -> object:
                nonlocal composed
                composed += 1
                return compose(*args, **kwargs)  # type: ignore[arg-type]

            table._compose_line = counting  # type: ignore[method-assign,assignment]
            await pilot.press("G")  # the far end of the stream
            await pilot.pause()
            assert table.cursor == 4999
            for tagged in (True, False, True):
                await pilot.press("t")
                await pilot.pause()
                composed = 0
                await pilot.press("v")  # the key that tags (and closes the choices)
                await pilot.pause()
                assert table.current is not None
                assert ("verbal_order" in table.current.tags) is tagged
                assert 1 <= composed <= 2, f"{composed} rows re-rendered for one tag"
    with Workspace(db) as ws:
        assert "verbal_order" in ws.segments(media.id)[-1].tags
