"""The review app shows each segment's language and translation (issue 8.4): the language in
the table and the detail pane, original and translation in the detail pane, ``b`` toggles
which text the table shows, and the filter view keeps one language."""

from __future__ import annotations

import hashlib
from pathlib import Path

from textual.widgets import Input

from annotator.core import runs
from annotator.core.document import load_transcript
from annotator.core.model import MachineSegment, RunStatus, Translation
from annotator.core.store import Workspace
from annotator.tui.filtering import ViewFilter

from .conftest import AppFactory

SIZE = (120, 30)


def _bilingual(db: Path) -> str:
    with Workspace(db) as ws:
        data = b"bilingual stop"
        media = ws.add_media("/evidence/stop.mp4", hashlib.sha256(data).hexdigest(),
                             len(data), 9000)
        run = ws.start_run(media.id, "tiny.en", "a" * 64, {}, {})
        for seg in (
            MachineSegment(0, 0, 2000, "Step out of the vehicle.", (), -0.2, 0.01, 1.2,
                           language="en", language_probability=0.97, model_id="tiny.en"),
            MachineSegment(1, 2500, 5000, "Tenemos un bebé atrás.", (), -0.3, 0.02, 1.1,
                           language="es", language_probability=0.99, model_id="base",
                           translation=Translation("en", "We have a baby [bold]in back.",
                                                   "base", "b" * 64)),
        ):
            runs.store_draft(ws, run, seg.index, seg)
        runs.finish(ws, run.id, RunStatus.DONE)
        return str(media.id)


async def test_language_and_translation_show_and_toggle(
    make_app: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    ref = _bilingual(db)
    app = make_app(db, ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review = app.review
        assert review.table.cells(0)[-1].plain == "en Step out of the vehicle."
        assert review.table.cells(1)[-1].plain == "es Tenemos un bebé atrás."
        await pilot.press("j")
        detail = review.languages.detail(review.table.current).plain  # type: ignore[arg-type]
        assert "language es (0.99, written by base)" in detail
        assert "en (machine translation by base): We have a baby [bold]in back." in detail
        await pilot.press("b")
        assert review.table.cells(1)[-1].plain == "es We have a baby [bold]in back."
        assert review.table.cells(0)[-1].plain == "en Step out of the vehicle."
        await pilot.press("b")
        assert review.table.cells(1)[-1].plain == "es Tenemos un bebé atrás."
        review.view_filter = ViewFilter("language es",
                                        {"segment_ids": review.languages.segment_ids("es")})
        await pilot.pause()
        assert [s.text for s in review.table.rows] == ["Tenemos un bebé atrás."]
        assert review.languages.codes() == ["en", "es"]


async def test_y_corrects_the_translation_as_its_own_undoable_layer(
    make_app: AppFactory, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    ref = _bilingual(db)
    app = make_app(db, ref, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        review = app.review
        await pilot.press("y")  # an English line: nothing to translate
        await pilot.pause()
        assert app.screen is review
        await pilot.press("j", "y")
        await pilot.pause()
        field = app.screen.query_one("#prompt-input", Input)
        assert field.value == "We have a baby [bold]in back."
        field.value = "We have a baby in the back seat."
        await pilot.press("enter")
        await pilot.pause()
        seg = review.table.current
        assert seg is not None and seg.text == "Tenemos un bebé atrás."  # original untouched
        detail = review.languages.detail(seg).plain
        assert "en (corrected translation): We have a baby in the back seat." in detail
        assert "machine translation by base: We have a baby [bold]in back." in detail
        assert review.table.cells(1)[-1].plain == "es Tenemos un bebé atrás."
        await pilot.press("b")
        assert review.table.cells(1)[-1].plain == "es We have a baby in the back seat."
        with Workspace(db) as ws:
            (entry,) = [e for e in ws.audit(int(ref)) if e["action"] == "translation.edit"]
            assert entry["reviewer"] == "ana"
            data = load_transcript(ws, int(ref))
            assert data.translations[seg.id].text == "We have a baby in the back seat."
        await pilot.press("z")
        await pilot.pause()
        assert review.table.cells(1)[-1].plain == "es We have a baby [bold]in back."
        assert "corrected" not in review.languages.detail(seg).plain
