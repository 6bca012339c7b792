"""Transcribe one span of a media file again, with other settings (``transcribe --only``).

The engine is asked about the span's audio alone: the span is cut from the decoded stream
(16 kHz mono, the samples the engine would have been given) into a temporary WAV file and
transcribed through :meth:`Engine.transcribe` like any file, and the times it gives are moved
by the span's start. So a re-transcription uses nothing of the engine but its public API, and
its settings (``--no-vad``, ``--model base``, ``--language``) apply to that span only.

What is stored and how it reaches the review layer is :mod:`annotator.core.gapfill`: a span
run (never the media's current run), its drafts inside the span, and the gaps it measured
there. :func:`retranscribe` stores the run; :func:`fill` puts its drafts into the review layer
as one reviewer operation (the CLI calls both; the review app runs the first in a thread
worker and the second on its own session, so ``z`` undoes it).
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from annotator.core import gapfill, runs
from annotator.core.coverage import Span, SpeechGap, overlap_ms
from annotator.core.edits import Change
from annotator.core.media import file_sha256
from annotator.core.model import (
    Checkpoint,
    DraftSegment,
    MachineSegment,
    Media,
    Run,
    RunStatus,
    SuppressedSegment,
    Word,
)
from annotator.core.runlock import media_lock
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.transcribe.chunks import SAMPLE_RATE, decode_stream
from annotator.transcribe.engine import Engine, PieceCoverage, StreamEnd

S = TypeVar("S", bound=MachineSegment)


class SpanCancelled(MediaError):
    """The caller stopped a re-transcription (the review app closed): the run is failed."""


@dataclass(frozen=True)
class SpanOutcome:
    """A finished span run: its drafts (inside the span) and what it measured there."""

    run: Run
    drafts: tuple[DraftSegment, ...]
    gaps: tuple[SpeechGap, ...]
    heard_ms: int
    written_ms: int


def gap_for(ws: Workspace, media_id: int, span: Span) -> SpeechGap | None:
    """The visible gap the span overlaps most (recorded with the run), if any."""
    best = max(gapfill.visible_gaps(ws, media_id),
               key=lambda g: overlap_ms(span, (g.start_ms, g.end_ms)), default=None)
    if best is None or not overlap_ms(span, (best.start_ms, best.end_ms)):
        return None
    return best


def retranscribe(
    ws: Workspace, engine: Engine, media: Media, span: Span, *,
    should_stop: Callable[[], bool] | None = None,
) -> SpanOutcome:
    """Transcribe ``span`` of ``media`` with ``engine`` into a new span run (see the module).

    Needs a finished full run (the gaps are that run's) and the media file itself (checked by
    its SHA-256). Holds the media's lock while it works, so it never interleaves with a full
    run of the same file. Raises :class:`MediaError` when it cannot; a failure or a cancel
    mid-way leaves the run ``failed`` and nothing in the review layer.
    """
    path = Path(media.path)
    full = ws.current_run(media.id)
    if full is None:
        raise MediaError(path, "not transcribed yet: transcribe the whole file before a span")
    start, end = span[0], min(span[1], media.duration_ms or span[1])
    if end - start < gapfill.MIN_SPAN_MS:
        raise MediaError(path, f"span {runs.clock(span[0])}-{runs.clock(span[1])} is not "
                               f"inside the recording ({runs.clock(media.duration_ms)})")
    if not path.is_file() or file_sha256(path) != media.sha256:
        raise MediaError(path, "is not the recording this workspace describes (missing or "
                               "changed); annotator media relink MEDIA PATH points at a copy")
    gap = gap_for(ws, media.id, (start, end))
    owner = runs.owner_record()
    with media_lock(ws.path, media.sha256, path, owner), \
            tempfile.TemporaryDirectory(prefix="annotator-span-") as tmp:
        wav = _write_span(path, start, end, Path(tmp) / "span.wav")
        # the span is routed among the languages the full run wrote, as its pieces were
        languages = tuple((k, 0, True) for k in sorted(runs.language_counts(ws, full.id)) if k)
        info, events = engine.transcribe(wav, languages=languages)
        run = ws.start_run(
            media.id, engine.model.model_id, engine.model.sha256, engine.versions,
            {**engine.provenance_options(), **info.options,
             **gapfill.span_options((start, end), full_run=full.id, gap=gap)},
        )
        ws.set_run_language(run.id, info.language, info.language_probability)
        runs.claim(ws, run.id, owner)
        drafts: list[DraftSegment] = []
        gaps: list[SpeechGap] = []
        heard = written = 0
        decoded_ms: int | None = None
        try:
            for event in events:
                if should_stop is not None and should_stop():
                    raise SpanCancelled(path, "re-transcription cancelled")
                if isinstance(event, Checkpoint):
                    runs.save_checkpoint(ws, run.id, _moved_checkpoint(event, start))
                elif isinstance(event, SuppressedSegment):
                    ws.add_suppressed(run.id, _moved(event, start))
                elif isinstance(event, PieceCoverage):
                    cov = event.coverage
                    moved = tuple(replace(g, start_ms=g.start_ms + start,
                                          end_ms=min(g.end_ms + start, end)) for g in cov.gaps)
                    runs.save_coverage(ws, run.id, event.piece, replace(cov, gaps=moved))
                    gaps += moved
                    heard, written = heard + cov.heard_ms, written + cov.written_ms
                elif isinstance(event, StreamEnd):
                    decoded_ms = start + event.decoded_ms
                else:
                    seg = gapfill.clip(_moved(event, start), (start, end))
                    if seg is not None:
                        drafts.append(gapfill.store_draft(ws, run, len(drafts), seg))
        except BaseException:
            runs.finish(ws, run.id, RunStatus.FAILED)
            raise
        runs.finish(ws, run.id, RunStatus.DONE, decoded_ms=decoded_ms)
    return SpanOutcome(ws.run(run.id), tuple(drafts), tuple(gaps), heard, written)


def fill(ws: Workspace, media: Media, run: Run, reviewer: str) -> Change:
    """Put a span run's drafts into the review layer as ``reviewer`` (one audited operation;
    what the CLI does after :func:`retranscribe`)."""
    return ReviewSession(ws, media.id, reviewer).add_retranscribed(run)


def _write_span(path: Path, start_ms: int, end_ms: int, out: Path) -> Path:
    """The span's samples (as the engine decodes the whole file) as 16-bit mono WAV: the
    stream is 16-bit before it becomes float, so the engine reads back the same samples."""
    first, last = start_ms * SAMPLE_RATE // 1000, end_ms * SAMPLE_RATE // 1000
    parts: list[np.ndarray[tuple[int], np.dtype[np.int16]]] = []
    position = 0
    for block in decode_stream(path):
        low, high = max(first - position, 0), min(last - position, len(block))
        if low < high:
            parts.append(np.round(block[low:high] * 32768.0).clip(-32768, 32767)
                         .astype(np.int16))
        position += len(block)
        if position >= last:
            break
    if not parts:
        raise MediaError(path, f"has no audio at {runs.clock(start_ms)}")
    with wave.open(str(out), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SAMPLE_RATE)
        fh.writeframes(np.concatenate(parts).tobytes())
    return out


def _moved(seg: S, by_ms: int) -> S:
    words = tuple(Word(w.start_ms + by_ms, w.end_ms + by_ms, w.text, w.probability)
                  for w in seg.words)
    return replace(seg, start_ms=seg.start_ms + by_ms, end_ms=seg.end_ms + by_ms, words=words)


def _moved_checkpoint(cp: Checkpoint, by_ms: int) -> Checkpoint:
    by = by_ms * SAMPLE_RATE // 1000
    return replace(cp, restart_sample=cp.restart_sample + by,
                   cut_sample=cp.cut_sample + by if cp.cut_sample >= 0 else -1)
