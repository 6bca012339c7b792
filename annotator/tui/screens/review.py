"""The review screen: segment table, detail pane, status bar, and every review key.

:class:`ReviewScreen` owns the widgets and the :class:`~annotator.core.session.ReviewSession`.
An action maps a key to one session operation (saved when it returns, one
:class:`~annotator.core.edits.Change`); :meth:`ReviewScreen.apply` runs it and
:meth:`ReviewScreen.show_change` repaints exactly what the change names. Playback,
transcription and export are composed controllers whose messages the screen shows; a chord's
choices live in the :class:`~annotator.tui.widgets.detail.DetailPane`; the offers come from
:mod:`annotator.tui.choices` and "next" from :mod:`annotator.core.search`. Keys are resolved
here in the order typed (:meth:`ReviewScreen.on_key`), so a chord's second key and the keys
typed right after one that opens a dialog act in order (:mod:`annotator.tui.screens.dialog`).
Suggestions shown in place, event rows and the keys deciding them are
:class:`~annotator.tui.inplace.InPlace`'s; search and held-back segments are composed too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal, TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen, ScreenResultCallbackType
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from annotator.core import editing
from annotator.core import search as find
from annotator.core.edits import Change
from annotator.core.model import ReviewState, Segment
from annotator.core.session import ReviewSession
from annotator.errors import AnnotatorError
from annotator.player import PlayerState
from annotator.tui import choices
from annotator.tui.bindings import APP_BINDINGS, EDIT_ACTIONS, PLAYER_ACTIONS
from annotator.tui.choices import KIND_TITLES
from annotator.tui.display import clean, clock, words_text
from annotator.tui.exporting import Exporter
from annotator.tui.filtering import FilterQuestions, ViewFilter
from annotator.tui.finding import Finder
from annotator.tui.gaps import GapFiller, GapRow
from annotator.tui.gapview import GAP_ACTIONS, GapView
from annotator.tui.heldback import HeldBack
from annotator.tui.hints import EventRow, is_timeline_row
from annotator.tui.inplace import InPlace
from annotator.tui.languages import LanguageLayer
from annotator.tui.playback import Playback
from annotator.tui.screens.dialog import Dialog, run_binding
from annotator.tui.screens.export import ExportRequest, ExportScreen
from annotator.tui.screens.picker import ADD
from annotator.tui.screens.prompt import PromptScreen
from annotator.tui.screens.split import SplitScreen
from annotator.tui.settings import ReviewSettings
from annotator.tui.suggestions import SuggestWorker
from annotator.tui.transcription import Transcriber
from annotator.tui.widgets.detail import Chord, DetailPane
from annotator.tui.widgets.segment_table import SegmentTable
from annotator.tui.widgets.status import StatusBar

R = TypeVar("R")
ADVANCING_STATES = frozenset({ReviewState.REVIEWED, ReviewState.VERIFIED})


class ReviewScreen(Screen[None]):
    """Review one media file's transcript: listen, correct, attribute, tag, export."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+q first: the footer lists keys in binding order and showed "^q Quit" first
        # when these were the app's bindings (Textual's App declares ctrl+q first).
        Binding("ctrl+q", "app.quit", "Quit", id="app.quit"),
        *APP_BINDINGS,
    ]

    view_filter: reactive[ViewFilter | None] = reactive(None, init=False)
    """The filter view (``None``: every segment); setting it rebuilds the rows."""

    def __init__(self, session: ReviewSession, settings: ReviewSettings) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self.follow = True  # the cursor follows playback (L toggles)
        self.table = SegmentTable(id="segments")
        self.detail = DetailPane(id="detail")
        self.status = StatusBar(id="status")
        self.playback = Playback(self, settings.media_path, video=settings.video,
                                 player_args=settings.player_args, sha256=session.media.sha256)
        self.transcriber = Transcriber(self, settings.db_path, settings.transcribe)
        self.exporter = Exporter(self, settings.db_path, session.media_id, settings.export_dir,
                                 reviewer=session.reviewer)
        self.gaps = GapView(self, GapFiller(self, settings.db_path, session.media_id))
        self.finder = Finder(self)
        self.held = HeldBack(self)
        self.languages = LanguageLayer(session.ws, session.media_id)
        self.table.languages = self.detail.languages = self.languages
        self.suggested = InPlace(self)  # suggestions in place, event rows, their keys

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.detail
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        media = self.session.media
        name = clean(Path(media.path).name)
        self.app.title = f"annotator review - {name}"
        self.status.media = name
        self.status.duration_ms = media.duration_ms
        self.status.reviewer = self.session.reviewer
        self.status.read_only = self.settings.read_only
        self.suggested.reload()
        self.refresh_view()
        self.table.focus()
        self.update_progress()
        self.held.report()
        self.gaps.report_warnings()
        self.playback.start()
        self.status.progress = self.transcriber.start()

    def on_unmount(self) -> None:
        self.playback.close()

    # -- keys ---------------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        """Every key of this screen, in the order typed: to the dialog an earlier key opened,
        to a waiting chord, else to its binding (the table's first, as Textual would)."""
        top = self.app.screen
        if top is not self:
            if isinstance(top, Dialog):  # typed right after the key that opened it
                event.stop()
                top.keep(event.key, event.character)
            return
        if self.detail.chord is not None:
            event.stop()
            self.detail.press(event.key, event.character)
            return
        if await run_binding(self, event.key):
            event.stop()
            event.prevent_default()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PLAYER_ACTIONS and self.playback.state is not PlayerState.READY:
            return None  # shown dimmed, does nothing
        if action in EDIT_ACTIONS and self.settings.read_only:
            return None
        if action not in EDIT_ACTIONS or action in ("undo", "redo", "held_back"):
            return True
        row = self.table.current  # on a gap row only re-transcribe, on an event row only
        if isinstance(row, EventRow):  # decide or tag it; on a segment those two are off
            return True if action == "suggestion" or parameters == ("action",) else None
        return True if (action in GAP_ACTIONS) == isinstance(row, GapRow) else None

    def open_dialog(self, dialog: Dialog[R], callback: ScreenResultCallbackType[R]) -> None:
        """Push ``dialog``; keys already on their way here reach it first, in order."""
        dialog.hold_keys()
        self.app.push_screen(dialog, callback)
        # Behind every key still queued at the table, then at this screen (FIFO queues):
        self.table.call_later(self.call_later, dialog.take_keys)

    # -- the view -----------------------------------------------------------------------------

    def view_rows(self) -> list[Segment]:
        """The segments the table shows: all of them, or those the filter keeps."""
        segments = self.session.segments
        if self.view_filter is None:
            return self.suggested.rows(self.gaps.rows(segments))
        if self.view_filter.suggested:  # lines and events: the overlay knows them
            return self.suggested.open_rows(segments)
        return [segments[i] for i in self.session.filter(**self.view_filter.criteria)]

    def refresh_view(self, keep_id: int | None = None) -> None:
        """Rebuild the row list (cheap: rows render only when drawn)."""
        current = self.table.current
        keep = keep_id if keep_id is not None else (current.id if current else None)
        self.table.set_rows(
            self.view_rows(), self.session.speakers, self.session.codebook, keep_id=keep
        )
        self.show_current()
        self.update_activity()

    def watch_view_filter(self, view: ViewFilter | None) -> None:
        self.clear_mark()
        self.refresh_view()
        if view is not None and not self.table.rows:
            self.notify(f"Nothing to show: {view.name}.", timeout=3, markup=False)

    def show_current(self) -> None:
        self.detail.show(self.table.current, self.session.speakers, self.session.codebook)

    def on_segment_table_segment_highlighted(
        self, message: SegmentTable.SegmentHighlighted
    ) -> None:
        self.detail.show(message.segment, self.session.speakers, self.session.codebook)
        self.status.selection = len(self.table.selected())
        self.refresh_bindings()  # editing keys are off on a gap row

    def update_progress(self) -> None:
        self.status.reviewed = self.session.progress()

    def update_activity(self) -> None:
        view = self.view_filter
        self.status.view = f"filter: {view.name} ({len(self.table.rows)})" if view else ""

    # -- changing things ----------------------------------------------------------------------

    def targets(self) -> list[int]:
        """Ids of the segments an action applies to: the marked range, or the cursor row."""
        return [seg.id for seg in self.table.selected() if not is_timeline_row(seg)]

    def apply(self, call: Callable[[], Change], *, focus: int | None = None) -> Change | None:
        """Run one session operation; show what changed, or the error. Returns the change."""
        try:
            change = call()
        except AnnotatorError as exc:
            self.status.error = True
            self.status.saved = "not saved"
            self.notify(str(exc), title="Not done", severity="error", markup=False)
            return None
        self.status.error = False
        self.status.saved = f"saved {datetime.now():%H:%M:%S}"
        self.show_change(change, focus=focus)
        return change

    def show_change(self, change: Change, *, focus: int | None = None) -> None:
        """Repaint what ``change`` touched (and nothing else)."""
        layer_changed = self.suggested.absorb(change)  # a decision: hints and event rows
        if change.empty and not layer_changed:
            return
        if self.languages.absorb(change):
            self.table.invalidate()  # a translation changed: its row shows it if b is on
        if change.codebook or change.speakers:
            # Labels shown in many rows changed: re-render lazily, keep the row list.
            self.table.set_rows(self.table.rows, self.session.speakers, self.session.codebook)
        if change.reordered or change.inserted or change.deleted or layer_changed:
            self.refresh_view(keep_id=focus)
        else:
            for seg_id in change.updated:
                self.table.replace_row(self.session.segment(seg_id))
            if focus is not None:
                self.focus_segment(focus)
        self.show_current()
        self.update_progress()

    def focus_segment(self, seg_id: int) -> None:
        """Put the cursor on a segment if the view shows it."""
        index = self.table.index_of(seg_id)
        if index is not None:
            self.table.move_to(index)

    def clear_mark(self) -> None:
        self.table.action_clear_mark()
        self.status.selection = 1

    def _current(self) -> Segment | None:
        seg = self.table.current
        if seg is None:
            self.notify("No segment here yet.", timeout=2)
        return seg

    def ask(self, title: str, done: Callable[[str], object], value: str = "",
                *, context: Text | None = None, placeholder: str = "",
                allow_empty: bool = True) -> None:
        """Ask for one line; ``done`` gets it unless cancelled (or empty, if not allowed)."""
        def answered(text: str | None) -> None:
            if text is not None and (allow_empty or text.strip()):
                done(text)

        self.open_dialog(
            PromptScreen(title, value, context=context, placeholder=placeholder), answered
        )

    # -- review state, speakers and tags --------------------------------------------------

    def action_set_state(self, state: str) -> None:
        if self._current() is None:
            return
        ids = self.targets()
        new = ReviewState(state)
        if self.apply(lambda: self.session.set_state(ids, new)) is None:
            return
        self.clear_mark()
        if len(ids) == 1 and new in ADVANCING_STATES:
            self.table.action_cursor_down()

    def action_pick(self, kind: str) -> None:
        """Open the chord of ``kind`` (speaker, agency, action, other) in the detail pane."""
        if self._current() is None or self.suggested.tag_event(kind):  # an event row
            return
        ids = self.targets()
        many = f" for {len(ids)} segments" if len(ids) > 1 else ""
        if kind == "speaker":
            title = f"Speaker of {len(ids)} segments" if len(ids) > 1 else "Speaker"
            self.detail.open_chord(Chord(
                title, choices.speaker_choices(self.session, ids),
                lambda value: self._speaker_chosen(ids, value),
                add_label="new speaker…", clear_label="no speaker",
            ))
            return
        noun = KIND_TITLES.get(kind, kind)
        self.detail.open_chord(Chord(
            f"{noun} (toggle){many}", choices.tag_choices(self.session, kind, ids),
            lambda value: self._tag_chosen(kind, ids, value), add_label=f"new {noun.lower()}…",
        ))

    def _speaker_chosen(self, ids: list[int], value: str) -> None:
        if value == ADD:
            self.ask("New speaker name", lambda label: self._assigned(
                lambda: self.session.add_speaker(label, assign=ids)), allow_empty=False)
        elif not choices.follow_up(self.session, ids, value, self._assigned, self.detail):
            self._assigned(choices.speaker_operation(self.session, ids, value))

    def _tag_chosen(self, kind: str, ids: list[int], value: str) -> None:
        if value == ADD:
            noun = KIND_TITLES.get(kind, kind).lower()
            self.ask(f"New {noun} (added to the codebook)", lambda label: self._assigned(
                lambda: self.session.add_codebook_entry(kind, label, tag=ids)),
                allow_empty=False)
            return
        self._assigned(lambda: self.session.toggle_tag(ids, value))

    def _assigned(self, call: Callable[[], Change]) -> None:
        self.apply(call)
        self.clear_mark()

    def action_rename_speaker(self) -> None:
        seg = self.table.current
        if seg is None:
            return
        if seg.speaker_id is None:
            self.notify("This segment has no speaker: press s to choose one.", timeout=3)
            return
        speaker = self.session.speaker(seg.speaker_id)
        self.ask("Rename speaker everywhere", lambda label: self.apply(
            lambda: self.session.rename_speaker(speaker.id, label)), speaker.label,
            allow_empty=False)

    def action_suggestion(self, op: str) -> None:
        """Y, X, A, W: decide the suggestions shown on this row (:mod:`annotator.tui.inplace`)."""
        if op in ("accept", "reject"):
            self.suggested.decide(op == "accept")
        elif op == "accept_all":
            self.suggested.accept_all()
        elif op == "name_voice":
            self.suggested.name_voice()

    def action_next_suggestion(self, reverse: bool = False) -> None:
        self.suggested.walk(reverse)

    # -- text, note and structure -------------------------------------------------------------

    def action_edit_text(self) -> None:
        seg = self.table.current
        if seg is None:
            return
        context = Text("machine: ", style="dim italic") + words_text(seg)
        self.ask("Edit text", lambda text: self.apply(
            lambda: self.session.set_text(seg.id, text)), seg.text, context=context)

    def action_edit_translation(self) -> None:
        self.languages.ask_correction(self.table.current, self.session, self.ask, self.apply,
                                      lambda text: self.notify(text, timeout=4, markup=False))

    def action_note(self) -> None:
        seg = self.table.current
        if seg is not None:
            self.ask("Note (empty clears it)", lambda note: self.apply(
                lambda: self.session.set_note(seg.id, note)), seg.note)

    def action_split(self) -> None:
        seg = self.table.current
        if seg is None:
            return
        if len(seg.words) < 2:
            self.notify("Splitting needs at least two machine words.", timeout=3)
            return

        def cut(index: int | None) -> None:
            if index is not None:
                self.apply(lambda: self.session.split(seg.id, index), focus=seg.id)

        self.open_dialog(SplitScreen(seg), cut)

    def action_merge(self) -> None:
        seg = self.table.current
        if seg is not None:
            self.apply(lambda: self.session.merge_with_next(seg.id), focus=seg.id)

    def action_delete(self) -> None:
        seg = self.table.current
        if seg is not None:
            index = self.table.cursor
            if self.apply(lambda: self.session.delete_segment(seg.id)) is not None:
                self.table.move_to(index)
                self.notify("Segment deleted (z brings it back).", timeout=3)

    def action_nudge(self, edge: str, delta_ms: int) -> None:
        seg = self.table.current
        if seg is not None:
            which: Literal["start", "end"] = "start" if edge == "start" else "end"
            self.apply(lambda: self.session.nudge(seg.id, which, delta_ms), focus=seg.id)

    def action_insert(self) -> None:
        seg = self.table.current
        if seg is None and self.transcriber.running:
            self.notify("Wait for the first segments of the transcription.", timeout=3)
            return
        start, end = editing.gap_after(self.session, seg.id if seg is not None else None)
        self.ask(
            f"Insert a segment {clock(start)} - {clock(end)} (adjust with [ ] - =)",
            lambda text: self.added(
                lambda: self.session.insert_segment(start, end, text)),
            allow_empty=False,
        )

    def added(self, call: Callable[[], Change], note: str = "") -> None:
        change = self.apply(call)
        if change is not None and change.inserted:
            self.focus_segment(change.inserted[0])
            if note:
                self.notify(note, timeout=4)

    def action_held_back(self) -> None:
        self.held.ask()

    def action_retranscribe(self) -> None:
        """Transcribe the speech gap under the cursor again, with settings asked for."""
        self.gaps.ask(self.table.current)

    def on_gap_filler_done(self, message: GapFiller.Done) -> None:
        self.gaps.done(message.run, message.drafts)

    def on_gap_filler_failed(self, message: GapFiller.Failed) -> None:
        self.gaps.failed(message.error)

    def action_undo(self) -> None:
        if self.session.can_undo:
            self._replayed(self.apply(self.session.undo), "Undone")
        else:
            self.notify("Nothing to undo.", timeout=2)

    def action_redo(self) -> None:
        if self.session.can_redo:
            self._replayed(self.apply(self.session.redo), "Redone")
        else:
            self.notify("Nothing to redo.", timeout=2)

    def _replayed(self, change: Change | None, verb: str) -> None:
        if change is None or change.audit_id is None:  # (an event decision touches no line)
            return
        ids = [i for i in change.inserted + change.updated if self.table.index_of(i) is not None]
        if ids:
            self.focus_segment(ids[0])
        self.notify(f"{verb}: {change.of.replace('_', ' ')}", timeout=2, markup=False)

    # -- finding ------------------------------------------------------------------------------

    def action_next_unreviewed(self, reverse: bool = False) -> None:
        self.table.find("unreviewed segment", lambda rows, i, back: find.next_unreviewed(
            rows, i, reverse=back), reverse=reverse)

    def action_next_low(self, reverse: bool = False) -> None:
        self.table.find("low-confidence segment", lambda rows, i, back: (
            find.next_low_confidence(rows, i, reverse=back)), reverse=reverse)

    def action_find_again(self, direction: int) -> None:
        self.table.find_again(reverse=direction < 0)

    def action_next_tag(self) -> None:
        self.finder.next_tag()

    def action_search(self) -> None:
        self.finder.search()

    def action_filter(self) -> None:
        def filtered(view: ViewFilter | None) -> None:
            self.view_filter = view

        FilterQuestions(self.session, self.open_dialog, filtered,
                        lambda text: self.notify(text, timeout=3),
                        self.languages).start(self.view_filter)

    def action_toggle_translation(self) -> None:
        self.notify(self.languages.toggle(), timeout=2, markup=False)
        self.table.invalidate()

    # -- playback -----------------------------------------------------------------------------

    def action_play_segment(self) -> None:
        seg = self.table.current
        if seg is not None:
            self.playback.play_range(seg.start_ms, seg.end_ms)

    def action_play_from_here(self) -> None:
        seg = self.table.current
        self.playback.play_from(seg.start_ms if seg is not None else 0)

    def action_toggle_pause(self) -> None:
        self.playback.toggle_pause()

    def action_seek(self, delta_ms: int) -> None:
        self.playback.seek(delta_ms)

    def action_speed(self, speed: float) -> None:
        self.status.speed = speed
        self.playback.set_speed(speed)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify(f"Follow playback: {'on' if self.follow else 'off'}", timeout=2)

    def on_playback_off(self, message: Playback.Off) -> None:
        self.notify(message.reason, title=message.title, severity="warning",
                    timeout=message.timeout, markup=False)

    def on_playback_ready(self, message: Playback.Ready) -> None:
        self.playback.adopt(message.player)
        self.refresh_bindings()
        notice = self.playback.silence_notice()
        if notice:
            self.notify(notice, title="Player", severity="warning", timeout=10, markup=False)

    def on_playback_failed(self, message: Playback.Failed) -> None:
        self.status.playing = False
        self.playback.failed()
        self.refresh_bindings()
        self.notify(message.error, title="Player", severity="error", timeout=8, markup=False)

    def on_playback_playing(self, message: Playback.Playing) -> None:
        self.status.playing = message.playing

    def on_playback_position(self, message: Playback.Position) -> None:
        if message.ms is not None:
            self.status.position_ms = message.ms
            self.table.show_playing_at(message.ms, move_cursor=self.follow)

    # -- transcription and export -------------------------------------------------------------

    def on_transcriber_started(self, message: Transcriber.Started) -> None:
        self.status.progress = self.transcriber.started(message.duration_ms)

    def on_transcriber_segment_added(self, message: Transcriber.SegmentAdded) -> None:
        self.show_change(self.session.refresh([message.segment_id]))
        self.status.progress = self.transcriber.progress(message.end_ms)

    def on_transcriber_finished(self, message: Transcriber.Finished) -> None:
        self.status.progress = self.transcriber.stopped(finished=True)
        self.notify(f"Transcription finished: {message.count} segments.", timeout=4)
        self.held.report()
        if not self.settings.read_only:
            self.suggested.run_detectors()  # a thread worker; the table repaints when done

    def on_suggest_worker_progress(self, message: SuggestWorker.Progress) -> None:
        self.suggested.progress(message.text)

    def on_suggest_worker_done(self, message: SuggestWorker.Done) -> None:
        self.suggested.done(message.summary, message.problems)

    def on_transcriber_failed(self, message: Transcriber.Failed) -> None:
        self.status.progress = self.transcriber.stopped(finished=False)
        self.notify(message.error, title="Transcription failed", severity="error",
                    timeout=15, markup=False)

    def action_export(self) -> None:
        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                self.status.busy = "exporting…"
                self.exporter.export(request)

        self.open_dialog(ExportScreen(self.exporter.formats(), self.exporter.folder), chosen)

    def on_exporter_done(self, message: Exporter.Done) -> None:
        self.exporter.done(message.paths)
        self.status.busy = ""
        self.notify("\n".join(str(p) for p in message.paths), title="Exported",
                    timeout=10, markup=False)

    def on_exporter_failed(self, message: Exporter.Failed) -> None:
        self.status.busy = ""
        self.notify(message.error, title="Export failed", severity="error", timeout=15,
                    markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Workers report expected failures as messages; this catches the unexpected."""
        if event.state is WorkerState.ERROR:
            if event.worker.group == "suggest":
                self.suggested.stopped()
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed",
                        severity="error", timeout=15, markup=False)

