"""Review decisions and edits: states, speakers, tags, text, notes, split/merge/nudge/insert,
undo and redo. Each action is one :class:`~annotator.core.session.ReviewSession` call (saved
when it returns) followed by :meth:`~annotator.tui.base.ReviewBase.show_change`.

Speaker, agency, action and other-tag assignment are two-key chords (:mod:`~annotator.tui.chord`)
and apply to the marked range (``V`` or
shift+↑/↓) when there is one, else to the cursor row; the mark is cleared afterwards.
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text

from annotator.core.document import held_back
from annotator.core.edits import Change
from annotator.core.model import ReviewState, Speaker
from annotator.errors import AnnotatorError
from annotator.tui.chord import Chord, ChordActions
from annotator.tui.display import clock, words_text
from annotator.tui.screens.picker import ADD, CLEAR, Choice, PickerScreen, assign_keys
from annotator.tui.screens.prompt import PromptScreen
from annotator.tui.screens.split import SplitScreen

KIND_TITLES = {"speaker": "Speaker", "agency": "Agency", "action": "Action", "other": "Tag"}
ADVANCING_STATES = frozenset({ReviewState.REVIEWED, ReviewState.VERIFIED})


class EditingActions(ChordActions):
    """Actions that change the review (all through the session)."""

    def _need_row(self) -> bool:
        if self.table.current is None:
            self.notify("No segment here yet.", timeout=2)
            return False
        return True

    # -- review state ---------------------------------------------------------------------

    def action_set_state(self, state: str) -> None:
        if not self._need_row():
            return
        ids = self.targets()
        single = len(ids) == 1
        new = ReviewState(state)
        if self.apply(lambda: self.session.set_state(ids, new)) is None:
            return
        self.clear_mark()
        if single and new in ADVANCING_STATES:
            self.table.action_cursor_down()

    # -- speakers and tags ----------------------------------------------------------------

    def action_pick(self, kind: str) -> None:
        if not self._need_row():
            return
        if kind == "speaker":
            self._pick_speaker()
        else:
            self._pick_tag(kind)

    def _pick_speaker(self) -> None:
        ids = self.targets()
        current = {self.session.segment(i).speaker_id for i in ids}
        speakers = self.session.speakers
        by_role: dict[str, Speaker] = {}
        for sp in speakers.values():
            if sp.role and sp.role not in by_role:
                by_role[sp.role] = sp
        items: list[tuple[str, str, str, str, bool]] = []
        for entry in self.session.codebook.of_kind("speaker"):
            role_sp = by_role.get(entry.key)
            label = role_sp.label if role_sp is not None else entry.label
            renamed = role_sp is not None and label != entry.label
            detail = f"({entry.label})" if renamed else entry.description
            marked = role_sp is not None and current == {role_sp.id}
            items.append((entry.shortcut, f"role:{entry.key}", label, detail, marked))
        for sp in speakers.values():
            if by_role.get(sp.role) is sp:
                continue
            items.append(("", f"speaker:{sp.id}", sp.label, sp.role, current == {sp.id}))
        title = f"Speaker of {len(ids)} segments" if len(ids) > 1 else "Speaker"

        def chosen(value: str) -> None:
            if value == ADD:
                self.push_screen(PromptScreen("New speaker name"),
                                 lambda label: self._new_speaker(ids, label))
                return
            if value == CLEAR:
                self.apply(lambda: self.session.set_speaker(ids, None))
            elif value.startswith("role:"):
                key = value.removeprefix("role:")
                self.apply(lambda: self.session.assign_role(ids, key))
            else:
                speaker_id = int(value.removeprefix("speaker:"))
                self.apply(lambda: self.session.set_speaker(ids, speaker_id))
            self.clear_mark()

        self.start_chord(Chord(title, assign_keys(items), chosen, add_label="new speaker…",
                               clear_label="no speaker"))

    def _new_speaker(self, ids: list[int], label: str | None) -> None:
        if label and label.strip():
            self.apply(lambda: self.session.add_speaker(label, assign=ids))
            self.clear_mark()

    def _pick_tag(self, kind: str) -> None:
        ids = self.targets()
        segs = [self.session.segment(i) for i in ids]
        entries = self.session.codebook.of_kind(kind)
        choices: list[Choice] = assign_keys(
            (e.shortcut, e.key, e.label, e.description, all(e.key in s.tags for s in segs))
            for e in entries
        )
        noun = KIND_TITLES.get(kind, kind)
        title = f"{noun} (toggle) for {len(ids)} segments" if len(ids) > 1 else f"{noun} (toggle)"

        def chosen(value: str) -> None:
            if value == ADD:
                self.push_screen(
                    PromptScreen(f"New {noun.lower()} (added to the codebook)"),
                    lambda label: self._new_tag(kind, ids, label),
                )
                return
            self.apply(lambda: self.session.toggle_tag(ids, value))
            self.clear_mark()

        self.start_chord(Chord(title, choices, chosen, add_label=f"new {noun.lower()}…"))

    def _new_tag(self, kind: str, ids: list[int], label: str | None) -> None:
        if label and label.strip():
            self.apply(lambda: self.session.add_codebook_entry(kind, label, tag=ids))
            self.clear_mark()

    def action_rename_speaker(self) -> None:
        seg = self.table.current
        if seg is None:
            return
        if seg.speaker_id is None:
            self.notify("This segment has no speaker: press s to choose one.", timeout=3)
            return
        speaker = self.session.speaker(seg.speaker_id)

        def renamed(label: str | None) -> None:
            if label and label.strip():
                self.apply(lambda: self.session.rename_speaker(speaker.id, label))

        self.push_screen(
            PromptScreen("Rename speaker everywhere", speaker.label), renamed
        )

    # -- text and note --------------------------------------------------------------------

    def action_edit_text(self) -> None:
        seg = self.table.current
        if seg is None:
            return
        context = Text("machine: ", style="dim italic") + words_text(seg)

        def edited(text: str | None) -> None:
            if text is not None:
                self.apply(lambda: self.session.set_text(seg.id, text))

        self.push_screen(PromptScreen("Edit text", seg.text, context=context), edited)

    def action_note(self) -> None:
        seg = self.table.current
        if seg is None:
            return

        def noted(note: str | None) -> None:
            if note is not None:
                self.apply(lambda: self.session.set_note(seg.id, note))

        self.push_screen(PromptScreen("Note (empty clears it)", seg.note), noted)

    # -- structure ------------------------------------------------------------------------

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

        self.push_screen(SplitScreen(seg), cut)

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
        if seg is None:
            return
        which: Literal["start", "end"] = "start" if edge == "start" else "end"
        self.apply(lambda: self.session.nudge(seg.id, which, delta_ms), focus=seg.id)

    def action_insert(self) -> None:
        seg = self.table.current
        if seg is None and self.transcribing:
            self.notify("Wait for the first segments of the transcription.", timeout=3)
            return
        duration = self.session.media.duration_ms
        start = seg.end_ms if seg is not None else 0
        index = self.session.index_of(seg.id) if seg is not None else -1
        following = self.session.segments[index + 1 : index + 2]
        end = following[0].start_ms if following else start + 2000
        if end - start < 200:
            end = start + 1000
        if duration > 0:
            end = min(end, duration)
            start = min(start, end - 1)

        def typed(text: str | None) -> None:
            if text is None or not text.strip():
                return
            change = self.apply(lambda: self.session.insert_segment(max(start, 0), end, text))
            if change is not None and change.inserted:
                self.focus_segment(change.inserted[0])

        self.push_screen(
            PromptScreen(f"Insert a segment {clock(start)} - {clock(end)} (adjust with [ ] - =)"),
            typed,
        )

    def action_held_back(self) -> None:
        """List what the transcription held back as heard in silence; a key restores one
        (listen to it with Enter, and undo with z if nobody speaks there)."""
        held = held_back(self.session.ws, self.session.media_id)
        if not held:
            self.notify("The transcription held nothing back.", timeout=3)
            return
        choices = assign_keys(
            ("", str(i), f"{clock(h.start_ms)} - {clock(h.end_ms)}", h.text,
             self.session.is_restored(h))
            for i, h in enumerate(held)
        )

        def chosen(value: str | None) -> None:
            if value is None:
                return
            change = self.apply(lambda: self.session.restore_held_back(held[int(value)]))
            if change is not None and change.inserted:
                self.focus_segment(change.inserted[0])
                self.notify("Restored as machine text, unreviewed (z undoes).", timeout=4)

        self.push_screen(PickerScreen(
            "Held back as heard in silence (✓ = restored). A key restores one.", choices
        ), chosen)

    # -- undo / redo ----------------------------------------------------------------------

    def _replayed(self, change: Change | None, verb: str) -> None:
        if change is None:
            return
        if change.empty:
            self.notify(f"Nothing to {verb.lower()}.", timeout=2)
            return
        ids = [i for i in change.inserted + change.updated if self._exists(i)]
        if ids:
            self.focus_segment(ids[0])
        self.notify(f"{verb}: {change.of.replace('_', ' ')}", timeout=2, markup=False)

    def _exists(self, seg_id: int) -> bool:
        try:
            self.session.segment(seg_id)
        except AnnotatorError:
            return False
        return True

    def action_undo(self) -> None:
        self._replayed(self.apply(self.session.undo), "Undone")

    def action_redo(self) -> None:
        self._replayed(self.apply(self.session.redo), "Redone")
