"""Coverage: heard speech minus written segments, with the rule that dropped each gap."""

from __future__ import annotations

from annotator.core.coverage import (
    ENGINE_SKIPPED,
    HELD_BACK,
    NOT_DECODED,
    Dropped,
    find_gaps,
    measure,
    merge,
    subtract,
)


def test_merge_joins_overlapping_and_close_spans() -> None:
    assert merge([(5, 9), (0, 3), (2, 4), (10, 12)]) == [(0, 4), (5, 9), (10, 12)]
    assert merge([(0, 4), (5, 9)], join_ms=1) == [(0, 9)]
    assert merge([(3, 3), (7, 5)]) == []  # empty and reversed spans are nothing


def test_subtract_leaves_only_what_no_cut_covers() -> None:
    assert subtract([(0, 10_000)], [(2000, 3000), (2500, 4000), (9000, 12_000)]) == [
        (0, 2000), (4000, 9000),
    ]
    assert subtract([(0, 1000), (2000, 3000)], []) == [(0, 1000), (2000, 3000)]
    assert subtract([(0, 1000)], [(0, 1000)]) == []


def test_a_fully_written_clip_has_no_gaps() -> None:
    cov = measure([(500, 4000), (5000, 9000)], [(400, 4100), (4900, 9200)])
    assert cov.gaps == () and cov.heard_ms == cov.written_ms == 7500
    assert not cov.low and cov.summary() == "speech heard 8 s, written 8 s"


def test_edges_shorter_than_a_second_are_not_gaps() -> None:
    # the detector hears 600 ms more than the segment spans: normal edge disagreement
    assert find_gaps([(0, 5000)], [(600, 5000)]) == []


def test_each_gap_names_the_rule_that_dropped_it() -> None:
    heard = [(0, 30_000)]
    written = [(0, 5000), (20_000, 30_000)]
    dropped = [
        Dropped(5000, 9000, HELD_BACK, {"text": "Stay in the car."}),
        Dropped(12_000, 17_000, ENGINE_SKIPPED, {"no_speech_prob": 0.8}),
    ]
    cov = measure(heard, written, dropped)
    (gap,) = cov.gaps  # 5-20 s is one uncovered stretch: the largest overlap names it
    assert (gap.start_ms, gap.end_ms, gap.reason) == (5000, 20_000, ENGINE_SKIPPED)
    assert gap.detail == {"no_speech_prob": 0.8}
    apart = find_gaps([(0, 4000), (10_000, 14_000)], [], [Dropped(0, 4000, HELD_BACK)])
    assert [(g.start_ms, g.reason) for g in apart] == [(0, HELD_BACK), (10_000, NOT_DECODED)]


def test_low_coverage_is_flagged_only_with_enough_speech() -> None:
    sparse = measure([(0, 34_000)], [(0, 3000)])
    assert sparse.low and sparse.summary() == "speech heard 34 s, written 3 s"
    assert sparse.to_dict()["gaps"][0] == {
        "start_ms": 3000, "end_ms": 34_000, "reason": NOT_DECODED, "detail": {},
    }
    short = measure([(0, 3000)], [])
    assert not short.low  # 3 s heard: too little to call it a failure
    assert measure([], []).share == 1.0
