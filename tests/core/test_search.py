"""Navigation, confidence and search: pure functions on plain segment lists, and through a
session (where speaker labels and codebook labels join the searchable text)."""

from __future__ import annotations

import pytest

from annotator.core import search as find
from annotator.core.codebook import default_codebook
from annotator.core.model import ReviewState, Segment, Speaker, Word
from annotator.core.session import ReviewSession


def seg(
    id_: int, start: int, text: str = "", *, state: ReviewState = ReviewState.UNREVIEWED,
    tags: tuple[str, ...] = (), probs: tuple[float, ...] = (), logprob: float | None = None,
    speaker: int | None = None, human: str | None = None, note: str = "",
) -> Segment:
    words = tuple(Word(start + i, start + i + 1, f" w{i}", p) for i, p in enumerate(probs))
    return Segment(
        id_, 1, start, start + 1_000, text, words, human, avg_logprob=logprob,
        speaker_id=speaker, tags=tags, state=state, note=note,
    )


SEGS = [
    seg(1, 0, "Step out of the car.", state=ReviewState.REVIEWED),
    seg(2, 1_000, "No.", probs=(0.9, 0.2)),
    seg(3, 2_000, "Show me a WARRANT.", tags=("warrant_requested",), speaker=7),
    seg(4, 3_000, "Break it.", logprob=-1.4, state=ReviewState.VERIFIED),
    seg(5, 4_000, "", human="There's a child in there!", tags=("child_present",),
        note="Crying audible"),
]
SPEAKERS = {7: Speaker(7, 1, "Driver (father)", "driver")}


def test_index_of_uses_the_review_order() -> None:
    assert [find.index_of(SEGS, s) for s in SEGS] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        find.index_of(SEGS, seg(9, 0))


def test_low_confidence() -> None:
    assert [find.is_low_confidence(s) for s in SEGS] == [False, True, False, True, False]
    assert find.is_low_confidence(SEGS[1], threshold=0.1) is False
    assert find.is_low_confidence(seg(9, 0, probs=(0.49,)))


def test_next_helpers_search_after_and_wrap() -> None:
    assert find.next_unreviewed(SEGS) == 1
    assert find.next_unreviewed(SEGS, 1) == 2
    assert find.next_unreviewed(SEGS, 4) == 1  # wraps to the top
    assert find.next_unreviewed(SEGS, 1, reverse=True) == 4  # wraps to the bottom
    assert find.next_low_confidence(SEGS, 1) == 3
    assert find.next_low_confidence(SEGS, 3) == 1
    assert find.next_with_tag(SEGS, -1, "child_present") == 4
    assert find.next_with_tag(SEGS, 4, "child_present") == 4  # the only one: itself
    assert find.next_with_tag(SEGS, 0, "window_broken") is None
    assert find.next_index(SEGS, 2, lambda s: s.id == 1, wrap=False) is None
    assert find.next_index([], -1, lambda s: True) is None


def test_search_is_case_insensitive_over_every_field() -> None:
    cb = default_codebook()

    def ids(q: str) -> list[int]:
        return [SEGS[i].id for i in find.search(SEGS, q, SPEAKERS, cb)]

    assert ids("warrant") == [3]  # text and tag key
    assert ids("WARRANT REQUESTED") == [3]  # tag label, all terms
    assert ids("father") == [3]  # speaker label
    assert ids("child") == [5]  # human text and tag
    assert ids("crying") == [5]  # note
    assert ids('"out of the"') == [1]
    assert ids('"the car out"') == []
    assert ids("  ") == []


def test_filter_combines_criteria() -> None:
    def ids(**kw: object) -> list[int]:
        return [SEGS[i].id for i in find.filter_segments(SEGS, speakers=SPEAKERS, **kw)]  # type: ignore[arg-type]

    assert ids(state="unreviewed") == [2, 3, 5]
    assert ids(speaker_id=7) == [3]
    assert ids(unassigned=True, state=ReviewState.UNREVIEWED) == [2, 5]
    assert ids(tag="child_present") == [5]
    assert ids(low_confidence=True) == [2, 4]
    assert ids(low_confidence=False, corrected=True) == [5]
    assert ids(query="driver") == [3]
    assert ids() == [1, 2, 3, 4, 5]


def test_session_navigation(session: ReviewSession) -> None:
    segs = session.segments
    assert find.next_low_confidence(segs) == 2  # "Show me a warrant first." has a weak word
    assert find.next_low_confidence(segs, 2) == 5
    session.set_state([1, 2], ReviewState.REVIEWED)
    assert find.next_unreviewed(segs) == 2
    session.add_tag([4, 6], "recording_mentioned")
    assert find.next_with_tag(segs, 3, "recording_mentioned") == 5
    assert find.next_with_tag(segs, 5, "recording_mentioned") == 3
    session.add_speaker("Deputy Ruiz", agency="sheriff", assign=[6])
    speakers, codebook = session.speakers, session.codebook
    assert find.search(segs, "ruiz badge", speakers, codebook) == [5]
    assert find.search(segs, "Recording Mentioned", speakers, codebook) == [3, 5]
    assert find.next_match(segs, 3, "Recording Mentioned", speakers, codebook) == 5
    assert find.next_match(segs, 3, "recording mentioned", speakers, codebook,
                           reverse=True) == 5  # wraps round to the only other one
    assert find.next_match(segs, 0, "  ", speakers, codebook) is None
    (sp_id,) = speakers
    assert session.filter(speaker_id=sp_id) == [5]
    assert session.filter(state="reviewed") == [0, 1]
    assert session.index_of(6) == 5
