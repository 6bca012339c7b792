"""HLS: read the playlist and its segments with urllib, keeping the original bytes.

Why not let FFmpeg (PyAV) read HLS and remux it? Because the segments a server publishes are
already a playable MPEG-TS (or fragmented MP4) stream, and fetching them ourselves keeps them
**byte for byte**: each piece's SHA-256 is the hash of what the server sent (another copy of
the same segment hashes the same), with the HTTP headers that came with it (``Last-Modified``,
``ETag``, ``Date``) and the playlist's media-sequence number, which FFmpeg's HLS reader hides.
The captured file is the segments back to back (an fMP4 stream's init section first), which
is what an HLS player itself decodes, so it plays at any moment of the capture.

A master playlist is followed to its highest-bandwidth variant (recorded in the piece
headers). The playlist is polled every half target duration; a playlist ending in
``#EXT-X-ENDLIST`` ends the capture once every segment is read.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

from annotator import __version__
from annotator.live.link import Link
from annotator.live.pieces import Arrival, kept_headers

#: Seconds a single HTTP request may take before it counts as a drop.
TIMEOUT_S = 5.0
#: A segment the server answers with an HTTP error this many times is given up (recorded
#: as missed in the gap), so one lost segment does not stop the capture of the rest.
SKIP_AFTER = 3


class FetchError(Exception):
    """A request that failed (connection refused, timeout, HTTP error, short body);
    ``status``: the HTTP status when the server answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Segment:
    seq: int
    uri: str
    duration_s: float
    program_date_time: str | None = None
    discontinuity: bool = False


@dataclass
class Playlist:
    media_sequence: int = 0
    target_duration_s: float = 2.0
    segments: list[Segment] = field(default_factory=list)
    ended: bool = False
    init_uri: str | None = None
    variants: list[tuple[int, str]] = field(default_factory=list)  # (bandwidth, uri)


def _attribute(line: str, name: str) -> str | None:
    for part in line.split(":", 1)[-1].split(","):
        key, _, value = part.partition("=")
        if key.strip() == name:
            return value.strip().strip('"')
    return None


def parse_playlist(text: str, base: str) -> Playlist:
    """A media or master playlist (RFC 8216), URIs made absolute against ``base``."""
    pl = Playlist()
    duration, pdt, disc = 0.0, None, False
    bandwidth: int | None = None
    seq = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            pl.media_sequence = seq = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            pl.target_duration_s = float(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",")[0] or 0)
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line.startswith("#EXT-X-DISCONTINUITY") and "SEQUENCE" not in line:
            disc = True
        elif line.startswith("#EXT-X-ENDLIST"):
            pl.ended = True
        elif line.startswith("#EXT-X-MAP:"):
            uri = _attribute(line, "URI")
            if uri:
                pl.init_uri = urllib.parse.urljoin(base, uri)
        elif line.startswith("#EXT-X-STREAM-INF:"):
            value = _attribute(line, "BANDWIDTH")
            bandwidth = int(value) if value and value.isdigit() else 0
        elif not line.startswith("#"):
            uri = urllib.parse.urljoin(base, line)
            if bandwidth is not None:
                pl.variants.append((bandwidth, uri))
                bandwidth = None
            else:
                pl.segments.append(Segment(seq, uri, duration, pdt, disc))
                seq += 1
                duration, pdt, disc = 0.0, None, False
    return pl


def fetch(url: str, timeout: float = TIMEOUT_S) -> tuple[bytes, dict[str, str]]:
    """The body and kept headers of one GET; :class:`FetchError` on any failure."""
    request = urllib.request.Request(url, headers={"User-Agent": f"annotator/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
            headers = kept_headers(response.headers)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}", exc.code) from exc
    except urllib.error.URLError as exc:
        raise FetchError(f"{url}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
    length = headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) != len(data):
        raise FetchError(f"{url}: body cut short ({len(data)} of {length} bytes)")
    return data, headers


class HlsSource:
    """The segments of an HLS stream as :class:`Arrival` s, reconnecting through a
    :class:`Link` on drops."""

    kind = "hls"

    def __init__(self, url: str, link: Link) -> None:
        self.url, self.link = url, link
        self.suffix = ".ts"
        self.last_seq: int | None = None  # the playlist sequence number last read
        self.refused: dict[int, int] = {}  # HTTP errors per segment sequence number

    def arrivals(self) -> Iterator[Arrival]:
        playlist_url, variant = self.url, None
        init_done = False
        while not self.link.stop.is_set():
            try:
                text, _headers = fetch(playlist_url)
                pl = parse_playlist(text.decode("utf-8", "replace"), playlist_url)
            except (FetchError, ValueError) as exc:
                if not self.link.failed(f"playlist: {exc}"):
                    return
                continue
            if pl.variants:  # a master playlist: follow the best variant
                bandwidth, playlist_url = max(pl.variants)
                variant = f"{playlist_url} (BANDWIDTH={bandwidth})"
                continue
            new = [s for s in pl.segments if self.last_seq is None or s.seq > self.last_seq]
            missed: list[int] = []
            if self.last_seq is not None and new and new[0].seq > self.last_seq + 1:
                missed = list(range(self.last_seq + 1, new[0].seq))
            if missed:  # the source answers again, without some segments
                self.link.ok(missed)
            if pl.init_uri is not None and not init_done:
                self.suffix = ".mp4"
                try:
                    data, headers = fetch(pl.init_uri)
                except FetchError as exc:
                    if not self.link.failed(f"init section: {exc}"):
                        return
                    continue
                init_done = True
                yield Arrival(data, None, pl.init_uri, {**headers, "role": "init section"},
                              parse_times=False)
            broke = False
            for seg in new:
                if self.link.stop.is_set():
                    return
                try:
                    data, headers = fetch(seg.uri)
                except FetchError as exc:
                    broke = True
                    refused = self.refused.get(seg.seq, 0) + (1 if exc.status else 0)
                    self.refused[seg.seq] = refused
                    if not self.link.failed(f"segment {seg.seq}: {exc}"):
                        return
                    if refused >= SKIP_AFTER:  # the server keeps refusing it: go on without
                        self.last_seq = seg.seq
                        self.link.ok([seg.seq])
                    break
                extra = {"EXTINF": f"{seg.duration_s:g}"}
                if seg.program_date_time:
                    extra["EXT-X-PROGRAM-DATE-TIME"] = seg.program_date_time
                if seg.discontinuity:
                    extra["EXT-X-DISCONTINUITY"] = "yes"
                if variant:
                    extra["variant"] = variant
                yield Arrival(data, seg.seq, seg.uri, {**headers, **extra},
                              parse_times=pl.init_uri is None)
                self.last_seq = seg.seq
                self.link.ok()
            if broke:
                continue
            if pl.ended and not new:
                return
            if not new:
                if self.link.idle_too_long():
                    return
                if not self.link.sleep(max(pl.target_duration_s / 2, 0.2)):
                    return
            else:
                time.sleep(0)  # go straight on: more may have been published meanwhile
