"""Export manifests: ``<stem>.manifest.json`` beside the files one export wrote.

Why: an exported SRT or JSON travels (to an editor, a court, a complaint file) without the
workspace. Its manifest says which bytes annotator wrote: each file's SHA-256 and size, the
media and model hashes, the head of the audit chain at export time
(:func:`annotator.core.chain.head`: a later change to the workspace's record shows up as a
different chain), who exported it and when, the annotator version, and whether paths or
names were redacted. ``annotator verify --exports DIR`` (:mod:`annotator.verify`) rechecks
all of it.

A manifest checks itself too: it is written in one canonical layout (:func:`render`: sorted
keys, two-space indent, UTF-8, a final newline) and carries ``manifest_sha256``, the SHA-256
of that rendering without the field. A file whose bytes are not exactly the canonical
rendering of what it says, or whose content does not match its own hash, has been changed
(a flipped byte anywhere, even in white space, breaks one of the two).

File names in a manifest are relative to its folder (never a path: folders can name people,
and a folder of exports is moved as a whole).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from annotator.core.chain import Head
from annotator.core.document import Transcript
from annotator.errors import FileError
from annotator.formats.atomic import write_atomic

#: Version of the manifest layout; a reader refuses newer ones.
MANIFEST_VERSION = 1
#: What a manifest's file name ends with (after the export stem).
SUFFIX = ".manifest.json"


class ManifestError(FileError):
    """A manifest that cannot be read, or that does not hold (``path``: the manifest)."""


@dataclass(frozen=True, slots=True)
class Redaction:
    """What an export left out: folder paths (``--redact-paths``), people's names
    (``--redact names``)."""

    paths: bool = False
    names: bool = False

    def to_dict(self) -> dict[str, bool]:
        return {"paths": self.paths, "names": self.names}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def render(manifest: dict[str, Any]) -> bytes:
    """The one canonical byte layout of a manifest."""
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def self_hash(manifest: dict[str, Any]) -> str:
    """SHA-256 of the canonical rendering of ``manifest`` without ``manifest_sha256``."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(render(body)).hexdigest()


def build(
    transcript: Transcript, files: Sequence[Path], *, reviewer: str, head: Head | None,
    redaction: Redaction, formats: Sequence[str],
) -> dict[str, Any]:
    """The manifest of one export: ``files`` (written, in ``formats`` order) of
    ``transcript``."""
    run, media = transcript.run, transcript.media
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "tool": "annotator",
        "tool_version": transcript.tool_version,
        "created_at": transcript.exported_at,
        "reviewer": reviewer,
        "media": {
            "name": PurePath(media.path).name, "sha256": media.sha256, "size": media.size,
            "duration_ms": media.duration_ms,
        },
        "model": None if run is None else {
            "id": run.model_id, "sha256": run.model_sha256, "run_id": run.id,
            "status": str(run.status),
        },
        "audit_chain_head": None if head is None else head.to_dict(),
        "redacted": redaction.to_dict(),
        "warnings": list(transcript.warnings),
        "files": [
            {"name": path.name, "format": fmt, "size": path.stat().st_size,
             "sha256": file_sha256(path)}
            for path, fmt in zip(files, formats, strict=True)
        ],
    }
    manifest["manifest_sha256"] = self_hash(manifest)
    return manifest


def manifest_path(export_path: Path) -> Path:
    """``demo.3f2a9c1b7d4e.manifest.json`` for ``demo.3f2a9c1b7d4e.srt``."""
    return export_path.with_name(export_path.name.rsplit(".", 1)[0] + SUFFIX)


def write(manifest: dict[str, Any], path: Path) -> Path:
    """Write a manifest atomically (see :func:`~annotator.formats.atomic.write_atomic`)."""
    write_atomic(path, render(manifest))
    return path


def read(path: Path) -> dict[str, Any]:
    """A manifest's content; :class:`ManifestError` if it is not one this code reads."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(path, f"cannot read ({exc.strerror or exc})") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(path, f"not valid JSON any more ({exc})") from exc
    if not isinstance(data, dict) or data.get("tool") != "annotator":
        raise ManifestError(path, "not an annotator export manifest")
    version = data.get("manifest_version")
    if not isinstance(version, int) or not 1 <= version <= MANIFEST_VERSION:
        raise ManifestError(path, f"manifest_version {version!r} is not one this annotator reads")
    return data


def problems(path: Path) -> tuple[dict[str, Any] | None, list[tuple[Path, str]]]:
    """Check one manifest against itself and the files beside it: the manifest (if readable)
    and what does not hold, each as (the file at fault, what differs)."""
    try:
        data = read(path)
    except ManifestError as exc:
        return None, [(path, exc.cause)]
    found: list[tuple[Path, str]] = []
    if render(data) != path.read_bytes():
        found.append((path, "bytes differ from the manifest's canonical layout (edited)"))
    recorded = data.get("manifest_sha256")
    if recorded != self_hash(data):
        found.append((path, f"content does not match its manifest_sha256 "
                            f"({str(recorded)[:12]}…; now {self_hash(data)[:12]}…)"))
    for entry in data.get("files", []):
        name = str(entry.get("name", ""))
        target = path.parent / PurePath(name).name
        if not target.is_file():
            found.append((target, f"listed in {path.name} but missing"))
            continue
        size, sha = target.stat().st_size, file_sha256(target)
        if size != entry.get("size") or sha != entry.get("sha256"):
            found.append((target, f"SHA-256 {sha[:12]}… ({size} bytes) differs from "
                                  f"{str(entry.get('sha256'))[:12]}… ({entry.get('size')} "
                                  f"bytes) recorded in {path.name}"))
    return data, found
