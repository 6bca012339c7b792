"""The review app's suggestion queue (issue 9.6), as one composed part with no widgets.

:class:`SuggestionQueue` walks the open suggestions of one media (all, or one kind: the
distrust queue is the "distrust" kind) and makes the decisions through the review session
(:mod:`annotator.core.suggesting`: audited, one undo step each, ``z`` in the review screen
undoes them): accept, reject, accept all of this voice or rule, name a voice.
:class:`SuggestWorker` runs the detectors (:func:`annotator.suggest.runner.suggest`) in a
thread worker on its own workspace connection and posts progress and the result, so the
screen never blocks. Text from the transcript, codebooks and detectors is shown literally
(:func:`annotator.tui.display.clean`, :class:`rich.text.Text`), never as markup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from annotator.core import suggestions as layer
from annotator.core.edits import Change
from annotator.core.session import ReviewSession
from annotator.core.suggestions import Kind, Status, Suggestion
from annotator.errors import AnnotatorError
from annotator.tui.display import clean, clock

#: What ``k`` cycles through: every kind, then each kind alone.
FILTERS: tuple[Kind | None, ...] = (None, *Kind)


class SuggestionQueue:
    """The open suggestions of a media, one of them current."""

    def __init__(self, session: ReviewSession) -> None:
        self.session = session
        self.kind: Kind | None = None
        self.items: list[Suggestion] = []
        self.index = 0
        self.reload()

    def reload(self, keep: int | None = None) -> None:
        """Read the open suggestions again; stay on ``keep`` (an id) or the same place."""
        keep = keep if keep is not None else (self.current.id if self.current else None)
        kinds = None if self.kind is None else [self.kind]
        self.items = layer.suggestions(self.session.ws, self.session.media_id,
                                       status=Status.OPEN, kinds=kinds)
        ids = [s.id for s in self.items]
        if keep in ids:
            self.index = ids.index(keep)
        self.index = max(0, min(self.index, len(self.items) - 1))

    @property
    def current(self) -> Suggestion | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def move(self, delta: int) -> None:
        if self.items:
            self.index = (self.index + delta) % len(self.items)

    def cycle_kind(self) -> str:
        self.kind = FILTERS[(FILTERS.index(self.kind) + 1) % len(FILTERS)]
        self.index = 0
        self.reload(keep=-1)
        return f"Showing {self.kind or 'every'} suggestion{'s' if self.kind is None else ''}."

    def group(self, sug: Suggestion) -> list[int]:
        """The open suggestions of the same voice or the same rule (kind and value)."""
        everything = layer.suggestions(self.session.ws, self.session.media_id,
                                       status=Status.OPEN, kinds=[sug.kind])
        return [s.id for s in everything if s.value == sug.value]

    # -- decisions (each one undo step in the review session) -------------------------------

    def accept(self) -> Change | None:
        return self._decide(lambda s: self.session.accept_suggestions(s.id))

    def reject(self) -> Change | None:
        return self._decide(lambda s: self.session.reject_suggestions(s.id))

    def accept_all(self) -> Change | None:
        return self._decide(lambda s: self.session.accept_suggestions(self.group(s)))

    def name_voice(self, label: str) -> Change | None:
        return self._decide(lambda s: self.session.name_voice(s.value, label))

    def _decide(self, act: Any) -> Change | None:
        sug = self.current
        if sug is None:
            return None
        change: Change = act(sug)
        self.reload(keep=-1)
        return change

    # -- what the screen shows --------------------------------------------------------------

    def label(self, sug: Suggestion) -> str:
        """``Voice B?``, ``Warrant requested?``, ``split before "No"``, ``[12 strikes]?``."""
        cb = self.session.codebook
        if sug.kind is Kind.SPEAKER:
            return f"Voice {sug.value}?"
        if sug.kind in (Kind.TAG, Kind.EVENT):
            count = sug.detail.get("count")
            extra = f" ({count} hits)" if isinstance(count, int) else ""
            return f"{cb.label(sug.value)}{extra}?"
        if sug.kind is Kind.SPLIT:
            return f"split before {sug.value!r}"
        return "distrust: " + ", ".join(sug.value.split(","))

    def row(self, sug: Suggestion, current: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append("▶ " if current else "  ", "bold")
        text.append(f"{clock(sug.start_ms)} ", "dim")
        text.append(f"{sug.kind:<8} ", "cyan")
        text.append(clean(self.label(sug)), "italic dim" if not current else "italic")
        seg = self._segment(sug)
        if seg is not None:
            text.append("  " + clean(seg.text), "dim")
        return text

    def detail(self, sug: Suggestion) -> Text:
        """Everything about one suggestion: what, where, why, from which detector."""
        out = Text(end="")
        out.append(clean(self.label(sug)), "bold")
        conf = "" if sug.confidence is None else f"  confidence {sug.confidence:.2f}"
        out.append(f"   {clock(sug.start_ms)}-{clock(sug.end_ms)}{conf}\n", "dim")
        seg = self._segment(sug)
        if seg is not None:
            out.append(clean(seg.text) + "\n")
        for reason in sug.detail.get("reasons", []):
            out.append("  • " + clean(str(reason.get("why", ""))) + "\n", "yellow")
        like = sug.detail.get("like")
        if isinstance(like, dict):
            out.append(f"  sounds like {clean(str(like.get('speaker')))!r} in"
                       f" {clean(str(like.get('media')))} (similarity {like.get('similarity')})\n",
                       "cyan")
        if "matched" in sug.detail:
            out.append("  matched: " + clean(str(sug.detail["matched"])) + "\n", "dim")
        source = ", ".join(f"{k} {v}" for k, v in sorted(sug.source.items())
                           if isinstance(v, str | int | float))
        out.append("source: " + clean(source), "dim")
        return out

    def _segment(self, sug: Suggestion) -> Any:
        try:
            return self.session.segment(sug.segment_id) if sug.segment_id else None
        except AnnotatorError:
            return None


class _Stopped(Exception):
    """Raised from the runner's progress callback once the worker is cancelled: the runner
    calls it between passes, so it stops there."""


class SuggestWorker:
    """Runs the detectors in a thread worker; posts :class:`Progress` and :class:`Done`."""

    class Progress(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Done(Message):
        def __init__(self, summary: str, problems: Sequence[str]) -> None:
            super().__init__()
            self.summary = summary
            self.problems = list(problems)

    def __init__(self, screen: Screen[Any], db_path: Path, media_id: int) -> None:
        self.screen, self.db_path, self.media_id = screen, db_path, media_id

    def start(self, passes: Sequence[str] | None = None) -> None:
        self.screen.run_worker(lambda: self._run(passes), name="suggestions", thread=True,
                               exclusive=True, exit_on_error=False, group="suggest")

    def _run(self, passes: Sequence[str] | None) -> None:
        """Runs in a thread worker: the passes run in a daemon thread it waits for. A pass
        cannot be interrupted (the voice pass of a long recording takes minutes) and
        quitting waits for thread workers, so once cancelled this returns at once; the
        daemon thread stops at the next pass or ends with the process (SQLite rolls back a
        write cut short: each pass is stored in one transaction)."""
        worker = get_current_worker()
        outcome: list[SuggestWorker.Done] = []

        def detect() -> None:
            done = self._detect(passes, lambda: worker.is_cancelled)
            if done is not None:
                outcome.append(done)

        runner = threading.Thread(target=detect, name="annotator-suggest", daemon=True)
        runner.start()
        while runner.is_alive():
            runner.join(0.1)
            if worker.is_cancelled:
                return
        if outcome:
            self.screen.post_message(outcome[0])

    def _detect(self, passes: Sequence[str] | None,
                cancelled: Callable[[], bool]) -> SuggestWorker.Done | None:
        """The passes, on their own workspace connection; the message saying how it went
        (None when stopped). Errors become that message: this thread has no worker to
        report them, and an exception printed from it would garble the terminal."""
        from annotator.cli_suggest import summary_line
        from annotator.core.store import Workspace
        from annotator.suggest.runner import PASSES, suggest

        def progress(step: str, message: str) -> None:
            if cancelled():  # the runner calls this between passes: stop there
                raise _Stopped
            self.screen.post_message(self.Progress(message))

        try:
            with Workspace(self.db_path) as ws:
                report = suggest(ws, self.media_id, passes or PASSES, progress=progress)
                name = Path(ws.media(self.media_id).path).name
        except _Stopped:
            return None  # each pass stored is whole; the rest run next time
        except AnnotatorError as exc:
            return self.Done("Suggestions failed.", [str(exc)])
        except Exception as exc:  # reported, not swallowed: see the docstring
            return self.Done("Suggestions failed.", [f"{type(exc).__name__}: {exc}"])
        problems = [*report.unavailable.values(), *report.notes]
        return self.Done(summary_line(name, report), problems)
