"""``annotator capture``: copy a live source into the workspace, hashed as it arrives.

The loop: a source (:mod:`.hls`, :mod:`.growing`, :mod:`.remux`, :mod:`.relay`) yields
arrivals; each one is appended to the captured file, synced and recorded with its hash chain
(:class:`~annotator.live.pieces.PieceWriter`); the media record of the captured file follows
it (so ``annotator list``/``review`` see it while it grows); a transcriber
(:mod:`.follow`), if asked for, is woken. A stop request (the first Ctrl-C, see
:func:`sigint_stops`) ends the loop between pieces: the file is closed, every byte of it
hashed and the capture marked ``interrupted``; a second Ctrl-C stops at once (what was synced
and recorded is kept all the same).
"""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Protocol

from annotator.core import captures
from annotator.core.media import probe
from annotator.core.store import Workspace
from annotator.errors import MediaError, UsageError
from annotator.live.growing import GrowingSource
from annotator.live.hls import HlsSource
from annotator.live.link import GIVE_UP_S, Link
from annotator.live.pieces import Arrival, PieceWriter
from annotator.live.relay import RelaySource
from annotator.live.remux import RemuxSource


class Source(Protocol):
    kind: str
    suffix: str

    def arrivals(self) -> Iterator[Arrival]: ...


@dataclass(frozen=True)
class CaptureOptions:
    out: Path = Path("captures")
    name: str | None = None  # file stem; default: source name and UTC time
    give_up_s: float = GIVE_UP_S  # stop after this long without reading anything
    idle_s: float = 10.0  # a growing file that stops growing this long is finished
    via: str = "auto"  # "hls", "file", "remux" or auto


@dataclass
class CaptureResult:
    capture: captures.Capture
    pieces: int
    gaps: list[captures.Gap]
    media_id: int | None
    interrupted: bool
    lost: str | None = None
    notes: list[str] = field(default_factory=list)


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def source_kind(source: str, via: str = "auto") -> str:
    """Which reader a source needs: "hls" (http(s) .m3u8), "file" (a local path), "relay"
    (a DASH .mpd or srt://: the system ffmpeg), else "remux" (rtmp://, rtsp://, any other URL
    PyAV's FFmpeg opens)."""
    if via != "auto":
        return via
    if not _URL.match(source) or source.startswith("file://"):
        return "file"
    lower = source.lower().split("?", 1)[0]
    if lower.startswith(("http://", "https://")) and lower.endswith((".m3u8", ".m3u")):
        return "hls"
    if lower.endswith(".mpd") or lower.startswith("srt://"):
        return "relay"  # PyAV's FFmpeg has no DASH demuxer and no srt://
    return "remux"


def default_stem(source: str) -> str:
    """A file name from the source's last path part and the UTC start time."""
    last = re.sub(r"[?#].*", "", source.rstrip("/")).rsplit("/", 1)[-1]
    last = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", last)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", last).strip("._") or "stream"
    return f"{safe[:60]}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


@contextlib.contextmanager
def sigint_stops(stop: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """The first Ctrl-C sets ``stop`` (the capture ends cleanly after the piece in hand);
    a second one raises :class:`KeyboardInterrupt` at once. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("stopping: finishing the piece in hand and hashing the file (Ctrl-C again to "
            "stop at once)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_source(kind: str, source: str, link: Link, options: CaptureOptions) -> Source:
    if kind == "hls":
        return HlsSource(source, link)
    if kind == "file":
        path = Path(source.removeprefix("file://"))
        if not path.exists():
            raise MediaError(path, "no such file (a growing file must exist when the "
                                   "capture starts)")
        return GrowingSource(path, link, idle_s=options.idle_s)
    if kind == "remux":
        return RemuxSource(source, link)
    if kind == "relay":
        return RelaySource(source, link)
    raise UsageError(f"--via takes hls, file, remux or relay, not {kind!r}")


def run_capture(
    ws: Workspace, source: str, options: CaptureOptions, stop: threading.Event, *,
    say: Callable[[str], None] = lambda _m: None,
    on_piece: Callable[[captures.Piece], None] | None = None,
    on_start: Callable[[captures.Capture], None] | None = None,
) -> CaptureResult:
    """Capture ``source`` until it ends, is lost or ``stop`` is set; see the module doc."""
    kind = source_kind(source, options.via)
    options.out.mkdir(parents=True, exist_ok=True)
    stem = options.name or default_stem(source)
    # the file's suffix is known only once the source says what it sends (HLS: TS or fMP4)
    record = captures.start(ws, source, {"file": "growing"}.get(kind, kind), options.out / stem)
    if on_start is not None:
        on_start(record)
    writer: PieceWriter | None = None
    link = Link(ws, record.id, stop, give_up_s=options.give_up_s, say=say,
                last_seq=lambda: writer.last_seq if writer is not None else None)
    reader = open_source(kind, source, link, options)
    media_id: int | None = None
    interrupted = False
    first_ms: int | None = None
    try:
        for arrival in reader.arrivals():
            if writer is None:
                path = options.out / f"{stem}{reader.suffix}"
                if path.exists():
                    raise MediaError(path, "already exists; choose another --name or --out")
                with ws.transaction() as c:
                    c.execute("UPDATE capture SET path=? WHERE id=?",
                              (str(path.resolve()), record.id))
                record = captures.get(ws, record.id)
                writer = PieceWriter(ws, record, path)
            piece = writer.append(arrival)
            if piece is None:
                continue
            if first_ms is None and piece.stream_start_ms is not None:
                first_ms = piece.stream_start_ms
            media_id = _follow_media(ws, record, writer, media_id, piece, first_ms)
            if on_piece is not None:
                on_piece(piece)
    except KeyboardInterrupt:
        interrupted = True  # a second Ctrl-C: keep what is on disk and recorded
    interrupted = interrupted or (stop.is_set() and link.lost is None)
    return _finish(ws, record, writer, media_id, interrupted, link.lost)


def _follow_media(
    ws: Workspace, record: captures.Capture, writer: PieceWriter, media_id: int | None,
    piece: captures.Piece, first_ms: int | None,
) -> int | None:
    """Keep the captured file's media record in step with what has arrived: registered at
    the first piece it can be probed from, then its hash, size and duration follow."""
    path = writer.path
    if media_id is None:
        try:
            info = probe(path)
        except MediaError:
            return None  # not decodable yet (an init section alone, a partial header)
        media = ws.add_probed(info)
        captures.link_media(ws, record.id, media.id)
        return media.id
    duration = None
    if first_ms is not None and piece.stream_end_ms is not None:
        duration = piece.stream_end_ms - first_ms
    try:
        with ws.transaction() as c:
            c.execute(
                "UPDATE media SET sha256=?, size=?, duration_ms=COALESCE(?, duration_ms) "
                "WHERE id=?",
                (writer.total.copy().hexdigest(), writer.offset, duration, media_id),
            )
    except sqlite3.IntegrityError:
        pass  # these bytes so far are another media's too: the record catches up later
    return media_id


def _finish(
    ws: Workspace, record: captures.Capture, writer: PieceWriter | None, media_id: int | None,
    interrupted: bool, lost: str | None,
) -> CaptureResult:
    notes: list[str] = []
    if writer is None:
        done = captures.finish(ws, record.id, "lost" if lost else "empty", "", 0,
                               note=lost or "nothing arrived")
        return CaptureResult(done, 0, captures.gaps(ws, record.id), None, interrupted, lost)
    sha, size = writer.close()
    status = "interrupted" if interrupted else ("lost" if lost else "done")
    done = captures.finish(ws, record.id, status, sha, size, note=lost or "")
    try:
        info = probe(writer.path)
    except MediaError as exc:
        notes.append(f"the captured file cannot be decoded: {exc.cause}")
    else:
        if media_id is None:
            media_id = ws.add_probed(info).id
            captures.link_media(ws, record.id, media_id)
        elif _same_bytes_known(ws, media_id, info.sha256):
            notes.append(f"the captured bytes are those of media {info.sha256[:12]} already "
                         "in the workspace")
        else:
            captures.refresh_media(ws, media_id, info)
        if info.sha256 != sha:  # written and read back differ: the disk changed it
            notes.append(f"the file now hashes to {info.sha256}, not {sha} as written")
    if media_id is not None:
        try:
            captures.write_sidecar(ws, media_id, writer.path)
        except OSError as exc:
            notes.append(f"cannot write the capture record beside the file: {exc}")
    return CaptureResult(done, writer.seq, captures.gaps(ws, record.id), media_id,
                         interrupted, lost, notes)


def _same_bytes_known(ws: Workspace, media_id: int, sha256: str) -> bool:
    row = ws.conn.execute("SELECT id FROM media WHERE sha256=?", (sha256,)).fetchone()
    return row is not None and int(row["id"]) != media_id
