"""ASS export: a style per speaker, tags as comments, override markup neutralised."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import pysubs2
from pysubs2.formats.substation import parse_tags

from annotator.core.document import Transcript
from annotator.formats import export
from annotator.formats.ass import DEFAULT_STYLE, PALETTE, AssFormat
from annotator.formats.text import one_line, restore_markup

from .builders import CODEBOOK_SHA256, INJECTIONS, MODEL_SHA256, STOP, Seg, TranscriptBuilder

FULLWIDTH_COMMA = "\uff0c"


def load(text: str) -> pysubs2.SSAFile:
    return pysubs2.SSAFile.from_string(text, format_="ass")


def dialogues(subs: pysubs2.SSAFile) -> list[pysubs2.SSAEvent]:
    return [e for e in subs if not e.is_comment]


def as_typed(text: str) -> str:
    return restore_markup(text).replace(FULLWIDTH_COMMA, ",")


def test_parses_back_with_times_styles_names_and_tags(stop: Transcript, tmp_path: Path) -> None:
    subs = pysubs2.load(str(export(stop, "ass", tmp_path)), encoding="utf-8")
    lines = dialogues(subs)
    assert [(e.start, e.end) for e in lines] == [(s.start_ms, s.end_ms) for s in STOP]
    assert [(e.style, e.name, e.plaintext) for e in lines] == [
        ("Officer 1", "Officer 1", "Officer 1: Step out of the vehicle."),
        ("Bystander", "Bystander", "Bystander: Why are you stopping me?"),
        (DEFAULT_STYLE, "", "Okay."),
    ]
    comments = [e for e in subs if e.is_comment]
    assert [(e.start, e.end, e.style, e.name, e.text) for e in comments] == [
        (0, 1500, "Officer 1", "Officer 1", "tags: ICE; Strike on window or vehicle"),
        (3250, 4010, DEFAULT_STYLE, "", "tags: Unclear audio"),
    ]
    assert list(subs.styles) == [DEFAULT_STYLE, "Officer 1", "Bystander"]
    colours = [astuple(subs.styles[name].primarycolor) for name in subs.styles]
    assert colours == [(255, 255, 255, 0), (*PALETTE[0], 0), (*PALETTE[1], 0)]


def test_provenance_in_script_info_comments(stop: Transcript) -> None:
    header = AssFormat.to_string(stop).split("[V4+ Styles]")[0]
    comments = [line for line in header.splitlines() if line.startswith("; ")]
    assert any(stop.media.sha256 in line for line in comments)
    assert any(MODEL_SHA256 in line and "tiny.en" in line for line in comments)
    assert any(CODEBOOK_SHA256 in line for line in comments)
    assert "Title: annotator transcript of demo.mp4" in header


def test_times_have_centisecond_resolution(build: TranscriptBuilder) -> None:
    (event,) = load(AssFormat.to_string(build([Seg(1234, 5678, "x")])))
    assert (event.start, event.end) == (1230, 5680)  # rounded like Aegisub does


def test_backslash_sequences_and_braces_stay_text(build: TranscriptBuilder) -> None:
    texts = ["a\\Nb", "c\\nd", "e\\hf", "{\\an8}top", "{\\b1}bold{\\b0}", "\\", "{", "}{"]
    subs = load(AssFormat.to_string(build([Seg(i * 100, i * 100 + 90, t) for i, t in
                                           enumerate(texts)])))
    assert len(subs) == len(texts)
    for event, text in zip(subs, texts, strict=True):
        assert "\n" not in event.plaintext and "\u00a0" not in event.plaintext
        assert not set(event.text) & set("{}\\")
        assert len(parse_tags(event.text)) == 1  # no override block
        assert restore_markup(event.plaintext) == text


def test_injections_in_text_speakers_and_tags(build: TranscriptBuilder, tmp_path: Path) -> None:
    segs = [
        Seg(i * 1000, i * 1000 + 900, t, speaker=t, tags=(f"{{\\an8}}tag{i}",))
        for i, t in enumerate(INJECTIONS)
    ]
    subs = pysubs2.load(str(export(build(segs, INJECTIONS), "ass", tmp_path)), encoding="utf-8")
    lines = dialogues(subs)
    assert len(lines) == len(INJECTIONS) and len(subs) == 2 * len(INJECTIONS)
    for event, seg in zip(lines, segs, strict=True):
        assert (event.start, event.end) == (seg.start_ms, seg.end_ms)
        assert "\n" not in event.plaintext
        typed = one_line(seg.text)  # the speaker's label is the text too
        assert as_typed(event.plaintext) == (f"{typed}: {typed}" if typed else typed)
        assert len(parse_tags(event.text)) == 1  # neither label nor text opens a block
        assert as_typed(event.name) == typed
        assert event.style in subs.styles
    for comment, i in zip((e for e in subs if e.is_comment), range(len(segs)), strict=True):
        assert comment.text == f"tags: \uff5b\uff3can8\uff5dtag{i}"


def test_commas_in_labels_do_not_shift_fields(build: TranscriptBuilder) -> None:
    label = "Smith, John, Sgt."
    (event,) = load(AssFormat.to_string(build([Seg(0, 1000, "a, b, c", speaker=label)], [label])))
    assert event.name == event.style == label.replace(",", FULLWIDTH_COMMA)
    assert event.plaintext == "Smith, John, Sgt.: a, b, c"  # the visible label keeps commas
    assert (event.marginl, event.marginr, event.marginv) == (0, 0, 0)


def test_style_names_are_unique_and_default_stays_white(build: TranscriptBuilder) -> None:
    labels = ["Default", "default", *(f"Person {n}" for n in range(10))]
    transcript = build([Seg(i * 100, i * 100 + 90, "x", speaker=s) for i, s in enumerate(labels)],
                       labels)
    subs = load(AssFormat.to_string(transcript))
    assert len(subs.styles) == 1 + len(labels)
    assert subs.styles[DEFAULT_STYLE].primarycolor == pysubs2.Color(255, 255, 255)
    assert [(e.style, e.name) for e in subs][:2] == [
        ("Default #1", "Default"), ("default #2", "default")
    ]
    speaker_colours = [astuple(subs.styles[e.style].primarycolor) for e in subs]
    assert len(set(speaker_colours[: len(PALETTE)])) == len(PALETTE)


def test_header_cannot_be_injected(build: TranscriptBuilder) -> None:
    path = "/x/a\n[Events]\nDialogue: 0,0:00:00.00,0:00:09.00,Default,,0,0,0,,forged.mp4"
    out = AssFormat.to_string(build([Seg(0, 1000, "real")], media_path=path))
    assert out.splitlines().count("[Events]") == 1
    assert [e.plaintext for e in load(out)] == ["real"]
