"""Other live sources (RTMP, RTSP, anything PyAV's FFmpeg opens): remuxed with PyAV.

The stream's packets are copied without re-encoding into MPEG-TS (playable from any point
of a growing file), handed over every ``piece_s`` seconds of stream time at a video keyframe
(or any packet of an audio-only stream). Tested on loopback with RTMP (ffmpeg as the
server); PyAV's wheel has no SRT (libsrt) and no DASH demuxer (libxml2): those go through
the system ffmpeg (:mod:`.relay`); any other protocol it lacks is said at once, not retried. An
RTMP server that ends its stream closes the connection with an I/O error, which reads as a
drop: the capture then ends after ``--give-up`` seconds without data. A drop reopens the
source after the :class:`Link` 's backoff; the new connection starts a new MPEG-TS section
in the same file (players handle it as a discontinuity).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from annotator.live.link import Link
from annotator.live.pieces import Arrival

#: Seconds of stream time per piece.
PIECE_S = 2.0
#: Microseconds FFmpeg waits on a silent connection before it counts as a drop.
RW_TIMEOUT_US = "10000000"


class _Drain(io.RawIOBase):
    """A write-only sink whose written bytes are taken out piece by piece."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


class RemuxSource:
    """Packets of a stream FFmpeg can open, remuxed into MPEG-TS :class:`Arrival` s."""

    kind = "remux"

    def __init__(self, url: str, link: Link, piece_s: float = PIECE_S) -> None:
        self.url, self.link, self.piece_s = url, link, piece_s
        self.suffix = ".ts"

    def arrivals(self) -> Iterator[Arrival]:
        import av  # lazy: PyAV is only needed for these sources

        while not self.link.stop.is_set():
            try:
                source = av.open(self.url, options={"rw_timeout": RW_TIMEOUT_US},
                                 timeout=(10.0, 10.0))
            except av.error.ProtocolNotFoundError:
                # no retry can help: say so at once (PyAV's wheel has no srt://, for one)
                scheme = self.url.split("://", 1)[0]
                self.link.lost = (
                    f"the FFmpeg that PyAV bundles cannot open {scheme}:// URLs; relay the "
                    f"stream with ffmpeg into a growing file or HLS (see the README)")
                return
            except (av.error.FFmpegError, OSError) as exc:
                if not self.link.failed(f"{self.url}: {exc}"):
                    return
                continue
            try:
                yield from self._remux(source)
                return  # the source ended
            except (av.error.FFmpegError, OSError) as exc:
                if not self.link.failed(f"{self.url}: {exc}"):
                    return
            finally:
                source.close()

    def _remux(self, source: Any) -> Iterator[Arrival]:
        import av

        streams = [s for s in source.streams if s.type in ("audio", "video")]
        if not streams:
            raise av.error.FFmpegError(0, "no audio or video stream")
        has_video = any(s.type == "video" for s in streams)
        sink = _Drain()
        out = av.open(sink, mode="w", format="mpegts")
        mapped = {s.index: out.add_stream_from_template(s) for s in streams}
        start_s: float | None = None
        first_ms: int | None = None
        try:
            for packet in source.demux(streams):
                if self.link.stop.is_set():
                    break
                if packet.dts is None or packet.pts is None:
                    continue
                self.link.ok()
                at = float(packet.pts * packet.time_base)
                boundary = packet.is_keyframe if has_video else True
                if packet.stream.type == "video" or not has_video:
                    if start_s is None:
                        start_s, first_ms = at, int(at * 1000)
                    elif at - start_s >= self.piece_s and boundary:
                        data = sink.take()
                        if data:
                            yield Arrival(data, uri=self.url, stream_start_ms=first_ms,
                                          stream_end_ms=int(at * 1000))
                        start_s, first_ms = at, int(at * 1000)
                packet.stream = mapped[packet.stream.index]
                out.mux(packet)
        finally:
            out.close()
            data = sink.take()
            if data:
                yield Arrival(data, uri=self.url, stream_start_ms=first_ms)
