"""RTTM export on a real transcribed workspace, parsed back field by field as scoring tools
read it (10 space-separated fields, ``;;`` comments)."""

from __future__ import annotations

from annotator.core import suggestions as layer
from annotator.core.document import load_transcript
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Proposal
from annotator.formats import get_format, get_format_identifier
from annotator.formats.rttm import RttmFormat

SOURCE = {"detector": "test-voices"}


def _parse(text: str) -> list[tuple[str, float, float, str]]:
    """An independent reader: (file, start s, duration s, speaker) per SPEAKER line."""
    out = []
    for line in text.splitlines():
        if line.startswith(";;") or not line.strip():
            continue
        fields = line.split(" ")
        assert len(fields) == 10, line
        kind, file_id, channel, start, dur, ortho, stype, name, conf, lookahead = fields
        assert (kind, channel, ortho, stype, conf, lookahead) == (
            "SPEAKER", "1", "<NA>", "<NA>", "<NA>", "<NA>")
        out.append((file_id, float(start), float(dur), name))
    return out


def test_rttm_named_speakers_voice_suggestions_and_word_turns(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    assert get_format("rttm") is RttmFormat and get_format_identifier(".rttm") == "rttm"
    session = ReviewSession(ws, mid, "ana")
    segs = list(session.segments)
    named, mixed, plain = segs[0], next(s for s in segs[1:] if len(s.words) >= 4), segs[-1]
    session.add_speaker("Officer Kay", assign=[named.id])
    per_word = ["A"] * 2 + ["B"] * (len(mixed.words) - 2)
    layer.replace_open(ws, mid, [Kind.SPEAKER], [
        Proposal(Kind.SPEAKER, named.start_ms, named.end_ms, "C", SOURCE, segment_id=named.id),
        Proposal(Kind.SPEAKER, mixed.start_ms, mixed.words[2].start_ms, "A", SOURCE,
                 segment_id=mixed.id, detail={"word_voices": per_word}),
        Proposal(Kind.SPEAKER, plain.start_ms, plain.end_ms, "B", SOURCE, segment_id=plain.id),
    ])
    turns = _parse(RttmFormat.to_string(load_transcript(ws, mid)))
    assert {t[0] for t in turns} == {"demo"}
    got = [(round(t[1] * 1000), round((t[1] + t[2]) * 1000), t[3]) for t in turns]
    cut = mixed.words[2].start_ms
    assert got == [
        (named.start_ms, named.end_ms, "Officer_Kay"),  # a person's choice wins
        (mixed.start_ms, cut, "Voice_A"),
        (cut, mixed.end_ms, "Voice_B"),
        (plain.start_ms, plain.end_ms, "Voice_B"),
    ]
    # rejected suggestions are not turns
    plain_sug = next(x for x in layer.suggestions(ws, mid) if x.segment_id == plain.id)
    session.reject_suggestions(plain_sug.id)
    assert len(_parse(RttmFormat.to_string(load_transcript(ws, mid)))) == 3
