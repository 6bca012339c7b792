"""The batch stage: probe a file, skip it if already done, stream its segments into the workspace.

Robustness rules, because a batch of long livestreams can run for hours:

- one file's failure never stops the batch; each result says what happened and why;
- every segment is committed as it arrives, and a run is only marked ``done`` at the end, so a
  crash loses at most the segment in progress: the next start resumes the interrupted run,
  keeping its segments and any review work done on them;
- a file already transcribed (same SHA-256) is skipped unless ``force``; ``force`` never
  replaces a review layer that holds human work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from annotator.core.document import held_back
from annotator.core.media import Probe, probe
from annotator.core.model import Media, Run, Segment, SuppressedSegment
from annotator.core.store import Workspace
from annotator.errors import AnnotatorError, MediaError, ModelError, NotFoundError, UsageError
from annotator.transcribe.engine import Engine, TranscribeOptions

Status = Literal["done", "skipped", "failed"]


@dataclass
class FileResult:
    """The outcome of one file in a batch."""

    path: Path
    status: Status
    media: Media | None = None
    segments: int = 0
    held_back: int = 0  # machine segments suppressed as probable hallucinations
    audio_ms: int = 0
    seconds: float = 0.0
    error: str | None = None
    note: str | None = None  # why a file was skipped
    exports: list[Path] = field(default_factory=list)


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws bars; tests record calls)."""

    def file_started(self, path: Path, duration_ms: int) -> None: ...
    def advanced(self, path: Path, position_ms: int) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...


class NullProgress:
    def file_started(self, path: Path, duration_ms: int) -> None:
        pass

    def advanced(self, path: Path, position_ms: int) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        pass


class Cancelled(AnnotatorError):
    """Transcription stopped because the caller asked (e.g. the review app was closed)."""


def needs_transcription(ws: Workspace, media_id: int) -> bool:
    return ws.current_run(media_id) is None


def transcribe_probed(
    ws: Workspace,
    engine: Engine,
    info: Probe,
    *,
    force: bool = False,
    on_segment: Callable[[Segment], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Media, int]:
    """Transcribe one probed file into the workspace; returns the media and how many segments
    this call added.

    An interrupted run (crash, cancel) of the same model is **resumed**: its segments, and any
    review work done on them while it ran, are kept, and only segments after the last stored
    one are added. An interrupted run of another model is discarded, unless people already
    worked on it, in which case this refuses rather than delete their work.
    """
    media = ws.add_media(str(info.path), info.sha256, info.size, info.duration_ms, info.streams)
    current = ws.current_run(media.id)
    if current is not None and not force:
        return media, 0
    work = ws.human_work_count(media.id)
    if current is not None and work:
        raise MediaError(
            info.path,
            f"already reviewed ({work} recorded human changes); --force will not replace "
            "reviewed work",
        )
    partial = ws.unfinished_run(media.id)
    resume_after_ms = -1
    if partial is not None and current is None and _same_settings(partial, engine):
        run = partial
        kept = ws.drafts(run.id)
        resume_after_ms = max((d.end_ms for d in kept), default=-1)
        next_index = len(kept)
        ws.reopen_run(run.id)
        # Only the audio after the stored segments is transcribed again.
        engine_info, segments = engine.transcribe(info.path, start_ms=max(resume_after_ms, 0))
    else:
        if partial is not None and current is None and work:
            raise MediaError(
                info.path,
                f"an interrupted transcription with {work} human changes exists (model "
                f"{partial.model_id}); resume it with that model",
            )
        ws.discard_unfinished_runs(media.id)
        engine_info, segments = engine.transcribe(info.path)
        run = ws.start_run(
            media.id, engine.model.model_id, engine.model.sha256, engine.versions,
            {**engine.provenance_options(), **engine_info.options},
        )
        ws.set_run_language(run.id, engine_info.language, engine_info.language_probability)
        next_index = 0
    replace = current is not None  # a forced re-run replaces an unreviewed review layer
    count = 0
    try:
        for seg in segments:
            if should_stop is not None and should_stop():
                raise Cancelled(f"{info.path}: transcription cancelled")
            if isinstance(seg, SuppressedSegment):
                ws.add_suppressed(run.id, seg)
                continue
            if (seg.start_ms + seg.end_ms) // 2 <= resume_after_ms:
                continue  # stored before the interruption
            if replace:
                # Only now that decoding works: drop the unreviewed layer of a forced re-run.
                ws.clear_review_layer(media.id)
                replace = False
            stored = ws.add_draft(
                run, next_index, seg.start_ms, seg.end_ms, seg.text, seg.words,
                seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio,
            )
            next_index += 1
            count += 1
            if on_segment is not None:
                on_segment(stored)
    except BaseException:
        ws.finish_run(run.id, "failed")
        raise
    if replace:
        ws.clear_review_layer(media.id)  # a silent file: the new (empty) run is the truth
    ws.finish_run(run.id, "done")
    return media, count


def run_batch(
    ws: Workspace,
    paths: Iterable[Path],
    options: TranscribeOptions,
    *,
    force: bool = False,
    progress: Progress | None = None,
    after_file: Callable[[FileResult], None] | None = None,
    engine_factory: Callable[[TranscribeOptions], Engine] = Engine,
) -> list[FileResult]:
    """Transcribe many files; the model is loaded only if some file needs it."""
    sink: Progress = progress or NullProgress()
    engine: Engine | None = None
    results: list[FileResult] = []
    for path in paths:
        started = time.perf_counter()
        result = FileResult(path, "failed")
        try:
            info = probe(path)
            result.audio_ms = info.duration_ms
            known = _known_done(ws, info.sha256)
            if known is not None and not force:
                media, done = known
                result.status, result.media = "skipped", media
                model = done.model_id
                asked = "" if model == options.model else f", not {options.model}"
                result.note = f"already transcribed with {model}{asked} (--force redoes it)"
                result.segments = ws.segment_counts(media.id)[0]
                result.held_back = len(held_back(ws, media.id))
            else:
                if engine is None:
                    engine = engine_factory(options)
                sink.file_started(path, info.duration_ms)

                def on_segment(seg: Segment, _path: Path = path) -> None:
                    sink.advanced(_path, seg.end_ms)

                media, _ = transcribe_probed(ws, engine, info, force=force, on_segment=on_segment)
                result.status, result.media = "done", media
                result.segments = ws.segment_counts(media.id)[0]
                result.held_back = len(held_back(ws, media.id))
        except AnnotatorError as exc:
            if isinstance(exc, Cancelled | ModelError | UsageError):
                raise  # not about this file: the whole batch cannot go on
            result.error = str(exc)
        result.seconds = time.perf_counter() - started
        if after_file is not None and result.status != "failed":
            try:
                after_file(result)
            except AnnotatorError as exc:
                result.status, result.error = "failed", str(exc)
        sink.file_finished(result)
        results.append(result)
    return results


def _same_settings(run: Run, engine: Engine) -> bool:
    """Can ``run`` be resumed by ``engine``: same model bytes and the same options?"""
    wanted = json.loads(json.dumps(engine.provenance_options(), default=str))
    return run.model_sha256 == engine.model.sha256 and all(
        run.options.get(key) == value for key, value in wanted.items()
    )


def _known_done(ws: Workspace, sha256: str) -> tuple[Media, Run] | None:
    """The media with this hash and its finished run, if it was transcribed already."""
    try:
        media = ws.media_by_sha(sha256)
    except NotFoundError:
        return None
    run = ws.current_run(media.id)
    return (media, run) if run is not None else None
