"""Transcribing a new file while the review screen is open (the Toolong pattern).

A thread worker opens its own :class:`~annotator.core.store.Workspace` (a connection belongs
to one thread), loads the model and runs :func:`annotator.transcribe.pipeline.transcribe_probed`,
which commits every segment as it is decoded. The worker only posts messages: the segment's
id, never a widget call. The handler on the event loop re-reads that one row into the session
(:meth:`~annotator.core.session.ReviewSession.refresh`) and shows it. Closing the app cancels
the worker, which stops between two segments; the next start resumes that run, keeping its
segments and the review work done on them.

The speech engine is imported inside the worker only: importing it takes ~0.4 s.
"""

from __future__ import annotations

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from annotator.core.model import Segment
from annotator.errors import AnnotatorError
from annotator.tui.base import ReviewBase, TranscribeJob
from annotator.tui.display import clock


class Transcriber:
    """Messages from the transcription worker."""

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


class TranscriptionActions(ReviewBase):
    """Runs :class:`~annotator.tui.base.TranscribeJob` and shows segments as they come."""

    _duration_ms = 0

    def start_transcription(self) -> None:
        job = self.transcribe_job
        if job is None:
            return
        self.transcribing = True
        self.transcribe_progress = f"transcribing with {job.model}: loading the model…"
        self.update_activity()
        self._transcribe(job)

    @work(thread=True, exclusive=True, group="transcribe", exit_on_error=False)
    def _transcribe(self, job: TranscribeJob) -> None:
        from annotator.core.media import probe
        from annotator.core.store import Workspace
        from annotator.transcribe.engine import Engine, TranscribeOptions
        from annotator.transcribe.pipeline import Cancelled, transcribe_probed

        worker = get_current_worker()
        try:
            info = job.probe or probe(job.path)
            engine = Engine(TranscribeOptions(model=job.model))
            if worker.is_cancelled:
                return
            self.post_message(Transcriber.Started(info.duration_ms))
            with Workspace(self.db_path) as ws:

                def on_segment(seg: Segment) -> None:
                    self.post_message(Transcriber.SegmentAdded(seg.id, seg.end_ms))

                _, count = transcribe_probed(
                    ws, engine, info, on_segment=on_segment,
                    should_stop=lambda: worker.is_cancelled,
                )
        except Cancelled:
            return
        except AnnotatorError as exc:
            self.post_message(Transcriber.Failed(str(exc)))
            return
        self.post_message(Transcriber.Finished(count))

    def on_transcriber_started(self, message: Transcriber.Started) -> None:
        self._duration_ms = message.duration_ms
        self._show_progress(0)

    def on_transcriber_segment_added(self, message: Transcriber.SegmentAdded) -> None:
        change = self.session.refresh([message.segment_id])
        self.show_change(change)
        self._show_progress(message.end_ms)

    def _show_progress(self, position_ms: int) -> None:
        total = self._duration_ms
        pct = f" {100 * position_ms / total:.0f}%" if total else ""
        self.transcribe_progress = (
            f"transcribing {clock(position_ms, tenths=False)}/{clock(total, tenths=False)}{pct}"
        )
        self.update_activity()

    def on_transcriber_finished(self, message: Transcriber.Finished) -> None:
        self.transcribing = False
        self.transcribe_job = None
        self.transcribe_progress = ""
        self.update_activity()
        self.notify(f"Transcription finished: {message.count} segments.", timeout=4)
        self.report_held_back()

    def on_transcriber_failed(self, message: Transcriber.Failed) -> None:
        self.transcribing = False
        self.transcribe_progress = "transcription failed"
        self.update_activity()
        self.notify(message.error, title="Transcription failed", severity="error",
                    timeout=15, markup=False)
