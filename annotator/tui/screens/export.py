"""The export dialog: pick formats and a folder; the app writes with the CLI's registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from annotator.tui.screens.dialog import Dialog, LineInput

#: ``--labels`` values (:mod:`annotator.formats.labels`) as the dialog offers them.
LABEL_CHOICES = (
    ("name", "the speaker's name (Officer: ...)"),
    ("name+agency", "name and agency (Officer (Local police): ...)"),
    ("none", "no label"),
)


def _id(value: str) -> str:
    return value.replace("+", "-")


@dataclass(frozen=True)
class ExportRequest:
    formats: tuple[str, ...]
    folder: Path
    redact_paths: bool = False
    #: the visible speaker label of caption cues (``annotator export --labels``)
    labels: str = "name"


class ExportScreen(Dialog[ExportRequest | None]):
    """Checkboxes for every registered format, a folder input, Export / Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
        Binding("ctrl+s", "submit", "Export", id="export.submit"),
    ]

    def __init__(
        self, formats: Sequence[tuple[str, str]], folder: Path, selected: Sequence[str] = ()
    ) -> None:
        """``formats``: (identifier, description) pairs from the export registry."""
        super().__init__()
        self.formats = list(formats)
        self.folder = folder
        self.selected = set(selected) or {f for f, _ in self.formats}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static(Text("Export transcript", style="bold"), classes="title")
            for ident, description in self.formats:
                yield Checkbox(
                    Text(f"{ident}  {description}"), ident in self.selected,
                    id=f"fmt-{ident}",
                )
            yield Checkbox(
                Text("leave folder paths out (file names and hashes stay)"), False,
                id="export-redact",
            )
            yield Static(Text("Caption cues start with", style="dim"))
            with RadioSet(id="export-labels"):
                for value, label in LABEL_CHOICES:
                    yield RadioButton(label, value == "name", id=f"labels-{_id(value)}")
            yield Static(Text("Folder", style="dim"))
            yield LineInput(str(self.folder), id="export-folder")
            yield Static("", id="export-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def focus_target(self) -> Widget:
        return self.query_one("#export-ok", Button)

    def chosen(self) -> tuple[str, ...]:
        return tuple(
            ident for ident, _ in self.formats
            if self.query_one(f"#fmt-{ident}", Checkbox).value
        )

    def action_submit(self) -> None:
        formats = self.chosen()
        folder = self.query_one("#export-folder", Input).value.strip()
        if not formats or not folder:
            self.query_one("#export-error", Static).update(
                Text("Pick at least one format and a folder.", style="bold red")
            )
            return
        redact = self.query_one("#export-redact", Checkbox).value
        index = self.query_one("#export-labels", RadioSet).pressed_index
        labels = LABEL_CHOICES[index][0] if index >= 0 else "name"
        self.dismiss(ExportRequest(formats, Path(folder).expanduser(), redact, labels))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
