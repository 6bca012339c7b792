"""Writing an export so that a reader never sees half a file.

An export may be handed over as evidence or published as captions; a crash, a full disk or a
bug in a writer must never leave a truncated file where a good one was. :func:`write_atomic`
writes a temporary file in the destination folder (so the final rename stays on one
filesystem), flushes it to disk, then renames it over the destination with :func:`os.replace`,
which is atomic on POSIX and Windows. On any failure the temporary file is removed and an
older file at the destination is left as it was.

The result has the permissions a plain ``open(path, "w")`` would give: a replaced file keeps
its mode (someone who made an export private keeps it private), a new file gets ``0666``
minus the umask. (:func:`tempfile.mkstemp` alone would leave every export at ``0600``, which
breaks serving captions from a web folder and protects nothing: the workspace holds the same
text.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from annotator.errors import ExportError


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably; raise :class:`ExportError`."""
    try:
        # The temporary name adds 14 bytes to the final one: cut it so it fits a file system
        # that the final name just fits (255 bytes).
        stem = path.name.encode()[:200].decode("utf-8", errors="ignore")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        cause = _cause(exc) if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (
            f"cannot create a file in {path.parent} ({exc.strerror})")
        raise ExportError(path, cause) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fp:
            if hasattr(os, "fchmod"):
                os.fchmod(fp.fileno(), _mode_for(path))
            fp.write(data)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(path, _cause(exc)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _cause(exc: OSError) -> str:
    """Why a write failed, in the words a user acts on: a full disk is said as such."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full ({reason}); an older file there is kept"
    return f"cannot write ({reason})"


def _mode_for(path: Path) -> int:
    """The existing file's permission bits, else ``0o666`` minus the process umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The umask, read without changing it (``os.umask`` can only be read by setting it,
    which would race with other threads creating files); 0o022 where it cannot be read."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0o022
    for line in status.splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
