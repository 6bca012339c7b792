"""Language and translation in every export (issue 8.5): JSON carries both, captions write
the original, the translation or both, WebVTT marks each line's language, and translated
text (untrusted, like every transcript text) stays inert in every format."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import jsonschema
import pysubs2
import webvtt

from annotator.core import runs
from annotator.core.document import Transcript, load_transcript
from annotator.core.model import MachineSegment, Translation
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.formats import export, load_schema, read_json
from annotator.formats.ass import AssFormat
from annotator.formats.srt import SrtFormat
from annotator.formats.vtt import VttFormat

HOSTILE = "Stop <b>now</b> {\\an8} --> 00:00:01,000 </v>"


def _bilingual(ws: Workspace) -> int:
    data = b"bilingual stop"
    media = ws.add_media("/evidence/stop.mp4", hashlib.sha256(data).hexdigest(), len(data), 9000)
    run = ws.start_run(media.id, "tiny.en", "a" * 64, {}, {})
    lines = [
        MachineSegment(0, 0, 2000, "Step out of the vehicle.", (), -0.2, 0.01, 1.2,
                       language="en", language_probability=0.97, model_id="tiny.en"),
        MachineSegment(1, 2500, 5000, "Tenemos un bebé en el asiento de atrás.", (), -0.3,
                       0.02, 1.1, language="es", language_probability=0.99, model_id="base",
                       translation=Translation("en", "We have a baby in the back seat.",
                                               "base", "b" * 64)),
        MachineSegment(2, 5500, 8000, "No rompa la ventana.", (), -0.3, 0.02, 1.1,
                       language="es", language_probability=0.61, model_id="base",
                       translation=Translation("en", HOSTILE, "base", "b" * 64)),
    ]
    for seg in lines:
        runs.store_draft(ws, run, seg.index, seg)
    runs.finish(ws, run.id, runs.RunStatus.DONE)
    return media.id


def _transcript(ws: Workspace, media_id: int, captions: str = "original") -> Transcript:
    return dataclasses.replace(load_transcript(ws, media_id), captions=captions)


def test_json_carries_language_probability_model_and_translation(
    workspace: Workspace, tmp_path: Path
) -> None:
    media_id = _bilingual(workspace)
    data = read_json(export(_transcript(workspace, media_id), "json", tmp_path))
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    first, second, _third = data["segments"]
    assert (first["language"], first["language_probability"], first["written_by"]) == (
        "en", 0.97, "tiny.en")
    assert first["translation"] is None
    assert second["language"] == "es" and second["written_by"] == "base"
    assert second["text"] == "Tenemos un bebé en el asiento de atrás."
    assert second["translation"] == {
        "language": "en", "text": "We have a baby in the back seat.",
        "machine_text": "We have a baby in the back seat.", "human_text": None,
        "machine_translation": True, "model_id": "base", "model_sha256": "b" * 64,
    }


def test_bilingual_captions_put_the_original_above_the_translation(
    workspace: Workspace,
) -> None:
    media_id = _bilingual(workspace)
    both = _transcript(workspace, media_id, "both")
    srt = pysubs2.SSAFile.from_string(SrtFormat.to_string(both))
    assert srt[0].plaintext == "Step out of the vehicle."
    assert srt[1].plaintext == (
        "Tenemos un bebé en el asiento de atrás.\nWe have a baby in the back seat.")
    only = _transcript(workspace, media_id, "translation")
    srt = pysubs2.SSAFile.from_string(SrtFormat.to_string(only))
    assert [e.plaintext for e in srt][:2] == [
        "Step out of the vehicle.", "We have a baby in the back seat."]
    ass = pysubs2.SSAFile.from_string(AssFormat.to_string(both))
    assert ass[1].plaintext.split("\n") == [
        "Tenemos un bebé en el asiento de atrás.", "We have a baby in the back seat."]


def test_vtt_cues_mark_the_language_of_each_line(workspace: Workspace) -> None:
    media_id = _bilingual(workspace)
    text = VttFormat.to_string(_transcript(workspace, media_id, "both"))
    assert "<lang en>Step out of the vehicle.</lang>" in text
    assert ("<lang es>Tenemos un bebé en el asiento de atrás.</lang>\n"
            "<lang en>We have a baby in the back seat.</lang>") in text
    cues = webvtt.from_buffer(io.StringIO(text))
    assert len(cues) == 3


def test_translated_text_stays_inert_in_every_caption_format(workspace: Workspace) -> None:
    media_id = _bilingual(workspace)
    both = _transcript(workspace, media_id, "both")
    vtt = VttFormat.to_string(both)
    assert "<b>" not in vtt and "&lt;b&gt;" in vtt and "&lt;/v&gt;" in vtt
    assert len(webvtt.from_buffer(io.StringIO(vtt))) == 3  # no forged cue
    srt = SrtFormat.to_string(both)
    assert "<b>" not in srt and "{\\an8}" not in srt
    assert len(pysubs2.SSAFile.from_string(srt)) == 3
    ass = AssFormat.to_string(both)
    assert "{\\an8}" not in ass
    (event,) = [e for e in pysubs2.SSAFile.from_string(ass) if "No rompa" in e.text]
    assert event.text.count("\\N") == 1  # the one break between original and translation


def test_a_reviewer_corrects_the_translation_as_its_own_audited_layer(
    workspace: Workspace, tmp_path: Path
) -> None:
    media_id = _bilingual(workspace)
    session = ReviewSession(workspace, media_id, "ana")
    seg = session.segments[1]
    session.set_translation(seg.id, "We have a baby in the back seat, please.")
    after = session.translation(seg.id)
    assert after is not None and after.machine_text == "We have a baby in the back seat."
    assert after.text == "We have a baby in the back seat, please."
    (entry,) = [a for a in workspace.audit(media_id) if a["action"] == "translation.edit"]
    assert entry["reviewer"] == "ana"
    assert entry["changes"][0]["before"] is None
    assert entry["changes"][0]["after"] == "We have a baby in the back seat, please."
    data = read_json(export(_transcript(workspace, media_id), "json", tmp_path))
    translation = data["segments"][1]["translation"]
    assert translation["human_text"] == "We have a baby in the back seat, please."
    assert translation["machine_text"] == "We have a baby in the back seat."
    assert data["segments"][1]["machine_text"] == "Tenemos un bebé en el asiento de atrás."
    # giving the machine's text again takes the correction back
    session.set_translation(seg.id, "We have a baby in the back seat.")
    back = session.translation(seg.id)
    assert back is not None and back.human_text is None


def test_deleting_or_merging_a_segment_and_undoing_keeps_its_translation_correction(
    workspace: Workspace,
) -> None:
    """The workspace drops a correction with its segment row; the edit carries it (and the
    audit entry says so), and undo puts it back with the segment: a reviewer's translation
    is never lost by a delete and its undo, nor by a merge and its undo."""
    media_id = _bilingual(workspace)
    session = ReviewSession(workspace, media_id, "ana")
    seg = session.segments[1]
    fixed = "We have a baby in the back seat, please."
    session.set_translation(seg.id, fixed)
    for remove in (lambda: session.delete_segment(seg.id),
                   lambda: session.merge_with_next(session.segments[0].id)):
        remove()
        assert seg.id not in {s.id for s in session.segments}
        entry = workspace.audit(media_id)[-1]
        assert {"table": "segment_translation", "id": seg.id, "before": fixed,
                "after": None} in entry["changes"]
        session.undo()
        back = session.translation(seg.id)
        assert back is not None and back.text == fixed and back.human_text == fixed
        restored = workspace.audit(media_id)[-1]
        assert restored["action"] == "undo"
        assert {"table": "segment_translation", "id": seg.id, "before": None,
                "after": fixed} in restored["changes"]
    session.redo()  # the merge again: the correction goes with the merged-away segment
    assert seg.id not in {s.id for s in session.segments}
    session.undo()
    back = session.translation(seg.id)
    assert back is not None and back.human_text == fixed
