"""Batch transcription on a Dask cluster (``annotator transcribe --scheduler``).

A newsroom with hundreds of hours of livestreams wants every core it has, on one big machine
or on several, without annotator growing a scheduler of its own: Dask ``distributed`` places
the tasks, moves the data and notices lost workers. The CLI imports this module only when
``--scheduler`` is given, so a one-machine run never imports Dask.

How the work is split, and why:

- **One task per piece.** Long files are decoded in pieces (:mod:`annotator.transcribe.chunks`),
  each decoded with the overlap before its cut and prompted with the tokens the engine wrote
  before that overlap, so piece *n + 1* depends on what piece *n* wrote: it cannot start
  before piece *n* is finished, and pieces decoded independently would give other words than
  one process does. So a task (:func:`~annotator.transcribe.cluster_task.transcribe_task`)
  decodes one piece from the :class:`Checkpoint` the piece before it ended with by the very
  :meth:`Engine.transcribe <annotator.transcribe.engine.Engine.transcribe>` a local resume
  runs, and returns the next piece's checkpoint; the client sends the next piece at once,
  to the worker that holds the file (any other if that one is lost). The words are those of
  one process by the engine's resume rule (tested against a local run); files run side by
  side. A short file is one piece, so one task.
- **The worker decodes, the client writes, piece by piece.** Each task checks the model's
  SHA-256 on its worker against the client's and returns every event the engine yielded
  (segments, checkpoints, coverage, the end) with the worker's host and versions. The
  client, the workspace's only writer, stores each piece as it arrives through
  :func:`~annotator.transcribe.pipeline.transcribe_file` fed by :class:`_Replay`, a
  stand-in for the engine, so the plan, the lock, the audit chain, checkpoints, coverage
  and warnings are those of a local run: the first piece starts the run, each later one
  resumes it from the checkpoint the piece before stored, and a piece's stream ends with
  :class:`~annotator.transcribe.pipeline.Paused` (the run stays running) until the last.
- **Resuming.** Files the workspace holds (same SHA-256) are never sent. A file with an
  interrupted run of the same model bytes and options (a client stopped by Ctrl-C or a
  crash, or a local run) is sent from that run's last checkpoint: the pieces stored before
  it are not decoded again. A forced re-run of a transcribed file is stored piece by piece
  the same way (its finished run stays current until the last piece is stored; a forced
  re-run stopped midway is resumed by the next one, see
  :func:`~annotator.transcribe.pipeline.plan`).
- **Provenance.** The worker that decoded each piece (host, pid, address, annotator and
  engine versions, seconds) is stored with the run, one row per piece
  (:mod:`annotator.core.workers`), and listed in the JSON export's run provenance; the
  first piece's is also in the run's options as ``worker``. Workers must run the client's
  annotator and engine versions: one that does not refuses its task and the batch stops
  with an error naming it and both versions (:class:`WorkerMismatch`).
- **Media travel** as bytes with a file's first piece, checked against the SHA-256 the
  client computed, and stay on that worker for the next pieces (see
  :mod:`~annotator.transcribe.cluster_task`); or by path with ``shared_fs`` (checked the
  same way: a different file under the same path is refused). At most
  :data:`IN_FLIGHT_PER_WORKER` files per worker are in flight, so memory is bounded by a
  few files, not the archive.
- **Failures.** A file's own error (corrupt, unreadable, damaged on the way) comes back as a
  value and fails that file alone, named in the summary. A worker lost mid-task is Dask's
  business: the scheduler runs the task on another worker, up to its
  ``distributed.scheduler.allowed-failures`` (default 3) lost workers per task, and a task
  that raises is tried again ``retries=`` :data:`RETRIES` times; only the client's copy of a
  result is stored, so a piece is stored once however often it ran.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import dask
from distributed import Client, Future, LocalCluster, as_completed

from annotator.core import runs, workers
from annotator.core.media import Probe, probe
from annotator.core.model import Checkpoint, RunStatus
from annotator.core.store import Workspace
from annotator.errors import AnnotatorError, MediaError, ModelError, NotFoundError, UsageError
from annotator.transcribe.cluster_task import (
    ClusterError,
    Failed,
    Job,
    Transcribed,
    Unheld,
    WorkerMismatch,
    client_versions,
    one_piece,
    transcribe_task,
)
from annotator.transcribe.engine import Engine, EngineEvent, EngineInfo, TranscribeOptions
from annotator.transcribe.models import ResolvedModel, resolve_model
from annotator.transcribe.pipeline import (
    Cancelled,
    FileResult,
    FileStatus,
    NullProgress,
    Paused,
    Progress,
    fill_result,
    finish_result,
    known_result,
    transcribe_file,
)

__all__ = [
    "ClusterError", "Failed", "Job", "Transcribed", "Unheld", "WorkerMismatch", "connect",
    "local_cluster", "local_workers", "one_piece", "run_cluster_batch", "transcribe_task",
]

#: ``--scheduler`` may come from the environment instead.
SCHEDULER_ENV = "ANNOTATOR_SCHEDULER"
#: Times a task that raises (not a file's own error: those come back as values) is retried.
RETRIES = 2
#: Files in flight per worker: enough to keep every worker busy while results are stored,
#: few enough that files sent as bytes do not pile up in the client's and workers' memory.
IN_FLIGHT_PER_WORKER = 2
_LOCAL = re.compile(r"local(?::(\d+))?")

Task = Callable[..., "Transcribed | Failed | Unheld"]


class _FromStart(Exception):
    """The stored run cannot be resumed with what the workers run (other engine versions):
    the file must be decoded again from its start."""


@dataclass(frozen=True)
class _RouterNote:
    warning: str | None


class _Replay:
    """What :func:`transcribe_file` needs of an :class:`Engine`, answered from a worker's
    result for one piece: the model, versions and options it ran with, and its events
    replayed, followed (unless it is the file's last piece) by the next piece's checkpoint
    and :class:`Paused`, so the run is stored up to there and stays running.

    ``started`` is called once the piece's first event (its checkpoint) is stored, when the
    run it goes into exists: the piece's worker is recorded there, so segments stored
    before a Ctrl-C in the middle of the piece already name their worker."""

    def __init__(self, part: Transcribed, warning: str | None, *, last: bool,
                 started: Callable[[], None]) -> None:
        self.part, self.last, self.started = part, last, started
        self.model = part.model
        self.versions = part.versions
        self.router = _RouterNote(warning)

    def provenance_options(self) -> dict[str, Any]:
        return dict(self.part.provenance)

    def transcribe(
        self, path: Path, resume: Checkpoint | None = None, language: str | None = None
    ) -> tuple[EngineInfo, Iterator[EngineEvent]]:
        part = self.part
        wanted = 0 if resume is None else resume.piece
        if part.piece != wanted:
            if resume is None:  # the plan is a new run, the piece is not the first
                raise _FromStart()
            raise MediaError(path, f"the stored run resumes at piece {wanted}, the worker "
                                   f"decoded piece {part.piece}")
        # The worker is recorded with the run's options (not compared when resuming).
        info = replace(part.info, options={**part.info.options, "worker": part.worker})
        return info, self._events()

    def _events(self) -> Iterator[EngineEvent]:
        told = False
        for event in self.part.events:
            yield event
            if not told:
                told = True
                self.started()
        if not told:  # a file without audio: no event
            self.started()
        if not self.last:
            if self.part.next is not None:
                yield self.part.next  # stored: a restarted client resumes there
            raise Paused()


def local_workers(address: str) -> int | None:
    """``local`` -> one worker per core, ``local:N`` -> N, anything else -> None."""
    found = _LOCAL.fullmatch(address.strip())
    if found is None:
        return None
    count = int(found.group(1)) if found.group(1) else (os.cpu_count() or 1)
    if count < 1:
        raise UsageError(f"--scheduler {address}: a LocalCluster needs at least one worker")
    return count


@contextlib.contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (``tcp://host:8786``), or of a LocalCluster
    on loopback for ``local[:N]``: N worker processes of one thread each, because tiny.en
    decodes faster on one thread per process than on two (engine.engine_threads), and a
    process per file keeps one file's memory from another's."""
    count = local_workers(address)
    if count is None:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc})") from exc
        with client:
            yield client
        return
    try:
        cluster = local_cluster(count)
    except (OSError, RuntimeError) as exc:
        raise ClusterError(f"cannot start a LocalCluster of {count} workers ({exc})") from exc
    with cluster, Client(cluster) as client:
        yield client


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster on loopback: ``workers`` processes of one thread each, started without
    the environment Dask's nanny gives its workers.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` and ``OMP_NUM_THREADS``,
    ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` set to 1
    (``distributed.nanny.pre-spawn-environ``). Measured on 2 shared cores, the demo clip on
    one worker against the same engine in the client, three alternating rounds: 19.2-19.8 s
    against 10.7-14.0 s with Dask's variables, 11.5-12.2 s against 10.2-11.9 s without them
    (the trim threshold makes glibc hand back and fault in again the decoder's buffers; the
    engine already chooses its threads per model, engine.engine_threads, and frees a dropped
    decoder's memory itself). So annotator's own LocalCluster sets none of them.

    It sets one thing instead, unless the environment already does: ``OMP_NUM_THREADS`` to
    each worker's share of the cores (cores // workers, at least one). A model the engine
    leaves to CTranslate2's default thread count (base, which detects languages; any model
    on more than two cores) would otherwise start, in every worker, the threads the whole
    machine has room for: measured, a process decoding with base runs 6 threads, 3 with
    ``OMP_NUM_THREADS=1``. tiny.en on two cores runs on one thread either way.
    """
    share = max(1, (os.cpu_count() or 1) // workers)
    environ = {} if "OMP_NUM_THREADS" in os.environ else {"OMP_NUM_THREADS": str(share)}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}), _ctrl_c_for_client():
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
        )


@contextlib.contextmanager
def _ctrl_c_for_client() -> Iterator[None]:
    """Start worker processes ignoring SIGINT (they inherit it): Ctrl-C in a terminal goes
    to the whole process group, and each worker would print its own KeyboardInterrupt
    traceback while the client is already cancelling the batch and closing the cluster."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Pending:
    result: FileResult
    info: Probe
    started: float
    job: Job | None = None  # as sent, without the piece and the bytes
    resumed_at: Checkpoint | None = None  # where an interrupted run is resumed from
    language: str | None = None  # the file's language (the first piece's, or the run's)
    warning: str | None = None  # the first note any piece's engine made about language
    future: Future[Any] | None = None  # the piece in flight
    restarts: int = 0  # times decoded again from the start (workers that disagree)
    run_id: int | None = None  # the run this client stored pieces into, left running


def run_cluster_batch(
    ws: Workspace,
    paths: Iterable[Path],
    options: TranscribeOptions,
    *,
    scheduler: str,
    shared_fs: bool = False,
    force: bool = False,
    wait: bool = False,
    progress: Progress | None = None,
    after_file: Callable[[FileResult], None] | None = None,
    task: Task = transcribe_task,
    client: Client | None = None,
    on_piece: Callable[[Path, Transcribed], None] | None = None,
) -> list[FileResult]:
    """:func:`~annotator.transcribe.pipeline.run_batch` with the decoding done on a Dask
    cluster; the same results, in the order of ``paths``. ``client``: one already connected
    (tests, benchmarks); otherwise :func:`connect` to ``scheduler``. ``task`` is what runs
    on the workers, called with the job and the file's bytes (None when the job has its
    path, or the worker holds the file); tests wrap it to kill a worker or damage a file on
    the way. ``on_piece`` sees every piece decoded (the worker and its seconds)."""
    sink: Progress = progress or NullProgress()
    model = resolve_model(options.model)  # verified here too: every worker must match it
    order: list[FileResult] = []
    queue: deque[_Pending] = deque()
    sent: dict[str, Path] = {}  # sha256 -> the file sent with it
    copies: list[_Pending] = []  # the same bytes again: stored once, then skipped
    for path in paths:
        started = time.perf_counter()
        result = FileResult(path, FileStatus.FAILED)
        order.append(result)
        try:
            info = probe(path)
        except AnnotatorError as exc:
            result.error = str(exc)
            finish_result(result, started, None, sink)
            continue
        result.audio_ms = info.duration_ms
        if not force and known_result(result, ws, info.sha256, options):
            finish_result(result, started, after_file, sink)
        elif info.sha256 in sent:
            copies.append(_Pending(result, info, started))
        else:
            sent[info.sha256] = path
            queue.append(_resume_point(ws, _Pending(result, info, started), model, options))
    if queue:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(connect(scheduler))
            _Drain(client, ws, model, options, shared_fs=shared_fs, force=force, wait=wait,
                   sink=sink, after_file=after_file, task=task, on_piece=on_piece).run(queue)
    for copy in copies:
        if not known_result(copy.result, ws, copy.info.sha256, options):
            copy.result.error = (f"{copy.info.path}: same content as "
                                 f"{sent[copy.info.sha256]}, which failed")
        finish_result(copy.result, copy.started, after_file, sink)
    return order


def _resume_point(
    ws: Workspace, item: _Pending, model: ResolvedModel, options: TranscribeOptions
) -> _Pending:
    """Where to start ``item``: at the last checkpoint of an interrupted run of the same
    model bytes and options (the pieces before it are not sent again), or at the start.
    Engine versions are the worker's to say: a run they cannot resume is started again
    (:class:`_FromStart`). For a file transcribed already (sent only with ``force``) that
    is a forced re-run stopped midway, newer than its finished run."""
    try:
        media = ws.media_by_sha(item.info.sha256)
    except NotFoundError:
        return item
    partial = ws.unfinished_run(media.id)
    if partial is None or partial.model_sha256 != model.sha256:
        return item
    mine = {k: v for k, v in _jsonable(asdict(options)).items() if k != "extra"}
    if any(partial.options.get(k) != v for k, v in mine.items()):
        return item
    checkpoint = runs.last_checkpoint(ws, partial.id)
    if checkpoint is not None and checkpoint.piece > 0:
        item.resumed_at, item.language = checkpoint, partial.language
    return item


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(json.dumps(value, default=str)))


class _Drain:
    """Send files a few per worker ahead, one task per piece: when a piece comes back, its
    file's next piece is sent at once (to the worker holding the file) and the piece is
    stored; when the last one is, the next file is sent."""

    def __init__(
        self, client: Client, ws: Workspace, model: ResolvedModel, options: TranscribeOptions,
        *, shared_fs: bool, force: bool, wait: bool, sink: Progress,
        after_file: Callable[[FileResult], None] | None, task: Task,
        on_piece: Callable[[Path, Transcribed], None] | None,
    ) -> None:
        self.client, self.ws, self.model, self.options = client, ws, model, options
        self.shared_fs, self.force, self.wait, self.sink = shared_fs, force, wait, sink
        self.after_file, self.task, self.on_piece = after_file, task, on_piece
        self.versions = client_versions()
        self.flying: dict[Future[Any], _Pending] = {}
        self.arrived = as_completed()

    def run(self, queue: deque[_Pending]) -> None:
        workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
        limit = IN_FLIGHT_PER_WORKER * workers
        try:
            while queue and len(self.flying) < limit:
                self.send(queue.popleft())
            for future in self.arrived:
                item = self.flying.pop(future, None)
                if item is None:  # cancelled: its file ended otherwise
                    continue
                item.future = None
                if self.arrived_piece(item, future):
                    finish_result(item.result, item.started, self.after_file, self.sink)
                    while queue and len(self.flying) < limit:
                        self.send(queue.popleft())
        except BaseException:
            for future in self.flying:  # Ctrl-C or a batch-stopping error: nothing more to do
                future.cancel()
            raise

    def send(self, item: _Pending) -> None:
        path = item.info.path
        item.job = Job(str(path), item.info.sha256, self.options, self.model.sha256,
                       str(path.resolve()) if self.shared_fs else None)
        self.sink.file_started(path, item.info.duration_ms)
        if not self.submit(item, item.resumed_at, carry=True):
            finish_result(item.result, item.started, None, self.sink)

    def submit(self, item: _Pending, resume: Checkpoint | None, *, carry: bool,
               near: str | None = None) -> bool:
        """Send one piece (with the file's bytes if ``carry`` and not ``shared_fs``), to
        the worker at ``near`` if it is still there; False if the file cannot be read."""
        assert item.job is not None
        data = None
        if carry and not self.shared_fs:
            try:
                data = item.info.path.read_bytes()
            except OSError as exc:
                item.result.error = str(MediaError(
                    item.info.path, f"cannot be read ({exc.strerror or exc})"))
                return False
        job = replace(item.job, resume=resume, language=item.language,
                      versions=self.versions)
        piece = 0 if resume is None else resume.piece
        with warnings.catch_warnings():
            # The bytes go with the task on purpose (placed by load, not by where data
            # sits), once per file: Dask's advice for large graphs does not apply.
            warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
            future = self.client.submit(
                self.task, job, data, retries=RETRIES, pure=False,
                key=f"annotator-piece-{item.info.sha256[:16]}-{piece}-{uuid.uuid4().hex[:8]}",
                **({} if near is None else {"workers": [near], "allow_other_workers": True}),
            )
        item.future = future
        self.flying[future] = item
        self.arrived.add(future)
        return True

    def arrived_piece(self, item: _Pending, future: Future[Any]) -> bool:
        """Handle one piece's result; True when its file is finished (stored or failed)."""
        part = _part(future, item.info.path)
        if isinstance(part, Unheld):  # the worker holding the file was lost: bytes again
            return not self.submit(item, part.resume, carry=True)
        if isinstance(part, WorkerMismatch):
            raise part  # not about this file: no piece from that worker can be stored
        if isinstance(part, AnnotatorError):
            return self.failed(item, part)
        self.check_versions(part)
        if self.on_piece is not None:
            self.on_piece(item.info.path, part)
        if item.language is None:
            item.language = part.info.language
        item.warning = item.warning or part.warning
        if part.next is not None:  # the next piece decodes while this one is stored
            self.submit(item, part.next, carry=False, near=part.worker.get("address"))
        try:
            return self.store(item, part)
        except _FromStart:
            return self.from_start(item)
        except AnnotatorError as exc:
            if isinstance(exc, Cancelled | ModelError | UsageError):
                raise  # not about this file: the whole batch cannot go on
            return self.failed(item, exc)

    def check_versions(self, part: Transcribed) -> None:
        """Refuse a piece decoded with other versions than the client's, as the worker
        itself does before decoding (:class:`WorkerMismatch`): checked here again because
        a worker with an older annotator may not know the rule."""
        record = part.worker
        theirs = {"annotator": str(record.get("annotator")), **record.get("engine", {})}
        if theirs != self.versions:
            address = record.get("address")
            host = str(record.get("host"))
            raise WorkerMismatch(host if address is None else f"{host} ({address})",
                                 theirs, self.versions)

    def store(self, item: _Pending, part: Transcribed) -> bool:
        """Store one piece and the worker that decoded it; True when it was the file's last
        piece and the file is stored."""
        last = part.next is None
        path = item.info.path

        def on_segment(seg: Any) -> None:
            self.sink.advanced(path, seg.end_ms)

        def on_wait(holder: dict[str, Any]) -> None:
            self.sink.waiting(path, holder)

        def started() -> None:  # the piece's run exists now (see _Replay)
            run = self.ws.unfinished_run(self.ws.media_by_sha(item.info.sha256).id)
            if run is not None:
                workers.record(self.ws, run.id, part.piece, part.worker)

        # _Replay has every attribute transcribe_file uses of an Engine (see its docstring).
        replay = cast(Engine, _Replay(part, item.warning, last=last, started=started))
        try:
            outcome = transcribe_file(
                self.ws, replay, item.info, force=self.force,
                wait=self.wait, on_wait=on_wait, on_segment=on_segment,
            )
        except Paused:
            with contextlib.suppress(NotFoundError):
                run = self.ws.unfinished_run(self.ws.media_by_sha(item.info.sha256).id)
                item.run_id = None if run is None else run.id
            return False
        fill_result(item.result, self.ws, outcome, self.options)
        if item.result.status is FileStatus.DONE:
            start = item.resumed_at
            item.result.note = None if start is None else (
                f"resumed an interrupted run from {runs.clock(start.restart_ms)} (the "
                "pieces before it were not decoded again)")
        return True

    def from_start(self, item: _Pending) -> bool:
        """The workers cannot resume the stored run (their engine versions differ from the
        ones that began it): decode the file again from its start, once."""
        if item.future is not None:
            self.flying.pop(item.future, None)
            item.future.cancel()
        item.restarts += 1
        if item.restarts > 1:
            return self.failed(item, ClusterError(
                f"{item.info.path}: its pieces were decoded by workers with different "
                "engine versions, so no run could be stored; install the same versions on "
                "every worker"))
        item.resumed_at, item.language, item.run_id = None, None, None
        return not self.submit(item, None, carry=True)

    def failed(self, item: _Pending, error: AnnotatorError) -> bool:
        """End the file with ``error``; a run this client left running between its pieces
        is marked failed (and resumed by the next start)."""
        if item.future is not None:
            self.flying.pop(item.future, None)
            item.future.cancel()
            item.future = None
        item.result.error = str(error)
        if item.run_id is not None:  # only a run this client left running between pieces
            with contextlib.suppress(NotFoundError):
                if self.ws.run(item.run_id).status is RunStatus.RUNNING:
                    runs.finish(self.ws, item.run_id, RunStatus.FAILED)
        return True


def _part(future: Future[Any], path: Path) -> Transcribed | Unheld | AnnotatorError:
    """One piece's result, or the error that ends its file."""
    try:
        done = future.result()
    except Exception as exc:  # lost workers (KilledWorker) or a task that kept raising
        return ClusterError(f"{path}: failed on the cluster ({type(exc).__name__}: {exc})")
    if isinstance(done, Failed):
        return done.error
    return cast(Transcribed | Unheld, done)

