"""The batch stage: probe a file, decide what to do with it, stream its segments into the workspace.

Robustness rules, because a batch of long livestreams can run for hours and its records may
become evidence:

- one file's failure never stops the batch; each result says what happened and why;
- one process at a time works on a media file in a workspace (:mod:`annotator.core.runlock`);
  a second one says who holds it, or waits with ``wait``;
- every segment is committed as it arrives, and every piece's decoder state before its first
  segment (:class:`~annotator.core.model.Checkpoint`); a run is only marked ``done`` at the
  end. The next start **resumes** an interrupted run by decoding again from its last
  checkpoint, so the result is the transcript an uninterrupted run gives (see
  :class:`_Writer` for what happens to stored segments the new decode reaches);
- a file whose audio ends before its container says is stored with a warning
  (:func:`annotator.core.runs.truncation_warning`), never reported complete;
- a file already transcribed (same SHA-256) is skipped unless ``force``; ``force`` never
  replaces a review layer that holds human work.

What to do with a file is decided by :func:`plan` from what the workspace holds, without the
engine; :func:`transcribe_file` carries the plan out.
"""

from __future__ import annotations

import contextlib
import enum
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from annotator.core import captures, runs
from annotator.core.document import held_back
from annotator.core.media import Probe, probe
from annotator.core.model import (
    FIRST_CHECKPOINT,
    Checkpoint,
    DraftSegment,
    MachineSegment,
    Media,
    Run,
    RunStatus,
    Segment,
    SuppressedSegment,
)
from annotator.core.runlock import media_lock
from annotator.core.store import Workspace
from annotator.errors import (
    AnnotatorError,
    MediaError,
    ModelError,
    NotFoundError,
    UsageError,
    WorkspaceError,
)
from annotator.transcribe.engine import (
    Engine,
    EngineEvent,
    PieceCoverage,
    StreamEnd,
    TranscribeOptions,
)


class FileStatus(enum.StrEnum):
    """What happened to one file of a batch (equal to the strings scripts read)."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileResult:
    """The outcome of one file in a batch."""

    path: Path
    status: FileStatus
    media: Media | None = None
    segments: int = 0
    held_back: int = 0  # machine segments suppressed as probable hallucinations
    audio_ms: int = 0  # what the container declares
    decoded_ms: int | None = None  # what its audio decoded to (None: not transcribed now)
    seconds: float = 0.0
    error: str | None = None
    note: str | None = None  # why a file was skipped
    warnings: list[str] = field(default_factory=list)  # the run's (e.g. truncated)
    truncated: bool = False
    speech_heard_ms: int | None = None  # what a VAD hears as speech (see core/coverage.py)
    speech_written_ms: int | None = None  # how much of it the segments cover
    coverage: str | None = None  # "speech heard 34 s, written 3 s"
    languages: dict[str, int] = field(default_factory=dict)  # segments per language
    exports: list[Path] = field(default_factory=list)


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws bars; tests record calls)."""

    def file_started(self, path: Path, duration_ms: int) -> None: ...
    def advanced(self, path: Path, position_ms: int) -> None: ...
    def waiting(self, path: Path, holder: dict[str, Any]) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...


class NullProgress:
    def file_started(self, path: Path, duration_ms: int) -> None:
        pass

    def advanced(self, path: Path, position_ms: int) -> None:
        pass

    def waiting(self, path: Path, holder: dict[str, Any]) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        pass


class Cancelled(AnnotatorError):
    """Transcription stopped because the caller asked (e.g. the review app was closed)."""


class Paused(Exception):
    """Raised by an engine's event stream that has no more events yet but will have (a
    cluster client waiting for a file's next piece, :mod:`annotator.transcribe.cluster`):
    what was stored stays, and the run stays running rather than failed (no outcome in the
    audit chain), for the next call to resume from its last checkpoint."""


def needs_transcription(ws: Workspace, media_id: int) -> bool:
    return ws.current_run(media_id) is None


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaState:
    """What the workspace holds for one media file, read (under its lock) before deciding."""

    done: Run | None  # the latest finished run
    partial: Run | None  # a run left unfinished after it (crash, kill, cancel, full disk)
    checkpoint: Checkpoint | None  # the partial run's last stored piece start
    human_work: int  # audit entries (human actions) for the media

    @classmethod
    def read(cls, ws: Workspace, media_id: int) -> MediaState:
        partial = ws.unfinished_run(media_id)
        return cls(
            ws.current_run(media_id), partial,
            runs.last_checkpoint(ws, partial.id) if partial is not None else None,
            ws.human_work_count(media_id),
        )


class Action(enum.StrEnum):
    SKIP = "skip"  # already transcribed
    REFUSE = "refuse"  # doing it would lose human work
    RESUME = "resume"  # go on with the interrupted run
    NEW = "new"  # a new run


@dataclass(frozen=True)
class Plan:
    """What :func:`transcribe_file` will do with one file, and why."""

    action: Action
    reason: str = ""
    run: Run | None = None  # the run to resume
    start: Checkpoint = FIRST_CHECKPOINT  # where a resumed run is decoded again from
    replace_layer: bool = False  # a forced re-run replaces the unreviewed review layer


def plan(state: MediaState, *, resumable: bool, force: bool) -> Plan:
    """Decide, from what the workspace holds, what to do with a file.

    ``resumable``: the interrupted run (if any) was made with the engine's model bytes and
    options, so decoding it again from its checkpoint gives what it would have given.
    An interrupted run of other settings is discarded, unless people already worked on it,
    in which case this refuses rather than delete their work.

    A forced re-run left unfinished after the finished run (interrupted, or a cluster
    client's run between two pieces) is resumed by the next forced run of the same settings,
    as an interrupted first run is: what it stored is kept.
    """
    done, partial, work = state.done, state.partial, state.human_work
    if done is not None and not force:
        return Plan(Action.SKIP, f"already transcribed with {done.model_id}", run=done)
    if done is not None and work:
        return Plan(
            Action.REFUSE,
            f"already reviewed ({work} recorded human changes); --force will not replace "
            "reviewed work",
        )
    if partial is not None:  # done is None, or this is a forced re-run nobody reviewed
        if resumable:
            return Plan(Action.RESUME, "interrupted", run=partial,
                        start=state.checkpoint or FIRST_CHECKPOINT,
                        replace_layer=done is not None)
        if work:
            return Plan(
                Action.REFUSE,
                f"an interrupted transcription with {work} human changes exists (model "
                f"{partial.model_id}); resume it with that model",
            )
    return Plan(Action.NEW, replace_layer=done is not None)


# -- carrying it out -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What :func:`transcribe_file` did."""

    media: Media
    plan: Plan
    added: int  # segments stored (or replaced) by this call
    run: Run | None  # the run the media's transcript now comes from


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
    this call added (see :func:`transcribe_file`)."""
    outcome = transcribe_file(
        ws, engine, info, force=force, on_segment=on_segment, should_stop=should_stop
    )
    return outcome.media, outcome.added


def transcribe_file(
    ws: Workspace,
    engine: Engine,
    info: Probe,
    *,
    force: bool = False,
    wait: bool = False,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
    on_segment: Callable[[Segment], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Outcome:
    """Register one probed file, take its lock (:func:`~annotator.core.runlock.media_lock`:
    raises :class:`~annotator.core.runlock.MediaBusyError` if another process holds it,
    unless ``wait``), decide (:func:`plan`) and carry the plan out.

    An interrupted run of the same settings is **resumed**: decoded again from its last
    checkpoint, keeping the segments the new decode reproduces (and any review work done on
    them), so the result is what an uninterrupted run gives.
    """
    media = ws.add_probed(info)
    owner = runs.owner_record()
    # a capture's file is written by its live follower while the capture runs: its lock too
    with (captures.while_captured(ws, info.path, wait=wait, on_wait=on_wait),
          media_lock(ws.path, info.sha256, info.path, owner, wait=wait, on_wait=on_wait)):
        state = MediaState.read(ws, media.id)
        resumable = state.partial is not None and _same_settings(state.partial, engine)
        decided = plan(state, resumable=resumable, force=force)
        if decided.action is Action.SKIP:
            return Outcome(media, decided, 0, state.done)
        if decided.action is Action.REFUSE:
            raise MediaError(info.path, decided.reason)
        if decided.action is Action.RESUME and decided.run is not None:
            run = decided.run
            runs.claim(ws, run.id, owner)
            _info, events = engine.transcribe(info.path, decided.start, run.language)
            first = decided.start.first_index
            drafts = ws.drafts(run.id)
            stored = {d.index: d for d in drafts if d.index >= first}
            # A forced re-run replaced the layer when it stored its first segment.
            replace_layer = decided.replace_layer and not drafts
        else:
            ws.discard_unfinished_runs(media.id)
            engine_info, events = engine.transcribe(info.path)
            run = ws.start_run(
                media.id, engine.model.model_id, engine.model.sha256, engine.versions,
                {**engine.provenance_options(), **engine_info.options},
            )
            ws.set_run_language(run.id, engine_info.language, engine_info.language_probability)
            runs.claim(ws, run.id, owner)
            stored, replace_layer = {}, decided.replace_layer
        writer = _Writer(ws, run, stored, replace_layer, on_segment)
        decoded_ms = writer.consume(events, should_stop, info.path)
        warnings = [*writer.warnings]
        if engine.router.warning is not None:  # nothing could check the language
            warnings.append(engine.router.warning)
        warnings += _language_holds(ws, run.id)
        runs.finish_done(ws, run.id, info.duration_ms, decoded_ms, warnings)
        return Outcome(media, decided, writer.added, ws.run(run.id))


class _Writer:
    """Stores what the engine yields for one run, resumed or new.

    When a resumed run is decoded again from its checkpoint, the segments it had stored from
    there on (``stored``, by index) meet the new decode's segments of the same index:

    - the same times, text and words (what a deterministic decode gives): kept as they are,
      with any review work on them;
    - different, and nobody worked on the stored one (:func:`annotator.core.runs.untouched`):
      replaced by the new one, so the draft is what an uninterrupted run writes;
    - different, and a reviewer worked on it: the reviewer's segment is kept and the new text
      goes into a run warning (review work is never lost; the difference is never silent).

    Stored segments the new decode does not reach are dropped (nobody worked on them) or
    kept with a warning, by the same rule. Held-back segments are kept as stored (the same
    one decoded again is stored once).
    """

    def __init__(
        self, ws: Workspace, run: Run, stored: dict[int, DraftSegment], replace_layer: bool,
        on_segment: Callable[[Segment], None] | None,
    ) -> None:
        self.ws, self.run, self.stored = ws, run, stored
        self.replace_layer = replace_layer
        self.on_segment = on_segment
        self.added = 0
        self.warnings: list[str] = []

    def consume(
        self, events: Iterator[EngineEvent], should_stop: Callable[[], bool] | None,
        path: Path,
    ) -> int | None:
        """Store every event; return the audio decoded (ms). On any error or interruption
        the run is marked failed (resumable) and the error goes on."""
        decoded_ms: int | None = None
        try:
            for event in events:
                if should_stop is not None and should_stop():
                    raise Cancelled(f"{path}: transcription cancelled")
                if isinstance(event, Checkpoint):
                    runs.save_checkpoint(self.ws, self.run.id, event)
                elif isinstance(event, SuppressedSegment):
                    self.ws.add_suppressed(self.run.id, event)
                elif isinstance(event, StreamEnd):
                    decoded_ms = event.decoded_ms
                elif isinstance(event, PieceCoverage):
                    runs.save_coverage(self.ws, self.run.id, event.piece, event.coverage)
                else:
                    self.put(event)
            self.leftovers()
        except Paused:
            raise  # the run goes on later, from its last checkpoint
        except BaseException:
            # A full disk may refuse this too: the run then stays "running" with no process
            # holding its lock, which reads as interrupted all the same.
            with contextlib.suppress(sqlite3.Error, WorkspaceError):
                runs.finish(self.ws, self.run.id, RunStatus.FAILED, warnings=self.warnings)
            raise
        if self.replace_layer:
            self.ws.clear_review_layer(self.run.media_id)  # a silent file: empty is the truth
        return decoded_ms

    def put(self, seg: MachineSegment) -> None:
        old = self.stored.pop(seg.index, None)
        if old is not None:
            if runs.same_machine_output(old, seg):
                return
            if not runs.untouched(self.ws, old):
                self.warnings.append(
                    f"resumed run: segment {seg.index + 1} ({_clock(old.start_ms)}) was "
                    f"reviewed before the interruption and decodes differently now "
                    f"({seg.text!r}); the reviewed segment is kept"
                )
                return
        with self.ws.transaction():
            if old is not None:
                runs.drop_draft(self.ws, old.id)
            if self.replace_layer:
                # Only now that decoding works: drop the unreviewed layer of a forced re-run.
                self.ws.clear_review_layer(self.run.media_id)
                self.replace_layer = False
            stored = runs.store_draft(self.ws, self.run, seg.index, seg)
        self.added += 1
        if self.on_segment is not None:
            self.on_segment(stored)

    def leftovers(self) -> None:
        for old in sorted(self.stored.values(), key=lambda d: d.index):
            if runs.untouched(self.ws, old):
                runs.drop_draft(self.ws, old.id)
            else:
                self.warnings.append(
                    f"resumed run: segment {old.index + 1} ({_clock(old.start_ms)}) was "
                    "reviewed before the interruption and is not in the new decode; it is kept"
                )
        self.stored = {}


def _clock(ms: int) -> str:
    return runs.clock(ms)


def _language_holds(ws: Workspace, run_id: int) -> list[str]:
    """A warning per language whose speech was held back because the model writes only
    English (``--other-languages hold``): such a transcript is not the whole story."""
    held: dict[str, int] = {}
    for seg in ws.suppressed(run_id):
        if seg.reason.startswith("language "):
            held[seg.reason] = held.get(seg.reason, 0) + 1
    return [f"{n} segment{'s' if n != 1 else ''} held back: {why}" for why, n in held.items()]


def run_batch(
    ws: Workspace,
    paths: Iterable[Path],
    options: TranscribeOptions,
    *,
    force: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
    after_file: Callable[[FileResult], None] | None = None,
    engine_factory: Callable[[TranscribeOptions], Engine] = Engine,
) -> list[FileResult]:
    """Transcribe many files; the model is loaded only if some file needs it. ``wait``:
    wait for another process transcribing the same file instead of failing it."""
    sink: Progress = progress or NullProgress()
    engine: Engine | None = None
    results: list[FileResult] = []
    for path in paths:
        started = time.perf_counter()
        result = FileResult(path, FileStatus.FAILED)
        try:
            info = probe(path)
            result.audio_ms = info.duration_ms
            known = _known_done(ws, info.sha256)
            if known is not None and not force:
                _skipped(result, ws, *known, options)
            else:
                if engine is None:
                    engine = engine_factory(options)
                sink.file_started(path, info.duration_ms)

                def on_segment(seg: Segment, _path: Path = path) -> None:
                    sink.advanced(_path, seg.end_ms)

                def on_wait(holder: dict[str, Any], _path: Path = path) -> None:
                    sink.waiting(_path, holder)

                outcome = transcribe_file(
                    ws, engine, info, force=force, wait=wait, on_wait=on_wait,
                    on_segment=on_segment,
                )
                fill_result(result, ws, outcome, options)
        except AnnotatorError as exc:
            if isinstance(exc, Cancelled | ModelError | UsageError):
                raise  # not about this file: the whole batch cannot go on
            result.error = str(exc)
        finish_result(result, started, after_file, sink)
        results.append(result)
    return results


# What a local batch and a cluster batch (annotator/transcribe/cluster.py) share about the
# results they report, so the summary, --json and exit codes cannot drift apart.


def known_result(
    result: FileResult, ws: Workspace, sha256: str, options: TranscribeOptions
) -> bool:
    """Fill ``result`` as skipped if the workspace has a finished run of this file (same
    SHA-256); return whether it had."""
    known = _known_done(ws, sha256)
    if known is not None:
        _skipped(result, ws, *known, options)
    return known is not None


def fill_result(
    result: FileResult, ws: Workspace, outcome: Outcome, options: TranscribeOptions
) -> None:
    """Fill ``result`` from what :func:`transcribe_file` did."""
    if outcome.plan.action is Action.SKIP and outcome.run is not None:
        _skipped(result, ws, outcome.media, outcome.run, options)
        return
    result.status, result.media = FileStatus.DONE, outcome.media
    result.segments = ws.segment_counts(outcome.media.id)[0]
    result.held_back = len(held_back(ws, outcome.media.id))
    if outcome.run is not None:
        _run_notes(result, outcome.run, outcome.media, ws)
        result.decoded_ms = outcome.run.decoded_ms
    if outcome.plan.action is Action.RESUME:
        start = outcome.plan.start.restart_ms
        result.note = (
            f"resumed an interrupted run (decoded again from "
            f"{runs.clock(start)}, {outcome.added} segments added)"
        )


def finish_result(
    result: FileResult, started: float, after_file: Callable[[FileResult], None] | None,
    sink: Progress,
) -> None:
    """Time the file, run ``after_file`` (exports, facts: its error fails the file) and
    report it."""
    result.seconds = time.perf_counter() - started
    if after_file is not None and result.status != FileStatus.FAILED:
        try:
            after_file(result)
        except AnnotatorError as exc:
            result.status, result.error = FileStatus.FAILED, str(exc)
    sink.file_finished(result)


def _skipped(
    result: FileResult, ws: Workspace, media: Media, done: Run, options: TranscribeOptions
) -> None:
    result.status, result.media = FileStatus.SKIPPED, media
    model = done.model_id
    asked = "" if model == options.model else f", not {options.model}"
    result.note = f"already transcribed with {model}{asked} (--force redoes it)"
    result.segments = ws.segment_counts(media.id)[0]
    result.held_back = len(held_back(ws, media.id))
    _run_notes(result, done, media, ws)


def _run_notes(result: FileResult, run: Run, media: Media, ws: Workspace) -> None:
    result.warnings = list(run.warnings)
    result.languages = runs.language_counts(ws, run.id)
    result.truncated = runs.truncated(run, media.duration_ms)
    heard = runs.coverage(ws, run.id)
    if heard is not None:
        result.speech_heard_ms, result.speech_written_ms = heard.heard_ms, heard.written_ms
        result.coverage = heard.summary()


def _same_settings(run: Run, engine: Engine) -> bool:
    """Can ``run`` be resumed by ``engine``: the same model bytes, engine versions and
    options? Anything else could decode the rest differently, and the run's provenance
    names one engine for all of its segments.

    Where this machine keeps its models and how many threads it gives them are recorded but
    not compared (:func:`_machine_local`): the models are compared by their SHA-256, so a run
    a cluster worker with another cache folder began (or a machine with more cores) can be
    resumed by this one."""
    wanted = _machine_local(json.loads(json.dumps(engine.provenance_options(), default=str)))
    stored = _machine_local(run.options)
    return (
        run.model_sha256 == engine.model.sha256
        and run.engine_versions == engine.versions
        and all(stored.get(key) == value for key, value in wanted.items())
    )


def _machine_local(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` without what differs between machines running the same model bytes: the
    model's folder (its hash is compared instead), that of the multilingual model (its hash
    stays) and the threads chosen for this machine's cores (measured: the demo clip in
    20-second pieces gives identical segments, words and times on one and two threads)."""
    kept = {k: v for k, v in options.items() if k not in ("model_path", "cpu_threads_used")}
    routing = kept.get("languages_routing")
    if isinstance(routing, dict) and isinstance(routing.get("multilingual_model"), dict):
        model = {k: v for k, v in routing["multilingual_model"].items() if k != "path"}
        kept["languages_routing"] = {**routing, "multilingual_model": model}
    return kept


def _known_done(ws: Workspace, sha256: str) -> tuple[Media, Run] | None:
    """The media with this hash and its finished run, if it was transcribed already."""
    try:
        media = ws.media_by_sha(sha256)
    except NotFoundError:
        return None
    run = ws.current_run(media.id)
    return (media, run) if run is not None else None
