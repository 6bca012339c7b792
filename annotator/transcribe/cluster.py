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
  one process does. So a task decodes one piece from the :class:`Checkpoint` the piece before
  it ended with (the first from the start) by the very :meth:`Engine.transcribe
  <annotator.transcribe.engine.Engine.transcribe>` a local run, or a local resume, runs, and
  returns the next piece's checkpoint; the client then sends the next piece to whichever
  worker is free. The pieces of one file therefore run one after another, possibly on
  several workers, and the words are those of one process by the engine's resume rule
  (tested against a local run); files run side by side. What pieces buy is a smaller unit
  of work: a worker lost in the middle of a long file costs that piece, not the file. A
  short file is one piece, so one task.
- **The worker decodes, the client writes.** Each task verifies the model's SHA-256 on its
  worker (and that it is the model the client verified), decodes, and returns every event the
  engine yielded (segments, checkpoints, coverage, the end) with the worker's host and engine
  versions. The client, the workspace's only writer, feeds those events to
  :func:`~annotator.transcribe.pipeline.transcribe_file` through :class:`_Replay`, a stand-in
  for the engine: the plan, the lock, the audit chain, checkpoints, coverage and warnings are
  those of a local run because the code is the same. A file is stored when its last piece
  arrives.
- **Media travel** as bytes, checked against the SHA-256 the client computed when they arrive,
  or by path with ``shared_fs`` (checked the same way on the worker: a different file under
  the same path is refused). Files the workspace already holds are never sent, and at most
  :data:`IN_FLIGHT_PER_WORKER` files per worker are sent ahead, so the client's memory is
  bounded by a few files, not the archive.
- **Failures.** A file's own error (corrupt, unreadable, damaged on the way) comes back as a
  value and fails that file alone, named in the summary. A worker lost mid-task is Dask's
  business: the scheduler runs the task on another worker, up to its
  ``distributed.scheduler.allowed-failures`` (default 3) lost workers per task, and a task
  that raises is tried again ``retries=`` :data:`RETRIES` times; only the client's copy of a
  result is stored, so a file is stored once however often it ran. A client stopped midway
  (Ctrl-C, a crash) resumes from the workspace: files stored are skipped, a file whose
  storing was cut off is resumed from its checkpoint like a local run.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import signal
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import dask
from distributed import Client, Future, LocalCluster, as_completed

from annotator import __version__
from annotator.core.media import Probe, probe
from annotator.core.model import Checkpoint
from annotator.core.store import Workspace
from annotator.errors import AnnotatorError, FileError, MediaError, ModelError, UsageError
from annotator.transcribe.engine import (
    Engine,
    EngineEvent,
    EngineInfo,
    TranscribeOptions,
    engine_versions,
)
from annotator.transcribe.models import ResolvedModel, resolve_model, sha256_file
from annotator.transcribe.pipeline import (
    Cancelled,
    FileResult,
    FileStatus,
    NullProgress,
    Progress,
    fill_result,
    finish_result,
    known_result,
    transcribe_file,
)

#: ``--scheduler`` may come from the environment instead.
SCHEDULER_ENV = "ANNOTATOR_SCHEDULER"
#: Times a task that raises (not a file's own error: those come back as values) is retried.
RETRIES = 2
#: Files sent ahead per worker: enough to keep every worker busy while results are stored,
#: few enough that files sent as bytes do not pile up in the client's and scheduler's memory.
IN_FLIGHT_PER_WORKER = 2
_LOCAL = re.compile(r"local(?::(\d+))?")


class ClusterError(AnnotatorError):
    """The scheduler cannot be reached or started, or the cluster cannot do the work."""


# -- on the worker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One file as it is sent to a worker: by path (``shared_fs``) or as its bytes."""

    name: str  # the client's path, for every message about the file
    sha256: str
    options: TranscribeOptions
    model_sha256: str  # the model the client verified: every worker must decode with it
    path: str | None = None
    data: bytes | None = None
    #: the piece to decode: None for the first, else its checkpoint (from the piece before)
    resume: Checkpoint | None = None
    language: str | None = None  # the language the first piece found (for later pieces)


@dataclass(frozen=True)
class Transcribed:
    """What a worker sends back: every event the engine yielded, and what made them."""

    info: EngineInfo
    events: list[EngineEvent]
    model: ResolvedModel
    versions: dict[str, str]
    provenance: dict[str, Any]  # the worker's Engine.provenance_options()
    warning: str | None  # the engine's note that nothing could check the language, if any
    worker: dict[str, Any]  # host, pid, address, annotator version, seconds decoding
    #: the next piece's checkpoint, when the file goes on after this piece (None: its end)
    next: Checkpoint | None = None


@dataclass(frozen=True)
class Failed:
    """A file's own error, sent back as a value so Dask does not retry it elsewhere."""

    error: AnnotatorError
    worker: dict[str, Any]


_engines = threading.local()  # one Engine per worker thread and options (Engine is not shared)


def transcribe_task(job: Job, data: bytes | None = None) -> Transcribed | Failed:
    """Run on a worker: verify the model and the media, decode one piece of the file (the
    first, or the one ``job.resume`` starts), return its events and the next piece's
    checkpoint. ``data``: the file's bytes when they are not in the job (the client sends
    them once per file as a task of their own, see :func:`_drain`).

    The Engine is kept between tasks, as a local batch keeps it between files (loading the
    models is not paid per file); every piece starts with a freshly seeded decoder
    (Engine._fresh_decoder), so what a worker decoded before does not change a file's words.
    """
    worker = _worker_record()
    started = time.perf_counter()
    if data is not None:
        job = replace(job, data=data)
    try:
        engine = _engine(job.options)
        model = resolve_model(job.options.model)  # hashes model.bin (cached by size and time)
        if model.sha256 != job.model_sha256 or engine.model.sha256 != model.sha256:
            raise ModelError(
                job.options.model,
                f"worker {worker['host']} has model.bin with SHA-256 {model.sha256}, the "
                f"client verified {job.model_sha256}: install the same model on every worker",
            )
        with _media(job, worker["host"]) as path:
            info, stream = engine.transcribe(path, job.resume, job.language)
            events, following = one_piece(stream, job.resume)
    except FileError as exc:
        return Failed(MediaError(job.name, exc.cause), worker)  # the client's name, not a temp
    except AnnotatorError as exc:
        return Failed(exc, worker)
    worker["seconds"] = round(time.perf_counter() - started, 3)
    router = getattr(engine, "router", None)
    return Transcribed(
        info, events, engine.model, engine.versions, engine.provenance_options(),
        getattr(router, "warning", None), worker, following,
    )


def one_piece(
    stream: Iterator[EngineEvent], start: Checkpoint | None
) -> tuple[list[EngineEvent], Checkpoint | None]:
    """The events of the piece a decode starts with (its checkpoint, segments, coverage,
    and the end if it is the last), and the next piece's checkpoint if there is one.

    The engine yields a piece's checkpoint once it has prepared that piece (decoded its audio
    and started the model on it), so stopping there wastes that preparation: the task of the
    next piece, on whichever worker, does it again from the checkpoint."""
    first = 0 if start is None else start.piece
    events: list[EngineEvent] = []
    try:
        for event in stream:
            if isinstance(event, Checkpoint) and event.piece > first:
                return events, event
            events.append(event)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return events, None


def _engine(options: TranscribeOptions) -> Engine:
    cache: dict[str, Engine] = getattr(_engines, "cache", None) or {}
    _engines.cache = cache
    key = repr(options)
    if key not in cache:
        cache.clear()  # one loaded model set per thread
        cache[key] = Engine(options)
    return cache[key]


def _worker_record() -> dict[str, Any]:
    address = None
    with contextlib.suppress(ValueError):
        from distributed import get_worker

        address = get_worker().address
    return {
        "host": socket.gethostname(), "pid": os.getpid(), "address": address,
        "annotator": __version__, "engine": engine_versions(),
    }


@contextlib.contextmanager
def _media(job: Job, host: str) -> Iterator[Path]:
    """The file to decode on this worker, after checking it is the client's file."""
    if job.path is not None:
        path = Path(job.path)
        try:
            digest = sha256_file(path)
        except OSError as exc:
            raise MediaError(
                job.name, f"cannot be read on worker {host} ({exc.strerror or exc}); "
                "without --shared-fs files are sent to the workers",
            ) from exc
        if digest != job.sha256:
            raise MediaError(
                job.name, f"the file at this path on worker {host} has SHA-256 "
                f"{digest[:12]}…, the client's {job.sha256[:12]}…: not the same file",
            )
        yield path
        return
    data = job.data or b""
    digest = hashlib.sha256(data).hexdigest()
    if digest != job.sha256:
        raise MediaError(
            job.name, f"arrived damaged on worker {host} (SHA-256 {digest[:12]}…, sent "
            f"{job.sha256[:12]}…)",
        )
    with tempfile.TemporaryDirectory(prefix="annotator-") as tmp:
        path = Path(tmp) / Path(job.name).name
        path.write_bytes(data)
        yield path


# -- on the client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _RouterNote:
    warning: str | None


class _Replay:
    """What :func:`transcribe_file` needs of an :class:`Engine`, answered from a worker's
    result: the model, versions and options it ran with, and its events replayed.

    A resumed run (the client stopped while storing this file) is fed the events from the
    checkpoint it resumes at: the worker decoded the whole file, and a decode from the start
    yields, from that checkpoint on, what a decode from the checkpoint yields (the resume
    rule the engine guarantees and tests/transcribe/test_resume.py checks).
    """

    def __init__(self, done: Transcribed) -> None:
        self.done = done
        self.model = done.model
        self.versions = done.versions
        self.router = _RouterNote(done.warning)

    def provenance_options(self) -> dict[str, Any]:
        return dict(self.done.provenance)

    def transcribe(
        self, path: Path, resume: Checkpoint | None = None, language: str | None = None
    ) -> tuple[EngineInfo, Iterator[EngineEvent]]:
        events = self.done.events
        if resume is not None and resume.piece > 0:
            at = next((i for i, e in enumerate(events)
                       if isinstance(e, Checkpoint) and e.piece == resume.piece), None)
            if at is None:
                raise MediaError(path, f"the worker's decode has no piece {resume.piece} to "
                                       "resume the stored run from")
            events = events[at:]
        # The worker is recorded with the run's options (not compared when resuming).
        info = replace(self.done.info, options={**self.done.info.options,
                                                "worker": self.done.worker})
        return info, iter(events)


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
    """
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}), _ctrl_c_for_client():
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
    job: Job | None = None  # as sent for the first piece
    data: Future[Any] | None = None  # the task holding the file's bytes (not --shared-fs)
    parts: list[Transcribed] = field(default_factory=list)  # the pieces decoded so far


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
    task: Callable[..., Transcribed | Failed] = transcribe_task,
    client: Client | None = None,
) -> list[FileResult]:
    """:func:`~annotator.transcribe.pipeline.run_batch` with the decoding done on a Dask
    cluster; the same results, in the order of ``paths``. ``client``: one already connected
    (tests, benchmarks); otherwise :func:`connect` to ``scheduler``. ``task`` is what runs
    on the workers, called with the job and the file's bytes (None with ``shared_fs``);
    tests wrap it to kill a worker or damage a file on the way."""
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
            queue.append(_Pending(result, info, started))
    if queue:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(connect(scheduler))
            _drain(client, ws, queue, model, options, shared_fs=shared_fs, force=force,
                   wait=wait, sink=sink, after_file=after_file, task=task)
    for copy in copies:
        if not known_result(copy.result, ws, copy.info.sha256, options):
            copy.result.error = (f"{copy.info.path}: same content as "
                                 f"{sent[copy.info.sha256]}, which failed")
        finish_result(copy.result, copy.started, after_file, sink)
    return order


def _drain(
    client: Client, ws: Workspace, queue: deque[_Pending], model: ResolvedModel,
    options: TranscribeOptions, *, shared_fs: bool, force: bool, wait: bool, sink: Progress,
    after_file: Callable[[FileResult], None] | None, task: Callable[..., Any],
) -> None:
    """Send files a few per worker ahead, one task per piece: when a piece comes back, its
    file's next piece is sent (to whichever worker is free), and when the last one does, the
    file's result is stored and the next file sent.

    A piece is decoded from the checkpoint the piece before it ended with, so the pieces of
    one file are decoded one after another (on any workers) and stitched with the overlap
    rule of a local run: the words are those of one process. What pieces buy is a smaller
    unit of work: a lost worker costs the piece it was decoding, not the whole file. The
    bytes of a file travel once per worker that decodes one of its pieces: they are sent as
    a task of their own, which Dask keeps (and runs again if the worker holding it is lost)
    until the file is done.
    """
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    limit = IN_FLIGHT_PER_WORKER * workers
    flying: dict[Future[Any], _Pending] = {}
    arrived = as_completed()

    def submit(item: _Pending, job: Job) -> None:
        piece = 0 if job.resume is None else job.resume.piece
        future = client.submit(
            task, job, item.data, retries=RETRIES, pure=False,
            key=f"annotator-transcribe-{item.info.sha256[:16]}-{piece}-{id(item)}",
        )
        flying[future] = item
        arrived.add(future)

    def send() -> None:
        item = queue.popleft()
        path = item.info.path
        try:
            data = None if shared_fs else path.read_bytes()
        except OSError as exc:
            item.result.error = str(MediaError(path, f"cannot be read ({exc.strerror or exc})"))
            finish_result(item.result, item.started, None, sink)
            return
        item.job = Job(str(path), item.info.sha256, options, model.sha256,
                       str(path.resolve()) if shared_fs else None)
        if data is not None:
            item.data = client.submit(_held, data, pure=False,
                                      key=f"annotator-media-{item.info.sha256[:16]}-{id(item)}")
        submit(item, item.job)
        sink.file_started(path, item.info.duration_ms)

    try:
        while queue and len(flying) < limit:
            send()
        for future in arrived:
            item = flying.pop(future)
            part = _part(future, item.info.path)
            if isinstance(part, Transcribed) and part.next is not None and item.job is not None:
                item.parts.append(part)
                first = item.parts[0].info.language
                submit(item, replace(item.job, resume=part.next, language=first))
                continue
            _store(item.parts, part, item, ws, options, force=force, wait=wait, sink=sink)
            item.data = None  # the bytes are no longer needed on the cluster
            finish_result(item.result, item.started, after_file, sink)
            while queue and len(flying) < limit:
                send()
    except BaseException:
        for future in flying:  # Ctrl-C or a batch-stopping error: nothing more to decode
            future.cancel()
        raise


def _held(data: bytes) -> bytes:
    """The task that holds a file's bytes on the cluster for the tasks of its pieces."""
    return data


def _part(future: Future[Any], path: Path) -> Transcribed | AnnotatorError:
    """One piece's result, or the error that ends its file."""
    try:
        done = future.result()
    except Exception as exc:  # lost workers (KilledWorker) or a task that kept raising
        return ClusterError(f"{path}: failed on the cluster ({type(exc).__name__}: {exc})")
    if isinstance(done, Failed):
        return done.error
    return cast(Transcribed, done)


def joined(parts: list[Transcribed]) -> Transcribed:
    """A file's pieces as one result: the first piece's info, model and options, every
    event in order, and the workers that decoded each piece (``worker`` is the first
    piece's, with ``seconds`` summed over all and ``pieces`` listing each)."""
    first = parts[0]
    pieces = [
        {"piece": n, **{k: p.worker.get(k) for k in ("host", "pid", "address", "seconds")}}
        for n, p in enumerate(parts)
    ]
    seconds = round(sum(float(p.worker.get("seconds", 0.0)) for p in parts), 3)
    return replace(
        first, events=[e for p in parts for e in p.events], next=None,
        warning=next((p.warning for p in parts if p.warning is not None), None),
        worker={**first.worker, "seconds": seconds, "pieces": pieces},
    )


def _store(
    parts: list[Transcribed], last: Transcribed | AnnotatorError, item: _Pending,
    ws: Workspace, options: TranscribeOptions, *, force: bool, wait: bool, sink: Progress,
) -> None:
    """Store one file's pieces through the local path's code, or record why it failed."""
    path, result = item.info.path, item.result
    try:
        if isinstance(last, AnnotatorError):
            raise last
        done = joined([*parts, last])

        def on_segment(seg: Any) -> None:
            sink.advanced(path, seg.end_ms)

        def on_wait(holder: dict[str, Any]) -> None:
            sink.waiting(path, holder)

        # _Replay has every attribute transcribe_file uses of an Engine (see its docstring).
        outcome = transcribe_file(
            ws, cast(Engine, _Replay(done)), item.info, force=force, wait=wait,
            on_wait=on_wait, on_segment=on_segment,
        )
        fill_result(result, ws, outcome, options)
    except AnnotatorError as exc:
        if isinstance(exc, Cancelled | ModelError | UsageError):
            raise  # not about this file: the whole batch cannot go on
        result.error = str(exc)
