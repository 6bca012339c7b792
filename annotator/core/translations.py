"""Languages and translations of a media's review segments, read and corrected.

A run records, per machine-draft segment, the language the detector heard, its probability
and the model that wrote the text (``draft_language``), and with ``--translate en`` a machine
translation (``draft_translation``). A review segment inherits both from its draft (a split
keeps the draft, so both halves keep its language; a segment a reviewer inserted has none).
A reviewer's correction of a translation is a human layer of its own
(``segment_translation``), written only by :func:`set_human_translation`, which records the
before and after in the audit log in the same transaction, like every review edit.
"""

from __future__ import annotations

from annotator.core.model import SegmentLanguage, Translation
from annotator.core.store import Workspace
from annotator.errors import EditError

#: The audit action of a translation correction.
ACTION = "translation.edit"


def segment_languages(ws: Workspace, media_id: int) -> dict[int, SegmentLanguage]:
    """Segment id -> the language its draft was recorded in (segments without one left out)."""
    rows = ws.conn.execute(
        "SELECT s.id, l.language, l.probability, l.model_id FROM segment s"
        " JOIN draft_language l ON l.draft_id = s.draft_id WHERE s.media_id=?", (media_id,),
    )
    return {
        int(r[0]): SegmentLanguage(str(r[1]), r[2], str(r[3])) for r in rows
    }


def segment_translations(ws: Workspace, media_id: int) -> dict[int, Translation]:
    """Segment id -> its translation: the draft's machine translation with the reviewer's
    correction, if any (a correction of a segment with no machine translation is kept too)."""
    out: dict[int, Translation] = {}
    for r in ws.conn.execute(
        "SELECT s.id, t.language, t.text, t.model_id, t.model_sha256, h.text FROM segment s"
        " JOIN draft_translation t ON t.draft_id = s.draft_id"
        " LEFT JOIN segment_translation h ON h.segment_id = s.id WHERE s.media_id=?",
        (media_id,),
    ):
        out[int(r[0])] = Translation(str(r[1]), str(r[2]), str(r[3]), str(r[4]), r[5])
    for r in ws.conn.execute(
        "SELECT h.segment_id, h.text FROM segment_translation h JOIN segment s"
        " ON s.id = h.segment_id WHERE s.media_id=?", (media_id,),
    ):
        if int(r[0]) not in out:
            out[int(r[0])] = Translation("en", "", "", "", str(r[1]))
    return out


def set_human_translation(
    ws: Workspace, reviewer: str, media_id: int, segment_id: int, text: str | None
) -> Translation | None:
    """Correct (or with ``None``, or the machine's own text, clear the correction of) a
    segment's translation; audited in the same transaction. Returns the new translation."""
    with ws.transaction() as c:
        row = c.execute(
            "SELECT media_id FROM segment WHERE id=?", (segment_id,)
        ).fetchone()
        if row is None or int(row[0]) != media_id:
            raise EditError(f"segment {segment_id} is not a segment of media {media_id}")
        before = segment_translations(ws, media_id).get(segment_id)
        typed = None if text is None else text.strip()
        if before is not None and typed == before.machine_text:
            typed = None  # a correction never equals the machine's text
        if typed is None:
            c.execute("DELETE FROM segment_translation WHERE segment_id=?", (segment_id,))
        else:
            c.execute(
                "INSERT INTO segment_translation(segment_id, text) VALUES (?,?)"
                " ON CONFLICT(segment_id) DO UPDATE SET text=excluded.text",
                (segment_id, typed),
            )
        after = segment_translations(ws, media_id).get(segment_id)
        ws.append_audit(reviewer, media_id, ACTION, [{
            "table": "segment_translation", "id": segment_id,
            "before": None if before is None else before.human_text,
            "after": None if after is None else after.human_text,
            "machine": None if after is None else after.machine_text,
        }])
    return after
