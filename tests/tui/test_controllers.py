"""The review screen's parts, each on its own: the playback, transcription and export
controllers with a bare Textual app as their host (no review screen, no session), the chord
of the detail pane, a dialog taking keys handed over before it was ready, and the offers of
:mod:`annotator.tui.choices`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input

from annotator.core.codebook import default_codebook
from annotator.core.media import Probe
from annotator.core.model import ReviewState, Segment
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import AnnotatorError, MediaError
from annotator.tui import choices
from annotator.tui.exporting import Exporter
from annotator.tui.filtering import FilterQuestions, ViewFilter, filter_choices
from annotator.tui.playback import Playback
from annotator.tui.screens.export import ExportRequest
from annotator.tui.screens.picker import ADD, CLEAR, PickerScreen, assign_keys
from annotator.tui.screens.prompt import PromptScreen
from annotator.tui.transcription import TranscribeJob, Transcriber
from annotator.tui.widgets.detail import Chord, DetailPane

from .builders import add_transcript


class Host(App[None]):
    """A bare app that keeps every message a controller posts to it."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Message] = []

    def keep(self, message: Message) -> None:
        """``run_test``'s message hook: sees every message as it is handled."""
        if type(message).__qualname__.split(".")[0] in {"Playback", "Transcriber", "Exporter"}:
            self.got.append(message)

    def of(self, kind: type[Message]) -> list[Any]:
        return [m for m in self.got if isinstance(m, kind)]


class FakePlayer:
    """Stands in for :class:`annotator.player.Player`: records commands."""

    silent = False
    silent_reason = ""

    def __init__(self, media_path: Path, *, on_position: Callable[[int | None], None],
                 **_: object) -> None:
        self.on_position = on_position
        self.running = True
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def start(self) -> None:
        pass

    def close(self) -> None:
        self.running = False

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)

        def command(*args: object) -> None:
            if name == "seek_relative":
                raise MediaError(Path("x"), "mpv went away")
            self.calls.append((name, args))
        return command


async def test_playback_without_mpv_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("annotator.player.find_mpv", lambda: None)
    host = Host()
    async with host.run_test(message_hook=host.keep) as pilot:
        playback = Playback(host, tmp_path / "x.mp4")
        playback.start()
        playback.play_range(0, 1000)  # no player: nothing happens
        await pilot.pause()
    (off,) = host.of(Playback.Off)
    assert off.title == "No player" and "apt-get install mpv" in off.reason
    assert playback.state == "none" and playback.player is None


async def test_playback_starts_plays_reports_and_closes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    media = tmp_path / "a.mp4"
    media.write_bytes(b"x")
    monkeypatch.setattr("annotator.player.find_mpv", lambda: "/usr/bin/mpv")
    monkeypatch.setattr("annotator.player.Player", FakePlayer)
    host = Host()
    async with host.run_test(message_hook=host.keep) as pilot:
        playback = Playback(host, media)
        playback.start()
        assert playback.state == "starting"
        await host.workers.wait_for_complete()
        await pilot.pause()
        (ready,) = host.of(Playback.Ready)
        playback.adopt(ready.player)
        assert playback.state == "ready" and playback.silence_notice() is None
        player: FakePlayer = ready.player
        playback.play_range(1000, 2000)
        playback.set_speed(1.5)
        playback.seek(5000)  # fails in the fake: reported, the player still runs
        await host.workers.wait_for_complete()
        await pilot.pause()
        assert ("play_range", (1000, 2000)) in player.calls
        assert ("set_speed", (1.5,)) in player.calls
        (failed,) = host.of(Playback.Failed)
        assert "mpv went away" in failed.error
        playback.failed()
        assert playback.state == "ready"  # still running
        assert [m.playing for m in host.of(Playback.Playing)][:1] == [True]
        player.on_position(1500)  # as the reader thread does
        await pilot.pause()
        assert [m.ms for m in host.of(Playback.Position)] == [1500]
        playback.close()
        assert playback.player is None and not player.running


def test_silence_is_noted_once_unless_asked_for(tmp_path: Path) -> None:
    class Silent:
        silent = True
        silent_reason = "ao/pulse: no audio device"
        running = True

    noisy = Playback(App(), tmp_path / "a.mp4")
    noisy.adopt(Silent())  # type: ignore[arg-type]
    assert noisy.silence_notice() == (
        "No audio device: playback is silent (check your sound setup)\n"
        "ao/pulse: no audio device")
    assert noisy.silence_notice() is None
    quiet = Playback(App(), tmp_path / "a.mp4", player_args=("--ao=null",))
    quiet.adopt(Silent())  # type: ignore[arg-type]
    assert quiet.silence_notice() is None


def _fake_engine(monkeypatch: pytest.MonkeyPatch, segments: list[Segment],
                 error: AnnotatorError | None = None) -> None:
    class Engine:
        def __init__(self, options: object) -> None:
            pass

    def transcribe_probed(ws: Workspace, engine: object, info: Probe, *,
                          on_segment: Callable[[Segment], None],
                          should_stop: Callable[[], bool]) -> tuple[object, int]:
        for seg in segments:
            on_segment(seg)
        if error is not None:
            raise error
        return None, len(segments)

    import annotator.transcribe.pipeline  # noqa: F401  (imported before patching: it keeps
    # its own reference to the real Engine, which later tests need)

    monkeypatch.setattr("annotator.transcribe.engine.Engine", Engine)
    monkeypatch.setattr("annotator.transcribe.pipeline.transcribe_probed", transcribe_probed)


@pytest.mark.parametrize("fails", [False, True])
async def test_transcriber_posts_each_segment_then_the_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fails: bool
) -> None:
    segs = [Segment(7, 1, 0, 1500, "one"), Segment(8, 1, 1500, 3000, "two")]
    _fake_engine(monkeypatch, segs, MediaError(tmp_path / "a.wav", "cut off") if fails else None)
    probe = Probe(tmp_path / "a.wav", "0" * 64, 10, 6000, ())
    host = Host()
    async with host.run_test(message_hook=host.keep) as pilot:
        idle = Transcriber(host, tmp_path / "w.db", None)
        assert idle.start() == "" and not idle.running
        transcriber = Transcriber(host, tmp_path / "w.db", TranscribeJob(probe.path, probe=probe))
        assert transcriber.start() == "transcribing with tiny.en: loading the model…"
        assert transcriber.running
        await host.workers.wait_for_complete()
        await pilot.pause()
    (started,) = host.of(Transcriber.Started)
    assert transcriber.started(started.duration_ms) == "transcribing 0:00/0:06 0%"
    added = host.of(Transcriber.SegmentAdded)
    assert [(m.segment_id, m.end_ms) for m in added] == [(7, 1500), (8, 3000)]
    assert transcriber.progress(3000) == "transcribing 0:03/0:06 50%"
    if fails:
        (failed,) = host.of(Transcriber.Failed)
        assert "cut off" in failed.error and not host.of(Transcriber.Finished)
        assert transcriber.stopped(finished=False) == "transcription failed"
        assert transcriber.job is not None  # the next start resumes it
    else:
        (finished,) = host.of(Transcriber.Finished)
        assert finished.count == 2
        assert transcriber.stopped(finished=True) == "" and transcriber.job is None
    assert not transcriber.running


async def test_exporter_writes_in_a_worker_and_reports(demo_db: Path, demo_ref: str,
                                                       tmp_path: Path) -> None:
    host = Host()
    async with host.run_test(message_hook=host.keep) as pilot:
        exporter = Exporter(host, demo_db, int(demo_ref), tmp_path / "offered")
        assert [ident for ident, _ in exporter.formats()] == ["json", "srt", "vtt", "ass", "rttm"]
        exporter.export(ExportRequest(("json", "srt"), tmp_path / "out"))
        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder")
        await host.workers.wait_for_complete()
        exporter.export(ExportRequest(("json",), blocked / "inside"))
        await host.workers.wait_for_complete()
        await pilot.pause()
    (done,) = host.of(Exporter.Done)
    assert sorted(p.suffix for p in done.paths) == [".json", ".json", ".srt"]
    assert done.paths[-1].name.endswith(".manifest.json")  # as `annotator export` writes
    assert json.loads(next(p for p in done.paths if p.suffix == ".json").read_text())
    (failed,) = host.of(Exporter.Failed)
    assert failed.error
    assert exporter.folder == blocked / "inside" and exporter.last == []
    exporter.done(done.paths)
    assert exporter.last == done.paths


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DetailPane(id="detail")


async def test_the_detail_pane_owns_the_chord() -> None:
    app = PaneApp()
    chosen: list[str] = []
    async with app.run_test() as pilot:
        pane = app.query_one(DetailPane)
        codebook = default_codebook()
        first, second = Segment(1, 1, 0, 1000, "one"), Segment(2, 1, 1000, 2000, "two")
        pane.show(first, {}, codebook)
        actions = assign_keys((e.shortcut, e.key, e.label, "", False)
                              for e in codebook.of_kind("action"))
        chord = Chord("Action (toggle)", actions, chosen.append, add_label="new action…")
        pane.open_chord(chord)
        pane.show(second, {}, codebook)  # the cursor moved underneath: choices stay
        assert pane.choosing == "Action (toggle)" and pane.segment == second
        pane.press("question_mark", "?")  # not a choice: bell, still waiting
        assert pane.chord is chord and chosen == []
        pane.press("v", "v")
        assert chosen == ["verbal_order"] and pane.choosing is None
        pane.open_chord(chord)
        pane.press("plus", "+")
        pane.open_chord(chord)
        pane.press("minus", "-")  # no "clear" offered here: bell
        pane.press("escape", None)
        await pilot.pause()
        assert chosen == ["verbal_order", ADD] and pane.chord is None


class DialogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[str | None] = []


async def test_a_held_dialog_applies_keys_handed_over_in_order() -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        dialog = PromptScreen("Edit text", "old words")
        dialog.hold_keys()
        app.push_screen(dialog, app.answers.append)
        for key, char in [("ctrl+u", None), ("H", "H"), ("i", "i")]:
            dialog.keep(key, char)  # as the review screen hands them over
        app.post_message(events.Key("exclamation_mark", "!"))  # sent to the dialog itself
        await pilot.pause()
        assert dialog.query_one(Input).value == "old words"  # nothing taken yet
        dialog.take_keys()
        await pilot.pause()
        assert dialog.query_one(Input).value == "Hi!" and dialog.focused is not None
        await pilot.press("enter")
    assert app.answers == ["Hi!"]


def test_choices_come_from_the_session(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        media = add_transcript(ws, "a.mp4", ["one", "two", "three"])
        session = ReviewSession(ws, media.id, "tester")
        ids = [s.id for s in session.segments]
        session.assign_role(ids[:2], "officer")
        officer = session.role_speaker("officer")
        assert officer is not None
        session.rename_speaker(officer.id, "Sgt. Lee")
        session.add_speaker("Neighbour", assign=[ids[2]])
        offers = choices.speaker_choices(session, ids[:2])
        by_value = {c.value: c for c in offers}
        assert by_value["role:officer"].label == "Sgt. Lee"
        assert by_value["role:officer"].detail == "(Officer)" and by_value["role:officer"].marked
        neighbour = next(c for c in offers if c.label == "Neighbour")
        assert neighbour.value.startswith("speaker:") and not neighbour.marked
        assert len({c.key for c in offers}) == len(offers)
        choices.speaker_operation(session, ids[:1], CLEAR)()
        assert session.segment(ids[0]).speaker_id is None
        choices.speaker_operation(session, ids[:1], neighbour.value)()
        assert session.speaker_label(session.segment(ids[0])) == "Neighbour"
        session.add_tag(ids[:2], "verbal_order")
        tags = choices.tag_choices(session, "action", ids)
        assert not next(c for c in tags if c.value == "verbal_order").marked  # not on all
        assert next(c for c in choices.tag_choices(session, "action", ids[:2])
                    if c.value == "verbal_order").marked
    assert choices.held_back_notice(0) is None
    assert (choices.held_back_notice(1) or "").startswith("1 machine segment held back")
    assert (choices.held_back_notice(2) or "").startswith("2 machine segments held back")


def test_filter_questions_ask_then_report_one_view(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        media = add_transcript(ws, "a.mp4", ["one", "two"])
        session = ReviewSession(ws, media.id, "tester")
        asked: list[tuple[Any, Callable[[Any], None]]] = []
        views: list[ViewFilter | None] = []
        said: list[str] = []
        questions = FilterQuestions(session, lambda d, cb: asked.append((d, cb)),
                                    views.append, said.append)

        def answer(value: object) -> Any:
            dialog, callback = asked[-1]
            callback(value)
            return dialog

        questions.start(ViewFilter("unreviewed", {}))
        first = asked[-1][0]
        assert isinstance(first, PickerScreen)
        assert [c.marked for c in first.choices][:2] == [True, False]
        answer("u")
        answer(CLEAR)
        answer(None)  # cancelled: nothing reported
        assert views == [ViewFilter("unreviewed", {"state": ReviewState.UNREVIEWED}), None]
        questions.start(None)
        answer("t")
        assert isinstance(answer("verbal_order"), PickerScreen)
        assert views[-1] == ViewFilter("tag Verbal order", {"tag": "verbal_order"})
        questions.start(None)
        answer("s")  # nobody named yet: said, not asked
        assert said == ["No speakers yet: press s on a segment to name one."]
        session.add_speaker("Neighbour", assign=[session.segments[0].id])
        answer("s")
        (choice,) = asked[-1][0].choices
        answer(choice.value)
        assert views[-1] is not None and views[-1].name == "speaker Neighbour"
        questions.start(None)
        answer("/")
        assert isinstance(answer("  "), PromptScreen) and views[-1].name == "speaker Neighbour"
        answer("two")
        assert views[-1] == ViewFilter("text 'two'", {"query": "two"})
    assert [c.value for c in filter_choices(None)][-3:] == ["t", "s", "/"]
