"""Two-key commands (``t`` then ``v``): the second key picks from choices shown in place.

Tagging is the most frequent review act, so it must not cost a screen: the choices (codebook
entries with their one-key shortcuts) replace the detail pane's content, the transcript stays
visible, and the second key applies the choice and repaints one row. While a chord is open,
:meth:`ChordActions.on_key` takes every key before the app's bindings (it runs first in the
MRO and prevents the default handling); Esc cancels, ``+`` / ``-`` mean "add new…" /
"clear" when the chord offers them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from textual import events

from annotator.core.model import Segment
from annotator.tui.base import ReviewBase
from annotator.tui.screens.picker import ADD, CLEAR, Choice


@dataclass
class Chord:
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


class ChordActions(ReviewBase):
    chord: Chord | None = None

    def start_chord(self, chord: Chord) -> None:
        self.chord = chord
        self.detail.show_choices(chord.title, chord.choices, chord.add_label, chord.clear_label)

    def show_detail(self, segment: Segment | None) -> None:
        """Keep the choices on screen while the chord waits: keys typed ahead (``a l t``)
        open the next chord before the previous key's highlight message is handled, and
        that must not cover it. Ending the chord shows the current segment again."""
        if self.chord is None:
            super().show_detail(segment)

    def cancel_chord(self) -> None:
        self.chord = None
        self.show_current()

    def on_key(self, event: events.Key) -> None:
        chord = self.chord
        if chord is None:
            return
        event.prevent_default()
        event.stop()
        if event.key == "escape":
            self.cancel_chord()
            return
        value = chord.value_for(event.character or "")
        if value is None:
            self.bell()
            return
        self.chord = None
        self.show_current()
        chord.on_choice(value)
