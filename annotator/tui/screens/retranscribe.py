"""The re-transcribe dialog: which settings to try on a speech gap (see :mod:`annotator.tui.gaps`).

Opened by the re-transcribe key on a gap row. It offers what helps where the first run wrote
nothing: no voice activity detection (the detector may have cut the speech away), the
multilingual model ``base`` (larger, and it writes other languages), and a forced language.
Enter on Start (or ctrl+s) answers a :class:`~annotator.tui.gaps.RetranscribeRequest`;
Escape answers None.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Static

from annotator.transcribe.languages import check_language
from annotator.transcribe.models import DEFAULT_MODEL
from annotator.tui.gaps import GapRow, RetranscribeRequest, gap_sentence
from annotator.tui.screens.dialog import Dialog, LineInput

MULTILINGUAL = "base"


class RetranscribeScreen(Dialog[RetranscribeRequest | None]):
    """Settings for transcribing one gap again: VAD off, the base model, a language."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="retranscribe.cancel"),
        Binding("ctrl+s", "submit", "Start", id="retranscribe.submit"),
    ]

    def __init__(self, row: GapRow, model: str = DEFAULT_MODEL) -> None:
        super().__init__()
        self.row = row
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="retranscribe-dialog"):
            yield Static(Text("Transcribe this gap again", style="bold"), classes="title")
            yield Static(Text(gap_sentence(self.row.gap), style="italic"), classes="context")
            yield Checkbox(Text("no voice activity detection (decode every moment)"), True,
                           id="retranscribe-novad")
            yield Checkbox(Text(f"multilingual model {MULTILINGUAL} (instead of {self.model})"),
                           self.model == MULTILINGUAL, id="retranscribe-base")
            yield Static(Text("Language (empty: detect)", style="dim"))
            yield LineInput("", placeholder="e.g. es", id="retranscribe-language")
            yield Static("", id="retranscribe-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Start", variant="primary", id="retranscribe-ok")
                yield Button("Cancel", id="retranscribe-cancel")

    def focus_target(self) -> Widget:
        return self.query_one("#retranscribe-ok", Button)

    def action_submit(self) -> None:
        use_base = self.query_one("#retranscribe-base", Checkbox).value
        model = MULTILINGUAL if use_base else self.model
        language = self.query_one("#retranscribe-language", Input).value.strip().lower()
        problem = check_language(language, model) if language else None
        if problem is not None:
            self.query_one("#retranscribe-error", Static).update(Text(problem, style="bold red"))
            return
        self.dismiss(RetranscribeRequest(
            self.row.start_ms, self.row.end_ms, model,
            vad=not self.query_one("#retranscribe-novad", Checkbox).value,
            language=language or None,
        ))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "retranscribe-ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
