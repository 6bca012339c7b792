"""Sources the FFmpeg inside PyAV cannot open (DASH, SRT): read by the system ``ffmpeg``.

PyAV's wheel is built without libxml2 and libsrt, so it has no DASH demuxer and no srt://
protocol. The ``ffmpeg`` program of a Debian/Ubuntu machine has both; this source runs it as
a relay that copies the stream's packets, without re-encoding, into MPEG-TS on its standard
output (``-c copy -f mpegts pipe:1``), and hands the bytes over as :class:`Arrival` s of
about ``piece_s`` seconds, each a whole number of 188-byte MPEG-TS packets (the stream
timestamps are read back from them, as for the remux path).

The relay ending with status 0 is the source ending (a DASH presentation that became
static, an SRT caller that hung up cleanly); any other end is a drop: the :class:`Link`
records a gap and starts a new relay after its backoff, whose MPEG-TS continues the same
file (players handle it as a discontinuity). A stop request ends the relay and keeps
everything it wrote.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Generator, Iterator
from typing import IO

from annotator.live.growing import MAX_PIECE
from annotator.live.link import Link
from annotator.live.pieces import Arrival
from annotator.live.remux import RW_TIMEOUT_US

#: Seconds of wall time per piece (the relay copies in real time).
PIECE_S = 2.0
#: MPEG-TS packet size: pieces end on a packet boundary.
TS_PACKET = 188


def relay_command(ffmpeg: str, url: str, setpriv: str | None = None) -> list[str]:
    """The ffmpeg command that copies ``url``'s audio and video packets into MPEG-TS on its
    standard output (every stream, so nothing the source sent is left out). With
    ``setpriv`` (util-linux) ffmpeg gets SIGTERM when this process dies, however it dies:
    a DASH reader waiting for segments that never come would otherwise poll for ever."""
    timeout = ["-rw_timeout", RW_TIMEOUT_US] if url.lower().startswith(("http", "srt")) else []
    orphan = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
    return [*orphan, ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", *timeout,
            # probe 2 s of stream, not 5: nothing is written before probing ends
            "-analyzeduration", "2000000", "-i", url,
            "-map", "0:v?", "-map", "0:a?", "-c", "copy",
            # every packet at once: a low-bitrate stream would otherwise wait in ffmpeg's
            # 32-KiB output buffer for seconds (and look like a silent source)
            "-flush_packets", "1", "-f", "mpegts", "pipe:1"]


class RelaySource:
    """Packets of a stream the system ``ffmpeg`` opens, relayed as MPEG-TS arrivals."""

    kind = "relay"

    def __init__(self, url: str, link: Link, piece_s: float = PIECE_S) -> None:
        self.url, self.link, self.piece_s = url, link, piece_s
        self.suffix = ".ts"

    def arrivals(self) -> Iterator[Arrival]:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            self.link.lost = (
                f"reading {self.url.split('://', 1)[0]}:// or DASH needs the ffmpeg program "
                "(apt-get install ffmpeg): the FFmpeg inside PyAV cannot open it")
            return
        while not self.link.stop.is_set():
            code, error = yield from self._relay(ffmpeg)
            if code == 0 or self.link.stop.is_set() or self.link.lost is not None:
                return  # the source ended, the capture was stopped, or it went quiet
            if not self.link.failed(f"{self.url}: {error or f'ffmpeg exited with {code}'}"):
                return

    def _relay(self, ffmpeg: str) -> Generator[Arrival, None, tuple[int, str]]:
        """One ffmpeg relay: its output as arrivals; returns (exit status, last error line)."""
        command = relay_command(ffmpeg, self.url, shutil.which("setpriv"))
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        chunks: queue.Queue[bytes] = queue.Queue()
        errors: list[str] = []
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, chunks), daemon=True),
            threading.Thread(target=_lines, args=(proc.stderr, errors), daemon=True),
        ]
        for reader in readers:
            reader.start()
        held = bytearray()
        began = time.monotonic()
        ended = False
        try:
            while not ended:
                if self.link.stop.is_set():
                    proc.terminate()  # the bytes it wrote so far are still read below
                try:
                    chunk = chunks.get(timeout=0.2)
                except queue.Empty:
                    chunk = None
                    if proc.poll() is None and self.link.idle_too_long():
                        # a live DASH presentation that ended without turning static: the
                        # relay asks for the next segment for ever
                        proc.terminate()
                if chunk == b"":
                    ended = True
                elif chunk:
                    if not held:
                        began = time.monotonic()
                    held += chunk
                    self.link.ok()
                due = held and (time.monotonic() - began >= self.piece_s
                                or len(held) >= MAX_PIECE)
                if due or (ended and held):
                    whole = len(held) if ended else len(held) - len(held) % TS_PACKET
                    if whole:
                        yield Arrival(bytes(held[:whole]), uri=self.url)
                        del held[:whole]
                        began = time.monotonic()
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            for reader in readers:
                reader.join(timeout=5)
        return code, errors[-1] if errors else ""


def _pump(stream: IO[bytes], out: queue.Queue[bytes]) -> None:
    """Copy a pipe into ``out`` as it is written; an empty chunk marks its end."""
    fd = stream.fileno()
    while True:
        data = os.read(fd, 1 << 16)  # what is there, without waiting for a full buffer
        out.put(data)
        if not data:
            return


def _lines(stream: IO[bytes], out: list[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line:
            out.append(line)
