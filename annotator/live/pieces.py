"""Writing a capture: one file that grows by whole pieces, each hashed and chained as it lands.

Every source (:mod:`.hls`, :mod:`.growing`, :mod:`.remux`) hands over :class:`Arrival` s;
:class:`PieceWriter` appends each one to the captured file with a single write, flushes it
to disk (``fsync``), then records it (:func:`annotator.core.captures.add_piece`). A piece is
recorded only once its bytes are on disk, so a crash can leave at most unrecorded bytes at
the end of the file, never a recorded piece without its bytes; :meth:`PieceWriter.close`
records such a tail as a last piece (marked as such), so every byte of the file is hashed.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.core import captures
from annotator.core.store import Workspace, utcnow
from annotator.errors import MediaError


@dataclass
class Arrival:
    """Bytes a source read, with what it knows about them."""

    data: bytes
    media_sequence: int | None = None
    uri: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stream_start_ms: int | None = None
    stream_end_ms: int | None = None
    parse_times: bool = True  # read the stream timestamps from the bytes (MPEG-TS)


class PieceWriter:
    """Appends pieces to the captured file and records them in the workspace."""

    def __init__(self, ws: Workspace, capture: captures.Capture, path: Path) -> None:
        self.ws, self.capture, self.path = ws, capture, path
        self.clock0 = time.monotonic()
        self.seq = 0
        self.offset = 0
        self.chain = captures.GENESIS
        self.total = hashlib.sha256()
        try:
            self._fh = path.open("xb")  # never overwrite an earlier capture
        except OSError as exc:
            raise MediaError(
                path, f"cannot create the capture file ({exc.strerror or exc})"
            ) from exc

    @property
    def last_seq(self) -> int | None:
        return self.seq - 1 if self.seq else None

    def append(self, arrival: Arrival) -> captures.Piece | None:
        """Write, sync and record one piece (nothing for an empty one)."""
        data = arrival.data
        if not data:
            return None
        arrived_at, arrived_s = utcnow(), time.monotonic() - self.clock0
        try:
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise MediaError(self.path, f"cannot write ({exc.strerror or exc})") from exc
        start_ms, end_ms = arrival.stream_start_ms, arrival.stream_end_ms
        if start_ms is None and arrival.parse_times:
            start_ms, end_ms = ts_times(data)
        return self._record(data, arrived_at, arrived_s, start_ms, end_ms, arrival)

    def _record(
        self, data: bytes, arrived_at: str, arrived_s: float, start_ms: int | None,
        end_ms: int | None, arrival: Arrival,
    ) -> captures.Piece:
        sha = hashlib.sha256(data).hexdigest()
        self.total.update(data)
        self.chain = captures.chain_hash(self.chain, sha)
        piece = captures.Piece(
            self.seq, self.offset, len(data), sha, self.chain, arrived_at, round(arrived_s, 3),
            start_ms, end_ms, arrival.media_sequence, arrival.uri, dict(arrival.headers),
        )
        captures.add_piece(self.ws, self.capture.id, piece)
        self.seq += 1
        self.offset += len(data)
        return piece

    def close(self) -> tuple[str, int]:
        """Close the file; record any bytes past the last recorded piece (a write cut short)
        as a last piece; return the whole file's SHA-256 and size."""
        self._fh.close()
        size = self.path.stat().st_size
        if size > self.offset:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                tail = fh.read()
            self._record(tail, utcnow(), time.monotonic() - self.clock0, None, None,
                         Arrival(tail, headers={"note": "bytes written but not recorded "
                                                "before the capture stopped"}))
        return self.total.hexdigest(), self.offset


def ts_times(data: bytes) -> tuple[int | None, int | None]:
    """The first and last packet times (ms, the stream's own clock) in MPEG-TS bytes, or
    (None, None) when they cannot be read (another container, a piece cut mid-packet)."""
    import av  # lazy: PyAV is only needed here

    first: int | None = None
    last: int | None = None
    try:
        with av.open(io.BytesIO(data), mode="r", format="mpegts") as container:
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                ms = int(packet.pts * packet.time_base * 1000)
                end = ms + int((packet.duration or 0) * packet.time_base * 1000)
                first = ms if first is None else min(first, ms)
                last = end if last is None else max(last, end)
    except (av.error.FFmpegError, OSError, ValueError):
        return None, None
    return first, last


def kept_headers(headers: Any) -> dict[str, str]:
    """The HTTP response headers worth keeping as evidence of what the server said about the
    bytes (when they were made, their identity, the server's clock and cache state)."""
    keep = ("Last-Modified", "ETag", "Date", "Content-Length", "Content-Type", "Age",
            "Cache-Control", "Server", "Content-MD5")
    out: dict[str, str] = {}
    for name in keep:
        value = headers.get(name) if headers is not None else None
        if value is not None:
            out[name] = str(value)
    return out
