"""What runs on a Dask worker for ``annotator transcribe --scheduler`` (issue 11).

A task decodes one piece of one file (:mod:`annotator.transcribe.cluster` explains why pieces
run one after another) and sends back every event the engine yielded for it. The client
does the rest; this module holds only what a worker keeps between tasks, so that a piece
costs its decode and little else:

- **One loaded engine per worker thread** (:func:`_engine`), kept between tasks and files as
  a local batch keeps it between files: loading the models is paid once per worker, not per
  task. Every piece still starts from a freshly seeded decoder (``Engine._fresh_decoder``),
  so what a worker decoded before does not change a file's words.
- **A file's bytes travel once per worker that decodes it.** The first piece's task carries
  them; the worker checks them against the client's SHA-256, writes them to a private
  temporary file and keeps a few such files (:data:`FILES_HELD`), so the next pieces, which
  the client sends to the same worker, carry nothing but their checkpoint. A piece that
  lands on a worker without the file (the one holding it was lost, or it was dropped to
  keep the others) answers :class:`Unheld` and the client sends it again with the bytes.
  With ``--shared-fs`` the file is read in place, hashed once per worker (again only if
  its size or time change).
- **The worker's record** (host, versions) is read once per process.
- **One set of versions.** The client sends its annotator and engine versions with every
  task; a worker running others refuses the task (:class:`WorkerMismatch`, naming the worker
  and both versions) before it loads a model, and the client stops the batch: a run's
  provenance names one engine for all of its segments, and pieces decoded by other versions
  could not be resumed by the client's (the pieces stored until then are kept and resumed
  once every worker matches).

Dask is imported here only inside :func:`_worker_address`, for the worker's address.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from annotator import __version__
from annotator.core.model import Checkpoint
from annotator.errors import AnnotatorError, FileError, MediaError, ModelError
from annotator.transcribe.engine import (
    Engine,
    EngineEvent,
    EngineInfo,
    TranscribeOptions,
    engine_versions,
)
from annotator.transcribe.models import ResolvedModel, sha256_file


class ClusterError(AnnotatorError):
    """The scheduler cannot be reached or started, or the cluster cannot do the work."""


class WorkerMismatch(ClusterError):
    """A worker runs other annotator or engine versions than the client: the batch stops
    (installing the same versions everywhere is the fix), rather than store pieces whose
    provenance differs from the run's. Keeps the worker and both sets of versions."""

    def __init__(self, worker: str, theirs: dict[str, str], ours: dict[str, str]) -> None:
        self.worker, self.theirs, self.ours = worker, theirs, ours
        names = sorted(k for k in {*theirs, *ours} if theirs.get(k) != ours.get(k))
        differ = ", ".join(
            f"{k} {theirs.get(k, 'missing')} (this client: {ours.get(k, 'missing')})"
            for k in names
        )
        super().__init__(
            f"worker {worker} runs {differ}: install the same annotator and engine versions "
            "on every worker and on this machine"
        )


#: Files (sent as bytes) a worker process keeps for the next pieces of their files: the
#: client keeps at most two files per worker in flight (cluster.IN_FLIGHT_PER_WORKER), so
#: four leaves room for a piece sent again after a lost worker.
FILES_HELD = 4


@dataclass(frozen=True)
class Job:
    """One piece of one file as it is sent to a worker: the file by path (``shared_fs``),
    as its bytes (its first piece on a worker), or by its SHA-256 alone (the worker holds it
    from an earlier piece)."""

    name: str  # the client's path, for every message about the file
    sha256: str
    options: TranscribeOptions
    model_sha256: str  # the model the client verified: every worker must decode with it
    path: str | None = None
    data: bytes | None = None
    #: the piece to decode: None for the first, else its checkpoint (from the piece before)
    resume: Checkpoint | None = None
    language: str | None = None  # the language the first piece found (for later pieces)
    #: the client's annotator and engine versions (:func:`client_versions`): a worker with
    #: others refuses the task (None: not checked)
    versions: dict[str, str] | None = None


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

    @property
    def piece(self) -> int:
        """The piece these events belong to (a file without audio has no checkpoint: 0)."""
        first = self.events[0] if self.events else None
        return first.piece if isinstance(first, Checkpoint) else 0


@dataclass(frozen=True)
class Failed:
    """A file's own error, sent back as a value so Dask does not retry it elsewhere (or a
    :class:`WorkerMismatch`, which the client raises: it stops the batch)."""

    error: AnnotatorError
    worker: dict[str, Any]


@dataclass(frozen=True)
class Unheld:
    """The worker does not hold the file this piece needs: send the piece with its bytes."""

    worker: dict[str, Any]
    resume: Checkpoint | None  # the piece asked for


_engines = threading.local()  # one Engine per worker thread (an Engine is not shared)


def transcribe_task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
    """Run on a worker: check the model and the media, decode one piece of the file (the
    first, or the one ``job.resume`` starts), return its events and the next piece's
    checkpoint. ``data``: the file's bytes, when they are not in the job (tests' wrappers
    damage them on the way)."""
    worker = _worker_record()
    started = time.perf_counter()
    if data is not None:
        job = replace(job, data=data)
    if job.versions is not None:
        mine = {"annotator": str(worker["annotator"]), **worker["engine"]}
        if mine != job.versions:
            name = worker["host"] if worker["address"] is None else (
                f"{worker['host']} ({worker['address']})")
            return Failed(WorkerMismatch(name, mine, job.versions), worker)
    try:
        engine = _engine(job.options)
        if engine.model.sha256 != job.model_sha256:  # the loaded model, hashed on loading
            raise ModelError(
                job.options.model,
                f"worker {worker['host']} has model.bin with SHA-256 {engine.model.sha256}, "
                f"the client verified {job.model_sha256}: install the same model on every "
                "worker",
            )
        path = _media(job, worker["host"])
        if path is None:
            return Unheld(worker, job.resume)
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

    The engine yields a piece's checkpoint before it prepares that piece (reloads the
    decoder, detects languages, starts the model on it), so stopping there costs the next
    piece's audio read and nothing of its decode: the task of the next piece, on whichever
    worker, prepares it from the checkpoint."""
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


_process: dict[str, Any] = {}  # what does not change in a worker process: host, versions


def client_versions() -> dict[str, str]:
    """What a worker must run to decode for this client: annotator's version and the
    engine's (:func:`~annotator.transcribe.engine.engine_versions`)."""
    return {"annotator": __version__, **engine_versions()}


def _worker_record() -> dict[str, Any]:
    if not _process:
        _process.update(host=socket.gethostname(), pid=os.getpid(), annotator=__version__,
                        engine=engine_versions())
    return {**_process, "address": _worker_address()}


def _worker_address() -> str | None:
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        return str(get_worker().address)
    return None


class _Held:
    """The files this worker process holds for the next pieces of their files: bytes sent
    by the client (in a private folder, oldest dropped first) and, with ``--shared-fs``,
    paths already hashed (by size and time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: OrderedDict[str, Path] = OrderedDict()  # sha256 -> private copy
        self.hashed: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256
        self.folder: Path | None = None

    def get(self, sha256: str) -> Path | None:
        with self.lock:
            path = self.files.get(sha256)
            if path is not None:
                self.files.move_to_end(sha256)
            return path

    def put(self, sha256: str, name: str, data: bytes) -> Path:
        with self.lock:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="annotator-worker-"))
                atexit.register(shutil.rmtree, self.folder, True)
            path = self.folder / sha256 / Path(name).name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            self.files[sha256] = path
            while len(self.files) > FILES_HELD:
                _, old = self.files.popitem(last=False)
                shutil.rmtree(old.parent, ignore_errors=True)
            return path

    def digest(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        found = self.hashed.get(key)
        if found is None:
            found = self.hashed[key] = sha256_file(path)
        return found


_held = _Held()


def _media(job: Job, host: str) -> Path | None:
    """The file to decode on this worker, checked against the client's SHA-256; None when
    the job carries neither a path nor bytes and this worker does not hold the file."""
    if job.path is not None:
        path = Path(job.path)
        try:
            digest = _held.digest(path)
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
        return path
    if job.data is None:
        return _held.get(job.sha256)
    digest = hashlib.sha256(job.data).hexdigest()
    if digest != job.sha256:
        raise MediaError(
            job.name, f"arrived damaged on worker {host} (SHA-256 {digest[:12]}…, sent "
            f"{job.sha256[:12]}…)",
        )
    try:
        return _held.put(job.sha256, job.name, job.data)
    except OSError as exc:
        raise MediaError(job.name, f"cannot be kept on worker {host} ({exc})") from exc
