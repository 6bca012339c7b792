"""The detail pane: everything about the segment under the cursor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from annotator.core.model import Codebook, Segment, Speaker
from annotator.tui.display import clean, detail_text

if TYPE_CHECKING:
    from annotator.tui.screens.picker import Choice


class DetailPane(Static):
    """Full text (weak words highlighted), machine text if corrected, tags, note, state."""

    DEFAULT_CSS = """
    DetailPane { height: 8; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.segment: Segment | None = None
        self.choosing: str | None = None  # the title of the choices shown, if any

    def show(
        self, segment: Segment | None, speakers: Mapping[int, Speaker], codebook: Codebook
    ) -> None:
        self.segment = segment
        self.choosing = None
        if segment is None:
            self.update(Text("No segments yet.", style="dim"))
        else:
            self.update(detail_text(segment, speakers, codebook))

    def show_choices(
        self, title: str, choices: Sequence[Choice], add_label: str = "", clear_label: str = ""
    ) -> None:
        """Show one-key choices in columns (a chord is waiting for its second key)."""
        self.choosing = title
        cells = [(c.key, c.label, c.marked) for c in choices]
        if add_label:
            cells.append(("+", add_label, False))
        if clear_label:
            cells.append(("-", clear_label, False))
        rows = max(self.size.height - 1, 4) if self.size.height else 7
        columns = max(1, -(-len(cells) // rows))
        grid = Table.grid(padding=(0, 2), expand=True)
        for _ in range(columns):
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        per_column = -(-len(cells) // columns)
        for r in range(per_column):
            line = []
            for c in range(columns):
                i = c * per_column + r
                cell = Text(no_wrap=True, overflow="ellipsis", end="")
                if i < len(cells):
                    key, label, marked = cells[i]
                    cell.append(key, "bold cyan")
                    cell.append(" ")
                    cell.append(clean(label), "bold green" if marked else "")
                    if marked:
                        cell.append(" ✓", "green")
                line.append(cell)
            grid.add_row(*line)
        header = Text(title, style="bold")
        header.append("   press a key, Esc cancels", "dim")
        self.update(Group(header, grid))
