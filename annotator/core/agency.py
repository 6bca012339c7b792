"""An agency belongs to the person: set once on the speaker, inherited by every line of theirs.

An officer tagged "Local police" on his first line is still Local police on his next ones, so
the agency is kept on the :class:`~annotator.core.model.Speaker` (``Speaker.agency``, a codebook
key of kind agency) and every segment attributed to that speaker inherits it. A line may still
say otherwise: an agency *tag* on the segment (a codebook entry of kind agency among
``Segment.tags``) overrides the speaker's for that line alone, which is how a reviewer records
that the same voice spoke for another agency there, or that one line is about two.

The segment's **effective agency** is therefore its own agency tags if it has any, else its
speaker's agency, and every reader (review app, JSON export, caption labels, report) asks
:func:`effective_agency` so that they can never disagree. It also says where the value came
from (:data:`LINE` or :data:`SPEAKER`), because an inherited agency is an inference a reviewer
made once for a person, while a line tag is a decision about that line.

Setting a speaker's agency is an edit builder in the sense of :mod:`annotator.core.editing`:
:func:`speaker_agency_rows` returns the speaker row before and after, and
:meth:`ReviewSession.set_speaker_agency <annotator.core.session.ReviewSession.set_speaker_agency>`
writes it through the one write path (audited, one undo step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from annotator.core.attribution import agency_key
from annotator.core.edits import Rows, speaker_rows
from annotator.core.model import Codebook, Segment, Speaker, TagKind

if TYPE_CHECKING:
    from annotator.core.session import ReviewSession

#: The agency came from the segment's own agency tag(s).
LINE: Literal["line"] = "line"
#: The agency came from the segment's speaker.
SPEAKER: Literal["speaker"] = "speaker"

Source = Literal["line", "speaker"]


@dataclass(frozen=True, slots=True)
class EffectiveAgency:
    """The agency (codebook keys, in tag order) a segment speaks for, and where it came
    from. More than one key only when the line itself carries several agency tags."""

    keys: tuple[str, ...]
    source: Source

    @property
    def inherited(self) -> bool:
        return self.source == SPEAKER

    def labels(self, codebook: Codebook | None) -> tuple[str, ...]:
        """The keys as the codebook labels them (the key itself when it has no entry)."""
        return tuple(codebook.label(k) if codebook is not None else k for k in self.keys)


def line_agencies(seg: Segment, codebook: Codebook | None) -> tuple[str, ...]:
    """The segment's own agency tags (tags whose codebook entry is of kind agency). Without a
    codebook no tag can be known to be an agency, so there are none."""
    if codebook is None:
        return ()
    return tuple(k for k in seg.tags if _is_agency(codebook, k))


def effective_agency(
    seg: Segment, speakers: Mapping[int, Speaker], codebook: Codebook | None
) -> EffectiveAgency | None:
    """The line's agency tags if it has any, else its speaker's agency; None when neither."""
    own = line_agencies(seg, codebook)
    if own:
        return EffectiveAgency(own, LINE)
    sp = speakers.get(seg.speaker_id) if seg.speaker_id is not None else None
    if sp is not None and sp.agency:
        return EffectiveAgency((sp.agency,), SPEAKER)
    return None


def speaker_agency_rows(s: ReviewSession, speaker_id: int, key: str) -> tuple[Rows, Rows]:
    """The edit that gives a speaker the agency ``key`` ('' clears it). Raises
    :class:`~annotator.errors.NotFoundError` for an unknown speaker, or for a key that is not
    an agency of the session's codebook."""
    sp = s.speaker(speaker_id)
    return speaker_rows(sp, replace(sp, agency=agency_key(s.codebook, key.strip())))


def _is_agency(codebook: Codebook, key: str) -> bool:
    entry = codebook.get(key)
    return entry is not None and entry.kind == TagKind.AGENCY
