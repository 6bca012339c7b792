"""Finding rows from the review screen: next with a tag, search (kept out of the screen).

:class:`Finder` is a plain object the :class:`~annotator.tui.screens.review.ReviewScreen`
owns: it asks what to find (a picker, a one-line prompt), remembers the last query, and moves
the table's cursor with the pure "next" functions of :mod:`annotator.core.search`
(:meth:`~annotator.tui.widgets.segment_table.SegmentTable.find` keeps them for ``n`` / ``N``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.core import search as find
from annotator.tui import choices
from annotator.tui.screens.picker import PickerScreen

if TYPE_CHECKING:
    from annotator.tui.screens.review import ReviewScreen


class Finder:
    """The review screen's "next with tag…" and search."""

    def __init__(self, screen: ReviewScreen) -> None:
        self.screen = screen
        self.last_query = ""

    def next_tag(self) -> None:
        """Pick a codebook tag, then go to the next segment carrying it."""
        screen = self.screen
        codebook = screen.session.codebook

        def chosen(key: str | None) -> None:
            if key:
                screen.table.find(f"segment tagged {codebook.label(key)}",
                                  lambda rows, i, back: find.next_with_tag(rows, i, key,
                                                                           reverse=back))

        screen.open_dialog(PickerScreen("Next segment with tag…",
                                        choices.all_tag_choices(codebook)), chosen)

    def search(self) -> None:
        """Ask for words (or "a phrase"), go to the next row matching them."""
        screen = self.screen

        def submitted(query: str) -> None:
            self.last_query = query
            speakers, codebook = screen.session.speakers, screen.session.codebook
            count = len(find.search(screen.table.rows, query, speakers, codebook))
            if screen.table.find(f"match for {query!r}", lambda rows, i, back: find.next_match(
                    rows, i, query, speakers, codebook, reverse=back)):
                screen.notify(f"{count} match(es); n / N for next / previous.", timeout=2,
                              markup=False)

        screen.ask("Search text, speakers, tags and notes", submitted, self.last_query,
                   placeholder='words or "a phrase"', allow_empty=False)
