"""Speech gaps in the review table, and re-transcribing one from the app.

A gap (speech heard, nothing written: :mod:`annotator.core.coverage`) shows as a row at its
time so a reviewer can tell a quiet minute from a minute the machine did not write down. The
row is a :class:`GapRow`: a :class:`~annotator.core.model.Segment` subclass with a negative id
(no workspace row ever has one, so a session operation handed one fails instead of writing),
drawn unlike any segment (hatched marker, no speaker, the sentence "speech not transcribed,
0:41-0:52, engine judged no speech" in italics). Gap rows exist only in the table: the session,
its review-progress counts, searches and exports never see them. The review screen turns its
editing keys off on them (``check_action``) except re-transcribe, which opens
:class:`~annotator.tui.screens.retranscribe.RetranscribeScreen`.

:class:`GapFiller` runs the re-transcription like :class:`~annotator.tui.transcription.
Transcriber`: a thread worker with its own workspace connection calls the headless
:func:`annotator.transcribe.retranscribe.retranscribe` and posts :class:`GapFiller.Done` with
the new span run; the screen then adds its drafts through its own session (one audited
operation, so ``z`` undoes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.worker import get_current_worker

from annotator.core.coverage import SpeechGap
from annotator.core.model import Run, Segment
from annotator.errors import AnnotatorError
from annotator.tui.display import clock, literal

if TYPE_CHECKING:
    from textual.dom import DOMNode

GAP_GLYPH = "░░ "
GAP_STYLE = "italic bold magenta"


@dataclass(frozen=True, slots=True, kw_only=True)
class GapRow(Segment):
    """A speech gap as a table row (never a workspace segment: its id is negative)."""

    gap: SpeechGap


def gap_sentence(gap: SpeechGap) -> str:
    """``speech not transcribed, 0:41-0:52, engine judged no speech`` (+ a retry's result)."""
    text = (f"speech not transcribed, {clock(gap.start_ms, tenths=False)}-"
            f"{clock(gap.end_ms, tenths=False)}, {gap.reason}")
    if "run" in gap.detail:
        text += f" (again with {gap.detail.get('settings', '')}, run {gap.detail['run']})"
    return text


def gap_rows(media_id: int, gaps: Sequence[SpeechGap]) -> list[GapRow]:
    return [
        GapRow(id=-(i + 1), media_id=media_id, start_ms=g.start_ms, end_ms=g.end_ms,
               machine_text="", gap=g)
        for i, g in enumerate(gaps)
    ]


def with_gaps(segments: Sequence[Segment], gaps: Sequence[GapRow]) -> list[Segment]:
    """Segments and gap rows in time order (a gap after the segments starting with it)."""
    rows: list[Segment] = [*segments, *gaps]
    rows.sort(key=lambda s: (s.start_ms, isinstance(s, GapRow), s.id))
    return rows


def gap_cells(row: GapRow, columns: int) -> tuple[Text, ...]:
    """The table cells of a gap row: hatched marker, time, the sentence across the rest."""
    blanks = tuple(literal("") for _ in range(columns - 3))
    return (literal(GAP_GLYPH, GAP_STYLE), literal(clock(row.start_ms), "dim"), *blanks,
            literal(gap_sentence(row.gap), GAP_STYLE))


def gap_detail(row: GapRow, retranscribe_key: str) -> Text:
    """The detail pane for a gap row: what it is, why, and what the reviewer can do."""
    out = Text(end="")
    out.append(gap_sentence(row.gap), GAP_STYLE)
    out.append(f"\n{(row.end_ms - row.start_ms) / 1000:.1f} s where speech was heard and no "
               "text stands. ", "dim")
    out.append(f"Enter plays it; {retranscribe_key} transcribes it again with other settings.",
               "dim")
    return out


@dataclass(frozen=True)
class RetranscribeRequest:
    """What the reviewer asked for: a span and the settings to try there."""

    start_ms: int
    end_ms: int
    model: str
    vad: bool
    language: str | None


class GapFiller:
    """Re-transcribe a span in a thread worker for the review screen."""

    class Done(Message):
        def __init__(self, run: Run, drafts: int) -> None:
            super().__init__()
            self.run = run
            self.drafts = drafts

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, host: DOMNode, db_path: Path, media_id: int) -> None:
        self.host = host
        self.db_path = db_path
        self.media_id = media_id
        self.running = False

    def start(self, request: RetranscribeRequest) -> None:
        self.running = True
        self.host.run_worker(lambda: self._run(request), name="re-transcription",
                             group="retranscribe", exclusive=True, thread=True,
                             exit_on_error=False)

    def _run(self, request: RetranscribeRequest) -> None:
        """Runs in a thread worker: headless calls, then one message."""
        from annotator.core.store import Workspace
        from annotator.transcribe.engine import Engine, TranscribeOptions
        from annotator.transcribe.retranscribe import SpanCancelled, retranscribe

        worker = get_current_worker()
        post = self.host.post_message
        try:
            engine = Engine(TranscribeOptions(
                model=request.model, vad_filter=request.vad, language=request.language,
            ))
            with Workspace(self.db_path) as ws:
                outcome = retranscribe(
                    ws, engine, ws.media(self.media_id), (request.start_ms, request.end_ms),
                    should_stop=lambda: worker.is_cancelled,
                )
        except SpanCancelled:
            return
        except AnnotatorError as exc:
            post(GapFiller.Failed(str(exc)))
            return
        post(GapFiller.Done(outcome.run, len(outcome.drafts)))
