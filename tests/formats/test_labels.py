"""Visible speaker labels (``--labels name|name+agency|none``) in SRT, WebVTT and ASS, and
the effective agency in JSON, on a review whose agency is set on the speaker through the
review session, overridden on one line, with a hostile speaker name and agency label."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from pathlib import Path

import pysubs2
import pytest
import webvtt
from pysubs2.formats.substation import parse_tags

from annotator.cli import main
from annotator.core.document import Transcript, load_transcript
from annotator.core.model import Codebook, CodebookEntry, TagKind
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import UsageError
from annotator.formats import export
from annotator.formats.json_format import JsonFormat
from annotator.formats.labels import LABELS, caption_label
from annotator.formats.text import RATIO, restore_markup

from .builders import Seg, TranscriptBuilder

HOSTILE = "<b>{\\an8}x</b>"
POLICE = "Local <i>police</i> {\\b1}"  # codebook labels are typed too
CODEBOOK = Codebook("labels", "1.0", (
    CodebookEntry("speaker", "officer", "Officer"),
    CodebookEntry(TagKind.AGENCY.value, "ice", "ICE"),
    CodebookEntry(TagKind.AGENCY.value, "local", POLICE),
    CodebookEntry(TagKind.ACTION.value, "order", "Verbal order"),
))
SEGS = (
    Seg(0, 1000, "Step out.", speaker="Officer"),  # inherits ICE from the speaker
    Seg(1000, 2000, "Hands up.", speaker="Officer", tags=("local", "order")),  # line: local
    Seg(2000, 3000, "Why?", speaker=HOSTILE),  # a speaker with the hostile agency
    Seg(3000, 4000, "Stop.", tags=("local",)),  # no speaker, an agency on the line
    Seg(4000, 5000, "Okay."),  # nobody, no agency
)
#: What a viewer reads in each cue, per --labels value.
SHOWN = {
    "name": ["Officer: Step out.", "Officer: Hands up.", f"{HOSTILE}: Why?", "Stop.", "Okay."],
    "name+agency": [
        "Officer (ICE): Step out.", f"Officer ({POLICE}): Hands up.",
        f"{HOSTILE} ({POLICE}): Why?", f"({POLICE}): Stop.", "Okay.",
    ],
    "none": ["Step out.", "Hands up.", "Why?", "Stop.", "Okay."],
}


@pytest.fixture
def review(build: TranscriptBuilder, workspace: Workspace) -> Transcript:
    """The builder's speakers get no agency from it here: both are set by a reviewer."""
    plain = build(SEGS, ["Officer", HOSTILE], codebook=False)
    media_id = plain.media.id
    workspace.set_media_codebook(media_id, workspace.save_codebook(
        CODEBOOK, hashlib.sha256(b"labels-1.0").hexdigest(), "labels.toml"))
    session = ReviewSession(workspace, media_id, "ana")
    by_label = {sp.label: sp.id for sp in session.speakers.values()}
    session.set_speaker_agency(by_label["Officer"], "ice")
    session.set_speaker_agency(by_label[HOSTILE], "local")
    return load_transcript(workspace, media_id)


def shown_srt(path: Path) -> list[str]:
    subs = pysubs2.load(str(path), encoding="utf-8")
    for event in subs:
        assert len(parse_tags(event.text)) == 1 and "<" not in event.text  # no markup at all
    return [restore_markup(e.plaintext).replace(RATIO, ":") for e in subs]


def shown_vtt(path: Path) -> list[str]:
    vtt = webvtt.read(str(path), strict=True)
    for cue in vtt.captions:  # only our own voice span is markup
        assert cue.raw_text.count("<") == (2 if cue.voice is not None else 0)
    return [html.unescape(c.text) for c in vtt.captions]


def shown_ass(path: Path) -> list[str]:
    subs = pysubs2.load(str(path), encoding="utf-8")
    lines = [e for e in subs if not e.is_comment]
    for event in lines:
        assert len(parse_tags(event.text)) == 1 and not set(event.text) & set("{}\\")
    return [restore_markup(e.plaintext).replace("\uff0c", ",") for e in lines]


READERS = {"srt": shown_srt, "vtt": shown_vtt, "ass": shown_ass}


@pytest.mark.parametrize("labels", LABELS)
@pytest.mark.parametrize("fmt", sorted(READERS))
def test_every_cue_shows_the_chosen_label(
    review: Transcript, tmp_path: Path, fmt: str, labels: str
) -> None:
    path = export(dataclasses.replace(review, labels=labels), fmt, tmp_path)
    assert READERS[fmt](path) == SHOWN[labels]


def test_vtt_voice_span_and_ass_name_stay_whatever_the_labels(
    review: Transcript, tmp_path: Path
) -> None:
    bare = dataclasses.replace(review, labels="none")
    vtt = webvtt.read(str(export(bare, "vtt", tmp_path)), strict=True)
    assert [html.unescape(c.voice or "") for c in vtt.captions] == [
        "Officer", "Officer", HOSTILE, "", ""
    ]
    subs = pysubs2.load(str(export(bare, "ass", tmp_path)), encoding="utf-8")
    names = [restore_markup(e.name) for e in subs if not e.is_comment]
    assert names == ["Officer", "Officer", HOSTILE, "", ""]


def test_json_has_the_speaker_agency_and_each_line_with_its_source(
    review: Transcript,
) -> None:
    outputs = {JsonFormat.to_string(dataclasses.replace(review, labels=m)) for m in LABELS}
    assert len(outputs) == 1  # --labels is about captions; the record is the same
    data = json.loads(outputs.pop())
    assert [(sp["label"], sp["agency"]) for sp in data["speakers"]] == [
        ("Officer", "ice"), (HOSTILE, "local")
    ]
    assert [seg["agency"] for seg in data["segments"]] == [
        {"keys": ["ice"], "labels": ["ICE"], "source": "speaker"},
        {"keys": ["local"], "labels": [POLICE], "source": "line"},
        {"keys": ["local"], "labels": [POLICE], "source": "speaker"},
        {"keys": ["local"], "labels": [POLICE], "source": "line"},
        None,
    ]


def test_an_unknown_labels_value_is_a_usage_error(review: Transcript) -> None:
    with pytest.raises(UsageError, match="--labels"):
        caption_label(dataclasses.replace(review, labels="names"), review.segments[0])


def test_export_command_takes_labels(
    review: Transcript, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = tmp_path / "out"
    args = ["export", str(review.media.id), "--format", "srt,vtt", "--out", str(out),
            "--db", str(workspace.path)]
    assert main([*args, "--labels", "name+agency"]) == 0
    files = {p.suffix: p for p in out.iterdir() if p.suffix in (".srt", ".vtt")}
    assert shown_srt(files[".srt"]) == shown_vtt(files[".vtt"]) == SHOWN["name+agency"]
    assert main(args) == 0  # the default: names
    assert shown_srt(files[".srt"]) == SHOWN["name"]
    assert main([*args, "--labels", "agency"]) == 2  # click refuses it: usage
