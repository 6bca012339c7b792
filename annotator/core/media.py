"""Identify and describe media files: content hash, size, duration and streams.

A file is identified by the SHA-256 of its bytes, not by its path: the same livestream
downloaded twice is one record, and an export can prove which bytes it describes. PyAV (the
FFmpeg bindings faster-whisper already depends on) reads the container, so no system ffmpeg is
needed; it is imported lazily because it is only needed when a file is actually probed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from annotator.core.model import Media, StreamInfo
from annotator.errors import AmbiguousMediaError, MediaError

MEDIA_SUFFIXES = frozenset(
    {".mp4", ".m4a", ".m4v", ".mov", ".mkv", ".webm", ".mp3", ".wav", ".flac", ".ogg",
     ".opus", ".aac", ".ts", ".avi", ".wma", ".3gp"}
)


@dataclass(frozen=True)
class Probe:
    """What annotator learns about a file before transcribing it."""

    path: Path
    sha256: str
    size: int
    duration_ms: int
    streams: tuple[StreamInfo, ...]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise MediaError(path, exc.strerror or str(exc)) from exc
    return digest.hexdigest()


def probe(path: Path) -> Probe:
    """Hash and describe a media file; raise :class:`MediaError` naming the cause."""
    if not path.exists():
        raise MediaError(path, "no such file")
    if not path.is_file():
        raise MediaError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(path, "empty file")
    sha = file_sha256(path)

    import av  # lazy: only needed when probing

    try:
        with av.open(str(path)) as container:
            streams = tuple(_stream_info(s) for s in container.streams)
            if not any(s.kind == "audio" for s in streams):
                raise MediaError(path, "no audio stream")
            if container.duration is not None:
                duration_ms = int(container.duration / 1000)  # av.time_base is microseconds
            else:
                duration_ms = max((s.duration_ms or 0 for s in streams), default=0)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(path, f"cannot decode ({exc})") from exc
    return Probe(path, sha, size, duration_ms, streams)


def _stream_info(stream: object) -> StreamInfo:
    kind = str(getattr(stream, "type", "data"))
    codec_ctx = getattr(stream, "codec_context", None)
    codec = str(getattr(codec_ctx, "name", "") or "")
    duration_ms: int | None = None
    duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    if duration is not None and time_base is not None:
        duration_ms = int(duration * time_base * 1000)
    return StreamInfo(
        index=int(getattr(stream, "index", 0)),
        kind=kind,
        codec=codec,
        duration_ms=duration_ms,
        sample_rate=getattr(codec_ctx, "sample_rate", None) if kind == "audio" else None,
        channels=getattr(codec_ctx, "channels", None) if kind == "audio" else None,
        width=getattr(codec_ctx, "width", None) if kind == "video" else None,
        height=getattr(codec_ctx, "height", None) if kind == "video" else None,
    )


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given, and media files (by suffix) found recursively in given folders.

    Paths that do not exist are kept, so the batch reports them as failures rather than
    silently dropping them.
    """
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = (f for f in p.rglob("*") if f.suffix.lower() in MEDIA_SUFFIXES)
            out.extend(sorted(f for f in found if f.is_file()))
        else:
            out.append(p)
    seen: set[Path] = set()
    unique: list[Path] = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def absolute_path(typed: str) -> str:
    """Where a typed path points, absolute and with symlinks resolved: what the workspace
    stores, so a media is found and played from any folder (the typed form is kept too, as
    ``Media.typed_path``). A path that cannot be resolved (a symlink loop, a NUL byte) is
    kept as typed: it then only matches itself."""
    try:
        return str(Path(typed).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return typed


_HEX = re.compile(r"[0-9a-fA-F]{6,64}")


def match_media(candidates: Sequence[Media], ref: str) -> Media | None:
    """Which of ``candidates`` the user means by ``ref``, or None if none.

    Tried in order, each only when the one before found nothing: the path ``ref`` resolves
    to (from any folder; workspaces from before absolute paths stored paths relative to
    where ``transcribe`` ran, which resolve from that folder only), a SHA-256 prefix (at
    least 6 hex digits), a bare file name. When a step finds more than one media, nothing is
    chosen: :class:`AmbiguousMediaError` lists them.
    """
    target = absolute_path(ref)
    steps: list[tuple[str, list[Media]]] = [
        ("path", [m for m in candidates if absolute_path(m.path) == target])
    ]
    if _HEX.fullmatch(ref):
        prefix = ref.lower()
        steps.append(("SHA-256 prefix", [m for m in candidates if m.sha256.startswith(prefix)]))
    if os.sep not in ref and "/" not in ref:
        steps.append(("file name", [m for m in candidates if PurePath(m.path).name == ref]))
    for how, found in steps:
        if len(found) == 1:
            return found[0]
        if found:
            raise AmbiguousMediaError(ref, how, tuple(_describe(m) for m in found))
    return None


def _describe(media: Media) -> str:
    return f"id {media.id}: sha256 {media.sha256[:12]}, {media.path!r}"
