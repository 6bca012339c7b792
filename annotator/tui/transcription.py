"""Transcribing a new file while the review screen is open (the Toolong pattern).

:class:`Transcriber` is a plain object the screen owns. Its thread worker opens its own
:class:`~annotator.core.store.Workspace` (a connection belongs to one thread), loads the model
and runs :func:`annotator.transcribe.pipeline.transcribe_probed`, which commits every segment
as it is decoded. The worker only posts messages (the segment's id, never a widget call); the
screen re-reads that one row into the session
(:meth:`~annotator.core.session.ReviewSession.refresh`) and shows it. Closing the app cancels
the worker, which stops between two segments; the next start resumes that run, keeping its
segments and the review work done on them.

The speech engine is imported inside the worker only: importing it takes ~0.4 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import get_current_worker

from annotator.core.model import Segment
from annotator.errors import AnnotatorError
from annotator.transcribe.models import DEFAULT_MODEL
from annotator.tui.display import clock

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from annotator.core.media import Probe


@dataclass(frozen=True)
class TranscribeJob:
    """A media file the app must transcribe in the background before (while) reviewing."""

    path: Path
    model: str = DEFAULT_MODEL
    probe: Probe | None = None


class Transcriber:
    """Run a :class:`TranscribeJob` for the review screen and say how far it got."""

    class Started(Message):
        def __init__(self, duration_ms: int) -> None:
            super().__init__()
            self.duration_ms = duration_ms

    class SegmentAdded(Message):
        def __init__(self, segment_id: int, end_ms: int) -> None:
            super().__init__()
            self.segment_id = segment_id
            self.end_ms = end_ms

    class Finished(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, host: DOMNode, db_path: Path, job: TranscribeJob | None) -> None:
        self.host = host
        self.db_path = db_path
        self.job = job
        self.running = False
        self.duration_ms = 0

    def start(self) -> str:
        """Start the worker if there is a job; the progress line to show ("" if none)."""
        job = self.job
        if job is None:  # a live capture transcribed by `annotator capture`: follow it
            from annotator.tui.live import follow_live

            return follow_live(self.host, self.db_path)
        self.running = True
        self.host.run_worker(lambda: self._transcribe(job), name="transcription",
                             group="transcribe", exclusive=True, thread=True,
                             exit_on_error=False)
        return f"transcribing with {job.model}: loading the model…"

    def _transcribe(self, job: TranscribeJob) -> None:
        """Runs in a thread worker."""
        from annotator.core.media import probe
        from annotator.core.store import Workspace
        from annotator.transcribe.engine import Engine, TranscribeOptions
        from annotator.transcribe.pipeline import Cancelled, transcribe_probed

        worker = get_current_worker()
        post = self.host.post_message
        try:
            info = job.probe or probe(job.path)
            engine = Engine(TranscribeOptions(model=job.model))
            if worker.is_cancelled:
                return
            post(Transcriber.Started(info.duration_ms))
            with Workspace(self.db_path) as ws:

                def on_segment(seg: Segment) -> None:
                    post(Transcriber.SegmentAdded(seg.id, seg.end_ms))

                _, count = transcribe_probed(
                    ws, engine, info, on_segment=on_segment,
                    should_stop=lambda: worker.is_cancelled,
                )
        except Cancelled:
            return
        except AnnotatorError as exc:
            post(Transcriber.Failed(str(exc)))
            return
        post(Transcriber.Finished(count))

    def started(self, duration_ms: int) -> str:
        """The worker loaded the model and knows the duration: the first progress line."""
        self.duration_ms = duration_ms
        return self.progress(0)

    def progress(self, position_ms: int) -> str:
        """The progress line for a transcription that reached ``position_ms``."""
        total = self.duration_ms
        pct = f" {100 * position_ms / total:.0f}%" if total else ""
        return (f"transcribing {clock(position_ms, tenths=False)}/"
                f"{clock(total, tenths=False)}{pct}")

    def stopped(self, *, finished: bool) -> str:
        """The worker ended (``finished``: the whole file is transcribed); the last line."""
        self.running = False
        if finished:
            self.job = None
            return ""
        return "transcription failed"
