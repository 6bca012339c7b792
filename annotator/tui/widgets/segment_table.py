"""The segment table: a virtualised list of segments that renders only the lines on screen.

Why not :class:`~textual.widgets.DataTable`: a livestream can have thousands of segments, and
review inserts and removes rows in the middle (split, merge, insert, undo). DataTable measures
every cell when rows are added and can only append. Here rows are a plain list of frozen
:class:`~annotator.core.model.Segment` values; a row is turned into text only when it is drawn,
and that rendering is cached per segment *object*, so a change (which always produces a new
frozen segment) repaints exactly one line.

Attributes down, messages up: the app sets rows (:meth:`set_rows`, :meth:`replace_row`) and
the playing segment; the table posts :class:`SegmentTable.SegmentHighlighted` when the cursor
lands on another segment.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from annotator.core.codebook import default_codebook
from annotator.core.model import Codebook, Segment, Speaker
from annotator.tui.display import literal, row_cells
from annotator.tui.gaps import GapRow, gap_cells
from annotator.tui.hints import EventRow, Overlay, event_cells, hinted_cells, is_timeline_row
from annotator.tui.languages import LanguageLayer

#: "Find next" over the rows: (rows, from index, reverse) -> index or None.
Step = Callable[[Sequence[Segment], int, bool], int | None]

#: (title, width); width 0 = the rest of the line.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("", 3),
    ("time", 8),
    ("speaker", 14),
    ("agency", 12),
    ("tags", 18),
    ("text", 0),
)


class SegmentTable(ScrollView, can_focus=True, inherit_bindings=False):
    """One line per segment: markers, start time, speaker, agency, tags and text."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "segment-table--header",
        "segment-table--cursor",
        "segment-table--selected",
        "segment-table--playing",
    }
    DEFAULT_CSS = """
    SegmentTable { background: $surface; }
    SegmentTable > .segment-table--header { text-style: bold; background: $panel; }
    SegmentTable > .segment-table--cursor { background: $secondary 60%; }
    SegmentTable:focus > .segment-table--cursor { background: $accent; }
    SegmentTable > .segment-table--selected { background: $primary 40%; }
    SegmentTable > .segment-table--playing { text-style: underline; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First", show=False, id="table.first"),
        Binding("end,G", "last", "Last", show=False, id="table.last"),
        Binding("shift+up", "extend(-1)", "Select up", show=False, id="table.select_up"),
        Binding("shift+down", "extend(1)", "Select down", show=False,
                id="table.select_down"),
        Binding("V", "toggle_mark", "Mark range", show=False, id="table.mark"),
        Binding("escape", "clear_mark", "Clear range", show=False, id="table.clear_mark"),
    ]

    class SegmentHighlighted(Message):
        """The cursor is on another segment (or the same index now holds another one)."""

        def __init__(self, table: SegmentTable, index: int, segment: Segment | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.segment = segment

        @property
        def control(self) -> SegmentTable:
            return self.table

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.rows: list[Segment] = []
        self.cursor = 0  # index in ``rows``; move it with :meth:`move_to`
        self.speakers: Mapping[int, Speaker] = {}
        self.codebook: Codebook = default_codebook()
        self.mark_anchor: int | None = None  # start of the marked range, if any
        self.playing_id: int | None = None
        self.last_find: tuple[str, Step, bool] | None = None  # for n / N
        self._cells: dict[int, tuple[Segment, tuple[Text, ...]]] = {}
        #: languages and translations: the text column shows its label and table_text
        self.languages: LanguageLayer | None = None
        #: open suggestions drawn in place and event rows' cells (the screen sets it and
        #: calls :meth:`invalidate` when the suggestion layer changed)
        self.overlay = Overlay()
        self._strips: dict[tuple[int, int, str], tuple[Segment, Strip]] = {}
        self._index: dict[int, int] | None = None
        self._header: tuple[tuple[int, Style], Strip] | None = None
        self._last_posted: tuple[int, int] | None = None

    # -- data -----------------------------------------------------------------------------

    def set_rows(
        self,
        rows: Sequence[Segment],
        speakers: Mapping[int, Speaker] | None = None,
        codebook: Codebook | None = None,
        *,
        keep_id: int | None = None,
    ) -> None:
        """Show ``rows`` (cheap: nothing is rendered until drawn); keep the cursor on
        segment ``keep_id`` if it is still shown, else at the same index."""
        if speakers is not None or codebook is not None:
            self.speakers = speakers if speakers is not None else self.speakers
            self.codebook = codebook if codebook is not None else self.codebook
            self.invalidate()
        self.rows = list(rows)
        self._index = None
        if self.mark_anchor is not None and not 0 <= self.mark_anchor < len(self.rows):
            self.mark_anchor = None
        self._update_size()
        target = self.cursor
        kept = self.index_of(keep_id) if keep_id is not None else None
        if kept is not None:
            target = kept
        self._set_cursor(target, force=True)
        self.refresh()

    def invalidate(self) -> None:
        """Forget every rendered row (speaker renamed, codebook changed)."""
        self._cells.clear()
        self._strips.clear()
        self.refresh()

    def forget(self, segment_ids: Sequence[int]) -> None:
        """Draw these segments' rows again (what is suggested about them changed, while the
        segments themselves may be the same objects)."""
        gone = set(segment_ids)
        for seg_id in gone:
            self._cells.pop(seg_id, None)
        for key in [k for k in self._strips if k[0] in gone]:
            del self._strips[key]
        for seg_id in gone:
            index = self.index_of(seg_id)
            if index is not None:
                self.refresh_lines(index + 1)

    def replace_row(self, segment: Segment) -> bool:
        """Show a changed segment in its row (repaints that line only)."""
        index = self.index_of(segment.id)
        if index is None:
            return False
        self.rows[index] = segment
        self.refresh_lines(index + 1)
        if index == self.cursor:
            self._post(force=True)
        return True

    def index_of(self, segment_id: int) -> int | None:
        if self._index is None:
            self._index = {seg.id: i for i, seg in enumerate(self.rows)}
        return self._index.get(segment_id)

    @property
    def current(self) -> Segment | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def selection(self) -> tuple[int, int]:
        """First and last index of the marked range (just the cursor row if none)."""
        if self.mark_anchor is None:
            return self.cursor, self.cursor
        return min(self.mark_anchor, self.cursor), max(self.mark_anchor, self.cursor)

    def selected(self) -> list[Segment]:
        first, last = self.selection
        return self.rows[first : last + 1]

    def cells(self, index: int) -> tuple[Text, ...]:
        """The rendered cells of a row (tests check these are literal)."""
        return self._row_cells(self.rows[index])

    def set_playing(self, segment_id: int | None) -> None:
        if segment_id == self.playing_id:
            return
        for old in (self.playing_id, segment_id):
            index = self.index_of(old) if old is not None else None
            if index is not None:
                self.refresh_lines(index + 1)
        self.playing_id = segment_id

    def move_to(self, index: int) -> None:
        self._set_cursor(index)

    def find(self, name: str, step: Step, *, reverse: bool = False,
             timeline: bool = False) -> bool:
        """Move to the next row ``step`` finds (the search functions of
        :mod:`annotator.core.search`, wrapping) and remember it for :meth:`find_again`;
        say "No {name}." if there is none. Gap and event rows are not segments: found only
        if ``timeline``."""
        self.last_find = (name, step, timeline)
        index = step(self.rows, self.cursor, reverse)
        for _ in range(len(self.rows)):
            if index is None or timeline or not is_timeline_row(self.rows[index]):
                break
            index = step(self.rows, index, reverse)
        if index is None:
            self.notify(f"No {name}.", timeout=2, markup=False)
            return False
        self.move_to(index)
        return True

    def find_again(self, *, reverse: bool = False) -> bool:
        if self.last_find is None:
            self.notify("Nothing to find again: search with / first.", timeout=2)
            return False
        name, step, timeline = self.last_find
        return self.find(name, step, reverse=reverse, timeline=timeline)

    def show_playing_at(self, ms: int, *, move_cursor: bool) -> None:
        """Mark the row playing at ``ms`` (rows are in time order) and, if ``move_cursor``,
        put the cursor on it (playback "follow")."""
        rows = self.rows
        i = bisect_right(rows, ms, key=lambda s: s.start_ms) - 1
        seg = rows[i] if i >= 0 and rows[i].end_ms > ms else None
        seg_id = seg.id if seg is not None else None
        if seg_id == self.playing_id:
            return
        self.set_playing(seg_id)
        if seg is not None and move_cursor and i != self.cursor:
            self.move_to(i)

    # -- cursor ---------------------------------------------------------------------------

    def _set_cursor(self, index: int, *, force: bool = False) -> None:
        index = max(0, min(index, len(self.rows) - 1)) if self.rows else 0
        old = self.cursor
        self.cursor = index
        if self.mark_anchor is not None:
            self.refresh()
        else:
            self.refresh_lines(old + 1)
            self.refresh_lines(index + 1)
        self._scroll_to_cursor()
        self._post(force=force)

    def _post(self, *, force: bool = False) -> None:
        seg = self.current
        key = (self.cursor, id(seg))
        if force or key != self._last_posted:
            self._last_posted = key
            self.post_message(self.SegmentHighlighted(self, self.cursor, seg))

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        top = round(self.scroll_y)
        visible = self._visible_rows()
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor - self._visible_rows())

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor + self._visible_rows())

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(len(self.rows) - 1)

    def action_extend(self, step: int) -> None:
        if self.mark_anchor is None:
            self.mark_anchor = self.cursor
        self._set_cursor(self.cursor + step)
        self.refresh()

    def action_toggle_mark(self) -> None:
        self.mark_anchor = self.cursor if self.mark_anchor is None else None
        self.refresh()

    def action_clear_mark(self) -> None:
        if self.mark_anchor is not None:
            self.mark_anchor = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self._set_cursor(row)

    # -- rendering ------------------------------------------------------------------------

    def on_resize(self, _: events.Resize) -> None:
        self._update_size()

    def _update_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    def _widths(self, total: int) -> list[int]:
        fixed = sum(w for _, w in COLUMNS) + len(COLUMNS) - 1
        return [w if w else max(total - fixed, 8) for _, w in COLUMNS]

    def _row_cells(self, seg: Segment) -> tuple[Text, ...]:
        cached = self._cells.get(seg.id)
        if cached is not None and cached[0] is seg:
            return cached[1]
        if isinstance(seg, GapRow):  # speech with no text: never drawn like a segment
            cells = gap_cells(seg, len(COLUMNS))
        elif isinstance(seg, EventRow):  # a sound on the timeline, with its own state
            cells = event_cells(seg, self.codebook)
        else:
            cells = row_cells(seg, self.speakers, self.codebook)
        if self.languages is not None and not is_timeline_row(seg):
            label, cell = self.languages.label(seg), literal(self.languages.table_text(seg))
            cells = (*cells[:-1], Text.assemble((f"{label} ", "dim cyan"), cell) if label
                     else cell)
        hints = self.overlay.hints(seg)
        if hints is not None:  # what is suggested about the line, drawn unlike decisions
            cells = hinted_cells(cells, seg, hints, self.codebook)
        self._cells[seg.id] = (seg, cells)
        return cells

    def _compose_line(self, cells: Sequence[Text], width: int, style: Style) -> Strip:
        line = Text(style=style, no_wrap=True, end="")
        for i, (cell, w) in enumerate(zip(cells, self._widths(width), strict=True)):
            if i:
                line.append(" ")
            part = cell.copy()
            part.truncate(w, overflow="ellipsis", pad=True)
            line.append_text(part)
        line.truncate(width, pad=True)
        return Strip(line.render(self.app.console), width).crop_extend(0, width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("segment-table--header")
            if self._header is None or self._header[0] != (width, style):
                titles = [Text(t, end="") for t, _ in COLUMNS]
                self._header = ((width, style), self._compose_line(titles, width, style))
            return self._header[1]
        row = round(self.scroll_y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, base)
        seg = self.rows[row]
        kind = "normal"
        first, last = self.selection
        if row == self.cursor:
            kind = "cursor"
        elif self.mark_anchor is not None and first <= row <= last:
            kind = "selected"
        key = (seg.id, width, kind + ("+playing" if seg.id == self.playing_id else ""))
        cached = self._strips.get(key)
        if cached is not None and cached[0] is seg:
            return cached[1]
        style = base
        if kind != "normal":
            style = base + self.get_component_rich_style(f"segment-table--{kind}")
        if seg.id == self.playing_id:
            style = style + self.get_component_rich_style("segment-table--playing")
        strip = self._compose_line(self._row_cells(seg), width, style)
        if len(self._strips) > 4096:
            self._strips.clear()
        self._strips[key] = (seg, strip)
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
