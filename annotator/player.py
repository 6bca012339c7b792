"""Play the media under review through a real ``mpv`` process, driven over its JSON IPC socket.

Why IPC rather than libmpv bindings: the stock ``mpv`` binary (``apt-get install mpv``) is the
only dependency, with nothing to compile or to match against a libmpv ABI, and a player crash
cannot take the review app down with it: commands then raise :class:`PlayerError`.

Threading: every public method may be called from any thread (the TUI calls them from thread
workers and timers); each waits at most ``timeout`` seconds for mpv's reply, matched to its
command by ``request_id``. One background reader thread parses mpv's replies and events line by
line. The ``on_position`` callback (milliseconds, or None when nothing is loaded) runs **on that
reader thread**: UI code must hand it to its own thread (``App.call_from_thread``) and return fast;
it cannot send commands itself (they would wait for the thread that delivers their replies).

How :meth:`Player.play_range` stops at the segment end: mpv has no "pause at T" command
(``ab-loop`` repeats; ``--end`` ends the whole file), so the reader watches the ``time-pos``
events mpv sends every 50-200 ms while playing. Each event re-estimates the wall-clock time left
until the end at the current ``speed``; once that is under :data:`_HORIZON_S` a one-shot timer is
armed to set ``pause`` right on time (an event already past the end pauses at once). Positions
outside the range are ignored until the seek has landed, so a stale event from before the seek
cannot stop the new range early. Pausing keeps the range (resuming still stops at its end);
:meth:`~Player.play_from`, :meth:`~Player.seek_relative` and a new ``play_range`` replace it.

No sound device (a server, a container, a broken sound setup): mpv would fail to open its audio
output just after loading the file, unload it ("audio output initialization failed"), and every
later seek would fail. So mpv runs with ``--audio-fallback-to-null=yes``: it then plays through
its ``null`` output instead, in real time, so positions and range stops work as usual. How it is
detected: :meth:`Player.start` waits for mpv's ``current-ao`` property (the output it actually
opened, set right after the load, paused or not); ``null`` means no sound, and
:attr:`Player.silent` says so, with mpv's own ``[ao/...]`` error lines in
:attr:`Player.silent_reason`. Those lines come from mpv's log over IPC (warnings and errors, which
also explain failed commands); the output file only serves until the socket is up.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from annotator.errors import AnnotatorError, MediaError

log = logging.getLogger(__name__)

#: Playback speeds the review UI offers.
SPEEDS: tuple[float, ...] = (0.75, 1.0, 1.5)
#: Step of the UI's back/forward keys, in milliseconds.
SEEK_STEP_MS = 5000
INSTALL_ADVICE = "install it: `apt-get install mpv` (Debian, Ubuntu) or `brew install mpv` (macOS)"

_HORIZON_S = 0.5  # arm the stop timer when the end is this close (events come every <= 0.2 s)
_TIME_POS, _PAUSE, _SPEED, _AO = 1, 2, 3, 4  # our observe_property ids
_OBSERVED = ((_TIME_POS, "time-pos"), (_PAUSE, "pause"), (_SPEED, "speed"), (_AO, "current-ao"))


class PlayerState(enum.StrEnum):
    """Where a player stands; decides which keys the review app offers and what its status
    bar says. (A ``StrEnum``: each state compares equal to its old string name.)"""

    NONE = "none"  #: no mpv running: not started yet, or closed
    STARTING = "starting"  #: mpv is being launched and the file loaded
    READY = "ready"  #: mpv is up, the file loaded, commands work
    FAILED = "failed"  #: mpv died, refused the file or could not start (see ``failure``)


def find_mpv() -> str | None:
    """The path of the ``mpv`` executable on PATH, or None."""
    return shutil.which("mpv")


class PlayerError(AnnotatorError):
    """mpv failed to start, died, or refused or did not answer a command."""

    def __init__(self, cause: str, command: str | None = None) -> None:
        self.cause = cause
        self.command = command
        super().__init__(f"mpv {command}: {cause}" if command else f"mpv: {cause}")


class PlayerUnavailable(PlayerError):
    """No usable mpv executable; the message says how to install one."""

    def __init__(self, mpv: str | None, cause: str | None = None) -> None:
        self.mpv = mpv
        where = cause or ("not found on PATH" if mpv is None else f"{mpv!r} is not an executable")
        super().__init__(f"{where}; {INSTALL_ADVICE}")


@dataclass
class _Range:
    gen: int
    start_s: float
    end_s: float
    live: bool = False  # True once a position inside the range shows the seek has landed


def _reap(proc: subprocess.Popen[bytes], tmp: Path) -> None:
    """Make sure mpv is gone and waited for (no zombie), then delete its private temp dir."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)


class Player:
    """One mpv process playing one media file, paused until told otherwise.

    ``start()`` (or ``with Player(...) as player:``) launches mpv and loads the file; ``close()``
    quits it. ``mpv`` overrides the executable (default: ``mpv`` on PATH); ``extra_args`` go to
    mpv first, so ours win (tests pass ``--ao=null --vo=null``). Times are integer milliseconds.
    """

    def __init__(
        self,
        media_path: Path | str,
        *,
        video: bool = False,
        extra_args: Sequence[str] = (),
        mpv: str | None = None,
        on_position: Callable[[int | None], None] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.media_path = Path(media_path)
        self.video = video
        self.extra_args = tuple(extra_args)
        self.mpv = mpv
        self.on_position = on_position
        self.timeout = timeout
        self._lock = threading.Lock()  # state below; taken before _send_lock, never after
        self._send_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._dead: str | None = None  # why mpv can no longer be used, once it can't
        self._load_done = threading.Event()  # set by file-loaded, a load error or mpv's death
        self._load_error: str | None = None
        self._range: _Range | None = None
        self._range_gen = 0
        self._timer: threading.Timer | None = None
        self._speed = 1.0
        self._log: deque[str] = deque(maxlen=20)  # mpv's latest warnings and errors, from IPC
        self._ao: str | None = None  # the audio output mpv opened (its current-ao)
        self._ao_known = threading.Event()  # set by current-ao, a load error or mpv's death
        self._silent_reason: str | None = None
        self._starting = False
        self._failure: str | None = None  # why start() failed
        self._closed = False  # close() was called on a healthy player

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Launch mpv, wait (at most ``timeout``) for its socket and for the file to load."""
        if self._proc is not None:
            return
        if self._dead is not None:
            raise PlayerError(self._dead)
        self._starting = True
        try:
            self._start()
        except BaseException as exc:
            self._failure = str(exc)
            raise
        finally:
            self._starting = False

    def _start(self) -> None:
        mpv = shutil.which(self.mpv) if self.mpv else find_mpv()
        if mpv is None:
            raise PlayerUnavailable(self.mpv)
        if not self.media_path.is_file():
            raise MediaError(self.media_path, "no such file")
        self._dir = tmp = Path(tempfile.mkdtemp(prefix="annotator-mpv-"))  # mode 0700
        sock_path = tmp / "ipc.sock"
        # No --no-terminal: mpv pre-parses it and then stays silent even about a bad option.
        # mpv gets no terminal anyway (stdin is /dev/null, output goes to a file), and only
        # its errors are written there, for the messages of the errors raised here.
        args = [mpv, *self.extra_args, "--idle=yes", "--pause", "--keep-open=yes",
                f"--input-ipc-server={sock_path}", "--no-input-terminal",
                "--msg-level=all=error", "--audio-fallback-to-null=yes",
                "--vid=auto" if self.video else "--vid=no"]
        try:
            with open(tmp / "output.txt", "wb") as out:
                self._proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
                )
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise PlayerUnavailable(mpv, f"{mpv!r} cannot be run ({exc.strerror})") from exc
        self._finalizer = weakref.finalize(self, _reap, self._proc, tmp)
        try:
            self._connect(self._proc, sock_path)
            self._command("request_log_messages", "warn")
            for pid, name in _OBSERVED:
                self._command("observe_property", pid, name)
            self._command("loadfile", str(self.media_path))
            done = self._load_done.wait(self.timeout)
            self._check_loaded()
            if not done:
                raise PlayerError(f"{self.media_path} not loaded within {self.timeout:g} s")
            self._check_audio_output()
        except BaseException:
            self.close()
            raise

    def _check_loaded(self) -> None:
        if self._dead is not None:
            raise PlayerError(self._dead)
        if self._load_error is not None:
            raise MediaError(self.media_path, f"mpv cannot play it: {self._load_error}"
                             f"{self._diagnostics()}")

    def _check_audio_output(self) -> None:
        """Wait for the audio output mpv opens after the load; note if it is the silent ``null``."""
        if self._request("get_property", "current-tracks/audio").get("error") != "success":
            return  # no audio track (or an mpv older than 0.33): no sound to miss
        if not self._ao_known.wait(self.timeout):
            log.warning("mpv opened no audio output within %g s%s", self.timeout,
                        self._diagnostics())
            return
        self._check_loaded()
        if self._ao != "null":
            return
        # This reply also comes after the log lines mpv had queued before it switched to null.
        asked = self._command("get_property", "ao")  # the --ao list, e.g. [{"name": "null"}]
        items = asked if isinstance(asked, list) else []
        names = [item.get("name") for item in items if isinstance(item, dict)]
        if names == ["null"]:
            self._silent_reason = "mpv was asked for no audio output (--ao=null)"
        else:
            lines = [line for line in self._log if line.startswith("[ao")]
            self._silent_reason = " | ".join(lines[-3:]) or (
                "mpv could not open an audio device and plays silently (--ao=null)")

    def _connect(self, proc: subprocess.Popen[bytes], path: Path) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if proc.poll() is not None:
                raise PlayerError(f"exited with code {proc.returncode} while starting"
                                  f"{self._diagnostics()}")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
                break
            except OSError:  # not there yet, or not listening yet
                sock.close()
            if time.monotonic() > deadline:
                raise PlayerError(f"no IPC socket after {self.timeout:g} s{self._diagnostics()}")
            time.sleep(0.02)
        self._sock = sock
        self._reader = threading.Thread(target=self._read_loop, args=(proc, sock),
                                        name="mpv-reader", daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Quit mpv, reap it and delete its temp dir. Safe to call twice or after a failure."""
        if self._dead is None:
            self._closed = True
        self._mark_dead("the player was closed")
        proc, sock = self._proc, self._sock
        if proc is not None and sock is not None and proc.poll() is None:
            with contextlib.suppress(OSError), self._send_lock:
                sock.sendall(b'{"command": ["quit"]}\n')
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        if self._finalizer is not None:
            self._finalizer()  # terminate/kill if quit was not enough, wait, remove the temp dir
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=2)

    def __enter__(self) -> Player:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def silent(self) -> bool:
        """True when mpv plays without sound (``--ao=null``: asked for, or no audio device).

        Known once :meth:`start` has returned; False for media without an audio track.
        """
        return self._silent_reason is not None

    @property
    def silent_reason(self) -> str:
        """Why :attr:`silent`: mpv's audio output errors where it gave any; "" when not silent."""
        return self._silent_reason or ""

    @property
    def state(self) -> PlayerState:
        """:class:`PlayerState`: ``READY`` exactly when :attr:`running` is True and the
        file is loaded; ``FAILED`` when mpv died, refused the file or could not start."""
        if self._starting:
            return PlayerState.STARTING
        if self._failure is not None:
            return PlayerState.FAILED
        if self._closed:
            return PlayerState.NONE
        if self._dead is not None or (self._proc is not None and self._proc.poll() is not None):
            return PlayerState.FAILED
        if self._proc is None:
            return PlayerState.NONE
        return PlayerState.READY

    @property
    def failure(self) -> str | None:
        """Why the player is ``FAILED`` (None otherwise)."""
        if self.state is not PlayerState.FAILED:
            return None
        return self._failure or self._dead or "mpv exited"

    @property
    def running(self) -> bool:
        """True while mpv is up and answering; False before start(), after close() or a crash."""
        return self._proc is not None and self._dead is None and self._proc.poll() is None

    # -- commands --------------------------------------------------------------------------

    def play_range(self, start_ms: int, end_ms: int) -> None:
        """Play from ``start_ms`` and pause at ``end_ms`` (see the module docstring for how)."""
        if not 0 <= start_ms < end_ms:
            raise ValueError(f"cannot play the range {start_ms}-{end_ms} ms")
        self._replace_range(start_ms / 1000, end_ms / 1000)
        self._command("seek", start_ms / 1000, "absolute+exact")
        self._command("set_property", "pause", False)

    def play_from(self, ms: int) -> None:
        """Seek to ``ms`` and play on, with no end."""
        self._replace_range(None)
        self._command("seek", max(ms, 0) / 1000, "absolute+exact")
        self._command("set_property", "pause", False)

    def pause(self) -> None:
        self._command("set_property", "pause", True)

    def toggle_pause(self) -> bool:
        """Pause if playing, play if paused; return True if now paused."""
        self._command("cycle", "pause")
        return self.is_paused()

    def seek_relative(self, ms: int) -> None:
        """Jump ``ms`` forward (or back, if negative), e.g. ``±SEEK_STEP_MS``; ends any range."""
        self._replace_range(None)
        self._command("seek", ms / 1000, "relative+exact")

    def set_speed(self, speed: float) -> None:
        """Set the playback speed, e.g. one of :data:`SPEEDS` (mpv keeps the pitch)."""
        if not 0.01 <= speed <= 100:
            raise ValueError(f"speed {speed} is outside mpv's 0.01-100")
        self._command("set_property", "speed", speed)

    def position_ms(self) -> int | None:
        """The current position, or None when mpv has none (nothing loaded)."""
        reply = self._request("get_property", "time-pos")
        data = reply.get("data")
        if reply.get("error") == "success" and isinstance(data, int | float):
            return round(data * 1000)
        return None  # "property unavailable"

    def is_paused(self) -> bool:
        return bool(self._command("get_property", "pause"))

    def get_property(self, name: str) -> Any:
        """Any mpv property, as mpv's JSON gives it (e.g. ``speed``, ``duration``)."""
        return self._command("get_property", name)

    # -- plumbing --------------------------------------------------------------------------

    def _command(self, *args: Any) -> Any:
        reply = self._request(*args)
        if reply.get("error") != "success":
            raise PlayerError(f"{reply.get('error')}{self._explanation()}", str(args[0]))
        return reply.get("data")

    def _request(self, *args: Any) -> dict[str, Any]:
        name = str(args[0])
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._dead is not None:
                raise PlayerError(self._dead, name)
            if self._sock is None:
                raise PlayerError("not started (call start() first)", name)
            if threading.current_thread() is self._reader:  # would wait for itself
                raise PlayerError("commands cannot be sent from the on_position callback", name)
            request_id = self._new_id()
            self._pending[request_id] = future
        try:
            self._send(list(args), request_id)
            return future.result(timeout=self.timeout)
        except TimeoutError:
            raise PlayerError(f"no reply within {self.timeout:g} s{self._explanation()}",
                              name) from None
        except PlayerError as exc:
            raise PlayerError(exc.cause, name) from None
        finally:
            with self._lock:
                self._pending.pop(request_id, None)

    def _send(self, args: list[Any], request_id: int) -> None:
        data = json.dumps({"command": args, "request_id": request_id}).encode() + b"\n"
        sock = self._sock
        if sock is None:
            raise PlayerError("not started")
        with self._send_lock:
            try:
                sock.sendall(data)
            except OSError as exc:
                raise PlayerError(f"cannot write to the IPC socket ({exc})") from exc

    def _new_id(self) -> int:  # called with _lock held
        self._next_id += 1
        return self._next_id

    def _replace_range(self, start_s: float | None, end_s: float = 0.0) -> None:
        with self._lock:
            self._range_gen += 1
            self._cancel_timer()
            self._range = None if start_s is None else _Range(self._range_gen, start_s, end_s)

    def _cancel_timer(self) -> None:  # called with _lock held
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _read_loop(self, proc: subprocess.Popen[bytes], sock: socket.socket) -> None:
        """Reader thread: dispatch each JSON line until mpv goes away, then fail what waits."""
        try:
            with contextlib.suppress(OSError), sock.makefile("rb") as stream:
                for line in stream:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        log.warning("mpv sent a line that is not JSON: %r", line[:200])
                        continue
                    if isinstance(message, dict):
                        self._dispatch(message)
        finally:  # whatever ended the loop, nothing may wait for a reply that cannot come
            try:
                reason = f"exited with code {proc.wait(timeout=1)}"
            except subprocess.TimeoutExpired:
                reason = "closed its IPC connection"
            self._mark_dead(reason + self._diagnostics())

    def _mark_dead(self, reason: str) -> None:
        with self._lock:
            self._dead = self._dead or reason
            pending, self._pending = self._pending, {}
            self._range = None
            self._cancel_timer()
        self._load_done.set()
        self._ao_known.set()
        for future in pending.values():
            future.set_exception(PlayerError(self._dead))

    def _dispatch(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event is None:  # a reply
            with self._lock:
                future = self._pending.pop(message.get("request_id", 0), None)
            if future is not None:
                future.set_result(message)
        elif event == "property-change":
            self._on_property(message.get("id"), message.get("data"))
        elif event == "file-loaded" or (event == "end-file" and message.get("reason") == "error"):
            if event == "end-file":  # while loading, or later: then commands say so
                self._load_error = str(message.get("file_error"))
                self._ao_known.set()
            self._load_done.set()
        elif event == "log-message":
            text = str(message.get("text", "")).strip()
            if text:
                self._log.append(f"[{message.get('prefix')}] {text}")

    def _on_property(self, observe_id: object, data: object) -> None:
        if observe_id == _SPEED and isinstance(data, int | float) and data > 0:
            with self._lock:
                self._speed = float(data)
        elif observe_id == _PAUSE and data is True:
            with self._lock:
                self._cancel_timer()  # the range stays: resuming still stops at its end
        elif observe_id == _AO and isinstance(data, str) and data:
            self._ao = data
            self._ao_known.set()
        elif observe_id == _TIME_POS:
            position = float(data) if isinstance(data, int | float) else None
            if position is not None:
                self._check_range(position)
            callback = self.on_position
            if callback is not None and self._dead is None:
                try:
                    callback(None if position is None else round(position * 1000))
                except Exception:  # a broken callback must not kill the reader
                    log.exception("on_position callback failed")

    def _check_range(self, position: float) -> None:
        with self._lock:
            range_ = self._range
            if range_ is None:
                return
            if not range_.live:
                if not range_.start_s - 0.1 <= position < range_.end_s:
                    return  # from before the seek landed
                range_.live = True
            self._cancel_timer()
            left = (range_.end_s - position) / self._speed
            if 0 < left < _HORIZON_S:
                self._timer = threading.Timer(left, self._stop_range, args=(range_.gen,))
                self._timer.daemon = True
                self._timer.start()
        if left <= 0:
            self._stop_range(range_.gen)

    def _stop_range(self, gen: int) -> None:
        """Pause at the end of range ``gen`` (from the reader or the timer), unless replaced.

        The pause is sent while holding ``_lock`` so that it cannot overtake a newer
        ``play_range``; it is not waited for, since the reader thread may be the caller.
        """
        with self._lock:
            if self._range is None or self._range.gen != gen or self._dead is not None:
                return
            self._range = self._timer = None
            try:
                self._send(["set_property", "pause", True], self._new_id())
            except PlayerError as exc:
                log.warning("could not pause at the range end: %s", exc)

    def _explanation(self) -> str:
        """What to append to a failed command's message: a file mpv unloaded, its last lines."""
        unloaded = f" (mpv unloaded the file: {self._load_error})" if self._load_error else ""
        return unloaded + self._diagnostics()

    def _diagnostics(self) -> str:
        """mpv's last warnings and errors, to append to a message.

        From its IPC log once connected (only mpv's own lines, tagged ``[prefix]``); before that,
        or if it logged nothing, from its output file, where C libraries (ALSA, JACK) write too.
        """
        lines = list(self._log)
        if not lines and self._dir is not None:
            try:
                text = (self._dir / "output.txt").read_text(errors="replace")
            except OSError:
                return ""
            lines = [line.strip() for line in text.splitlines() if line.strip()]
        return ": " + " | ".join(lines[-5:]) if lines else ""
