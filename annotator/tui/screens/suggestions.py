"""The suggestion queue screen: walk what the machine proposes and decide with one key.

Opened from the review screen (``w``). Keys: ``j``/``k`` (or the arrows) walk the open
suggestions, ``a`` accepts, ``x`` rejects, ``A`` accepts all of this voice or rule, ``v``
names the voice ("Voice B is the ICE agent": all its lines at once), ``K`` shows one kind at
a time (``distrust`` is the distrust queue, with each line's reasons below), ``G`` runs the
detectors again in a thread worker with progress, ``Esc`` goes back. Every decision goes
through the review session: audited, one undo step (``z`` in the review screen), and it
returns True on close when something changed so the review screen repaints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from annotator.core.edits import Change
from annotator.core.session import ReviewSession
from annotator.errors import AnnotatorError
from annotator.tui.screens.dialog import Dialog
from annotator.tui.screens.prompt import PromptScreen
from annotator.tui.suggestions import SuggestionQueue, SuggestWorker

if TYPE_CHECKING:
    from annotator.tui.screens.review import ReviewScreen

#: Rows of the queue shown around the current one.
WINDOW = 12
HINT = ("j/k walk  a accept  x reject  A all of this voice/rule  v name voice  "
        "K kind  G run detectors  Esc back")


class SuggestionsScreen(Dialog[bool]):
    """The open suggestions of one media; see the module."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="suggestions.close"),
    ]

    def __init__(self, session: ReviewSession, db_path: Path | None = None) -> None:
        super().__init__()
        self.queue = SuggestionQueue(session)
        self.worker = (SuggestWorker(self, db_path, session.media_id)
                       if db_path is not None else None)
        self.changed = False
        self.message = ""
        self.list = Static("", classes="context")
        self.info = Static("", classes="context")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog picker", id="suggestions-dialog"):
            yield Static(Text("Suggestions", style="bold"), classes="title")
            yield self.list
            yield self.info
            yield Static(Text(HINT, style="dim"), classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.paint()

    def paint(self) -> None:
        q = self.queue
        if not q.items:
            what = f"{q.kind} " if q.kind else ""
            self.list.update(Text(f"No open {what}suggestions. G runs the detectors.",
                                  style="dim"))
            self.info.update(Text(self.message, style="dim"))
            return
        lo = max(0, min(q.index - WINDOW // 2, len(q.items) - WINDOW))
        rows = Text("\n").join(q.row(s, i == q.index)
                               for i, s in enumerate(q.items[lo:lo + WINDOW], lo))
        head = Text(f"{q.index + 1} of {len(q.items)} open" +
                    (f" ({q.kind})" if q.kind else "") + "\n", style="dim")
        self.list.update(head + rows)
        current = q.current
        detail = q.detail(current) if current is not None else Text()
        if self.message:
            detail.append("\n" + self.message, "green")
        self.info.update(detail)

    def typed(self, key: str, character: str | None) -> None:
        q = self.queue
        actions = {
            "a": q.accept, "x": q.reject, "A": q.accept_all,
        }
        if key in ("j", "down", "n"):
            q.move(1)
        elif key in ("k", "up", "N"):
            q.move(-1)
        elif character in actions:
            self._decided(actions[character])
        elif character == "v":
            self._ask_name()
        elif character == "K":
            self.message = q.cycle_kind()
        elif character == "G":
            self.run_detectors()
        else:
            self.app.bell()
        self.paint()

    def _decided(self, act: Callable[[], Change | None]) -> None:
        try:
            change = act()
        except AnnotatorError as exc:
            self.message = ""
            self.notify(str(exc), title="Not done", severity="error", markup=False)
            return
        if change is not None and change.audit_id is not None:
            self.changed = True
            self.message = f"Saved ({change.action.replace('_', ' ')}; z in the review undoes)."

    def _ask_name(self) -> None:
        sug = self.queue.current
        if sug is None or sug.kind != "speaker":
            self.notify("Go to a voice suggestion to name its voice.", timeout=3)
            return

        def named(value: str | None) -> None:
            if value and value.strip():
                self._decided(lambda: self.queue.name_voice(value))
            self.paint()

        self.app.push_screen(PromptScreen(f"Who is Voice {sug.value}?"), named)

    def run_detectors(self) -> None:
        if self.worker is None:
            self.message = "No workspace file to run the detectors on."
            return
        self.message = "Running the detectors…"
        self.worker.start()

    def on_suggest_worker_progress(self, message: SuggestWorker.Progress) -> None:
        self.message = message.text
        self.paint()

    def on_suggest_worker_done(self, message: SuggestWorker.Done) -> None:
        self.queue.reload()
        self.message = message.summary + "".join(f"\n{p}" for p in message.problems)
        self.paint()

    def action_close(self) -> None:
        self.dismiss(self.changed)


def open_queue(review: ReviewScreen) -> None:
    """Open the queue over the review screen; on close, repaint it with the layer as the
    queue left it (the session already holds the new rows)."""
    if review.settings.read_only:
        review.notify("Read-only review: suggestions cannot be decided.", timeout=3)
        return

    def closed(changed: bool | None) -> None:
        review.suggested.reload()  # decided here, or a detector run: the rows show it
        review.refresh_view()
        if changed:
            review.update_progress()

    review.open_dialog(SuggestionsScreen(review.session, review.settings.db_path), closed)
