"""Drive the real review app on a real transcription of the demo clip and check that every
decision lands in the workspace (asserting on session and workspace state, not on pixels)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input

from annotator.core.model import ReviewState
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.tui.playback import Playback
from annotator.tui.screens.help import HelpScreen
from annotator.tui.screens.picker import PickerScreen
from annotator.tui.screens.prompt import PromptScreen

from .conftest import AppFactory

SIZE = (120, 35)


async def type_into_prompt(pilot: object, text: str) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_opens_on_the_first_segment(make_app: AppFactory, demo_db: Path,
                                          demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(app.review.table.rows) == len(app.review.session.segments) > 10
        assert app.review.table.cursor == 0
        assert app.review.detail.segment == app.review.session.segments[0]
        assert app.review.status.reviewed == (0, len(app.review.session.segments))
        await pilot.press("j", "j", "k")
        assert app.review.table.cursor == 1
        await pilot.press("G")
        assert app.review.table.cursor == len(app.review.table.rows) - 1
        await pilot.press("g")
        assert app.review.table.cursor == 0


async def test_tag_speaker_agency_state_are_saved(make_app: AppFactory, demo_db: Path,
                                                  demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        first = app.review.table.current
        assert first is not None
        await pilot.press("t")
        assert app.review.detail.chord is not None  # the choices show in place of the detail pane
        await pilot.press("question_mark")  # not a choice: ignored, still waiting
        assert app.review.detail.chord is not None and not isinstance(app.screen, HelpScreen)
        await pilot.press("v")  # verbal order
        assert app.review.detail.chord is None
        await pilot.press("a", "l")  # local police
        await pilot.press("s", "o")  # officer
        await pilot.press("r")  # reviewed, moves on
        assert app.review.table.cursor == 1
        seg = app.review.session.segment(first.id)
        assert seg.tags == ("local_police", "verbal_order")
        assert seg.state is ReviewState.REVIEWED
        assert app.review.session.speaker_label(seg) == "Officer"
        assert app.review.status.saved.startswith("saved")
        assert app.review.status.reviewed[0] == 1
        # toggling the same tag again removes it
        await pilot.press("k", "t", "v")
        assert app.review.session.segment(first.id).tags == ("local_police",)
    with Workspace(demo_db) as ws:
        stored = ws.segment(first.id)
        assert stored.tags == ("local_police",)
        assert stored.state is ReviewState.REVIEWED
        assert ws.speaker(stored.speaker_id or 0).label == "Officer"


async def test_chord_choices_stay_on_screen_until_answered(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    """Nothing that moves the cursor meanwhile covers a chord's choices: not playback
    following along, not the highlight of a key typed just before the chord's key."""
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        first = app.review.table.current
        assert first is not None
        await pilot.press("s")
        # Typed fast, a chord's choice and the next chord key arrive together: the choice's
        # repaint messages are handled after the next chord opened.
        for key in "oa":
            app.post_message(events.Key(key, key))
        await pilot.pause()
        detail = app.review.detail
        assert detail.chord is not None and detail.chord.title.startswith("Agency")
        assert detail.choosing == detail.chord.title  # the choices are on screen
        for key in "lt":
            app.post_message(events.Key(key, key))
        await pilot.pause()
        assert detail.chord is not None and detail.chord.title.startswith("Action")
        assert detail.choosing == detail.chord.title
        await pilot.press("v")
        seg = app.review.session.segment(first.id)
        assert seg.tags == ("local_police", "verbal_order")
        assert detail.choosing is None and detail.segment == seg  # shown again

        await pilot.press("t")
        later = app.review.session.segments[5]
        app.review.post_message(Playback.Position(later.start_ms + 10))  # follow moves the cursor
        await pilot.pause()
        assert app.review.table.cursor == 5 and app.review.detail.choosing == "Action (toggle)"
        await pilot.press("escape")
        assert app.review.detail.chord is None and app.review.detail.segment == later


async def test_edit_text_keeps_machine_draft(make_app: AppFactory, demo_db: Path,
                                             demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        seg = app.review.table.current
        assert seg is not None
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one(Input).value == seg.text
        await type_into_prompt(pilot, "Driver, roll your window down. Right now!")
        edited = app.review.session.segment(seg.id)
        assert edited.human_text == "Driver, roll your window down. Right now!"
        assert edited.machine_text == seg.machine_text
        assert app.review.detail.segment == edited
        # escape cancels without a change
        await pilot.press("e", "escape")
        assert app.review.session.segment(seg.id) == edited


async def test_split_merge_and_undo_redo(make_app: AppFactory, demo_db: Path,
                                         demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        seg = app.review.table.current
        assert seg is not None and len(seg.words) >= 4
        count = len(app.review.session.segments)
        await pilot.press("S")
        cut = app.screen.cut  # type: ignore[attr-defined]
        await pilot.press("right", "enter")
        assert len(app.review.session.segments) == len(app.review.table.rows) == count + 1
        first, second = app.review.session.segments[0], app.review.session.segments[1]
        assert first.id == seg.id and first.words == seg.words[: cut + 1]
        assert second.words == seg.words[cut + 1 :]
        assert app.review.table.current == first
        await pilot.press("J")  # join back
        assert len(app.review.table.rows) == count
        assert app.review.session.segment(seg.id).words == seg.words
        await pilot.press("z")  # undo the merge
        assert len(app.review.table.rows) == count + 1
        await pilot.press("z")  # undo the split
        assert len(app.review.table.rows) == count
        assert app.review.session.segment(seg.id) == seg
        await pilot.press("Z")  # redo the split
        assert len(app.review.table.rows) == count + 1


async def test_nudges_move_edges(make_app: AppFactory, demo_db: Path, demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        seg = app.review.table.current
        assert seg is not None
        await pilot.press("left_square_bracket", "right_curly_bracket")
        assert app.review.session.segment(seg.id).start_ms == seg.start_ms - 100 + 1000
        await pilot.press("minus", "plus")
        assert app.review.session.segment(seg.id).end_ms == seg.end_ms - 100 + 1000
        assert app.review.table.current is not None and app.review.table.current.id == seg.id
        await pilot.press("z", "z", "z", "z")
        assert app.review.session.segment(seg.id) == seg


async def test_search_and_find_again(make_app: AppFactory, demo_db: Path,
                                     demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        hits = [i for i, s in enumerate(app.review.session.segments) if "warrant" in s.text.lower()]
        assert len(hits) >= 2
        await pilot.press("slash")
        await type_into_prompt(pilot, "warrant")
        assert app.review.table.cursor == hits[0]
        await pilot.press("n")
        assert app.review.table.cursor == hits[1]
        await pilot.press("N")
        assert app.review.table.cursor == hits[0]
        # tags and speakers are searched too
        await pilot.press("g", "o", "k")  # key moment (other tag) on the first segment
        await pilot.press("G", "slash")
        await type_into_prompt(pilot, "key moment")
        assert app.review.table.cursor == 0


async def test_range_assign_and_rename_everywhere(make_app: AppFactory, demo_db: Path,
                                                  demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        ids = [s.id for s in app.review.session.segments[:3]]
        await pilot.press("V", "j", "j")
        assert [s.id for s in app.review.table.selected()] == ids
        await pilot.press("t", "w")  # window broken, on all three
        await pilot.press("V", "k", "k")  # new mark from the third back to the first
        await pilot.press("s", "f")  # federal agent
        assert len(app.review.table.selected()) == 1  # the mark is cleared after use
        for seg_id in ids:
            seg = app.review.session.segment(seg_id)
            assert "window_broken" in seg.tags
            assert app.review.session.speaker_label(seg) == "Federal agent"
        await pilot.press("R")
        await type_into_prompt(pilot, "Agent Doe")
        session = app.review.session
        assert {session.speaker_label(session.segment(i)) for i in ids} == {"Agent Doe"}
        assert all(app.review.table.cells(i)[2].plain == "Agent Doe" for i in range(3))
        # shift+down extends a range too
        await pilot.press("g", "shift+down", "shift+down", "x")
        assert len(app.review.table.selected()) == 1


async def test_new_speaker_and_new_tag_from_the_ui(make_app: AppFactory, demo_db: Path,
                                                   demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        seg = app.review.table.current
        assert seg is not None
        await pilot.press("s", "plus")
        await type_into_prompt(pilot, "Neighbour across the street")
        assert app.review.session.speaker_label(app.review.session.segment(seg.id)) == (
            "Neighbour across the street")
        await pilot.press("o", "plus")
        await type_into_prompt(pilot, "Dog barking")
        entry = app.review.session.codebook.get("dog_barking")
        assert entry is not None and entry.kind == "other"
        assert "dog_barking" in app.review.session.segment(seg.id).tags
    with Workspace(demo_db) as ws:
        media_id = app.review.session.media_id
        cb_id = ws.media_codebook(media_id)
        assert cb_id is not None
        assert ws.load_codebook(cb_id).get("dog_barking") is not None


async def test_filter_view(make_app: AppFactory, demo_db: Path, demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        total = len(app.review.table.rows)
        await pilot.press("r", "r")  # two reviewed
        await pilot.press("f", "u")
        assert len(app.review.table.rows) == total - 2
        assert all(s.state is ReviewState.UNREVIEWED for s in app.review.table.rows)
        assert "filter" in app.review.status.activity
        await pilot.press("f", "minus")
        assert len(app.review.table.rows) == total


async def test_next_unreviewed_low_confidence_and_tag(make_app: AppFactory, demo_db: Path,
                                                      demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", "r", "g", "u")
        assert app.review.table.cursor == 2
        await pilot.press("j", "j", "t", "s", "g", "number_sign")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        key = next(c.key for c in picker.choices if c.value == "strike_on_vehicle")
        await pilot.press(key)
        assert app.review.table.cursor == 4
        from annotator.core.search import is_low_confidence

        low = [i for i, s in enumerate(app.review.table.rows) if is_low_confidence(s)]
        if low:
            await pilot.press("g", "c")
            assert app.review.table.cursor == next((i for i in low if i > 0), low[0])


async def test_help_lists_every_binding(make_app: AppFactory, demo_db: Path,
                                        demo_ref: str) -> None:
    from annotator.tui.bindings import APP_BINDINGS

    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {b.id for _, group in app.screen.sections for b in group}
        assert {b.id for b in APP_BINDINGS} <= listed
        assert "table.mark" in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_binding_ids_are_unique() -> None:
    from annotator.tui.bindings import APP_BINDINGS
    from annotator.tui.widgets.segment_table import SegmentTable

    ids = [b.id for b in APP_BINDINGS] + [b.id for b in SegmentTable.BINDINGS]  # type: ignore[union-attr]
    assert None not in ids and len(ids) == len(set(ids))


async def test_everything_persists_across_a_restart(make_app: AppFactory, demo_db: Path,
                                                    demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref, reviewer="alice")
    async with app.run_test(size=SIZE) as pilot:
        seg = app.review.session.segments[1]
        await pilot.press("j", "t", "s", "d", "m")
        await type_into_prompt(pilot, "window hit twice")
        await pilot.press("e")
        await type_into_prompt(pilot, "Corrected words")
        before = app.review.session.segment(seg.id)
        count = len(app.review.session.segments)
        await pilot.press("q")
    assert before.tags == ("strike_on_vehicle",)
    assert before.state is ReviewState.DISPUTED
    # a new process: fresh connection, fresh session, fresh app
    app2 = make_app(demo_db, demo_ref, reviewer="bob")
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.pause()
        again = app2.review.session.segment(seg.id)
        assert again == before
        assert again.note == "window hit twice" and again.human_text == "Corrected words"
        assert len(app2.review.table.rows) == count
    with Workspace(demo_db) as ws:
        session = ReviewSession(ws, int(demo_ref), "carol")
        assert session.segment(seg.id) == before
        actions = [entry["action"] for entry in ws.audit(int(demo_ref))]
        assert actions.count("add_tag") == 1 and "set_note" in actions
        assert {entry["reviewer"] for entry in ws.audit(int(demo_ref))} == {"alice"}


async def test_insert_delete_and_undo(make_app: AppFactory, demo_db: Path,
                                      demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        count = len(app.review.session.segments)
        first = app.review.session.segments[0]
        await pilot.press("i")
        await type_into_prompt(pilot, "(inaudible shouting)")
        assert len(app.review.table.rows) == count + 1
        new = app.review.table.current
        assert new is not None and new.human_text == "(inaudible shouting)"
        assert new.machine_text == "" and new.start_ms == first.end_ms
        await pilot.press("D")
        assert len(app.review.table.rows) == count
        await pilot.press("z")
        assert len(app.review.table.rows) == count + 1
        assert app.review.table.current is not None and app.review.table.current.id == new.id


async def test_quit_asks_twice_while_transcribing(make_app: AppFactory, demo_db: Path,
                                                  demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        # as while the worker runs (see test_workers for the real one)
        app.review.transcriber.running = True
        await pilot.press("q")
        assert not app._exit
        await pilot.press("q")
        assert app._exit


async def test_keys_can_be_remapped_by_binding_id(make_app: AppFactory, demo_db: Path,
                                                  demo_ref: str, tmp_path: Path) -> None:
    from annotator.tui.launch import load_keymap

    keymap_file = tmp_path / "keymap.toml"
    keymap_file.write_text('"edit.text" = "f2"\n"review.reviewed" = "ctrl+r,r"\n')
    keymap = load_keymap(keymap_file)
    app = make_app(demo_db, demo_ref, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("escape", "ctrl+r")
        assert app.review.session.segments[0].state is ReviewState.REVIEWED
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.keymap["edit.text"] == "f2"


async def test_a_read_only_review_changes_nothing_and_says_so(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    app = make_app(demo_db, demo_ref, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        review = app.review
        before = list(review.session.segments)
        await pilot.press("r", "t", "v", "e", "x", "D", "z", "i")
        assert not isinstance(app.screen, PromptScreen) and review.detail.chord is None
        assert list(review.session.segments) == before
        assert "read-only" in review.status.render().plain
        await pilot.press("j", "slash")  # moving and finding still work
        assert review.table.cursor == 1 and isinstance(app.screen, PromptScreen)
    with Workspace(demo_db) as ws:
        assert ws.audit(int(demo_ref)) == []


async def settle(pilot: Any, done: Callable[[], bool], rounds: int = 200) -> None:
    """Pause until ``done()`` holds: Pilot's pause waits for the CPU to look idle, which a
    loaded machine can fake, while keys still travel between the app, screens and widgets."""
    for _ in range(rounds):
        await pilot.pause()
        if done():
            return


def typed(text: str) -> list[events.Key]:
    """Key events for ``text`` as a terminal sends them (names for space and punctuation)."""
    names = {" ": "space", ",": "comma", ".": "full_stop", "!": "exclamation_mark"}
    return [events.Key(names.get(c, c), c) for c in text]


async def test_keys_typed_right_after_e_reach_the_dialog_in_order(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    """All keys arrive before the dialog exists (as when a reviewer types fast, or a
    terminal delivers them in one read): none is lost, none acts on the table, ctrl+u clears
    what was there before the new words, and the order holds."""
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        review = app.review
        seg = review.table.current
        assert seg is not None
        words = "Stop, r t a s x D z j, now!"  # letters the table and the screen bind
        keys = [events.Key("e", "e"), events.Key("ctrl+u", None), *typed(words),
                events.Key("enter", "\r")]
        for key in keys:
            app.post_message(key)
        await settle(pilot, lambda: review.session.segment(seg.id).human_text is not None)
        assert not isinstance(app.screen, PromptScreen)
        edited = review.session.segment(seg.id)
        assert edited.human_text == words
        assert edited.state is ReviewState.UNREVIEWED and edited.tags == ()
        assert review.table.cursor == 0 and review.detail.chord is None
        assert len(review.session.segments) == len(review.table.rows)
        with Workspace(demo_db) as ws:
            assert [e["action"] for e in ws.audit(int(demo_ref))] == ["set_text"]

        # the dialog open and taking keys: ctrl+u, words and Enter at once, still in order
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        for key in [events.Key("ctrl+u", None), *typed("Out of the car"),
                    events.Key("enter", "\r")]:
            app.post_message(key)
        await settle(pilot, lambda: not isinstance(app.screen, PromptScreen))
        assert review.session.segment(seg.id).human_text == "Out of the car"

        # the same through a picker: f u (filter: unreviewed) then j, typed at once
        for key in (events.Key("f", "f"), events.Key("u", "u"), events.Key("j", "j")):
            app.post_message(key)
        await settle(pilot, lambda: review.view_filter is not None and review.table.cursor)
        assert review.view_filter is not None and review.view_filter.name == "unreviewed"
        assert review.table.cursor == 1


async def test_undo_of_a_tag_repaints_its_row(make_app: AppFactory, demo_db: Path,
                                              demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        table = app.review.table
        await pilot.press("j", "t", "v")
        row = table.cursor
        y = row - round(table.scroll_y) + 1  # +1: the header line

        def drawn() -> str:
            return table.render_line(y).text

        assert table.cells(row)[4].plain == "Verbal order" and "Verbal order" in drawn()
        await pilot.press("z")
        await pilot.pause()
        assert table.cursor == row and table.rows[row].tags == ()
        assert table.cells(row)[4].plain == "" and "Verbal order" not in drawn()
        assert "Verbal order" not in app.export_screenshot()
        await pilot.press("Z")
        await pilot.pause()
        assert table.cells(row)[4].plain == "Verbal order" and "Verbal order" in drawn()


async def test_quit_can_be_remapped_like_any_key(make_app: AppFactory, demo_db: Path,
                                                 demo_ref: str) -> None:
    """ctrl+q appears in three bindings (the screen's two, the app's own); one id moves all."""
    app = make_app(demo_db, demo_ref, keymap={"app.quit": "x"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q", "ctrl+q")
        assert not app._exit
        await pilot.press("x")
        assert app._exit


async def test_every_dialog_takes_the_keys_typed_with_the_key_that_opened_it(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    """Note, search, split and insert, each opened and answered in one burst of keys."""
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=SIZE) as pilot:
        review = app.review
        session = review.session
        first = session.segments[0]
        assert len(first.words) >= 4

        async def burst(done: Callable[[], bool], *keys: events.Key) -> None:
            for key in keys:
                app.post_message(key)
            await settle(pilot, done)
            assert not isinstance(app.screen, PromptScreen | PickerScreen)

        def enter() -> events.Key:
            return events.Key("enter", "\r")  # an event is sent once: a new one each time

        await burst(lambda: session.segment(first.id).note != "",
                    events.Key("m", "m"), *typed("radio chatter"), enter())
        assert session.segment(first.id).note == "radio chatter"
        hits = [i for i, s in enumerate(session.segments) if "warrant" in s.text.lower()]
        await burst(lambda: review.table.cursor != 0,
                    events.Key("slash", "/"), *typed("warrant"), enter())
        assert review.table.cursor == hits[0]
        count = len(session.segments)
        await burst(lambda: len(session.segments) > count, events.Key("g", "g"),
                    events.Key("S", "S"), events.Key("right", None), enter())
        assert session.segments[1].words[0] == first.words[len(first.words) // 2 + 1]
        await burst(lambda: len(session.segments) > count + 1,
                    events.Key("i", "i"), *typed("(shouting)"), enter())
        assert len(session.segments) == count + 2
        assert review.table.current is not None
        assert review.table.current.human_text == "(shouting)"
