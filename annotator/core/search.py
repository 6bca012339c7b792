"""Finding segments: navigation ("next unreviewed"), confidence checks, search and filters.

These are pure functions over a sorted sequence of segments (the review session's in-memory
list), so the UI can call them on every keystroke without touching the workspace, and tests
can call them on plain lists. Results are **indices** into the sequence given, valid until the
next edit that inserts, deletes or moves a segment.

Navigation functions search strictly *after* ``from_index`` (``-1`` starts at the top) and wrap
around once, the way "find next" behaves in editors; ``reverse=True`` searches backwards.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import chain

from annotator.core.model import Codebook, ReviewState, Segment, Speaker

#: A word below this probability marks its segment as worth a second listen.
LOW_WORD_PROBABILITY = 0.5
#: Whisper's own heuristic for a doubtful segment (it retries decoding below this).
LOW_AVG_LOGPROB = -1.0

_TERM = re.compile(r'"([^"]*)"|(\S+)')


def sort_key(seg: Segment) -> tuple[int, int]:
    """The review order: by start time, ties by id (so the order is stable and total)."""
    return (seg.start_ms, seg.id)


def index_of(segments: Sequence[Segment], seg: Segment) -> int:
    """Position of ``seg`` in a sorted sequence, in O(log n); ``ValueError`` if absent."""
    i = bisect_left(segments, sort_key(seg), key=sort_key)
    if i < len(segments) and segments[i].id == seg.id:
        return i
    raise ValueError(f"segment {seg.id} is not in the sequence")


def holds(segments: Sequence[Segment], start_ms: int, end_ms: int, machine_text: str) -> bool:
    """Is there a segment with exactly these times and machine text? O(log n + matches)."""
    i = bisect_left(segments, start_ms, key=lambda s: s.start_ms)
    while i < len(segments) and segments[i].start_ms == start_ms:
        if (segments[i].end_ms, segments[i].machine_text) == (end_ms, machine_text):
            return True
        i += 1
    return False


def is_low_confidence(
    seg: Segment,
    threshold: float = LOW_WORD_PROBABILITY,
    logprob_floor: float = LOW_AVG_LOGPROB,
) -> bool:
    """True if any machine word is below ``threshold`` or the segment's average log
    probability is below ``logprob_floor``. Segments typed by a reviewer are never low."""
    weakest = seg.min_word_probability()
    if weakest is not None and weakest < threshold:
        return True
    return seg.avg_logprob is not None and seg.avg_logprob < logprob_floor


def next_index(
    segments: Sequence[Segment],
    from_index: int,
    predicate: Callable[[Segment], bool],
    *,
    reverse: bool = False,
    wrap: bool = True,
) -> int | None:
    """The first index after ``from_index`` (before it, if ``reverse``) whose segment
    satisfies ``predicate``, wrapping around once if ``wrap``; ``None`` if there is none."""
    n = len(segments)
    if reverse:
        first = from_index - 1 if 0 <= from_index <= n else n - 1
        order: Iterable[int] = range(first, -1, -1)
        rest: Iterable[int] = range(n - 1, first, -1) if wrap else ()
    else:
        first = max(from_index + 1, 0)
        order = range(first, n)
        rest = range(0, min(first, n)) if wrap else ()
    for i in chain(order, rest):
        if predicate(segments[i]):
            return i
    return None


def next_unreviewed(
    segments: Sequence[Segment], from_index: int = -1, *, reverse: bool = False
) -> int | None:
    return next_index(
        segments, from_index, lambda s: s.state is ReviewState.UNREVIEWED, reverse=reverse
    )


def next_low_confidence(
    segments: Sequence[Segment],
    from_index: int = -1,
    threshold: float = LOW_WORD_PROBABILITY,
    *,
    reverse: bool = False,
) -> int | None:
    return next_index(
        segments, from_index, lambda s: is_low_confidence(s, threshold), reverse=reverse
    )


def next_with_tag(
    segments: Sequence[Segment], from_index: int, key: str, *, reverse: bool = False
) -> int | None:
    return next_index(segments, from_index, lambda s: key in s.tags, reverse=reverse)


def next_match(
    segments: Sequence[Segment],
    from_index: int,
    query: str,
    speakers: Mapping[int, Speaker],
    codebook: Codebook | None = None,
    *,
    reverse: bool = False,
) -> int | None:
    """The next segment :func:`search` would find for ``query`` (``None`` for an empty
    query): "find next" for a search."""
    terms = parse_query(query)
    if not terms:
        return None
    return next_index(
        segments, from_index, lambda s: _has_all(haystack(s, speakers, codebook), terms),
        reverse=reverse,
    )


def parse_query(query: str) -> list[str]:
    """Split a query into case-folded terms; ``"double quotes"`` keep a phrase together."""
    terms = []
    for match in _TERM.finditer(query):
        term = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if term:
            terms.append(term.casefold())
    return terms


def haystack(
    seg: Segment, speakers: Mapping[int, Speaker], codebook: Codebook | None
) -> str:
    """Everything a search looks at for one segment, case-folded, one field per line (so a
    phrase never matches across two fields)."""
    fields = [seg.text, seg.machine_text, seg.note]
    speaker = speakers.get(seg.speaker_id) if seg.speaker_id is not None else None
    if speaker is not None:
        fields.append(speaker.label)
    for key in seg.tags:
        fields.append(key)
        if codebook is not None:
            fields.append(codebook.label(key))
    return "\n".join(fields).casefold()


def search(
    segments: Sequence[Segment],
    query: str,
    speakers: Mapping[int, Speaker],
    codebook: Codebook | None = None,
) -> list[int]:
    """Indices of segments containing every term of ``query`` (case-insensitive) in their
    text, machine text, note, speaker label or tag keys and labels. An empty query finds
    nothing."""
    terms = parse_query(query)
    if not terms:
        return []
    return [
        i for i, seg in enumerate(segments)
        if _has_all(haystack(seg, speakers, codebook), terms)
    ]


def filter_segments(
    segments: Sequence[Segment],
    *,
    speakers: Mapping[int, Speaker] | None = None,
    codebook: Codebook | None = None,
    state: ReviewState | str | None = None,
    speaker_id: int | None = None,
    unassigned: bool = False,
    tag: str | None = None,
    low_confidence: bool | None = None,
    corrected: bool | None = None,
    query: str = "",
    segment_ids: Collection[int] | None = None,
) -> list[int]:
    """Indices of segments meeting every criterion given (``None``/empty = not filtered).

    ``unassigned`` keeps only segments without a speaker; ``low_confidence`` and
    ``corrected`` filter either way (True keeps them, False drops them); ``segment_ids``
    keeps only those segments (a language, see :mod:`annotator.core.translations`).
    """
    wanted_state = ReviewState(state) if state is not None else None
    terms = parse_query(query)
    names = speakers or {}
    result = []
    for i, seg in enumerate(segments):
        if wanted_state is not None and seg.state is not wanted_state:
            continue
        if speaker_id is not None and seg.speaker_id != speaker_id:
            continue
        if unassigned and seg.speaker_id is not None:
            continue
        if tag is not None and tag not in seg.tags:
            continue
        if low_confidence is not None and is_low_confidence(seg) != low_confidence:
            continue
        if corrected is not None and seg.corrected != corrected:
            continue
        if segment_ids is not None and seg.id not in segment_ids:
            continue
        if terms and not _has_all(haystack(seg, names, codebook), terms):
            continue
        result.append(i)
    return result


def _has_all(text: str, terms: list[str]) -> bool:
    return all(term in text for term in terms)
