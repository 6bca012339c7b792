"""The help screen: every key of the app, generated from the bindings themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from annotator.tui.bindings import key_names
from annotator.tui.screens.dialog import Dialog

HelpSections = Sequence[tuple[str, Sequence[Binding]]]


def help_columns(sections: HelpSections, keymap: Mapping[str, str]) -> Table:
    """The sections in two side-by-side columns of about equal length."""
    sizes = [len(b) + 2 for _, b in sections]
    half, running, split = sum(sizes) / 2, 0, len(sections)
    for i, size in enumerate(sizes):
        running += size
        if running >= half:
            split = i + 1
            break
    grid = Table.grid(padding=(0, 4))
    grid.add_column(vertical="top")
    grid.add_column(vertical="top")
    grid.add_row(help_table(sections[:split], keymap), help_table(sections[split:], keymap))
    return grid


def help_table(sections: HelpSections, keymap: Mapping[str, str]) -> Table:
    """A two-column table (keys, what they do) with one block per section."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold cyan", no_wrap=True)
    table.add_column()
    for i, (title, bindings) in enumerate(sections):
        if i:
            table.add_row("", "")
        table.add_row(Text(""), Text(title, style="bold underline"))
        for b in bindings:
            keys = keymap.get(b.id or "", b.key)
            table.add_row(Text(key_names(keys)), Text(b.description))
    return table


class HelpScreen(Dialog[None]):
    """Lists every binding; any of escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, sections: HelpSections, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.sections = sections
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static(Text("annotator review — keys", style="bold"), classes="title")
            yield Static(Text(
                "s, a, t, o: then the key shown for a speaker, agency, action or other tag "
                "(+ adds a new one, - removes the speaker, a tag's key again removes it; "
                "s @ sets the agency of the speaker, shown on every line of theirs); "
                "they apply to the marked range (V, shift+arrows) if any. Every change is "
                "saved at once. What the machine suggests is drawn dim with a ? (\"Voice B?\", "
                "a tag?, ⚑ a line to distrust, ◆ a sound on the timeline) until Y accepts or X "
                "rejects it; . and , walk them, A accepts all of a voice or rule, W names a "
                "voice. Remap keys by binding id (see annotator/tui/bindings.py) in "
                "~/.config/annotator/keymap.toml, e.g. \"edit.text\" = \"f2\".",
                style="dim",
            ), classes="hint")
            yield Static(help_columns(self.sections, self.keymap), id="help-table")

    def focus_target(self) -> Widget:
        return self.query_one("#help-body")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
