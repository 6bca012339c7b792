"""A transcript that is not the whole story says so in every format (issue 6.4): a run still in
progress or interrupted, and the run's own warnings (``Run.warnings``: a file that ends
early), escaped per format like any other untrusted text. Read back with independent
parsers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pysubs2
import pytest
import webvtt

from annotator.cli import main
from annotator.core.document import Transcript, load_transcript
from annotator.core.runlock import media_lock
from annotator.core.store import Workspace
from annotator.formats import FORMAT_IDENTIFIER_TO_FORMAT_CLASS, export, get_format
from annotator.formats.json_format import load_schema
from annotator.formats.srt import WARNING_CUE_MS

from .builders import EXPORTED_AT, INJECTIONS, STOP, STOP_SPEAKERS, TranscriptBuilder

TRUNCATED = "truncated at 0:16 of 0:59"


def _with_run_warnings(ws: Workspace, transcript: Transcript, *warnings: str) -> Transcript:
    assert transcript.run is not None
    with ws.transaction() as c:
        c.execute("UPDATE run SET warnings=? WHERE id=?", (json.dumps(warnings), transcript.run.id))
    return dataclasses.replace(load_transcript(ws, transcript.media.id), exported_at=EXPORTED_AT)


@pytest.fixture
def running(workspace: Workspace, build: TranscriptBuilder) -> Iterator[Transcript]:
    """A run still going: marked running, and its media's lock held as a live run holds it
    (:mod:`annotator.core.runlock`)."""
    transcript = build(STOP, STOP_SPEAKERS, finished=False)
    media = transcript.media
    with media_lock(workspace.path, media.sha256, Path(media.path), {"pid": 1, "host": "h"}):
        yield dataclasses.replace(
            load_transcript(workspace, media.id), exported_at=EXPORTED_AT
        )


@pytest.mark.parametrize("identifier", sorted(FORMAT_IDENTIFIER_TO_FORMAT_CLASS))
def test_every_format_says_a_transcript_in_progress_is_partial(
    running: Transcript, stop: Transcript, identifier: str
) -> None:
    text = get_format(identifier).to_string(running)
    assert "WARNING: partial transcript" in text or "partial transcript" in json.loads(
        text if identifier == "json" else "{}"
    ).get("provenance", {}).get("warnings", [""])[0]
    assert "still in progress" in text
    assert "WARNING" not in get_format(identifier).to_string(stop)  # a finished run: silent


def test_interrupted_run_is_called_so(workspace: Workspace, build: TranscriptBuilder) -> None:
    transcript = build(STOP, STOP_SPEAKERS, finished=False)
    assert transcript.run is not None
    workspace.finish_run(transcript.run.id, "failed")
    again = load_transcript(workspace, transcript.media.id)
    assert len(again.warnings) == 1 and "was interrupted" in again.warnings[0]
    assert "3 segments stored so far" in again.warnings[0]


@pytest.mark.parametrize("identifier", sorted(FORMAT_IDENTIFIER_TO_FORMAT_CLASS))
def test_run_warnings_reach_every_format(
    workspace: Workspace, stop: Transcript, identifier: str
) -> None:
    transcript = _with_run_warnings(workspace, stop, TRUNCATED)
    assert transcript.warnings == (TRUNCATED,)
    assert TRUNCATED in get_format(identifier).to_string(transcript)


def test_vtt_warning_is_a_note_block_of_its_own_first(running: Transcript, tmp_path: Path) -> None:
    text = get_format("vtt").to_string(running)
    blocks = text.split("\n\n")
    assert blocks[0] == "WEBVTT"
    assert blocks[1].startswith("NOTE\nWARNING: partial transcript")
    assert blocks[2].startswith("NOTE\nTranscript exported by annotator")
    cues = webvtt.read(str(export(running, "vtt", tmp_path)))
    assert len(cues) == len(running.segments)


def test_srt_warning_is_a_labelled_first_cue(running: Transcript, tmp_path: Path) -> None:
    subs = pysubs2.load(str(export(running, "srt", tmp_path)))
    first, *rest = subs
    assert (first.start, first.end) == (0, WARNING_CUE_MS)
    assert first.plaintext.startswith("[annotator] WARNING: partial transcript")
    assert [(e.start, e.end) for e in rest] == [(s.start_ms, s.end_ms) for s in running.segments]


def test_ass_warning_is_a_script_info_comment(running: Transcript, tmp_path: Path) -> None:
    text = get_format("ass").to_string(running)
    info = text.split("[V4+ Styles]")[0]
    assert "\n; WARNING: partial transcript" in info
    subs = pysubs2.load(str(export(running, "ass", tmp_path)))
    assert len([e for e in subs if not e.is_comment]) == len(running.segments)


def test_json_provenance_lists_the_warnings(workspace: Workspace, running: Transcript) -> None:
    transcript = _with_run_warnings(workspace, running, TRUNCATED)
    data = json.loads(get_format("json").to_string(transcript))
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    warnings = data["provenance"]["warnings"]
    assert len(warnings) == 2 and "still in progress" in warnings[0] and warnings[1] == TRUNCATED
    assert data["run"]["warnings"] == [TRUNCATED] and data["run"]["status"] == "running"


def test_warnings_cannot_inject_markup_or_cues(
    workspace: Workspace, running: Transcript, tmp_path: Path
) -> None:
    """Warnings may quote untrusted text (a file name): no format lets it become a cue, a tag,
    an override block or a header line."""
    transcript = _with_run_warnings(workspace, running, *INJECTIONS)
    n = len(transcript.segments)
    vtt = webvtt.read(str(export(transcript, "vtt", tmp_path)))
    assert len(vtt) == n and not any("forged" in c.text for c in vtt)
    srt = pysubs2.load(str(export(transcript, "srt", tmp_path)))
    assert len(srt) == n + 1
    warning_cue = srt[0].text
    assert not any(ch in warning_cue.replace("\\N", "") for ch in "<>{}\\")
    ass_text = export(transcript, "ass", tmp_path).read_text()
    info = ass_text.split("[V4+ Styles]")[0].splitlines()
    assert info[0] == "[Script Info]"
    assert all(line.startswith(";") or ": " in line or not line for line in info[1:]), info
    ass = pysubs2.load(str(tmp_path / f"{Path(export(transcript, 'ass', tmp_path)).name}"))
    assert len([e for e in ass if not e.is_comment]) == n
    data = json.loads(export(transcript, "json", tmp_path).read_text())
    assert data["provenance"]["warnings"][1:] == list(INJECTIONS)  # JSON keeps them exactly


def test_export_command_warns_on_stderr(
    workspace: Workspace, running: Transcript, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["export", str(running.media.id), "--format", "srt", "--out", str(out),
                 "--db", str(workspace.path)])
    assert code == 0
    err = capsys.readouterr().err
    assert err.startswith(f"annotator: warning: {running.media.path}: partial transcript")
    assert "still in progress" in err and err.count("\n") == 1
