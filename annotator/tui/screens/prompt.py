"""A one-line prompt (search, note, rename, new text) that returns what was typed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Static

from annotator.tui.display import clean
from annotator.tui.screens.dialog import Dialog, LineInput


class PromptScreen(Dialog[str | None]):
    """Enter returns the text (possibly empty), Escape returns ``None``.

    ``context`` is shown above the input as literal text (e.g. the machine draft while
    editing a correction): it is untrusted and never parsed as markup.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
    ]

    def __init__(
        self, title: str, value: str = "", *, context: Text | str | None = None,
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.context = context
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="title")
            if self.context is not None:
                ctx = self.context if isinstance(self.context, Text) else Text(
                    clean(self.context), style="dim")
                yield Static(ctx, classes="context", markup=False)
            yield LineInput(clean(self.value), placeholder=self.placeholder, id="prompt-input")
            yield Static(Text("Enter: OK   Esc: cancel", style="dim"), classes="hint")

    def focus_target(self) -> Widget:
        return self.query_one(Input)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
