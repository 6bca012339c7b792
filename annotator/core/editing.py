"""Edits of the transcript itself: text, note, and timing and structure (split, merge, nudge,
insert, restore, delete).

Each function here is an edit *builder*: given the session's in-memory rows it returns the
``(before, after)`` snapshots of the rows the edit touches (see :mod:`annotator.core.edits`)
and writes nothing. :class:`~annotator.core.session.ReviewSession` runs a builder inside its
one write path, which checks, persists, audits and remembers the pair for undo. Keeping the
rules of an edit apart from that path means the rules can be read (and changed) without
touching how edits are stored, and the path stays the same for every edit.

Machine words and machine text are only ever partitioned (split) or joined (merge); the
reviewer's words go to ``human_text``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from annotator.core.edits import Rows, segment_rows
from annotator.core.model import ReviewState, Segment, SuppressedSegment, words_text
from annotator.errors import EditError

if TYPE_CHECKING:
    from annotator.core.session import ReviewSession


def set_text(s: ReviewSession, seg_id: int, text: str) -> tuple[Rows, Rows]:
    """Text equal to the machine text (after trimming) clears the correction."""
    seg = s.segment(seg_id)
    return segment_rows([seg], [seg.with_human(text.strip())])


def split(s: ReviewSession, seg_id: int, at_word_index: int) -> tuple[Rows, Rows]:
    """Split before machine word ``at_word_index``; the second part gets a new id.

    A correction is split at the same word boundary when it has as many words as the machine;
    otherwise it stays whole on the first part (the second shows its machine text) for the
    reviewer to fix. Speaker, tags, state and confidence stay on both parts, the note on the
    first. The boundary is the start of the word, so the parts stay contiguous.
    """
    seg = s.segment(seg_id)
    if not 0 < at_word_index < len(seg.words):
        raise EditError(
            f"segment {seg_id}: can only split between its {len(seg.words)} machine"
            f" words (index 1..{len(seg.words) - 1}), not at {at_word_index}"
        )
    if seg.end_ms - seg.start_ms < 2:
        raise EditError(f"segment {seg_id} is too short to split")
    cut = min(max(seg.words[at_word_index].start_ms, seg.start_ms + 1), seg.end_ms - 1)
    w1, w2 = seg.words[:at_word_index], seg.words[at_word_index:]
    h1 = h2 = seg.human_text
    if seg.human_text is not None:
        hw = seg.human_text.split()
        if len(hw) == len(seg.words):
            h1, h2 = " ".join(hw[:at_word_index]), " ".join(hw[at_word_index:])
        else:
            h2 = None
    first = replace(seg, end_ms=cut, words=w1, machine_text=words_text(w1))
    second = replace(seg, id=s.allocate_id("segment"), start_ms=cut, words=w2,
                     machine_text=words_text(w2), note="")
    first, second = first.with_human(h1), second.with_human(h2)
    return Rows({seg.id: seg, second.id: None}), Rows({seg.id: first, second.id: second})


def merge_with_next(s: ReviewSession, seg_id: int) -> tuple[Rows, Rows]:
    """Merge a segment with the next one in review order; the first keeps its id.

    Words and machine texts are joined; a correction on either part becomes the joined text
    of both. The first part's speaker wins (else the second's); tags are united, notes
    joined; the state is kept if both agree, else "unreviewed". Confidence takes the weaker
    value so a doubtful part still shows as doubtful.
    """
    a = s.segment(seg_id)
    i = s.index_of(seg_id)
    if i + 1 >= len(s.segments):
        raise EditError(f"segment {seg_id} is the last one: nothing to merge with")
    b = s.segments[i + 1]
    machine = " ".join(t for t in (a.machine_text.strip(), b.machine_text.strip()) if t)
    human = None
    if a.human_text is not None or b.human_text is not None:
        human = " ".join(t for t in (a.text.strip(), b.text.strip()) if t)
    merged = replace(
        a, end_ms=max(a.end_ms, b.end_ms), machine_text=machine, words=a.words + b.words,
        avg_logprob=_weaker(min, a.avg_logprob, b.avg_logprob),
        no_speech_prob=_weaker(max, a.no_speech_prob, b.no_speech_prob),
        compression_ratio=_weaker(max, a.compression_ratio, b.compression_ratio),
        speaker_id=a.speaker_id if a.speaker_id is not None else b.speaker_id,
        tags=tuple(sorted(set(a.tags) | set(b.tags))),
        state=a.state if a.state is b.state else ReviewState.UNREVIEWED,
        note="\n".join(n for n in (a.note, b.note) if n),
    )
    merged = merged.with_human(human)
    return Rows({a.id: a, b.id: b}), Rows({a.id: merged, b.id: None})


def nudge(
    s: ReviewSession, seg_id: int, edge: Literal["start", "end"], delta_ms: int
) -> tuple[Rows, Rows]:
    """Move one edge, clamped to 0 <= start < end <= media duration. Segments may overlap
    their neighbours (people talk over each other)."""
    if edge not in ("start", "end"):
        raise EditError(f"edge must be 'start' or 'end', not {edge!r}")
    seg = s.segment(seg_id)
    if edge == "start":
        moved = replace(seg, start_ms=min(max(0, seg.start_ms + delta_ms), seg.end_ms - 1))
    else:
        end = seg.end_ms + delta_ms
        if s.media.duration_ms > 0:
            end = min(end, max(s.media.duration_ms, seg.end_ms))
        moved = replace(seg, end_ms=max(end, seg.start_ms + 1))
    return segment_rows([seg], [moved])


def check_span(s: ReviewSession, start_ms: int, end_ms: int) -> None:
    limit = s.media.duration_ms
    if not 0 <= start_ms < end_ms or (limit > 0 and end_ms > limit):
        raise EditError(
            f"a segment needs 0 <= start < end <= {limit} ms, got {start_ms}..{end_ms}"
        )


def gap_after(s: ReviewSession, seg_id: int | None) -> tuple[int, int]:
    """Where a segment inserted after ``seg_id`` (``None``: at the start) goes: from its end
    to the next segment's start, or 2 s (at least 1 s when the gap is under 200 ms), within
    the media."""
    seg = s.segment(seg_id) if seg_id is not None else None
    start = seg.end_ms if seg is not None else 0
    index = s.index_of(seg.id) if seg is not None else -1
    following = s.segments[index + 1 : index + 2]
    end = following[0].start_ms if following else start + 2000
    if end - start < 200:
        end = start + 1000
    if s.media.duration_ms > 0:
        end = min(end, s.media.duration_ms)
        start = min(start, end - 1)
    return max(start, 0), end


def insert_segment(s: ReviewSession, start_ms: int, end_ms: int, text: str) -> tuple[Rows, Rows]:
    """Speech the machine missed: no machine words, the text is the reviewer's."""
    seg = Segment(s.allocate_id("segment"), s.media_id, start_ms, end_ms, "")
    return Rows({seg.id: None}), Rows({seg.id: seg.with_human(text.strip())})


def restore_held_back(s: ReviewSession, held: SuppressedSegment) -> tuple[Rows, Rows]:
    """Machine text, words and figures return, unreviewed, noted with where they came from."""
    seg = Segment(
        s.allocate_id("segment"), s.media_id, held.start_ms, held.end_ms, held.text,
        held.words, None, None, held.avg_logprob, held.no_speech_prob,
        held.compression_ratio, note=f"restored; held back because {held.reason}",
    )
    return Rows({seg.id: None}), Rows({seg.id: seg})


def delete_segment(s: ReviewSession, seg_id: int) -> tuple[Rows, Rows]:
    seg = s.segment(seg_id)
    return Rows({seg.id: seg}), Rows({seg.id: None})


def _weaker(
    pick: Callable[[float, float], float], a: float | None, b: float | None
) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return pick(a, b)
