"""A one-key picker: a small modal listing choices with their shortcut keys.

Used for speakers, agencies, actions and other tags (from the codebook), for "next with tag"
and for the filter view. Pressing a choice's key returns its value at once; ``+`` returns
:data:`ADD` (the caller then asks for a new entry) and ``-`` returns :data:`CLEAR` when the
caller allows it. Labels come from codebooks and speaker names: they are shown literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from annotator.tui.display import clean
from annotator.tui.screens.dialog import Dialog

ADD = "\x00add"
CLEAR = "\x00clear"
#: Keys handed out to choices that have no shortcut of their own, in this order.
SPARE_KEYS = "123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Choice:
    key: str  # one character
    value: str
    label: str
    detail: str = ""
    marked: bool = False  # e.g. the segment already carries this tag


def assign_keys(items: Iterable[tuple[str, str, str, str, bool]]) -> list[Choice]:
    """Build choices from ``(shortcut, value, label, detail, marked)``: an item keeps its
    shortcut when it is free, else gets the first spare key."""
    items = list(items)
    taken = {s for s, *_ in items if s} | {"+", "-"}
    used: set[str] = set()
    spare = (k for k in SPARE_KEYS if k not in taken)
    choices = []
    for shortcut, value, label, detail, marked in items:
        key = shortcut if shortcut and shortcut not in used else next(spare, "")
        used.add(key)
        choices.append(Choice(key, value, label, detail, marked))
    return choices


class PickerScreen(Dialog[str | None]):
    """Press a key to choose; Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
    ]

    def __init__(
        self, title: str, choices: Sequence[Choice], *, add_label: str = "",
        clear_label: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.add_label = add_label
        self.clear_label = clear_label
        self.by_key = {c.key: c for c in self.choices if c.key}

    def compose(self) -> ComposeResult:
        longest = max((len(c.label) for c in self.choices), default=10)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(style="bold cyan", no_wrap=True, width=1)
        table.add_column(no_wrap=True, overflow="ellipsis", width=min(max(longest, 14) + 2, 34))
        table.add_column(style="dim", overflow="ellipsis", no_wrap=True, ratio=1)
        for c in self.choices:
            label = Text(clean(c.label), style="bold" if c.marked else "")
            if c.marked:
                label.append(" ✓", "green")
            table.add_row(Text(c.key), label, Text(clean(c.detail)))
        if self.add_label:
            table.add_row(Text("+"), Text(self.add_label, style="italic"), Text(""))
        if self.clear_label:
            table.add_row(Text("-"), Text(self.clear_label, style="italic"), Text(""))
        with VerticalScroll(classes="dialog picker"):
            yield Static(Text(self.title_text, style="bold"), classes="title")
            yield Static(table)
            yield Static(Text("Press a key. Esc: cancel", style="dim"), classes="hint")

    def typed(self, key: str, character: str | None) -> None:
        char = character
        if not char:
            return
        if char == "+" and self.add_label:
            self.dismiss(ADD)
        elif char == "-" and self.clear_label:
            self.dismiss(CLEAR)
        elif char in self.by_key:
            self.dismiss(self.by_key[char].value)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
