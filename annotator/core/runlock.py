"""One writer per media: a run holds a lock on its media file's hash for as long as it works.

Why an advisory ``flock`` on a file beside the workspace (``<workspace>.locks/<sha256>.lock``)
rather than a heartbeat row and a pid check:

- the kernel releases a ``flock`` the moment its process dies, however it dies (``kill -9``,
  an out-of-memory kill, a power cut ends every process anyway), so a lock can never be left
  behind and nobody has to guess from a heartbeat's age whether a run is still alive;
- a pid can be reused by an unrelated process and a heartbeat row goes stale while a long
  piece is being decoded; neither is needed to decide, only to tell people who holds the
  lock (the holder writes its host, pid and start time into the lock file, and the run
  records the same in ``run.owner``);
- it is taken before the workspace is read to decide what to do, so two ``transcribe``
  commands on one file cannot both decide to start (or resume) the same run.

``flock`` locks belong to an open file, so two threads of one process (the review app's
worker) exclude each other too. It does not reach across machines on every network file
system; a workspace is meant to be used from one machine at a time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from annotator.errors import FileError

#: A lock found taken is tried again for this long before it counts as held: ``annotator
#: list`` takes it for an instant to see whether a run is alive.
GRACE_S = 2.0


class MediaBusyError(FileError):
    """Another process is transcribing this media into this workspace right now."""

    def __init__(self, path: Path | str, holder: dict[str, Any]) -> None:
        self.holder = holder
        super().__init__(
            path, f"being transcribed by {describe(holder)}; wait for it to finish, or add "
                  "--wait to wait for it",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.holder))


def describe(holder: dict[str, Any]) -> str:
    """``pid 123 on host since 2026-12-02T15:00:00+00:00`` (what is known of it)."""
    if not holder:
        return "another process"
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        f" since {holder.get('started', '?')}"
    )


def lock_path(db: Path, sha256: str) -> Path:
    """The lock file of one media in one workspace."""
    db = db.resolve()
    return db.with_name(db.name + ".locks") / f"{sha256}.lock"


def _try(fd: int, operation: int) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        found = json.loads(data.decode()) if data else {}
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


@contextlib.contextmanager
def media_lock(
    db: Path, sha256: str, media_path: Path, owner: dict[str, Any], *, wait: bool = False,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[None]:
    """Hold the media's lock for the body; raise :class:`MediaBusyError` naming the holder
    if another process has it (or, with ``wait``, call ``on_wait`` with the holder and wait
    until it is free)."""
    path = lock_path(db, sha256)
    try:
        path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise FileError(path, f"cannot create the run lock ({exc.strerror or exc})") from exc
    try:
        deadline = time.monotonic() + GRACE_S
        while not _try(fd, fcntl.LOCK_EX):
            if wait:
                if on_wait is not None:
                    on_wait(_read_holder(fd))
                fcntl.flock(fd, fcntl.LOCK_EX)
                break
            if time.monotonic() >= deadline:
                raise MediaBusyError(media_path, _read_holder(fd))
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def holder(db: Path, sha256: str) -> dict[str, Any] | None:
    """Who holds the media's lock now (its owner record, possibly empty), or None if no
    process does: a run marked running without a holder was interrupted."""
    path = lock_path(db, sha256)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # never locked (or not readable: nobody can be writing through it)
    try:
        if _try(fd, fcntl.LOCK_SH):
            return None
        return _read_holder(fd)
    finally:
        os.close(fd)
