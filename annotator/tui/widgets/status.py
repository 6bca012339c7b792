"""The status bar: media, playback position, progress, reviewer and whether work is saved."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from annotator.tui.display import clean, clock


class StatusBar(Widget):
    """One line. The app sets the attributes; the bar renders them (never as markup)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    media: reactive[str] = reactive("")
    duration_ms: reactive[int] = reactive(0)
    position_ms: reactive[int | None] = reactive(None)
    playing: reactive[bool] = reactive(False)
    speed: reactive[float] = reactive(1.0)
    reviewed: reactive[tuple[int, int]] = reactive((0, 0))
    reviewer: reactive[str] = reactive("")
    saved: reactive[str] = reactive("")
    error: reactive[bool] = reactive(False)
    view: reactive[str] = reactive("")  # the filter view, if any
    progress: reactive[str] = reactive("")  # the transcription's progress
    suggesting: reactive[str] = reactive("")  # the detectors' progress after a transcription
    suggested: reactive[int] = reactive(0)  # open suggestions (lines and events)
    busy: reactive[str] = reactive("")  # a running export (shown instead of the three above)
    selection: reactive[int] = reactive(1)
    read_only: reactive[bool] = reactive(False)  # nothing can be changed (review --read-only)
    warning: reactive[str] = reactive("")  # the run's warnings (truncated, low coverage)

    @property
    def activity(self) -> str:
        """What is going on besides reviewing: a busy note, else the view and progress."""
        return self.busy or "  ".join(
            part for part in (self.view, self.progress, self.suggesting) if part)

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        out.append(clean(self.media), "bold")
        if self.warning:
            out.append("  ⚠ ")
            out.append(clean(self.warning), "bold red")
        out.append("  ")
        pos = "-:--" if self.position_ms is None else clock(self.position_ms)
        out.append(("▶ " if self.playing else "⏸ ") + pos, "green" if self.playing else "")
        out.append(f"/{clock(self.duration_ms, tenths=False)}")
        if self.speed != 1.0:
            out.append(f" {self.speed:g}x", "yellow")
        done, total = self.reviewed
        out.append(f"  reviewed {done}/{total}")
        if self.suggested:
            out.append(f"  {self.suggested} suggested", "italic dim underline")
        if self.selection > 1:
            out.append(f"  [{self.selection} marked]", "bold cyan")
        if self.activity:
            out.append("  ")
            out.append(clean(self.activity), "italic yellow")
        out.append("  ")
        out.append(clean(self.reviewer), "cyan")
        if self.read_only:
            out.append("  read-only", "bold yellow")
        if self.saved:
            out.append("  ")
            out.append(clean(self.saved), "bold red" if self.error else "green")
        return out
