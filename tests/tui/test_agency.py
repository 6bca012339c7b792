"""The speaker's agency in the review app, driven through the real app on the real demo
transcript: ``s @`` then an agency key sets it once for the person, every line of theirs shows
it (inherited, in its own style), a line's agency tag overrides it, undo takes it back."""

from __future__ import annotations

import io
from pathlib import Path

import pysubs2
from rich.console import Console
from textual.widgets import RadioSet

from annotator.core.store import Workspace
from annotator.tui.agency import agency_choices
from annotator.tui.display import INHERITED_STYLE
from annotator.tui.screens.export import ExportScreen
from annotator.tui.screens.review import ReviewScreen

from .conftest import AppFactory

SIZE = (120, 35)


async def test_agency_set_on_the_speaker_shows_on_every_line(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        screen, detail, table = app.review, app.review.detail, app.review.table
        session = screen.session
        first, second, third = session.segments[:3]
        await pilot.press("s")  # no speaker yet: no "@" among the choices
        assert detail.chord is not None and "@" not in detail.chord.by_key
        await pilot.press("@")  # not a choice: the bell, the chord still waits
        assert detail.chord is not None
        await pilot.press("o", "j", "s", "o")  # lines 1 and 2: Officer
        officer = session.segment(first.id).speaker_id
        assert officer is not None and session.segment(second.id).speaker_id == officer

        await pilot.press("s", "@")
        assert detail.chord is not None and detail.chord.title.startswith("Agency of Officer")
        await pilot.press("l")  # local police
        assert detail.chord is None
        assert session.speaker(officer).agency == "local_police"
        for row in (0, 1):
            cell = table.cells(row)[3]
            assert cell.plain == "Local police" and cell.style == INHERITED_STYLE
        assert table.cells(2)[3].plain == ""  # nobody's line: nothing inherited
        assert "agency: Local police (of the speaker)" in shown(screen)

        await pilot.press("k", "a", "i")  # line 1 is ICE: the line overrides the speaker
        cell = table.cells(0)[3]
        assert cell.plain == "ICE" and cell.style == ""
        assert "agency: ICE (this line)" in shown(screen)
        assert table.cells(1)[3].plain == "Local police"

        await pilot.press("s", "@")  # the speaker's agency is marked in the second chord
        chord = detail.chord
        assert chord is not None and [c.value for c in chord.choices if c.marked] == [
            "local_police"
        ]
        await pilot.press("minus")  # none
        assert session.speaker(officer).agency == ""
        assert table.cells(1)[3].plain == ""
        await pilot.press("z")  # undo brings it back on every line
        assert session.speaker(officer).agency == "local_police"
        assert table.cells(1)[3].plain == "Local police"
        assert session.segment(third.id).speaker_id is None
    with Workspace(demo_db) as ws:
        assert ws.speaker(officer).agency == "local_police"
        actions = [e["action"] for e in ws.audit(ws.speaker(officer).media_id)]
        assert actions.count("set_speaker_agency") == 2 and actions[-1] == "undo"


def shown(screen: ReviewScreen) -> str:
    """What the detail pane shows (for the segment under the cursor), as plain text."""
    assert screen.detail.segment == screen.table.current and screen.detail.chord is None
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(screen.detail.content)
    return console.export_text()


def test_agency_choices_list_the_codebook_agencies(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    app = make_app(demo_db, demo_ref)
    session = app.review.session
    change = session.add_speaker("Agent", agency="ice", assign=[session.segments[0].id])
    choices = agency_choices(session, change.speakers[0])
    assert [c.value for c in choices] == [e.key for e in session.codebook.of_kind("agency")]
    assert [c.value for c in choices if c.marked] == ["ice"]
    assert len({c.key for c in choices}) == len(choices)


async def test_export_dialog_writes_the_chosen_labels(
    make_app: AppFactory, demo_db: Path, demo_ref: str, tmp_path: Path
) -> None:
    app = make_app(demo_db, demo_ref, export_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "o", "s", "@", "l", "E")
        assert isinstance(app.screen, ExportScreen)
        await pilot.click("#labels-name-agency")
        assert app.screen.query_one("#export-labels", RadioSet).pressed_index == 1
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        first = app.review.session.segments[0]
    files = {p.suffix: p for p in app.review.exporter.last if not p.name.endswith("st.json")}
    (cue, *_) = pysubs2.load(str(files[".srt"]), encoding="utf-8")
    assert cue.plaintext == f"Officer (Local police): {first.text}"
    vtt = files[".vtt"].read_text()
    assert f"<v Officer>Officer (Local police): <lang en>{first.text}</lang></v>" in vtt
