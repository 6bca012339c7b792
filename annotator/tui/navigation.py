"""Finding segments: next unreviewed / low-confidence / tagged, search, and the filter view.

Every search runs over the rows the table shows (all segments, or the filter view) with the
pure functions of :mod:`annotator.core.search`, so "next" always lands on a visible row.
"""

from __future__ import annotations

from collections.abc import Callable

from annotator.core import search as find
from annotator.core.model import ReviewState, Segment
from annotator.tui.base import ReviewBase, ViewFilter
from annotator.tui.screens.picker import CLEAR, Choice, PickerScreen, assign_keys
from annotator.tui.screens.prompt import PromptScreen

Predicate = Callable[[Segment], bool]

#: The filter view's choices: key -> (name, criteria). "t", "s" and "/" ask a second question.
FILTERS: dict[str, tuple[str, dict[str, object]]] = {
    "u": ("unreviewed", {"state": ReviewState.UNREVIEWED}),
    "r": ("reviewed", {"state": ReviewState.REVIEWED}),
    "v": ("verified", {"state": ReviewState.VERIFIED}),
    "d": ("disputed", {"state": ReviewState.DISPUTED}),
    "c": ("low confidence", {"low_confidence": True}),
    "e": ("corrected", {"corrected": True}),
    "n": ("no speaker", {"unassigned": True}),
}


class NavigationActions(ReviewBase):
    """Actions that move the cursor or change which rows are shown."""

    last_find: tuple[str, Predicate] | None = None
    last_query: str = ""

    def jump(self, name: str, predicate: Predicate, *, reverse: bool = False) -> bool:
        """Move to the next row (wrapping) matching ``predicate``; remember it for n/N."""
        self.last_find = (name, predicate)
        index = find.next_index(self.table.rows, self.table.cursor, predicate, reverse=reverse)
        if index is None:
            self.notify(f"No {name}.", timeout=2, markup=False)
            return False
        self.table.move_to(index)
        return True

    def action_next_unreviewed(self) -> None:
        self.jump("unreviewed segment", lambda s: s.state is ReviewState.UNREVIEWED)

    def action_prev_unreviewed(self) -> None:
        self.jump("unreviewed segment", lambda s: s.state is ReviewState.UNREVIEWED,
                  reverse=True)

    def action_next_low(self) -> None:
        self.jump("low-confidence segment", find.is_low_confidence)

    def action_prev_low(self) -> None:
        self.jump("low-confidence segment", find.is_low_confidence, reverse=True)

    def action_find_again(self, direction: int) -> None:
        if self.last_find is None:
            self.notify("Nothing to find again: search with / first.", timeout=2)
            return
        name, predicate = self.last_find
        self.jump(name, predicate, reverse=direction < 0)

    def tag_choices(self, marked: set[str] | None = None) -> list[Choice]:
        """Every tag of the codebook (agencies, actions, other), keys made unique."""
        entries = [e for e in self.session.codebook.entries if e.kind != "speaker"]
        return assign_keys(
            (e.shortcut, e.key, e.label, e.kind, e.key in (marked or set())) for e in entries
        )

    def action_next_tag(self) -> None:
        def chosen(key: str | None) -> None:
            if key:
                label = self.session.codebook.label(key)
                self.jump(f"segment tagged {label}", lambda s: key in s.tags)

        self.push_screen(PickerScreen("Next segment with tag…", self.tag_choices()), chosen)

    def text_predicate(self, query: str) -> Predicate:
        terms = find.parse_query(query)
        speakers, codebook = self.session.speakers, self.session.codebook
        return lambda s: all(t in find.haystack(s, speakers, codebook) for t in terms)

    def action_search(self) -> None:
        previous = self.last_query

        def submitted(query: str | None) -> None:
            if query is None or not query.strip():
                return
            self.last_query = query
            predicate = self.text_predicate(query)
            count = sum(1 for s in self.table.rows if predicate(s))
            if self.jump(f"match for {query!r}", predicate):
                self.notify(f"{count} match(es); n / N for next / previous.", timeout=2,
                            markup=False)

        self.push_screen(
            PromptScreen("Search text, speakers, tags and notes", previous,
                         placeholder='words or "a phrase"'),
            submitted,
        )

    # -- filter view ----------------------------------------------------------------------

    def set_filter(self, view: ViewFilter | None) -> None:
        self.view_filter = view
        self.clear_mark()
        self.refresh_view()
        if view is not None and not self.table.rows:
            self.notify(f"No segment is {view.name}.", timeout=3, markup=False)

    def action_filter(self) -> None:
        items: list[tuple[str, str, str, str, bool]] = [
            (key, key, name, "", self.view_filter is not None and self.view_filter.name == name)
            for key, (name, _) in FILTERS.items()
        ]
        items += [("t", "t", "with a tag…", "", False), ("s", "s", "by speaker…", "", False),
                  ("/", "/", "containing text…", "", False)]

        def chosen(value: str | None) -> None:
            if value is None:
                return
            if value == CLEAR:
                self.set_filter(None)
            elif value in FILTERS:
                name, criteria = FILTERS[value]
                self.set_filter(ViewFilter(name, dict(criteria)))
            elif value == "t":
                self.push_screen(PickerScreen("Show segments with tag…", self.tag_choices()),
                                 self._filter_tag)
            elif value == "s":
                self._filter_speaker()
            elif value == "/":
                self.push_screen(PromptScreen("Show segments containing…"), self._filter_text)

        self.push_screen(
            PickerScreen("Filter view", assign_keys(items), clear_label="all segments"), chosen
        )

    def _filter_tag(self, key: str | None) -> None:
        if key:
            label = self.session.codebook.label(key)
            self.set_filter(ViewFilter(f"tag {label}", {"tag": key}))

    def _filter_text(self, query: str | None) -> None:
        if query and query.strip():
            self.set_filter(ViewFilter(f"text {query.strip()!r}", {"query": query}))

    def _filter_speaker(self) -> None:
        speakers = list(self.session.speakers.values())
        if not speakers:
            self.notify("No speakers yet: press s on a segment to name one.", timeout=3)
            return
        choices = assign_keys(("", str(sp.id), sp.label, sp.role, False) for sp in speakers)

        def chosen(value: str | None) -> None:
            if value:
                sp = self.session.speaker(int(value))
                self.set_filter(ViewFilter(f"speaker {sp.label}", {"speaker_id": sp.id}))

        self.push_screen(PickerScreen("Show segments of speaker…", choices), chosen)
