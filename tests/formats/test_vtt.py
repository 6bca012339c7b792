"""WebVTT export: voice spans, provenance NOTE, escaping checked with webvtt-py and pysubs2."""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import pysubs2
import pytest
import webvtt

from annotator import __version__
from annotator.core.document import Transcript
from annotator.formats import export
from annotator.formats.text import RATIO, one_line
from annotator.formats.vtt import VttFormat, timestamp

from .builders import CODEBOOK_SHA256, INJECTIONS, MODEL_SHA256, STOP, Seg, TranscriptBuilder


def read(path: Path) -> webvtt.WebVTT:
    return webvtt.read(str(path), strict=True)


def times(vtt: webvtt.WebVTT) -> list[tuple[int, int]]:
    return [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in vtt.captions]


def as_typed(text: str) -> str:
    """What a WebVTT consumer shows (entities decoded), with timestamp colons restored."""
    return html.unescape(text).replace(RATIO, ":")


def test_expected_output(stop: Transcript) -> None:
    assert VttFormat.to_string(stop) == textwrap.dedent(
        f"""\
        WEBVTT

        NOTE
        Transcript exported by annotator {__version__} at 2025-06-01T12:00:00+00:00
        Media: demo.mp4 sha256 {stop.media.sha256}
        Model: tiny.en sha256 {MODEL_SHA256}
        Language: en
        Codebook: roadside 1.0 sha256 {CODEBOOK_SHA256}

        1
        00:00:00.000 --> 00:00:01.500
        <v Officer 1>Officer 1: Step out of the vehicle.</v>

        2
        00:00:01.500 --> 00:00:03.250
        <v Bystander>Bystander: Why are you stopping me?</v>

        3
        00:00:03.250 --> 00:00:04.010
        Okay.
        """
    )


def test_parses_back_with_same_times_and_voices(stop: Transcript, tmp_path: Path) -> None:
    path = export(stop, "vtt", tmp_path)
    vtt = read(path)
    assert times(vtt) == [(s.start_ms, s.end_ms) for s in STOP]
    assert [c.voice for c in vtt.captions] == ["Officer 1", "Bystander", None]
    assert [c.text for c in vtt.captions] == [
        "Officer 1: Step out of the vehicle.", "Bystander: Why are you stopping me?", "Okay."
    ]
    (note,) = vtt.header_comments
    assert stop.media.sha256 in note and MODEL_SHA256 in note and __version__ in note
    subs = pysubs2.load(str(path), encoding="utf-8")  # a second, independent parser
    assert [(e.start, e.end) for e in subs] == times(vtt)
    assert [e.plaintext for e in subs] == [c.text for c in vtt.captions]


def test_injections_stay_text_in_cue_and_voice(build: TranscriptBuilder, tmp_path: Path) -> None:
    segs = [Seg(i * 1000, i * 1000 + 900, t, speaker=t) for i, t in enumerate(INJECTIONS)]
    path = export(build(segs, INJECTIONS), "vtt", tmp_path)
    vtt = read(path)
    assert len(vtt) == len(INJECTIONS)
    for cue, seg in zip(vtt.captions, segs, strict=True):
        assert (cue.start_time.in_milliseconds(), cue.end_time.in_milliseconds()) == (
            seg.start_ms, seg.end_ms
        )
        assert len(cue.lines) == 1
        assert cue.raw_text.startswith("<v ") and cue.raw_text.endswith("</v>")
        assert cue.raw_text.count("<") == 2 and "-->" not in cue.raw_text  # only our own tags
        assert cue.voice is not None
        assert as_typed(cue.voice) == one_line(seg.text)
        typed = one_line(seg.text)  # the speaker's label is the text too
        assert as_typed(cue.text) == (f"{typed}: {typed}" if typed else typed)
    assert len(pysubs2.load(str(path), encoding="utf-8")) == len(INJECTIONS)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("closing </v> the voice", "closing &lt;/v&gt; the voice"),
        ("fake --> cue", "fake --&gt; cue"),
        ("Tom & Jerry &amp;", "Tom &amp; Jerry &amp;amp;"),
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("{\\an8}kept", "{\\an8}kept"),  # not markup in WebVTT
        ("line one\n\nline two", "line one line two"),
    ],
)
def test_escaping(build: TranscriptBuilder, text: str, raw: str) -> None:
    vtt = webvtt.from_string(VttFormat.to_string(build([Seg(0, 1000, text)])), strict=True)
    assert [c.raw_text for c in vtt.captions] == [raw]


def test_note_cannot_become_a_cue(build: TranscriptBuilder) -> None:
    transcript = build(
        [Seg(0, 1000, "only cue")],
        media_path="/x/clip\n\n00:00:05.000 --> 00:00:06.000\nforged.mp4",
        model_id="model --> 00:00:07.000 --> 00:00:08.000 ---> x",
    )
    out = VttFormat.to_string(transcript)
    note = out.split("\n\n")[1].splitlines()
    assert note[0] == "NOTE" and len(note) == 6
    assert not any("-->" in line for line in note[1:])
    assert len(webvtt.from_string(out, strict=True)) == 1
    assert len(pysubs2.SSAFile.from_string(out, format_="vtt")) == 1


def test_timestamps() -> None:
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(3_723_004) == "01:02:03.004"
    assert timestamp(360_000_001) == "100:00:00.001"
    assert timestamp(-5) == "00:00:00.000"


def test_empty_text_makes_an_empty_cue(build: TranscriptBuilder) -> None:
    vtt = webvtt.from_string(VttFormat.to_string(build([Seg(0, 500, ""), Seg(500, 900, "x")])))
    assert times(vtt) == [(0, 500), (500, 900)]
    assert [c.text for c in vtt.captions] == ["", "x"]


def test_real_files_confirm_escaping_assumptions(
    build: TranscriptBuilder, real_subtitles: Path
) -> None:
    folder = real_subtitles / "webvtt-py"
    # Tags in real cue text (<b>, <c.colour>, <00:17.500> timestamps) are markup to webvtt-py:
    # an unescaped "<" from a transcript would make words vanish from .text.
    tagged = webvtt.read(str(folder / "cue_tags.vtt"))
    assert tagged[2].raw_text == "That's <00:00:21.000><c.colorE5E5E5>amore</c>"
    assert tagged[2].text == "That's amore"
    assert webvtt.read(str(folder / "styles.vtt"))[0].text == "- Hello world."
    # NOTE blocks are comments, never cues: where the provenance NOTE goes is safe.
    commented = webvtt.read(str(folder / "comments.vtt"))
    assert len(commented) == 3
    assert commented.header_comments[0].startswith("This translation was done by Kyle")
    # The same markup typed into a transcript comes back whole.
    raw = [tagged[2].raw_text, "- Hello <b>world</b>."]
    ours = webvtt.from_string(
        VttFormat.to_string(build([Seg(i * 1000, i * 1000 + 500, t) for i, t in enumerate(raw)]))
    )
    assert [as_typed(c.text) for c in ours.captions] == raw
    assert len(ours.header_comments) == 1  # ours, with provenance


def test_voice_names_cannot_open_tags(build: TranscriptBuilder) -> None:
    out = VttFormat.to_string(build([Seg(0, 1000, "hi", speaker="A>B <c.x>")], ["A>B <c.x>"]))
    (cue,) = webvtt.from_string(out, strict=True).captions
    assert cue.voice == "A&gt;B &lt;c.x&gt;"
    assert re.fullmatch(r"<v [^<>]+>[^<>]+: hi</v>", cue.raw_text)
