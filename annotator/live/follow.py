"""Transcribing a capture a few seconds behind, so that the end result is the file's transcript.

The captured file grows by whole pieces. A live run treats it the way an interrupted run is
resumed (:mod:`annotator.transcribe.pipeline`): every *pass* decodes the file as it is now
from the run's last checkpoint, through the same engine, cuts, overlap and coverage rules as
a file. Why that gives the file's transcript:

- a cut depends only on the audio from the previous cut to ``chunk_s + 30`` s after it
  (:func:`annotator.transcribe.chunks.pieces`), so a cut made in a pass is the cut a run on
  the finished file makes, and a checkpoint (stored at a piece's start, which only happens
  once the piece before it is complete) holds the state that run would have there;
- the last piece of a pass is not complete yet: its segments are *provisional*. The next
  pass decodes it again from its checkpoint, and the run's writer keeps what comes out the
  same, replaces what differs (unless a reviewer already worked on it: then the reviewer's
  text is kept and the difference goes into a run warning, as for any resumed run), and
  drops what is no longer there; held-back segments and coverage gaps of the provisional
  decode are forgotten first (:func:`annotator.core.captures.forget_provisional`);
- the last pass runs on the finished file, so the run ends exactly as a file run would.

The audio that has not arrived yet is never decoded: a pass reads the file as far as it is
written (pieces are appended with one write each and synced before they are announced), and
whatever its last fraction of a second decodes to lies in the provisional piece. The cost of
a full pass is the growing piece decoded again (up to ``chunk_s + 30 + 15`` s of audio):
hence the short pieces of a live run (:data:`LIVE_CHUNK_S`), and *tail passes* in between
that decode only the newest audio for display (:meth:`Follower._tail`). ``bench/live.py``
measures the delay.

The follower runs in a thread with its own workspace connection; the capture loop wakes it
(:meth:`Follower.arrived`) and tells it when the file is complete (:meth:`Follower.capture_done`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from annotator.core import captures, runs
from annotator.core.model import SAMPLE_RATE, Checkpoint, Run, RunStatus, Segment
from annotator.core.store import Workspace
from annotator.errors import MediaError

#: Seconds before a tail pass's start decoded with it (see :meth:`Follower._tail`).
TAIL_OVERLAP_S = 5

#: Piece length (s) of a live run (a file run uses five minutes: see chunks.py). Measured
#: with bench/live.py (3 min, tiny.en, 2 shared cores): 10 s gave a median delay to the final
#: text of 46 s against 68 s with 30 s pieces (each pass decodes less again).
LIVE_CHUNK_S = 10.0


def live_options(
    model: str | None, chunk_s: float | None, language: str | None = None
) -> Any:
    """The transcription options of a live run (the defaults, with short pieces)."""
    from annotator.transcribe.engine import TranscribeOptions

    base = TranscribeOptions() if model is None else TranscribeOptions(model=model)
    return replace(base, chunk_s=chunk_s or LIVE_CHUNK_S, language=language)


class Follower(threading.Thread):
    """A thread that transcribes the capture's file pass after pass (see the module doc)."""

    def __init__(
        self, db: Path, options: Any, *, say: Callable[[str], None] = lambda _m: None,
        on_segment: Callable[[Segment, float], None] | None = None,
    ) -> None:
        super().__init__(name="annotator-live-transcribe", daemon=True)
        self.db, self.options, self.say = db, options, say
        self.on_segment = on_segment  # (segment, monotonic time it was stored): bench/live.py
        self._wake = threading.Event()
        self._done = threading.Event()
        self._cancel = threading.Event()
        self.capture_id: int | None = None
        self.error: BaseException | None = None
        self.run_id: int | None = None
        self.passes = 0
        self.last_tail = False  # the last pass was a tail pass (see _tail)
        #: (monotonic start, seconds, audio decoded so far in ms, "full" or "tail") of every
        #: pass: bench/live.py
        self.log: list[tuple[float, float, int | None, str]] = []
        self.segments = 0
        self.status = "waiting"

    # -- called from the capture loop ----------------------------------------------------

    def started(self, capture: captures.Capture) -> None:
        self.capture_id = capture.id

    def arrived(self, piece: captures.Piece) -> None:
        self._wake.set()

    def capture_done(self, ws: Workspace) -> None:
        self._done.set()
        self._wake.set()

    def finish(self, stop: threading.Event) -> None:
        """Wait for the last pass (on the complete file); a Ctrl-C meanwhile (``stop`` was
        set by the first one, so this is a second) leaves the run resumable."""
        while self.is_alive():
            try:
                self.join(0.2)
            except KeyboardInterrupt:
                self._cancel.set()
                language = f" --language {self.options.language}" if self.options.language else ""
                self.say("transcription stopped; `annotator transcribe FILE --chunk-s "
                         f"{self.options.chunk_s:g}{language}` finishes it (the same settings)")
                self.join()
                break

    def summary(self) -> str:
        if self.error is not None:
            return f"failed: {self.error}"
        tails = sum(1 for entry in self.log if entry[3] == "tail")
        return (f"{self.status}, {self.segments} segments stored, {self.passes} passes "
                f"({tails} of them tail passes)")

    # -- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        try:
            with Workspace(self.db) as ws:
                self._follow(ws)
        except BaseException as exc:  # reported by the CLI from the main thread
            self.error = exc
            self.status = "failed"

    def _follow(self, ws: Workspace) -> None:
        from annotator.transcribe.engine import Engine

        engine = Engine(self.options)
        run: Run | None = None
        while True:
            self._wake.wait()
            self._wake.clear()
            final = self._done.is_set()
            media_id, path = self._media(ws)
            if media_id is None or path is None:
                if final:
                    self.status = "nothing to transcribe"
                    return
                continue
            try:
                run = self._pass(ws, engine, media_id, path, run, final)
            except MediaError:
                if final:
                    raise
                if self.run_id is not None:  # the writer marked it failed: it goes on
                    runs.claim(ws, self.run_id, runs.owner_record())
                    run = ws.run(self.run_id)
                time.sleep(0.5)  # not decodable yet (a piece cut short): wait for more
                continue
            if final or self._cancel.is_set():
                return

    def _media(self, ws: Workspace) -> tuple[int | None, Path | None]:
        if self.capture_id is None:
            return None, None
        row = ws.conn.execute(
            "SELECT media_id, path FROM capture WHERE id=?", (self.capture_id,)
        ).fetchone()
        if row is None or row["media_id"] is None:
            return None, None
        return int(row["media_id"]), Path(row["path"])

    def _pass(
        self, ws: Workspace, engine: Any, media_id: int, path: Path, run: Run | None,
        final: bool,
    ) -> Run:
        from annotator.transcribe.pipeline import Cancelled, _Writer

        self.passes += 1
        if run is None:
            engine_info, events = engine.transcribe(path)
            run = ws.start_run(
                media_id, engine.model.model_id, engine.model.sha256, engine.versions,
                {**engine.provenance_options(), **engine_info.options, "live_capture": True},
            )
            ws.set_run_language(run.id, engine_info.language, engine_info.language_probability)
            runs.claim(ws, run.id, runs.owner_record())
            self.run_id = run.id
            stored = {}
            self.status = "transcribing"
        else:
            checkpoint = runs.last_checkpoint(ws, run.id)
            tail = None if final else self._tail(ws, run, media_id, checkpoint)
            if tail is not None:  # a quick look at the newest audio, until a full pass
                _info, found = engine.transcribe(path, tail, run.language)
                events = _segments_only(found)
                stored = {d.index: d for d in ws.drafts(run.id) if d.index >= tail.first_index}
            else:
                first = checkpoint.first_index if checkpoint is not None else 0
                captures.forget_provisional(
                    ws, run.id, checkpoint.cut_ms if checkpoint is not None else -1
                )
                _info, events = engine.transcribe(path, checkpoint, run.language)
                stored = {d.index: d for d in ws.drafts(run.id) if d.index >= first}
            self.last_tail = tail is not None

        def stored_now(seg: Segment) -> None:
            self.segments += 1
            if self.on_segment is not None:
                self.on_segment(seg, time.monotonic())

        writer = _Writer(ws, run, stored, False, stored_now)
        began = time.monotonic()
        try:
            decoded_ms = writer.consume(events, self._cancel.is_set, path)
        except Cancelled:
            self.status = "stopped (resumable)"
            return run
        self.log.append((began, time.monotonic() - began, decoded_ms,
                         "tail" if self.last_tail else "full"))
        if final:
            self._end(ws, run, decoded_ms, writer.warnings, media_id)
        return ws.run(run.id)

    def _tail(
        self, ws: Workspace, run: Run, media_id: int, checkpoint: Checkpoint | None
    ) -> Checkpoint | None:
        """Where a *tail pass* starts, or None when the next pass must be a full one.

        A full pass decodes the whole growing piece again from the run's checkpoint (40-65 s
        of audio with 10-s pieces); it is needed when a new cut may have become possible (the
        audio after the piece's cut reaches ``chunk_s`` + the 30-s cut search), and at the
        end. In between, and after every full pass, a tail pass decodes only from shortly
        before the last provisional segment: a checkpoint made up for that point, with the
        piece's prompt, whose segments replace the last provisional ones and whose own
        checkpoints and coverage are never stored. The next full pass decodes it all again,
        so what ends up stored is the full passes' work only.
        """
        from annotator.transcribe.chunks import SEARCH_S

        if checkpoint is None:
            return None
        provisional = [d for d in ws.drafts(run.id) if d.index >= checkpoint.first_index]
        if len(provisional) < 2:
            return None
        audio_ms = ws.media(media_id).duration_ms
        due = audio_ms - max(checkpoint.cut_ms, 0) >= (self.options.chunk_s + SEARCH_S) * 1000
        if due and self.last_tail:
            return None
        anchor = provisional[-2]
        cut = anchor.end_ms * SAMPLE_RATE // 1000
        restart = max(checkpoint.restart_sample, cut - TAIL_OVERLAP_S * SAMPLE_RATE)
        return Checkpoint(checkpoint.piece + 1, restart, cut, anchor.index + 1,
                          checkpoint.context)

    def _end(self, ws: Workspace, run: Run, decoded_ms: int | None, warnings: list[str],
             media_id: int) -> None:
        media = ws.media(media_id)
        found = list(warnings)
        truncation = runs.truncation_warning(media.duration_ms, decoded_ms)
        if truncation is not None:
            found.append(truncation)
        heard = runs.coverage(ws, run.id)
        if heard is not None and heard.low:
            found.append(f"low coverage: {heard.summary()} (see the speech gaps)")
        runs.finish(ws, run.id, RunStatus.DONE, decoded_ms=decoded_ms, warnings=found)
        self.status = "done"


def _segments_only(events: Iterator[Any]) -> Iterator[Any]:
    """A tail pass's events without its checkpoints and coverage (they would overwrite the
    run's real ones): segments, held-back segments and the stream's end."""
    from annotator.transcribe.engine import PieceCoverage

    for event in events:
        if not isinstance(event, Checkpoint | PieceCoverage):
            yield event
