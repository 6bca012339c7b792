"""JSON: the complete, lossless record of a transcript and its review.

This is the export to keep as evidence and to feed other tools. It carries everything the
workspace knows about one media file: provenance (media hash, model and its hash, engine
versions, every option, codebook, tool version, export time), the media and run records, the
speakers, the codebook, and for every segment both the machine text and the reviewer's text,
the review state, tags, note, the engine's confidence figures and every word with its timing.
Text is written exactly as stored (no sanitising: JSON escaping is unambiguous).

The layout is described by ``transcript.schema.json`` (JSON Schema draft 2020-12) shipped in
this package; :func:`load_schema` returns it. ``schema_version`` changes whenever a field is
removed or changes meaning; a reader must refuse versions it does not know (see
:func:`read_json`).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path, PurePath
from typing import Any

from annotator.core import captures
from annotator.core.agency import effective_agency
from annotator.core.document import Transcript
from annotator.core.model import Codebook, Media, Run, Segment, Speaker, SuppressedSegment
from annotator.core.suggestions import event_origins, segment_origins
from annotator.errors import TranscriptFileError
from annotator.formats.base import FormatBase

#: Version of the layout written by :class:`JsonFormat` and described by the schema file.
SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "transcript.schema.json"


class JsonFormat(FormatBase):
    """Lossless JSON export (UTF-8, two-space indent)."""

    identifier = "json"
    extension = ".json"
    description = "complete transcript with provenance, review and word timings (lossless)"

    @classmethod
    def to_string(cls, transcript: Transcript) -> str:
        return json.dumps(to_dict(transcript), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def to_dict(transcript: Transcript) -> dict[str, Any]:
    """The export as plain JSON-ready data (what :class:`JsonFormat` serialises)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "provenance": transcript.provenance(),
        "audit_chain_head": transcript.chain_head,
        "media": _media(transcript.media),
        "acquisition": _acquisition(transcript),
        "run": None if transcript.run is None else _run(transcript.run),
        "speakers": [_speaker(sp) for _, sp in sorted(transcript.speakers.items())],
        "codebook": None if transcript.codebook is None else _codebook(transcript.codebook),
        "segments": [_segment(seg, transcript) for seg in transcript.segments],
        "suppressed": [_suppressed(seg) for seg in transcript.suppressed],
        "coverage": None if transcript.coverage is None else transcript.coverage.to_dict(),
        "suggestions": [sug.to_dict() for sug in transcript.suggestions],
        "events": [
            {**ev.to_dict(), "origin": event_origins(transcript.suggestions, ev)}
            for ev in transcript.events
        ],
    }


def _acquisition(transcript: Transcript) -> dict[str, Any]:
    """Where the recording came from: stated facts and the container's own claims, and for
    a live capture its record (source, kept headers, sequence numbers, piece hash chain,
    gaps: :func:`annotator.core.captures.sidecar`)."""
    out = {"stated": transcript.acquisition.get("stated", {}),
           "container": transcript.acquisition.get("container", {})}
    # the workspace's record (also while the capture runs), else the one beside the file
    capture = transcript.acquisition.get("capture") or captures.sidecar(
        transcript.media.path, transcript.media.sha256)
    if capture is not None:
        capture = dict(capture)
        if transcript.paths_redacted:
            capture["path"] = PurePath(str(capture.get("path", ""))).name
        out["capture"] = capture
    return out


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity; an engine figure that is not finite is written as null."""
    return value if value is not None and math.isfinite(value) else None


def _media(media: Media) -> dict[str, Any]:
    return {
        "id": media.id,
        "path": media.path,
        "typed_path": media.typed_path,
        "sha256": media.sha256,
        "size": media.size,
        "duration_ms": media.duration_ms,
        "added_at": media.added_at,
        "streams": [stream.to_dict() for stream in media.streams],
    }


def _run(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "media_id": run.media_id,
        "model_id": run.model_id,
        "model_sha256": run.model_sha256,
        "engine_versions": run.engine_versions,
        "options": run.options,
        "language": run.language,
        "language_probability": _finite(run.language_probability),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "status": str(run.status),
        "warnings": list(run.warnings),
    }


def _suppressed(seg: SuppressedSegment) -> dict[str, Any]:
    data = seg.to_dict()
    for key in ("avg_logprob", "compression_ratio", "temperature"):
        data[key] = _finite(data[key])
    return data


def _speaker(sp: Speaker) -> dict[str, Any]:
    return {"id": sp.id, "label": sp.label, "role": sp.role, "agency": sp.agency}


def _codebook(codebook: Codebook) -> dict[str, Any]:
    return {
        "name": codebook.name,
        "version": codebook.version,
        "entries": [
            {
                "kind": e.kind,
                "key": e.key,
                "label": e.label,
                "description": e.description,
                "shortcut": e.shortcut,
            }
            for e in codebook.entries
        ],
    }


def _segment(seg: Segment, transcript: Transcript) -> dict[str, Any]:
    return {
        "id": seg.id,
        "start_ms": seg.start_ms,
        "end_ms": seg.end_ms,
        "text": seg.text,
        "machine_text": seg.machine_text,
        "human_text": seg.human_text,
        "corrected": seg.corrected,
        "draft_id": seg.draft_id,
        "speaker_id": seg.speaker_id,
        "speaker": transcript.speaker_label(seg),
        "tags": list(seg.tags),
        "state": str(seg.state),
        "note": seg.note,
        "avg_logprob": _finite(seg.avg_logprob),
        "no_speech_prob": _finite(seg.no_speech_prob),
        "compression_ratio": _finite(seg.compression_ratio),
        "words": [
            {**w.to_dict(), "probability": _finite(w.probability)} for w in seg.words
        ],
        **_language(transcript, seg),
        "agency": _agency(transcript, seg),
        "origin": segment_origins(transcript.suggestions, seg),
    }


def _agency(transcript: Transcript, seg: Segment) -> dict[str, Any] | None:
    """The agency the line speaks for (its own agency tags, else its speaker's) and where
    that came from (:mod:`annotator.core.agency`); null when neither names one."""
    found = effective_agency(seg, transcript.speakers, transcript.codebook)
    if found is None:
        return None
    labels = found.labels(transcript.codebook)
    return {"keys": list(found.keys), "labels": list(labels), "source": found.source}


def _language(transcript: Transcript, seg: Segment) -> dict[str, Any]:
    """The segment's language (detected, or forced: probability null), the model that wrote
    its text, and its translation (machine, with any reviewer correction)."""
    lang = transcript.language_of(seg)
    tr = transcript.translation_of(seg)
    return {
        "language": None if lang is None or not lang.language else lang.language,
        "language_probability": None if lang is None else _finite(lang.probability),
        "written_by": None if lang is None else lang.model_id,
        "translation": None if tr is None else {
            "language": tr.language,
            "text": tr.text,
            "machine_text": tr.machine_text,
            "human_text": tr.human_text,
            "machine_translation": True,
            "model_id": tr.model_id,
            "model_sha256": tr.model_sha256,
        },
    }


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the export, read from the installed package."""
    resource = resources.files("annotator.formats").joinpath(SCHEMA_RESOURCE)
    text = resource.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def read_json(path: Path | str) -> dict[str, Any]:
    """Read a JSON export back, refusing files that are not annotator transcripts of a
    ``schema_version`` this code understands. Raises :class:`TranscriptFileError`.

    Only the version is checked here (the runtime has no JSON Schema validator); validate
    against :func:`load_schema` when the file comes from somewhere you do not trust.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise TranscriptFileError(path, f"cannot read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TranscriptFileError(path, f"not a JSON file ({exc})") from exc
    if not isinstance(data, dict) or "schema_version" not in data:
        raise TranscriptFileError(path, "not an annotator transcript (no schema_version)")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise TranscriptFileError(path, f"schema_version {version!r} is not an integer")
    if version > SCHEMA_VERSION:
        raise TranscriptFileError(
            path, f"schema_version {version} is newer than this annotator ({SCHEMA_VERSION})"
        )
    if version < 1:
        raise TranscriptFileError(path, f"schema_version {version} is not a known version")
    return data
