"""Untrusted text shows literally; the app works without mpv; playback-follow; launch errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from annotator.core.document import held_back
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import MediaError, NotFoundError, UsageError
from annotator.tui.display import detail_text
from annotator.tui.launch import launch_review
from annotator.tui.playback import Playback
from annotator.tui.screens.picker import PickerScreen

from .builders import add_transcript
from .conftest import AppFactory

HOSTILE = [
    "[bold red]x[/]",
    "\x1b[31mred\x1b[0m alert \x07",
    "[link=https://evil.example]click[/link] :smile:",
    "plain words",
]


def no_style(text: Text) -> bool:
    return not text.style and not text.spans


async def test_markup_and_control_codes_show_literally(make_app: AppFactory,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "hostile.db"
    with Workspace(db) as ws:
        media = add_transcript(ws, "hostile.mp4", HOSTILE)
        session = ReviewSession(ws, media.id, "setup")
        session.add_speaker("[b]boss[/b]\x1b]0;title\x07",
                            assign=[s.id for s in session.segments])
        session.set_note(session.segments[0].id, "[red]note[/red]")
    app = make_app(db, str(media.id))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        rows = [app.review.table.cells(i) for i in range(len(HOSTILE))]
        texts = [cells[5] for cells in rows]
        assert texts[0].plain == "[bold red]x[/]"
        assert texts[1].plain == "red alert"
        assert texts[2].plain == "[link=https://evil.example]click[/link] :smile:"
        assert all(no_style(t) for t in texts)
        speaker = rows[0][2]
        assert speaker.plain == "[b]boss[/b]" and no_style(speaker)
        # every drawn line is free of escape characters
        for y in range(len(HOSTILE) + 1):
            strip = app.review.table.render_line(y)
            assert "\x1b" not in strip.text and "\x07" not in strip.text
        detail = detail_text(app.review.session.segments[0], app.review.session.speakers,
                             app.review.session.codebook)
        assert "[bold red]x[/]" in detail.plain and "[red]note[/red]" in detail.plain
        assert "\x1b" not in detail.plain


def record_notifications(app: Any) -> list[str]:
    """Keep every notification's message (and still show it)."""
    messages: list[str] = []
    notify = app.notify

    def record(message: str, **kwargs: object) -> None:
        messages.append(message)
        notify(message, **kwargs)

    app.notify = record
    return messages


async def test_without_mpv_the_app_works_and_says_how_to_install(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    app = make_app(demo_db, demo_ref)
    messages = record_notifications(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert app.review.playback.player is None and app.review.playback.state == "none"
        assert sum("mpv" in m for m in messages) == 1
        assert any("apt-get install mpv" in m for m in messages)
        await pilot.press("enter", "space", "right", "p", "3")  # disabled, harmless
        assert app.review.playback.player is None
        await pilot.press("t", "v")  # reviewing still works
        current = app.review.table.current
        assert current is not None and "verbal_order" in current.tags
        assert sum("mpv" in m for m in messages) == 1


class SilentPlayer:
    """Stands in for :class:`annotator.player.Player` when mpv fell back to ``--ao=null``."""

    silent = True
    silent_reason = "ao/pulse: no audio device"
    running = True

    def __init__(self, media_path: Path, **kwargs: object) -> None:
        self.media_path = media_path

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.running = False


@pytest.mark.parametrize("player_args", [(), ("--ao=null",)])
async def test_silent_playback_is_reported_once_unless_asked_for(
    make_app: AppFactory, demo_db: Path, demo_ref: str, monkeypatch: pytest.MonkeyPatch,
    player_args: tuple[str, ...],
) -> None:
    monkeypatch.setattr("annotator.player.find_mpv", lambda: "/usr/bin/mpv")
    monkeypatch.setattr("annotator.player.Player", SilentPlayer)
    app = make_app(demo_db, demo_ref, player_args=player_args)
    assert app.settings.media_path.is_file()
    messages = record_notifications(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.review.playback.state == "ready"
        app.review.post_message(Playback.Ready(app.review.playback.player))  # type: ignore[arg-type]
        await pilot.pause()
    silent = [m for m in messages if m.startswith("No audio device: playback is silent")]
    if player_args:
        assert silent == []  # the app chose silence itself (tests)
    else:
        assert silent == [
            "No audio device: playback is silent (check your sound setup)\n"
            "ao/pulse: no audio device"
        ]


async def test_playing_segment_follows_the_player(make_app: AppFactory, demo_db: Path,
                                                  demo_ref: str) -> None:
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=(120, 35)) as pilot:
        target = app.review.session.segments[5]
        app.review.post_message(Playback.Position(target.start_ms + 10))
        await pilot.pause()
        assert app.review.table.cursor == 5
        assert app.review.table.playing_id == target.id
        assert app.review.status.position_ms == target.start_ms + 10
        await pilot.press("L")  # follow off: the marker moves, the cursor stays
        later = app.review.session.segments[7]
        app.review.post_message(Playback.Position(later.start_ms + 10))
        await pilot.pause()
        assert app.review.table.cursor == 5 and app.review.table.playing_id == later.id


def test_launch_errors_are_annotator_errors(tmp_path: Path, demo_db: Path) -> None:
    with pytest.raises(UsageError):
        launch_review(db=tmp_path / "none.db", media="demo.mp4", reviewer="x")
    with pytest.raises(NotFoundError):
        launch_review(db=demo_db, media="no-such-thing.mp4", reviewer="x")
    with Workspace(demo_db) as ws:  # known media, never transcribed, file gone
        ws.add_media(str(tmp_path / "gone.mp4"), "f" * 64, 10, 1000)
    with pytest.raises(MediaError):
        launch_review(db=demo_db, media="gone.mp4", reviewer="x")


async def test_codebook_option_is_installed_for_the_media(make_app: AppFactory, demo_db: Path,
                                                          demo_ref: str, tmp_path: Path) -> None:
    toml = tmp_path / "mine.toml"
    toml.write_text(
        'name = "my-org"\nversion = "2.0"\n\n'
        '[actions.kettle]\nlabel = "[b]Kettling[/b]"\nshortcut = "k"\n',
        encoding="utf-8",
    )
    app = make_app(demo_db, demo_ref, codebook=toml)
    async with app.run_test(size=(120, 35)) as pilot:
        assert app.review.session.codebook.name == "my-org"
        await pilot.press("t", "k")
        assert app.review.table.current is not None and app.review.table.current.tags == ("kettle",)
        tags = app.review.table.cells(0)[4]
        assert tags.plain == "[b]Kettling[/b]" and no_style(tags)
    with Workspace(demo_db) as ws:
        cb_id = ws.media_codebook(int(demo_ref))
        assert cb_id is not None and ws.load_codebook(cb_id).version == "2.0"


def _hold_back(db: Path, ref: str, text: str = "[bold]Stay in the car.[/]") -> None:
    from annotator.core.model import SuppressedSegment, Word

    with Workspace(db) as ws:
        media = ws.find_media(ref)
        run = ws.current_run(media.id)
        assert run is not None
        ws.add_suppressed(run.id, SuppressedSegment(
            index=-1, start_ms=58490, end_ms=59210, text=text,
            words=(Word(58490, 59210, " Stay", 0.3),), avg_logprob=-0.7, no_speech_prob=0.81,
            compression_ratio=2.1, temperature=0.6, reason="sampled retry",
        ))


async def test_held_back_segments_are_announced_and_stay_out_of_the_table(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    _hold_back(demo_db, demo_ref)
    app = make_app(demo_db, demo_ref)
    messages = record_notifications(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        held = len(held_back(app.review.session.ws, app.review.session.media_id))
        assert [m for m in messages if "held back" in m] == [
            f"{held} machine segment{'s' if held != 1 else ''} held back as text heard in "
            "silence; not shown here. H lists them and restores one; the JSON export lists "
            "them under 'suppressed'."
        ]
        assert all("Stay in the car" not in s.text for s in app.review.session.segments)


async def test_a_held_back_segment_is_restored_from_the_app(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    with Workspace(demo_db) as ws, ws.transaction() as c:
        c.execute("DELETE FROM suppressed_segment")  # only the one added below
    _hold_back(demo_db, demo_ref)
    app = make_app(demo_db, demo_ref)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        count = len(app.review.session.segments)
        await pilot.press("H")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        (choice,) = picker.choices
        assert choice.detail == "[bold]Stay in the car.[/]" and not choice.marked
        await pilot.press(choice.key)
        await pilot.pause()
        assert len(app.review.session.segments) == count + 1
        current = app.review.table.current
        assert current is not None and current.machine_text == "[bold]Stay in the car.[/]"
        assert current.start_ms == 58490 and current.human_text is None
        await pilot.press("H")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen) and app.screen.choices[0].marked
        await pilot.press("escape", "z")  # undo takes it out again
        await pilot.pause()
        assert len(app.review.session.segments) == count
    with Workspace(demo_db) as ws:
        media = ws.find_media(demo_ref)
        actions = [e["action"] for e in ws.audit(media.id)]
        assert actions[-2:] == ["restore_held_back", "undo"]


async def test_nothing_held_back_means_no_notice(
    make_app: AppFactory, demo_db: Path, demo_ref: str
) -> None:
    with Workspace(demo_db) as ws, ws.transaction() as c:
        c.execute("DELETE FROM suppressed_segment")
    app = make_app(demo_db, demo_ref)
    messages = record_notifications(app)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert not [m for m in messages if "held back" in m]
