"""Languages and translations of a media's review segments, read and corrected.

A run records, per machine-draft segment, the language the detector heard, its probability
and the model that wrote the text (``draft_language``), and with ``--translate en`` a machine
translation (``draft_translation``). A review segment inherits both from its draft (a split
keeps the draft, so both halves keep its language; a segment a reviewer inserted has none).
A reviewer's correction of a translation is a human layer of its own
(``segment_translation``), written only by :func:`write_correction`, which records the
before and after in the audit log in the same transaction, like every review edit; the
review session keeps each correction on its undo stack as a :class:`TranslationEdit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotator.core.edits import Edit
from annotator.core.model import Segment, SegmentLanguage, Translation
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


def correction(ws: Workspace, segment_id: int) -> str | None:
    """The reviewer's correction of a segment's translation as stored (None: no correction)."""
    row = ws.conn.execute(
        "SELECT text FROM segment_translation WHERE segment_id=?", (segment_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def typed_correction(ws: Workspace, media_id: int, segment_id: int, text: str | None) -> str | None:
    """What typing ``text`` stores: trimmed, and None when it is empty or equals the machine's
    own text (a correction never repeats the machine, so giving its text again, or nothing,
    clears the correction)."""
    typed = "" if text is None else text.strip()
    if not typed:
        return None
    machine = segment_translations(ws, media_id).get(segment_id)
    return None if machine is not None and typed == machine.machine_text else typed


def write_correction(
    ws: Workspace, reviewer: str, media_id: int, segment_id: int,
    before: str | None, after: str | None, *, action: str = ACTION, of: Edit | None = None,
) -> int:
    """Write ``after`` over ``before`` (None: no correction) and append the audit entry, in one
    transaction; returns the entry's id. Refuses when the workspace no longer holds
    ``before`` (another session changed it), like every review edit. ``of`` is the edit an
    undo or redo replays."""
    with ws.transaction() as c:
        row = c.execute("SELECT media_id FROM segment WHERE id=?", (segment_id,)).fetchone()
        if row is None or int(row[0]) != media_id:
            raise EditError(f"segment {segment_id} is not a segment of media {media_id}")
        if correction(ws, segment_id) != before:
            raise EditError(
                f"the translation of segment {segment_id} was changed outside this session;"
                " reload")
        if after is None:
            c.execute("DELETE FROM segment_translation WHERE segment_id=?", (segment_id,))
        else:
            c.execute(
                "INSERT INTO segment_translation(segment_id, text) VALUES (?,?)"
                " ON CONFLICT(segment_id) DO UPDATE SET text=excluded.text",
                (segment_id, after),
            )
        machine = segment_translations(ws, media_id).get(segment_id)
        record: dict[str, Any] = {
            "table": "segment_translation", "id": segment_id, "before": before,
            "after": after, "machine": None if machine is None else machine.machine_text,
        }
        if of is not None:
            record["of"] = {"audit_id": of.audit_id, "action": of.action}
        return ws.append_audit(reviewer, media_id, action, [record])


def removed_corrections(
    ws: Workspace, before: Mapping[int, Segment | None], after: Mapping[int, Segment | None],
) -> dict[int, str]:
    """The translation corrections of the segments an edit removes (present before, absent
    after): the workspace deletes them with the segment row."""
    gone = [sid for sid, seg in before.items() if seg is not None and after.get(sid) is None]
    found = {sid: correction(ws, sid) for sid in gone}
    return {sid: text for sid, text in found.items() if text is not None}


def carry(
    ws: Workspace, removed: Mapping[int, str], restore: Mapping[int, str],
    after: Mapping[int, Segment | None],
) -> list[dict[str, Any]]:
    """Write back ``restore``'s corrections for the segments an edit put back, and return the
    audit records of both sides (corrections removed with their segment, corrections
    restored with it), so the audit log says what happened to the reviewer's text."""
    records: list[dict[str, Any]] = [
        {"table": "segment_translation", "id": sid, "before": text, "after": None}
        for sid, text in removed.items()
    ]
    for sid, text in restore.items():
        if after.get(sid) is None:
            continue
        ws.conn.execute(
            "INSERT INTO segment_translation(segment_id, text) VALUES (?,?)"
            " ON CONFLICT(segment_id) DO UPDATE SET text=excluded.text", (sid, text))
        records.append({"table": "segment_translation", "id": sid, "before": None,
                        "after": text})
    return records


@dataclass(frozen=True)
class TranslationEdit(Edit):
    """One undoable translation correction. Its row snapshots are empty: the step is the
    segment's correction before and after (None: none), which undo and redo write back
    through :func:`write_correction`, audited like the first write."""

    segment_id: int = 0
    before_text: str | None = None
    after_text: str | None = None


def replay(ws: Workspace, reviewer: str, media_id: int, edit: TranslationEdit,
           *, undo: bool) -> int:
    """Undo (or redo) a translation correction; returns the audit entry's id."""
    before, after = edit.before_text, edit.after_text
    if undo:
        before, after = after, before
    return write_correction(ws, reviewer, media_id, edit.segment_id, before, after,
                            action="undo" if undo else "redo", of=edit)
