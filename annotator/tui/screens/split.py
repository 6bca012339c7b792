"""Pick the word a segment is split before."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from annotator.core.model import Segment
from annotator.tui.display import clean, clock
from annotator.tui.screens.dialog import Dialog


class SplitScreen(Dialog[int | None]):
    """←/→ (or h/l) move the cut between machine words; Enter splits there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(-1)", "Earlier word", id="split.left"),
        Binding("right,l", "move(1)", "Later word", id="split.right"),
        Binding("home", "move(-1000)", "First", id="split.first", show=False),
        Binding("end", "move(1000)", "Last", id="split.last", show=False),
        Binding("enter", "confirm", "Split here", id="split.confirm"),
        Binding("escape", "cancel", "Cancel", id="split.cancel"),
    ]

    cut: reactive[int] = reactive(1)

    def __init__(self, segment: Segment) -> None:
        super().__init__()
        self.segment = segment
        self.set_reactive(SplitScreen.cut, max(1, len(segment.words) // 2))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text("Split before which word?", style="bold"), classes="title")
            yield Static(self._words(), id="split-words")
            yield Static(Text("←/→ move   Enter: split   Esc: cancel", style="dim"),
                         classes="hint")

    def _words(self) -> Text:
        out = Text()
        for i, word in enumerate(self.segment.words):
            if i == self.cut:
                out.append(" ┃ ", "bold red")
            elif i:
                out.append(" ")
            style = "reverse" if i == self.cut else ""
            out.append(clean(word.text), style)
        cut_word = self.segment.words[self.cut]
        out.append(f"\n\ncut at {clock(cut_word.start_ms)}", "dim")
        return out

    def watch_cut(self) -> None:
        if self.is_mounted:
            self.query_one("#split-words", Static).update(self._words())

    def action_move(self, step: int) -> None:
        self.cut = max(1, min(self.cut + step, len(self.segment.words) - 1))

    def action_confirm(self) -> None:
        self.dismiss(self.cut)

    def action_cancel(self) -> None:
        self.dismiss(None)
