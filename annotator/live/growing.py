"""A file that is still growing (a phone recording being copied, an OBS output).

The bytes are copied as they appear, unchanged: the capture is then byte-identical to the
source, so its final SHA-256 equals the source's once the source is complete, which anyone
can check against the original. (Remuxing would give a different file whose hash matches
nothing the recipient can compare.) It plays while it grows as far as the source's own
format allows: MPEG-TS and fragmented MP4 do, a plain MP4 whose index is written last does
not until it is finished, whoever copies it.

The capture ends when the file has not grown for ``idle_s`` seconds, or on Ctrl-C (whatever
had appeared by then is copied first). A file that shrinks or disappears is a gap; one that
comes back shorter than what was copied ends the capture, since its bytes are no longer the
ones captured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from annotator.live.link import Link
from annotator.live.pieces import Arrival

#: The most one piece holds (bytes): a burst of appended data is split into pieces this big.
MAX_PIECE = 8 << 20


class GrowingSource:
    """New bytes of a local file as :class:`Arrival` s."""

    kind = "growing"

    def __init__(self, path: Path, link: Link, *, poll_s: float = 0.5, idle_s: float = 10.0,
                 max_piece: int = MAX_PIECE) -> None:
        self.path, self.link = path, link
        self.poll_s, self.idle_s, self.max_piece = poll_s, idle_s, max_piece
        self.suffix = path.suffix or ".bin"
        self.position = 0

    def arrivals(self) -> Iterator[Arrival]:
        last_growth = time.monotonic()
        while True:
            stopping = self.link.stop.is_set()
            try:
                size = self.path.stat().st_size
            except OSError as exc:
                if stopping or not self.link.failed(f"{self.path}: {exc.strerror or exc}"):
                    return
                continue
            if size < self.position:
                self.link.failed(
                    f"{self.path} shrank to {size} bytes after {self.position} were copied: "
                    "it is not the same file any more"
                )
                self.link.lost = "the source file shrank"
                return
            if size > self.position:
                try:
                    with self.path.open("rb") as fh:
                        fh.seek(self.position)
                        data = fh.read(min(size - self.position, self.max_piece))
                except OSError as exc:
                    if stopping or not self.link.failed(f"{self.path}: {exc.strerror or exc}"):
                        return
                    continue
                self.link.ok()
                self.position += len(data)
                last_growth = time.monotonic()
                yield Arrival(data, uri=str(self.path), parse_times=False)
                continue
            if stopping or time.monotonic() - last_growth > self.idle_s:
                return
            time.sleep(self.poll_s)
