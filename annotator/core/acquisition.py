"""Acquisition facts: where a recording came from, who captured it, when and how it was obtained.

Chain-of-custody practice (the Berkeley Protocol; archivers that hash and timestamp what they
collect) asks for these beside the file's hash. Two kinds of facts are kept apart on purpose:

- **stated facts** (:data:`FACT_KEYS`): what a person says about the recording, set with
  ``annotator transcribe --source-url ...`` or ``annotator media set MEDIA key=value``, stored
  in the workspace (``media_fact``) and audited like any review decision (action
  ``media.set``), so who said what and when is itself on the record;
- **container facts** (:func:`container_facts`): what the file's own metadata claims
  (creation time, device make and model, GPS position, encoder), read with PyAV whenever
  they are shown and never stored or overwritten: they belong to the file, and the file is
  identified by its hash.

A media's file is its bytes: :func:`file_state` says whether the file at the recorded path
is still the one transcribed, and :func:`require_same_file` refuses one that is not (it may
be a re-encoded or edited copy that merely has the same name). :func:`relink` accepts a
moved copy whose hash is the same.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator.core import chain
from annotator.core.media import absolute_path, file_sha256
from annotator.core.model import Media
from annotator.core.store import Workspace, utcnow
from annotator.errors import MediaError, UsageError

#: Stated facts a person can record about a media, with what each means (for ``--help``).
FACT_KEYS: dict[str, str] = {
    "source_url": "where the recording was published or found (a URL)",
    "captured_by": "who recorded it (a person, an account, a camera)",
    "captured_at": "when it was recorded, as stated (ISO-8601 if known)",
    "captured_where": "where it was recorded, as stated (place, address, coordinates)",
    "obtained_from": "from whom or where annotator's copy was obtained",
    "obtained_how": "how it was obtained (download tool, handed over on a card, ...)",
    "obtained_at": "when annotator's copy was obtained",
    "notes": "anything else about the recording's origin",
}

#: The audit action of a change to stated facts (not review work, see
#: :meth:`~annotator.core.store.Workspace.human_work_count`).
SET_ACTION = "media.set"
RELINK_ACTION = "media.relink"

_KEY = re.compile(r"^[a-z_]+$")


class MediaChangedError(MediaError):
    """The file at a media's path is no longer the recording that was transcribed."""

    def __init__(self, path: Path | str, expected: str, found: str) -> None:
        self.expected = expected
        self.found = found
        super().__init__(
            path,
            f"this file's SHA-256 is {found[:12]}…, not {expected[:12]}… as recorded: it is "
            "not the recording that was transcribed (edited, re-encoded or replaced); give "
            "the original with --relink PATH",
        )


def parse_assignment(text: str) -> tuple[str, str]:
    """``key=value`` -> (key, value); :class:`UsageError` for an unknown key or no ``=``."""
    key, sep, value = text.partition("=")
    key = key.strip().lower().replace("-", "_")
    if not sep or not _KEY.match(key):
        raise UsageError(f"{text!r}: expected key=value (keys: {', '.join(FACT_KEYS)})")
    if key not in FACT_KEYS:
        raise UsageError(f"unknown fact {key!r}; known: {', '.join(FACT_KEYS)}")
    return key, value.strip()


def facts(ws: Workspace, media_id: int) -> dict[str, dict[str, str]]:
    """Stated facts of a media: key -> {value, set_at, set_by}, in :data:`FACT_KEYS` order."""
    rows = {
        str(r["key"]): {"value": r["value"], "set_at": r["set_at"], "set_by": r["set_by"]}
        for r in ws.conn.execute(
            "SELECT key, value, set_at, set_by FROM media_fact WHERE media_id=?", (media_id,)
        )
    }
    order = list(FACT_KEYS)
    return dict(sorted(rows.items(), key=lambda kv: order.index(kv[0])
                       if kv[0] in order else len(order)))


def set_facts(ws: Workspace, media_id: int, values: Mapping[str, str], who: str) -> int | None:
    """Set (an empty value: remove) stated facts, audited in the same transaction; returns
    the audit entry's id (None when nothing changed)."""
    if not who.strip():
        raise UsageError("a name is required: every change is signed")
    for key in values:
        if key not in FACT_KEYS:
            raise UsageError(f"unknown fact {key!r}; known: {', '.join(FACT_KEYS)}")
    with ws.transaction() as c:
        ws.media(media_id)  # NotFoundError for an unknown id
        current = {k: v["value"] for k, v in facts(ws, media_id).items()}
        changes: list[dict[str, Any]] = []
        now = utcnow()
        for key, value in values.items():
            before = current.get(key)
            after = value or None
            if before == after:
                continue
            if after is None:
                c.execute("DELETE FROM media_fact WHERE media_id=? AND key=?", (media_id, key))
            else:
                c.execute(
                    "INSERT INTO media_fact(media_id, key, value, set_at, set_by)"
                    " VALUES (?,?,?,?,?) ON CONFLICT(media_id, key) DO UPDATE SET"
                    " value=excluded.value, set_at=excluded.set_at, set_by=excluded.set_by",
                    (media_id, key, after, now, who),
                )
            changes.append({"table": "media_fact", "id": media_id, "key": key,
                            "before": before, "after": after})
        if not changes:
            return None
        return ws.append_audit(who, media_id, SET_ACTION, changes)


# -- the file itself ---------------------------------------------------------------------------


class FileState(enum.StrEnum):
    SAME = "same"  # present, and its SHA-256 is the recorded one
    MISSING = "missing"  # not at the recorded path (or not readable by this process)
    CHANGED = "changed"  # present, but other bytes


@dataclass(frozen=True, slots=True)
class FileCheck:
    state: FileState
    path: Path
    sha256: str | None = None  # what the file hashes to now (None: missing)


def file_state(media: Media) -> FileCheck:
    """Is the file at the media's recorded path still the recording that was transcribed?
    (Hashes the whole file: a same-size edit must not pass.)"""
    path = Path(media.path)
    try:
        sha = file_sha256(path) if path.is_file() else None
    except MediaError:  # unreadable here (permissions): not this process's to judge
        sha = None
    if sha is None:
        return FileCheck(FileState.MISSING, path)
    return FileCheck(FileState.SAME if sha == media.sha256 else FileState.CHANGED, path, sha)


def require_same_file(media: Media) -> FileCheck:
    """Raise :class:`MediaChangedError` when the file at the media's path is another
    recording (a missing file passes: the transcript does not need it); else the check."""
    check = file_state(media)
    if check.state is FileState.CHANGED and check.sha256 is not None:
        raise MediaChangedError(check.path, media.sha256, check.sha256)
    return check


def relink(ws: Workspace, media: Media, path: Path, who: str) -> Media:
    """Point a media at a moved copy of its recording: accepted only when ``path`` has the
    recorded SHA-256; audited (``media.relink``, old and new path)."""
    if not path.is_file():
        raise MediaError(path, "no such file to relink to")
    sha = file_sha256(path)
    if sha != media.sha256:
        raise MediaChangedError(path, media.sha256, sha)
    resolved = absolute_path(str(path))
    with ws.transaction() as c:
        c.execute("UPDATE media SET path=?, typed_path=? WHERE id=?",
                  (resolved, str(path), media.id))
        chain.append(c, who, media.id, RELINK_ACTION, [{
            "table": "media", "id": media.id, "before": {"path": media.path},
            "after": {"path": resolved}, "sha256": sha,
        }], utcnow())
    return ws.media(media.id)


# -- what the container says -------------------------------------------------------------------

#: Container tags worth showing, by what they say (FFmpeg's names for MP4/MOV/MKV tags).
_CONTAINER_TAGS: dict[str, tuple[str, ...]] = {
    "creation_time": ("creation_time", "com.apple.quicktime.creationdate", "date"),
    "device_make": ("make", "com.apple.quicktime.make", "com.android.manufacturer"),
    "device_model": ("model", "com.apple.quicktime.model", "com.android.model"),
    "software": ("com.apple.quicktime.software", "software", "com.android.version"),
    "gps": ("location", "com.apple.quicktime.location.ISO6709", "location-eng"),
    "encoder": ("encoder",),
}


def container_facts(path: Path) -> dict[str, str]:
    """What the file's own metadata claims (container tags, then the streams'), by meaning;
    empty when the file is absent or unreadable. Never stored: it is the file's."""
    if not path.is_file():
        return {}
    import av  # lazy: only when a file's metadata is shown

    try:
        with av.open(str(path)) as container:
            tags = {k.lower(): str(v) for k, v in container.metadata.items()}
            for stream in container.streams:
                for k, v in stream.metadata.items():
                    tags.setdefault(k.lower(), str(v))
    except (av.error.FFmpegError, OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for meaning, names in _CONTAINER_TAGS.items():
        value = next((tags[n.lower()] for n in names if tags.get(n.lower())), None)
        if value:
            out[meaning] = value
    return out


def describe(ws: Workspace, media: Media, check: FileCheck | None = None) -> dict[str, Any]:
    """Everything known about a media's acquisition, for ``media show`` and the report:
    identity, the file's state (``check``, if the caller already hashed the file), stated
    facts and container facts side by side."""
    check = check or file_state(media)
    return {
        "media": {"id": media.id, "path": media.path, "sha256": media.sha256,
                  "size": media.size, "duration_ms": media.duration_ms,
                  "added_at": media.added_at},
        "file": {"state": str(check.state), "sha256_now": check.sha256},
        "stated": facts(ws, media.id),
        "container": container_facts(Path(media.path)),
    }


def describe_json(ws: Workspace, media: Media) -> str:
    return json.dumps(describe(ws, media), ensure_ascii=False, indent=2)
