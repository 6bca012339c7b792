"""JSON export: valid against the shipped schema, lossless, and read back safely."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from annotator.core.document import Transcript
from annotator.core.model import ReviewState, TagKind
from annotator.formats import TranscriptFileError, export, load_schema, read_json
from annotator.formats.json_format import SCHEMA_VERSION, JsonFormat

from .builders import INJECTIONS, STOP, STOP_SPEAKERS, Seg, TranscriptBuilder


def validate(data: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_enums_follow_the_model() -> None:
    defs = load_schema()["$defs"]
    assert defs["segment"]["properties"]["state"]["enum"] == [s.value for s in ReviewState]
    kinds = defs["codebook"]["properties"]["entries"]["items"]["properties"]["kind"]["enum"]
    assert kinds == ["speaker", *(k.value for k in TagKind)]


def test_export_validates_and_round_trips_every_field(stop: Transcript, tmp_path: Path) -> None:
    data = read_json(export(stop, "json", tmp_path))
    validate(data)
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["provenance"] == json.loads(json.dumps(stop.provenance()))
    media = stop.media
    assert data["media"] == {
        "id": media.id, "path": media.path, "typed_path": media.typed_path,
        "sha256": media.sha256, "size": media.size,
        "duration_ms": media.duration_ms, "added_at": media.added_at, "streams": [],
    }
    run = stop.run
    assert run is not None
    assert data["run"] == {
        "id": run.id, "media_id": run.media_id, "model_id": run.model_id,
        "model_sha256": run.model_sha256, "engine_versions": run.engine_versions,
        "options": run.options, "language": "en", "language_probability": 0.98,
        "created_at": run.created_at, "finished_at": run.finished_at, "status": "done",
        "warnings": [],
    }
    assert data["speakers"] == [
        {"id": sp.id, "label": sp.label, "role": sp.role, "agency": sp.agency}
        for sp in stop.speakers.values()
    ]
    assert [sp["label"] for sp in data["speakers"]] == list(STOP_SPEAKERS)
    assert stop.codebook is not None
    assert data["codebook"]["name"] == stop.codebook.name
    assert data["codebook"]["version"] == stop.codebook.version
    assert [tuple(e.values()) for e in data["codebook"]["entries"]] == [
        (e.kind, e.key, e.label, e.description, e.shortcut) for e in stop.codebook.entries
    ]
    assert len(data["segments"]) == len(stop.segments) == len(STOP)
    agencies = [{"keys": ["ice"], "labels": ["ICE"], "source": "line"}, None, None]
    for out, seg, agency in zip(data["segments"], stop.segments, agencies, strict=True):
        assert out == {
            "id": seg.id, "start_ms": seg.start_ms, "end_ms": seg.end_ms, "text": seg.text,
            "machine_text": seg.machine_text, "human_text": seg.human_text,
            "corrected": seg.corrected, "draft_id": seg.draft_id,
            "speaker_id": seg.speaker_id, "speaker": stop.speaker_label(seg),
            "tags": list(seg.tags), "state": seg.state.value, "note": seg.note,
            "avg_logprob": seg.avg_logprob, "no_speech_prob": seg.no_speech_prob,
            "compression_ratio": seg.compression_ratio,
            "words": [w.to_dict() for w in seg.words],
            # no language recorded for these hand-made drafts (see test_languages.py)
            "language": None, "language_probability": None, "written_by": None,
            "translation": None, "agency": agency,
            "origin": [],  # no accepted suggestion (see tests/suggest/test_layer.py)
        }


def test_review_layer_is_distinguishable(stop: Transcript) -> None:
    segs = json.loads(JsonFormat.to_string(stop))["segments"]
    first, second, third = segs
    assert (first["speaker"], first["tags"], first["state"]) == ("Officer 1", ["ice", "strike"],
                                                                  "verified")
    assert [w["text"] for w in first["words"]][-1] == " vehicle."
    assert second["machine_text"] == "Why are you stopping me"
    assert second["human_text"] == second["text"] == "Why are you stopping me?"
    assert second["corrected"] is True and second["note"] == "question intonation"
    assert third["speaker"] is None and third["speaker_id"] is None
    assert third["human_text"] is None and third["corrected"] is False


def test_text_is_kept_exactly(build: TranscriptBuilder, tmp_path: Path) -> None:
    """JSON is the lossless record: no sanitising, control characters escaped by JSON."""
    hostile = build(
        [Seg(i * 1000, i * 1000 + 900, text, speaker=text) for i, text in enumerate(INJECTIONS)],
        INJECTIONS,
    )
    path = export(hostile, "json", tmp_path)
    assert "\x1b" not in path.read_text(encoding="utf-8")  # written as \u001b: safe to `cat`
    data = read_json(path)
    validate(data)
    assert [s["text"] for s in data["segments"]] == list(INJECTIONS)
    assert [s["speaker"] for s in data["segments"]] == list(INJECTIONS)


def test_unfinished_run_is_named_with_its_status(build: TranscriptBuilder) -> None:
    partial = build([Seg(0, 500, "draft only")], finished=False, codebook=False)
    data = json.loads(JsonFormat.to_string(partial))
    validate(data)
    assert data["run"]["status"] == "running" and data["run"]["finished_at"] is None
    assert data["provenance"]["run"]["model_id"] == data["run"]["model_id"]


def test_transcript_without_run_or_codebook(build: TranscriptBuilder) -> None:
    bare = dataclasses.replace(build([Seg(0, 500, "typed by hand")], codebook=False), run=None)
    data = json.loads(JsonFormat.to_string(bare))
    validate(data)
    assert data["run"] is None and data["codebook"] is None
    assert data["provenance"]["run"] is None and data["provenance"]["codebook"] is None


def test_non_finite_engine_figures_become_null(stop: Transcript) -> None:
    seg = dataclasses.replace(
        stop.segments[0], avg_logprob=float("-inf"), compression_ratio=float("nan")
    )
    odd = dataclasses.replace(stop, segments=(seg,))
    data = json.loads(JsonFormat.to_string(odd))  # strict JSON: no NaN/Infinity tokens
    validate(data)
    assert data["segments"][0]["avg_logprob"] is None
    assert data["segments"][0]["compression_ratio"] is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["segments"][0].update(extra=1),
        lambda d: d["segments"][0].pop("machine_text"),
        lambda d: d["segments"][0].update(state="approved"),
        lambda d: d["segments"][0]["words"][0].update(start_ms=-1),
        lambda d: d["media"].update(sha256="not-a-hash"),
        lambda d: d.update(schema_version=2),
        lambda d: d["provenance"].update(tool="other"),
    ],
)
def test_schema_rejects_altered_exports(stop: Transcript, change: Any) -> None:
    data = json.loads(JsonFormat.to_string(stop))
    validate(copy.deepcopy(data))
    change(data)
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"\xff\xfe not json", "not a JSON file"),
        (b"{not json", "not a JSON file"),
        (b"[1, 2]", "no schema_version"),
        (b'{"segments": []}', "no schema_version"),
        (b'{"schema_version": "1"}', "not an integer"),
        (b'{"schema_version": true}', "not an integer"),
        (b'{"schema_version": 2}', "newer than this annotator"),
        (b'{"schema_version": 0}', "not a known version"),
    ],
)
def test_read_json_refuses_what_it_cannot_trust(
    tmp_path: Path, content: bytes, cause: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(TranscriptFileError) as info:
        read_json(path)
    assert info.value.path == path
    assert cause in info.value.cause


def test_read_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TranscriptFileError, match="cannot read"):
        read_json(tmp_path / "missing.json")
