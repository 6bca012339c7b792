"""SRT export: speaker prefixes, exact layout, and untrusted text that stays text."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pysubs2
import pytest

from annotator.core.document import Transcript
from annotator.formats import export
from annotator.formats.srt import SrtFormat
from annotator.formats.text import RATIO, one_line, restore_markup

from .builders import INJECTIONS, STOP, Seg, TranscriptBuilder

TIMING_LINE = re.compile(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$", re.MULTILINE)


def as_typed(text: str) -> str:
    """What a reader sees in a safe caption, mapped back to the characters that were typed."""
    return restore_markup(text).replace(RATIO, ":")


def test_expected_output(stop: Transcript) -> None:
    assert SrtFormat.to_string(stop) == textwrap.dedent(
        """\
        1
        00:00:00,000 --> 00:00:01,500
        Officer 1: Step out of the vehicle.

        2
        00:00:01,500 --> 00:00:03,250
        Bystander: Why are you stopping me?

        3
        00:00:03,250 --> 00:00:04,010
        Okay.

        """
    )


def test_parses_back_with_same_times_and_speakers(stop: Transcript, tmp_path: Path) -> None:
    subs = pysubs2.load(str(export(stop, "srt", tmp_path)), encoding="utf-8")
    assert [(e.start, e.end) for e in subs] == [(s.start_ms, s.end_ms) for s in STOP]
    assert [e.plaintext for e in subs] == [
        "Officer 1: Step out of the vehicle.",
        "Bystander: Why are you stopping me?",  # the reviewer's text wins
        "Okay.",
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[bold red]x[/]", "[bold red]x[/]"),
        ("<script>alert(1)</script>", "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e"),
        ("{\\an8}moved to the top", "\uff5b\uff3can8\uff5dmoved to the top"),
        ("line\\Nbreak", "line\uff3cNbreak"),
        ("fake --> cue", "fake --\uff1e cue"),
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("one\r\ntwo\n\nthree\u2028four", "one two three four"),
        ("at 00:00:09,000 --> 00:00:10,000", f"at 00{RATIO}00{RATIO}09,000 --\uff1e 00{RATIO}00"
                                             f"{RATIO}10,000"),
        ("\u202eevil\u202c", "evil"),
    ],
)
def test_untrusted_text_is_shown_literally(
    build: TranscriptBuilder, tmp_path: Path, text: str, shown: str
) -> None:
    transcript = build([Seg(1000, 2000, text)])
    subs = pysubs2.load(str(export(transcript, "srt", tmp_path)), encoding="utf-8")
    assert len(subs) == 1
    assert subs[0].plaintext == shown
    assert subs[0].text == shown  # no tag was recognised and converted


def test_injections_create_no_cues_tags_or_lines(build: TranscriptBuilder, tmp_path: Path) -> None:
    segs = [Seg(i * 1000, i * 1000 + 900, t, speaker=t) for i, t in enumerate(INJECTIONS)]
    path = export(build(segs, INJECTIONS), "srt", tmp_path)
    raw = path.read_text(encoding="utf-8")
    assert len(TIMING_LINE.findall(raw)) == len(INJECTIONS)
    assert not set(TIMING_LINE.sub("", raw)) & set("<>{}\\\x1b")
    for keep_html_tags in (False, True):
        subs = pysubs2.load(str(path), encoding="utf-8", keep_html_tags=keep_html_tags)
        assert [(e.start, e.end) for e in subs] == [(s.start_ms, s.end_ms) for s in segs]
        for event, text in zip(subs, INJECTIONS, strict=True):
            assert "\n" not in event.plaintext
            assert as_typed(event.plaintext) == f"{one_line(text)}: {one_line(text)}"


def test_real_srt_markup_is_neutralised(build: TranscriptBuilder, real_subtitles: Path) -> None:
    """Real SRT files carry <i>, <font> and {\\an7}; pysubs2 (like players) interprets them.
    The same strings typed into a transcript must come back as the literal text."""
    folder = real_subtitles / "pysubs2_inline"
    names = [
        "pysubs2_subrip__test_read_tags_1.srt",
        "pysubs2_subrip__test_keep_ssa_tags_1.srt",
        "pysubs2_subrip__test_read_position_styling_1.srt",
        "pysubs2_subrip__test_read_bad_tags_1.srt",
    ]
    raw_texts: list[str] = []
    for name in names:
        raw = (folder / name).read_text(encoding="utf-8")
        blocks = [b for b in re.split(r"\n\s*\n", raw) if "-->" in b]
        texts = ["\n".join(b.splitlines()[2:]) for b in blocks]
        # the assumption the SRT writer defends against: markup in cue text is interpreted
        interpreted = pysubs2.SSAFile.from_string(raw, format_="srt")
        assert any(e.plaintext != t for e, t in zip(interpreted, texts, strict=True)), name
        raw_texts += texts
    transcript = build([Seg(i * 1000, i * 1000 + 500, t) for i, t in enumerate(raw_texts)])
    back = pysubs2.SSAFile.from_string(SrtFormat.to_string(transcript), format_="srt")
    assert [as_typed(e.plaintext) for e in back] == [one_line(t) for t in raw_texts]


def test_no_speaker_label_no_prefix(build: TranscriptBuilder) -> None:
    transcript = build([Seg(0, 1000, "hello", speaker="   ")], ["   "])
    assert SrtFormat.to_string(transcript).splitlines()[2] == "hello"
