"""The detail pane: everything about the segment under the cursor, or a chord's choices.

Tagging is the most frequent review act, so it must not cost a screen: for a two-key command
(``t`` then ``v``) the choices (codebook entries with their one-key shortcuts) replace this
pane's content, the transcript stays visible, and the second key applies the choice. The pane
owns that mode: it shows the choices, keeps them on screen while the cursor moves underneath
(typed-ahead keys and playback move it), reads the second key (:meth:`DetailPane.press`),
and shows the segment again when the chord ends. Esc cancels; ``+`` / ``-`` mean "add new…" /
"clear" when the chord offers them; any other key that is not a choice rings the bell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from annotator.core.codebook import default_codebook
from annotator.core.model import Codebook, Segment, Speaker
from annotator.tui.display import clean, detail_text
from annotator.tui.gaps import GapRow, gap_detail
from annotator.tui.hints import EventRow, Overlay, event_detail, suggestion_lines
from annotator.tui.languages import LanguageLayer
from annotator.tui.screens.picker import ADD, CLEAR, Choice

#: What the detail pane of an event row says the keys do.
EVENT_KEYS = ("Y accepts the action (the event is then captioned), X rejects it, t tags it by "
              "hand, Enter plays it.")


@dataclass
class Chord:
    """A waiting second key: its title, its choices and what choosing does.

    ``on_choice`` is called with the chosen value (a choice's value, :data:`ADD` or
    :data:`CLEAR`) at once, not through a message: the choice must take effect before the
    next key is read, or a key typed right after it (``a l t v``) would act on a stale view.
    """

    title: str
    choices: Sequence[Choice]
    on_choice: Callable[[str], None]
    add_label: str = ""
    clear_label: str = ""
    by_key: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {c.key: c.value for c in self.choices if c.key}

    def value_for(self, character: str) -> str | None:
        if character == "+" and self.add_label:
            return ADD
        if character == "-" and self.clear_label:
            return CLEAR
        return self.by_key.get(character)


class DetailPane(Static):
    """Full text (weak words highlighted), machine text if corrected, tags, note, state; or
    the choices of a :class:`Chord`."""

    DEFAULT_CSS = """
    DetailPane { height: 8; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.segment: Segment | None = None
        self.chord: Chord | None = None
        self._speakers: Mapping[int, Speaker] = {}
        self._codebook: Codebook = default_codebook()
        self._shown: tuple[object, object, object] | None = None  # what the pane shows
        self.languages: LanguageLayer | None = None  # set by the screen (issue 8.4)
        self.overlay = Overlay()  # open suggestions, set by the screen (issue 9.6)

    @property
    def choosing(self) -> str | None:
        """The title of the choices on screen, if a chord is waiting."""
        return self.chord.title if self.chord is not None else None

    def show(
        self, segment: Segment | None, speakers: Mapping[int, Speaker], codebook: Codebook
    ) -> None:
        """Show ``segment`` (at once, or when the waiting chord ends)."""
        self.segment, self._speakers, self._codebook = segment, speakers, codebook
        if self.chord is None:
            self._render_segment()

    def _render_segment(self) -> None:
        # A tag keystroke shows the same segment up to three times (chord closed, change
        # shown, cursor row replaced): render it once. Segments, speaker maps and codebooks
        # are replaced, never changed in place, so identity says whether anything changed.
        shown = (self.segment, self._speakers, self._codebook)
        if self._shown is not None and all(a is b for a, b in zip(shown, self._shown, strict=True)):
            return
        self._shown = shown
        if isinstance(self.segment, GapRow):
            content = gap_detail(self.segment, "T")
        elif isinstance(self.segment, EventRow):
            content = event_detail(self.segment, self._codebook, EVENT_KEYS)
        elif self.segment is None:
            content = Text("No segments yet.", style="dim")
        else:
            items = self.overlay.open_items(self.segment)
            content = detail_text(self.segment, self._speakers, self._codebook,
                                  suggestion_lines(items, self._codebook) if items else None)
        extra = (self.languages.detail(self.segment)
                 if self.languages is not None and self.segment is not None else Text())
        if extra.plain:  # on a line of its own (a Text ending with end="" would run on)
            content.append("\n")
            content.append_text(extra)
        self.update(content, layout=False)  # the pane's height is fixed: no layout pass

    def forget(self) -> None:
        """Draw the segment again at the next :meth:`show` even if it is the same object
        (what is suggested about it changed)."""
        self._shown = None

    # -- chords -------------------------------------------------------------------------------

    def open_chord(self, chord: Chord) -> None:
        self.chord = chord
        self._shown = None
        self._render_choices(chord)

    def close_chord(self) -> None:
        self.chord = None
        self._render_segment()

    def press(self, key: str, character: str | None) -> None:
        """The key typed while a chord waits: choose, cancel (Esc), or ring the bell."""
        chord = self.chord
        if chord is None:
            return
        if key == "escape":
            self.close_chord()
            return
        value = chord.value_for(character or "")
        if value is None:
            self.app.bell()
            return
        self.close_chord()
        chord.on_choice(value)

    def _render_choices(self, chord: Chord) -> None:
        """One-key choices in columns, as many rows as the pane has."""
        cells = [(c.key, c.label, c.marked) for c in chord.choices]
        if chord.add_label:
            cells.append(("+", chord.add_label, False))
        if chord.clear_label:
            cells.append(("-", chord.clear_label, False))
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
        header = Text(chord.title, style="bold")
        header.append("   press a key, Esc cancels", "dim")
        self.update(Group(header, grid), layout=False)
