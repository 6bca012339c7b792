"""Transcribing a capture a few seconds behind, so that the end result is the file's transcript.

The captured file grows by whole pieces; one thread decodes its audio once as it grows
(:mod:`.audio`), and the follower transcribes it in *passes*, each over the audio decoded so
far (a snapshot: a pass never chases the stream). A live run is an interrupted run resumed
again and again (:mod:`annotator.transcribe.pipeline`): same engine, cuts, overlap and
coverage rules as a file. Three kinds of pass:

- a **settle** pass decodes from the run's last checkpoint through the piece that starts
  there, once the audio so far completes it, and stops at the start of the next piece. A
  cut depends only on the audio from the previous cut to ``chunk_s + 30`` s after it
  (:func:`annotator.transcribe.chunks.pieces`), so a piece that long is final: its segments,
  held-back segments, coverage and the next piece's checkpoint are what a run on the
  finished file stores there. Its segments replace the provisional ones of the same index
  through the run's writer (kept when identical; replaced when nobody worked on them; a
  reviewer's kept, the difference in a run warning, as for any resumed run);
- a **tail** pass shows the newest audio: it decodes (greedily: :func:`_greedy`) from shortly
  before the last provisional segment (or from the checkpoint) to the end of the snapshot,
  and stores only segments (no checkpoints, coverage or held-back text), which the next
  settle pass replaces: these *provisional* segments are what makes the transcript appear seconds
  behind, since a piece is final only ``chunk_s + 30`` s after its start;
- the **final** pass, once the capture has ended (after a tail pass for the newest words),
  decodes from the last checkpoint to the end of the complete audio, so the run ends exactly
  as a file run would (tested).

A settle pass runs when a piece has become final and the pass before was a tail pass, a tail
pass whenever at least :data:`TAIL_MIN_NEW_S` of new audio has arrived. ``bench/live.py``
measures the delay.

The follower runs in a thread with its own workspace connection, and holds the capture's
run lock (:func:`annotator.core.captures.capture_lock`) so that ``annotator transcribe``
cannot write the same media meanwhile; the capture loop wakes it (:meth:`Follower.arrived`)
and tells it when the file is complete (:meth:`Follower.capture_done`).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from annotator.core import captures, runs
from annotator.core.model import (
    FIRST_CHECKPOINT,
    SAMPLE_RATE,
    Checkpoint,
    MachineSegment,
    Run,
    Segment,
    SuppressedSegment,
)
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.live.audio import LiveAudio

#: Seconds before a tail pass's start decoded with it (see :meth:`Follower._tail_start`).
TAIL_OVERLAP_S = 5
#: A tail pass waits for at least this much new audio (s): HLS brings 2-s segments.
TAIL_MIN_NEW_S = 1.0
#: A provisional segment a tail pass found this long (s) before the end of its audio is
#: whole: the next tail starts after it.
TAIL_PAUSE_S = 2.0
#: A tail longer than this (s) waits for a settle pass (the follower is behind).
TAIL_MAX_S = 90

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
        self.audio: LiveAudio | None = None
        self._tail_engine: Any = None
        self.error: BaseException | None = None
        self.run_id: int | None = None
        self.passes = 0
        self.last_kind = ""  # "settle", "tail" or "final"
        self._shown = 0  # audio (samples) the last tail pass reached
        #: (monotonic start, seconds, audio the pass had in ms, kind) of every pass:
        #: bench/live.py
        self.log: list[tuple[float, float, int | None, str]] = []
        self.segments = 0
        self.status = "waiting"

    # -- called from the capture loop ----------------------------------------------------

    def started(self, capture: captures.Capture) -> None:
        self.capture_id = capture.id

    def arrived(self, piece: captures.Piece) -> None:
        if self.audio is not None:
            self.audio.arrived()
        self._wake.set()

    def capture_done(self, ws: Workspace) -> None:
        self._done.set()
        if self.audio is not None:
            self.audio.end()
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
        kinds = [entry[3] for entry in self.log]
        return (f"{self.status}, {self.segments} segments stored, {self.passes} passes "
                f"({kinds.count('tail')} of them tail passes)")

    # -- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        try:
            with Workspace(self.db) as ws, contextlib.ExitStack() as held:
                self._follow(ws, held)
        except BaseException as exc:  # reported by the CLI from the main thread
            self.error = exc
            self.status = "failed"
        finally:
            if self.audio is not None:
                self.audio.end()

    def _follow(self, ws: Workspace, held: contextlib.ExitStack) -> None:
        from annotator.transcribe.engine import Engine

        engine = Engine(self.options)
        self._tail_engine = _greedy(engine)
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
            if self.audio is None:
                held.enter_context(captures.capture_lock(ws, self.capture_id or 0, path))
                self._start_audio(path)
            try:
                run = self._step(ws, engine, media_id, path, run, final)
            except MediaError:
                if final:
                    raise
                if self.run_id is not None:  # the writer marked it failed: it goes on
                    runs.claim(ws, self.run_id, runs.owner_record())
                    run = ws.run(self.run_id)
                time.sleep(0.5)  # not decodable yet (a piece cut short): wait for more
                self._wake.set()
                continue
            if final or self._cancel.is_set():
                return

    def _start_audio(self, path: Path) -> None:
        self.audio = LiveAudio(path, on_grow=self._wake.set)
        self.audio.start()
        if self._done.is_set():  # the capture ended before its audio was looked at
            self.audio.end()

    def _media(self, ws: Workspace) -> tuple[int | None, Path | None]:
        if self.capture_id is None:
            return None, None
        row = ws.conn.execute(
            "SELECT media_id, path FROM capture WHERE id=?", (self.capture_id,)
        ).fetchone()
        if row is None or row["media_id"] is None:
            return None, None
        return int(row["media_id"]), Path(row["path"])

    def _snapshot(self, final: bool) -> tuple[list[Any] | None, int | None]:
        """The audio decoded so far and its length in samples; (None, None) when the file
        could not be decoded as a stream (the engine then decodes the file itself)."""
        audio = self.audio
        if audio is None or (final and not audio.complete()) or audio.error is not None:
            return None, None
        return audio.snapshot()

    def _step(
        self, ws: Workspace, engine: Any, media_id: int, path: Path, run: Run | None,
        final: bool,
    ) -> Run | None:
        """Run the pass that is due (see the module doc), if any."""
        blocks, samples = self._snapshot(final)
        if samples is None:  # no stream decode: the file's length as the capture records it
            samples = ws.media(media_id).duration_ms * SAMPLE_RATE // 1000
        if run is None:
            if not final and samples < TAIL_MIN_NEW_S * SAMPLE_RATE:
                return None
            return self._settle(ws, engine, media_id, path, None, blocks, samples, final)
        checkpoint = runs.last_checkpoint(ws, run.id) or FIRST_CHECKPOINT
        tail: Checkpoint | None = None
        if samples - self._shown >= TAIL_MIN_NEW_S * SAMPLE_RATE:
            tail = self._tail_start(ws, run, checkpoint)
            if samples - tail.restart_sample > TAIL_MAX_S * SAMPLE_RATE:
                tail = None  # behind: settle first
        if final:  # the newest words first, then the pass that ends the run
            if tail is not None:
                self._tail(ws, engine, path, run, tail, blocks, samples)
            return self._settle(ws, engine, media_id, path, run, blocks, samples, True)
        complete = self._complete(checkpoint, samples)
        if complete and (self.last_kind != "settle" or tail is None):
            return self._settle(ws, engine, media_id, path, run, blocks, samples, False)
        if tail is not None:
            self._tail(ws, engine, path, run, tail, blocks, samples)
            if complete:
                self._wake.set()  # a settle pass next
        return run

    def _complete(self, checkpoint: Checkpoint, samples: int) -> bool:
        """Does the audio so far complete the piece that starts at ``checkpoint``?"""
        from annotator.transcribe.chunks import SEARCH_S

        need = int(self.options.chunk_s * SAMPLE_RATE) + int(SEARCH_S * SAMPLE_RATE)
        return samples - max(checkpoint.cut_sample, 0) >= need

    def _settle(
        self, ws: Workspace, engine: Any, media_id: int, path: Path, run: Run | None,
        blocks: list[Any] | None, samples: int, final: bool,
    ) -> Run:
        """A settle pass (or the final one, or the first, which starts the run)."""
        checkpoint = FIRST_CHECKPOINT
        if run is None:
            engine_info, events = engine.transcribe(path, audio=blocks)
            run = ws.start_run(
                media_id, engine.model.model_id, engine.model.sha256, engine.versions,
                {**engine.provenance_options(), **engine_info.options, "live_capture": True},
            )
            ws.set_run_language(run.id, engine_info.language, engine_info.language_probability)
            runs.claim(ws, run.id, runs.owner_record())
            self.run_id = run.id
            self.status = "transcribing"
        else:
            checkpoint = runs.last_checkpoint(ws, run.id) or FIRST_CHECKPOINT
            captures.forget_provisional(ws, run.id, checkpoint.cut_ms)
            engine_info, events = engine.transcribe(path, checkpoint, run.language, blocks)
            if checkpoint.piece == 0:  # the language found on the whole first piece
                ws.set_run_language(run.id, engine_info.language,
                                    engine_info.language_probability)
        stored = {d.index: d for d in ws.drafts(run.id) if d.index >= checkpoint.first_index}
        writer = self._writer(ws, run, stored)
        if not final:
            events = self._until_growing(events, samples, writer.stored)
        decoded_ms = self._consume(writer, events, path, "final" if final else "settle",
                                   samples)
        if final and decoded_ms is not None:
            self._end(ws, run, decoded_ms, writer.warnings, media_id)
        if not final and self.audio is not None:
            last = runs.last_checkpoint(ws, run.id)
            if last is not None:
                self.audio.release_before(last.restart_sample)
        self._wake.set()  # a tail pass shows the piece still growing
        return ws.run(run.id)

    def _until_growing(
        self, events: Iterator[Any], samples: int, stored: dict[int, Any]
    ) -> Iterator[Any]:
        """The events of one piece: up to the next checkpoint (included), or only the first
        one if the audio so far does not complete its piece. One piece at a time, so a
        follower that is behind still runs a tail pass between two settle passes. The
        provisional segments after that checkpoint stay stored (they are not this pass's to
        drop) until a tail pass replaces them."""
        seen = 0
        for event in events:
            yield event
            if isinstance(event, Checkpoint):
                seen += 1
                if seen > 1 or not self._complete(event, samples):
                    for index in [i for i in stored if i >= event.first_index]:
                        del stored[index]
                    return

    def _tail_start(self, ws: Workspace, run: Run, checkpoint: Checkpoint) -> Checkpoint:
        """Where a tail pass decodes from: the checkpoint itself while its piece holds no
        segment yet; else a checkpoint made up for a point ``TAIL_OVERLAP_S`` before the end
        of the last provisional segment that is surely whole (the last one if the last tail
        pass decoded ``TAIL_PAUSE_S`` of audio after it without a new segment, else the one
        before), with the piece's prompt; the tail's segments replace the provisional ones
        after it."""
        provisional = [d for d in ws.drafts(run.id) if d.index >= checkpoint.first_index]
        # audio the last tail pass decoded after the last segment (more has come since)
        closed = self._shown - provisional[-1].end_ms * SAMPLE_RATE // 1000 if provisional else 0
        if provisional and closed < TAIL_PAUSE_S * SAMPLE_RATE:
            provisional.pop()  # it may go on in the audio still to come
        if not provisional:
            return checkpoint
        anchor = provisional[-1]
        cut = anchor.end_ms * SAMPLE_RATE // 1000
        restart = max(checkpoint.restart_sample, cut - TAIL_OVERLAP_S * SAMPLE_RATE)
        # the languages the run heard before the piece: a tail pass routes with them, and
        # its own (unsure, provisional) hearing is never stored (_segments_only)
        return Checkpoint(checkpoint.piece + 1, restart, cut, anchor.index + 1,
                          checkpoint.context, languages=checkpoint.languages)

    def _tail(
        self, ws: Workspace, engine: Any, path: Path, run: Run, start: Checkpoint,
        blocks: list[Any] | None, samples: int,
    ) -> None:
        _info, found = self._tail_engine.transcribe(path, start, run.language, blocks)
        stored = {d.index: d for d in ws.drafts(run.id) if d.index >= start.first_index}
        writer = self._writer(ws, run, stored)
        self._consume(writer, _segments_only(found), path, "tail", samples)
        self._shown = samples

    def _writer(self, ws: Workspace, run: Run, stored: dict[int, Any]) -> Any:
        from annotator.transcribe.pipeline import _Writer

        def stored_now(seg: Segment) -> None:
            self.segments += 1
            if self.on_segment is not None:
                self.on_segment(seg, time.monotonic())

        return _Writer(ws, run, stored, False, stored_now)

    def _consume(
        self, writer: Any, events: Iterator[Any], path: Path, kind: str, samples: int
    ) -> int | None:
        from annotator.transcribe.pipeline import Cancelled

        self.passes += 1
        began = time.monotonic()
        try:
            decoded_ms: int | None = writer.consume(events, self._cancel.is_set, path)
        except Cancelled:
            self.status = "stopped (resumable)"
            return None
        self.log.append((began, time.monotonic() - began, samples * 1000 // SAMPLE_RATE, kind))
        self.last_kind = kind
        return decoded_ms

    def _end(self, ws: Workspace, run: Run, decoded_ms: int | None, warnings: list[str],
             media_id: int) -> None:
        runs.finish_done(ws, run.id, ws.media(media_id).duration_ms, decoded_ms, warnings)
        self.status = "done"


def _greedy(engine: Any) -> Any:
    """The engine as tail passes use it: the same loaded model, decoding greedily without
    sampled retries. A tail's text is provisional (a settle pass with the run's own options
    replaces it), and on audio that stops mid-word the retries are the costly part: measured
    with bench/live.py, see the README."""
    tail = copy.copy(engine)
    tail.options = replace(engine.options, beam_size=1,
                           extra={**engine.options.extra, "temperature": 0.0})
    return tail


def _segments_only(events: Iterator[Any]) -> Iterator[Any]:
    """A tail pass's events without its checkpoints, coverage and held-back segments (they
    would overwrite the run's real ones): its segments and the stream's end."""
    from annotator.transcribe.engine import StreamEnd

    for event in events:
        if isinstance(event, StreamEnd) or (
            isinstance(event, MachineSegment) and not isinstance(event, SuppressedSegment)
        ):
            yield event
