"""ReviewSession on a real workspace: every operation, its persistence, audit and undo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from annotator.core import search as find
from annotator.core.codebook import default_codebook
from annotator.core.model import (
    Codebook,
    CodebookEntry,
    Media,
    ReviewState,
    Segment,
    Speaker,
    SuppressedSegment,
)
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import CodebookError, EditError, NotFoundError, UsageError

from .builders import LINES, add_media, add_transcript, words_for

State = tuple[list[Segment], list[Speaker], int | None]


def state(ws: Workspace, media_id: int) -> State:
    """Everything a review edit may change, read straight from the workspace."""
    return ws.segments(media_id), ws.speakers(media_id), ws.media_codebook(media_id)


def memory(s: ReviewSession) -> tuple[list[Segment], list[Speaker]]:
    return list(s.segments), list(s.speakers.values())


# -- opening ------------------------------------------------------------------------------------


def test_open_reads_sorted_segments_and_writes_nothing(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    assert [s.start_ms for s in session.segments] == [line[0] for line in LINES]
    assert session.progress() == (0, len(LINES))
    assert ws.audit(media.id) == []
    assert ws.media_codebook(media.id) is None  # linked with the first edit, not on open
    assert session.codebook == default_codebook()


def test_reviewer_name_is_required(ws: Workspace, media: Media) -> None:
    with pytest.raises(UsageError):
        ReviewSession(ws, media.id, "  ")


def test_unknown_media(ws: Workspace) -> None:
    with pytest.raises(NotFoundError):
        ReviewSession(ws, 99, "ana")


def test_first_edit_links_the_codebook_in_its_audit_entry(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    session.set_state(1, ReviewState.REVIEWED)
    cb_id = ws.media_codebook(media.id)
    assert cb_id is not None
    assert ws.load_codebook(cb_id) == default_codebook()
    (entry,) = ws.audit(media.id)
    link = entry["changes"][0]
    assert link["table"] == "media_codebook"
    assert link["before"] is None and link["after"]["codebook_id"] == cb_id
    session.set_state(2, ReviewState.REVIEWED)
    assert all(c["table"] == "segment" for c in ws.audit(media.id)[1]["changes"])
    # A later session uses the linked codebook.
    assert ReviewSession(ws, media.id, "ben").codebook == default_codebook()


def test_an_explicit_codebook_is_stored_and_linked(ws: Workspace, media: Media) -> None:
    custom = Codebook("mine", "2", (CodebookEntry("action", "shout", "Shouting", "", "s"),))
    s = ReviewSession(ws, media.id, "ana", custom)
    s.add_tag(1, "shout")
    cb_id = ws.media_codebook(media.id)
    assert cb_id is not None and ws.load_codebook(cb_id) == custom
    with pytest.raises(NotFoundError):
        s.add_tag(1, "window_broken")  # not in this codebook


# -- text, state, note --------------------------------------------------------------------------


def test_set_text_writes_the_human_layer_only(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    change = session.set_text(1, "  Step out of the car, NOW.  ")
    assert change.updated == (1,) and not change.reordered and change.audit_id
    seg = ws.segment(1)
    assert seg.human_text == "Step out of the car, NOW."
    assert seg.machine_text == "Step out of the car now."
    assert seg.corrected and session.segment(1) == seg
    entry = ws.audit(media.id)[-1]
    assert entry["reviewer"] == "ana" and entry["action"] == "set_text"
    (row,) = [c for c in entry["changes"] if c["table"] == "segment"]
    assert row == {
        "table": "segment", "id": 1,
        "before": {"human_text": None}, "after": {"human_text": "Step out of the car, NOW."},
    }


def test_text_equal_to_machine_clears_the_correction(ws: Workspace, session: ReviewSession) -> None:
    session.set_text(2, "I am not opening the door.")
    session.set_text(2, "I'm not opening the door.")
    assert ws.segment(2).human_text is None


def test_no_op_edit_writes_nothing(ws: Workspace, media: Media, session: ReviewSession) -> None:
    change = session.set_text(2, "I'm not opening the door.")
    assert change.empty and change.audit_id is None
    assert ws.audit(media.id) == [] and not session.can_undo


def test_set_state_and_progress(ws: Workspace, session: ReviewSession) -> None:
    session.set_state([1, 2, 3], ReviewState.REVIEWED)
    session.set_state(3, "disputed")
    assert session.progress() == (3, 6)
    assert ws.segment_counts(session.media_id) == (6, 3)
    assert ws.segment(3).state is ReviewState.DISPUTED
    with pytest.raises(EditError):
        session.set_state(3, "done")
    session.undo()
    session.undo()
    assert session.progress() == (0, 6)


def test_set_note(ws: Workspace, session: ReviewSession) -> None:
    session.set_note(4, "Glass breaking audible at 11.2 s.")
    assert ws.segment(4).note == "Glass breaking audible at 11.2 s."


def test_unknown_segment(session: ReviewSession) -> None:
    with pytest.raises(NotFoundError):
        session.set_text(999, "x")


# -- speakers -----------------------------------------------------------------------------------


def new_speaker(s: ReviewSession, label: str, role: str = "", agency: str = "") -> Speaker:
    """Add a speaker (the operation returns its :class:`Change`) and return it."""
    return s.speaker(s.add_speaker(label, role, agency).speakers[0])


def test_add_speaker_and_assign(ws: Workspace, session: ReviewSession) -> None:
    sp = new_speaker(session, "Officer Diaz", role="officer", agency="local_police")
    assert ws.speaker(sp.id) == sp
    session.set_speaker([1, 4], sp.id)
    assert [s.speaker_id for s in ws.segments(session.media_id)][:4] == [sp.id, None, None, sp.id]
    assert new_speaker(session, "officer diaz").label == "officer diaz 2"
    with pytest.raises(NotFoundError):
        session.set_speaker(1, 999)
    with pytest.raises(NotFoundError):
        session.add_speaker("Agent", agency="martians")


def test_a_new_speaker_assigned_at_once_is_one_undo_step(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    session.set_state(6, ReviewState.REVIEWED)  # links the codebook
    before = state(ws, media.id)
    change = session.add_speaker("Neighbour", assign=[2, 3])
    (sp_id,) = change.speakers
    assert change.updated == (2, 3) and change.audit_id is not None
    assert [ws.segment(i).speaker_id for i in (2, 3)] == [sp_id, sp_id]
    assert ws.audit(media.id)[-1]["action"] == "add_speaker"
    session.undo()
    assert state(ws, media.id) == before and session.speakers == {}


def test_rename_speaker_is_one_step_everywhere(ws: Workspace, session: ReviewSession) -> None:
    sp = new_speaker(session, "Speaker 1")
    session.set_speaker([1, 3, 5], sp.id)
    change = session.rename_speaker(sp.id, "Agent Smith (ICE)")
    assert change.speakers == (sp.id,) and not (change.inserted or change.updated or change.deleted)
    assert ws.speaker(sp.id).label == "Agent Smith (ICE)"
    assert {session.speaker_label(session.segment(i)) for i in (1, 3, 5)} == {"Agent Smith (ICE)"}
    assert find.search(session.segments, "smith", session.speakers) == [0, 2, 4]
    session.undo()
    assert ws.speaker(sp.id).label == "Speaker 1"
    other = new_speaker(session, "Driver")
    with pytest.raises(EditError):
        session.rename_speaker(other.id, "speaker 1")


def test_a_speaker_agency_must_be_an_agency(session: ReviewSession) -> None:
    assert new_speaker(session, "Agent", agency="ice").agency == "ice"
    with pytest.raises(NotFoundError):
        session.add_speaker("Other", agency="window_broken")  # an action, not an agency


def test_a_role_speaker_is_created_on_first_use(ws: Workspace, session: ReviewSession) -> None:
    assert session.role_speaker("federal_agent") is None
    session.assign_role([1], "federal_agent")
    first = session.role_speaker("federal_agent")
    assert first is not None and (first.label, first.role) == ("Federal agent", "federal_agent")
    session.assign_role([2], "federal_agent")
    assert session.role_speaker("federal_agent") == first
    assert len(ws.speakers(session.media_id)) == 1
    with pytest.raises(NotFoundError):
        session.assign_role([1], "ice")  # an agency, not a speaker role


def test_assign_role_is_one_undo_step(ws: Workspace, session: ReviewSession) -> None:
    session.set_state(6, ReviewState.REVIEWED)  # links the codebook
    before = state(ws, session.media_id)
    change = session.assign_role([2, 3], "driver")
    (sp_id,) = change.speakers
    assert [ws.segment(i).speaker_id for i in (2, 3)] == [sp_id, sp_id]
    session.undo()
    assert state(ws, session.media_id) == before
    assert session.speakers == {}


def test_delete_speaker_unassigns_segments(ws: Workspace, session: ReviewSession) -> None:
    sp = new_speaker(session, "Dispatcher")
    session.set_speaker([5, 6], sp.id)
    session.delete_speaker(sp.id)
    assert ws.speakers(session.media_id) == []
    assert ws.segment(5).speaker_id is None
    session.undo()
    assert ws.speaker(sp.id) == sp and ws.segment(5).speaker_id == sp.id


# -- tags and the codebook ----------------------------------------------------------------------


def test_range_tagging_is_one_undo_step(ws: Workspace, session: ReviewSession) -> None:
    session.add_tag([2], "refusal_to_comply")
    change = session.add_tag([2, 3, 4], "warrant_requested")
    assert change.updated == (2, 3, 4)
    assert ws.segment(3).tags == ("warrant_requested",)
    assert ws.segment(2).tags == ("refusal_to_comply", "warrant_requested")
    session.undo()
    assert [ws.segment(i).tags for i in (2, 3, 4)] == [("refusal_to_comply",), (), ()]


def test_tag_keys_are_checked(session: ReviewSession) -> None:
    with pytest.raises(NotFoundError):
        session.add_tag(1, "no_such_tag")
    with pytest.raises(NotFoundError):
        session.add_tag(1, "officer")  # a speaker role is not a tag


def test_remove_and_toggle_tag(ws: Workspace, session: ReviewSession) -> None:
    session.add_tag([4], "window_broken")
    session.toggle_tag([4, 5], "window_broken")  # not all have it: add to all
    assert ws.segment(5).tags == ("window_broken",)
    session.toggle_tag([4, 5], "window_broken")  # all have it: remove from all
    assert ws.segment(4).tags == () and ws.segment(5).tags == ()
    session.add_tag([1, 4], "ice")
    session.remove_tag([1, 4, 5], "ice")
    assert all(s.tags == () for s in ws.segments(session.media_id))


def test_add_codebook_entry_makes_a_local_version(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    change = session.add_codebook_entry("action", "Tow truck called", key="tow_truck",
                                        shortcut="y")
    assert change.codebook
    assert session.codebook.version == "1.0+local.1"
    cb_id = ws.media_codebook(media.id)
    assert cb_id is not None
    assert ws.codebook_info(cb_id)["version"] == "1.0+local.1"
    assert ws.load_codebook(cb_id).label("tow_truck") == "Tow truck called"
    session.add_tag(6, "tow_truck")
    assert ReviewSession(ws, media.id, "ben").codebook.get("tow_truck") is not None
    with pytest.raises(CodebookError, match="shortcut"):
        session.add_codebook_entry("action", "Tow truck left", shortcut="y")
    with pytest.raises(CodebookError, match="kind"):
        session.add_codebook_entry("weather", "Rain")
    session.undo()
    session.undo()
    assert session.codebook.version == "1.0" and session.codebook.get("tow_truck") is None
    assert ws.load_codebook(ws.media_codebook(media.id) or 0).version == "1.0"
    session.add_codebook_entry("other", "Siren audible", key="siren", shortcut="s")
    assert session.codebook.version == "1.0+local.2"  # local.1 is taken by the undone version


def test_a_new_tag_gets_key_and_shortcut_and_tags_in_one_step(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    session.set_state(6, ReviewState.REVIEWED)  # links the codebook
    before = state(ws, media.id)
    change = session.add_codebook_entry("other", "Dog barking!", tag=[2, 3])
    entry = session.codebook.get("dog_barking")
    assert entry is not None and entry.kind == "other" and entry.label == "Dog barking!"
    assert entry.shortcut not in {e.shortcut for e in session.codebook.of_kind("other")
                                  if e.key != "dog_barking"}
    assert change.codebook and change.updated == (2, 3)
    assert [ws.segment(i).tags for i in (2, 3)] == [("dog_barking",), ("dog_barking",)]
    assert [e["action"] for e in ws.audit(media.id)][-1:] == ["add_codebook_entry"]
    again = session.add_codebook_entry("other", "Dog barking")
    assert again.codebook and session.codebook.get("dog_barking_2") is not None
    session.undo()
    session.undo()
    assert state(ws, media.id) == before
    with pytest.raises(EditError):
        session.add_codebook_entry("speaker", "Bystander", tag=[1])  # a role is not a tag


# -- structure ----------------------------------------------------------------------------------


def test_split_partitions_machine_words(ws: Workspace, session: ReviewSession) -> None:
    original = ws.segment(3)
    change = session.split(3, 2)
    (new_id,) = change.inserted
    assert change.updated == (3,) and change.reordered
    a, b = ws.segment(3), ws.segment(new_id)
    assert (a.machine_text, b.machine_text) == ("Show me", "a warrant first.")
    assert a.words + b.words == original.words
    assert (a.start_ms, a.end_ms, b.start_ms, b.end_ms) == (7_500, 8_500, 8_500, 10_000)
    assert a.draft_id == b.draft_id == original.draft_id
    assert [s.id for s in session.segments][2:4] == [3, new_id]


def test_split_carries_a_matching_correction(ws: Workspace, session: ReviewSession) -> None:
    session.set_text(3, "Show me the warrant first.")
    (new_id,) = session.split(3, 2).inserted
    assert ws.segment(3).human_text is None  # "Show me" equals the machine
    assert ws.segment(new_id).human_text == "the warrant first."


def test_split_keeps_a_mismatched_correction_on_the_first_part(
    ws: Workspace, session: ReviewSession
) -> None:
    session.set_text(3, "Show me the signed warrant first.")
    (new_id,) = session.split(3, 2).inserted
    assert ws.segment(3).human_text == "Show me the signed warrant first."
    assert ws.segment(new_id).human_text is None


@pytest.mark.parametrize("index", [0, 5, -1])
def test_split_outside_the_words_is_refused(session: ReviewSession, index: int) -> None:
    with pytest.raises(EditError):
        session.split(3, index)


def test_merge_with_next(ws: Workspace, session: ReviewSession) -> None:
    session.set_text(4, "Break the window!")
    session.add_tag(4, "strike_on_vehicle")
    session.add_tag(5, "child_present")
    change = session.merge_with_next(4)
    assert change.deleted == (5,) and change.updated == (4,)
    merged = ws.segment(4)
    assert merged.machine_text == "Break the window. There's a child in the car!"
    assert merged.human_text == "Break the window! There's a child in the car!"
    assert (merged.start_ms, merged.end_ms) == (10_500, 15_000)
    assert merged.tags == ("child_present", "strike_on_vehicle")
    assert len(merged.words) == 3 + 6
    with pytest.raises(NotFoundError):
        ws.segment(5)
    with pytest.raises(EditError):
        session.merge_with_next(6)


def test_nudge_is_clamped(ws: Workspace, session: ReviewSession) -> None:
    session.nudge(1, "start", -5_000)
    assert ws.segment(1).start_ms == 0
    session.nudge(1, "start", +10_000)
    assert ws.segment(1).start_ms == 3_999  # start < end
    session.nudge(6, "end", +100_000)
    assert ws.segment(6).end_ms == 60_000  # media duration
    session.nudge(6, "end", -100_000)
    assert ws.segment(6).end_ms == 15_501
    change = session.nudge(3, "start", -3_500)  # now before segment 2: order changes
    assert change.reordered and session.index_of(3) == 1
    assert session.nudge(1, "start", -1).empty is False
    with pytest.raises(EditError):
        session.nudge(1, "middle", 5)  # type: ignore[arg-type]


def test_insert_segment_for_missed_speech(ws: Workspace, session: ReviewSession) -> None:
    change = session.insert_segment(19_000, 20_500, "Get on the ground!")
    (new_id,) = change.inserted
    seg = ws.segment(new_id)
    assert (seg.machine_text, seg.human_text, seg.words) == ("", "Get on the ground!", ())
    assert session.index_of(new_id) == len(session) - 1
    for start, end in [(-1, 10), (500, 500), (59_000, 61_000)]:
        with pytest.raises(EditError):
            session.insert_segment(start, end, "x")


HELD = SuppressedSegment(
    index=-1, start_ms=19_000, end_ms=19_800, text="Stop resisting!",
    words=words_for(19_000, 19_800, "Stop resisting!"), avg_logprob=-0.8, no_speech_prob=0.81,
    compression_ratio=1.1, temperature=0.6, reason="a sampled retry",
)


def test_restore_held_back_brings_the_machine_text_back(
    ws: Workspace, db: Path, session: ReviewSession
) -> None:
    assert not session.is_restored(HELD)
    (new_id,) = session.restore_held_back(HELD).inserted
    seg = ws.segment(new_id)
    assert (seg.start_ms, seg.end_ms, seg.machine_text, seg.human_text) == (
        19_000, 19_800, "Stop resisting!", None,
    )
    assert seg.words == HELD.words and seg.draft_id is None and seg.no_speech_prob == 0.81
    assert seg.state is ReviewState.UNREVIEWED and "a sampled retry" in seg.note
    assert session.is_restored(HELD)
    with pytest.raises(EditError, match="already in the transcript"):
        session.restore_held_back(HELD)
    entry = ws.audit(session.media_id)[-1]
    assert entry["action"] == "restore_held_back" and entry["reviewer"] == "ana"
    with Workspace(db) as other:
        assert ReviewSession(other, session.media_id, "ben").is_restored(HELD)


def test_delete_segment_keeps_the_draft(ws: Workspace, session: ReviewSession) -> None:
    seg = ws.segment(6)
    session.delete_segment(6)
    assert len(session) == 5
    run = ws.current_run(session.media_id)
    assert run is not None and len(ws.drafts(run.id)) == 6
    assert ws.audit(session.media_id)[-1]["changes"][-1]["before"]["machine_text"] == (
        seg.machine_text
    )


# -- undo / redo --------------------------------------------------------------------------------

def officer(s: ReviewSession) -> int:
    """The officer's speaker id (the tests below create the officer first)."""
    sp = s.role_speaker("officer")
    assert sp is not None
    return sp.id


OPS: dict[str, Callable[[ReviewSession], Any]] = {
    "set_text": lambda s: s.set_text(1, "Step out of the vehicle."),
    "set_state": lambda s: s.set_state([1, 2], ReviewState.VERIFIED),
    "set_note": lambda s: s.set_note(2, "muffled"),
    "set_speaker": lambda s: s.set_speaker([1, 2], officer(s)),
    "add_speaker": lambda s: s.add_speaker("Neighbour", assign=[4]),
    "rename_speaker": lambda s: s.rename_speaker(officer(s), "Sgt. Lee"),
    "delete_speaker": lambda s: s.delete_speaker(officer(s)),
    "assign_role": lambda s: s.assign_role([3, 4], "passenger"),
    "add_tag": lambda s: s.add_tag([1, 2, 3], "verbal_order"),
    "toggle_tag": lambda s: s.toggle_tag([1, 2], "key_moment"),
    "add_codebook_entry": lambda s: s.add_codebook_entry("agency", "CBP", key="cbp",
                                                         shortcut="c"),
    "add_codebook_entry+tag": lambda s: s.add_codebook_entry("other", "Dog barking",
                                                             tag=[2, 3]),
    "split": lambda s: s.split(5, 3),
    "merge_with_next": lambda s: s.merge_with_next(5),
    "nudge": lambda s: s.nudge(3, "start", -3_500),
    "insert_segment": lambda s: s.insert_segment(20_000, 21_000, "Stop resisting!"),
    "delete_segment": lambda s: s.delete_segment(4),
    "restore_held_back": lambda s: s.restore_held_back(HELD),
}
# Operations whose arguments need a prepared state (a speaker to act on).
PREPARE = {"set_speaker", "rename_speaker", "delete_speaker"}


@pytest.mark.parametrize("name", sorted(OPS))
def test_undo_redo_restore_exact_rows(
    ws: Workspace, db: Path, media: Media, session: ReviewSession, name: str
) -> None:
    session.assign_role([1, 6], "officer")
    session.set_text(5, "There is a child in the car!")
    before, mem_before = state(ws, media.id), memory(session)
    OPS[name](session)
    after, mem_after = state(ws, media.id), memory(session)
    assert after != before
    assert mem_after == (after[0], after[1])  # memory and workspace agree

    undo = session.undo()
    assert undo.action == "undo" and undo.of
    assert state(ws, media.id) == before and memory(session) == mem_before
    session.redo()
    assert state(ws, media.id) == after and memory(session) == mem_after
    session.undo()
    # Durable: a fresh connection sees the undone state, ids included.
    with Workspace(db) as other:
        assert state(other, media.id) == before
    actions = [e["action"] for e in ws.audit(media.id)]
    assert actions[-3:] == ["undo", "redo", "undo"]


def test_undo_and_redo_are_audited_with_snapshots(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    session.set_text(1, "Out of the car.")
    original_id = ws.audit(media.id)[-1]["id"]
    session.undo()
    session.redo()
    undo, redo = ws.audit(media.id)[-2:]
    assert undo["reviewer"] == redo["reviewer"] == "ana"
    (u,) = undo["changes"]
    assert u["before"] == {"human_text": "Out of the car."} and u["after"] == {"human_text": None}
    assert u["of"] == {"audit_id": original_id, "action": "set_text"}
    assert redo["changes"][0]["after"] == {"human_text": "Out of the car."}


def _translated(ws: Workspace) -> tuple[int, int]:
    """A media with one Spanish segment and its machine translation: (media id, segment id)."""
    from annotator.core import runs
    from annotator.core.model import MachineSegment, RunStatus, Translation

    media = add_media(ws)
    run = ws.start_run(media.id, "base", "a" * 64, {}, {})
    runs.store_draft(ws, run, 0, MachineSegment(
        0, 0, 2000, "Tenemos un bebé.", (), -0.3, 0.02, 1.1, language="es",
        language_probability=0.99, model_id="base",
        translation=Translation("en", "We have a bebe.", "base", "b" * 64)))
    runs.finish(ws, run.id, RunStatus.DONE)
    return media.id, ws.segments(media.id)[0].id


def test_a_translation_correction_is_one_audited_undo_step(ws: Workspace) -> None:
    media_id, seg_id = _translated(ws)
    s = ReviewSession(ws, media_id, "ana")
    s.set_note(seg_id, "family in the back")
    change = s.set_translation(seg_id, "  We have a baby. ")
    assert change.updated == (seg_id,) and change.audit_id is not None
    fixed = s.translation(seg_id)
    assert fixed is not None and fixed.text == "We have a baby."
    assert fixed.machine_text == "We have a bebe."
    assert s.set_translation(seg_id, "We have a baby.").empty  # the same again: nothing
    undone = s.undo()
    assert undone.of == "translation.edit" and undone.updated == (seg_id,)
    back = s.translation(seg_id)
    assert back is not None and back.human_text is None and back.text == "We have a bebe."
    assert s.segment(seg_id).note == "family in the back"  # only the translation step undone
    s.redo()
    assert s.translation(seg_id).text == "We have a baby."  # type: ignore[union-attr]
    first, undo, redo = [e for e in ws.audit(media_id) if e["action"] != "set_note"]
    assert first["action"] == "translation.edit"
    assert (first["changes"][0]["before"], first["changes"][0]["after"]) == (
        None, "We have a baby.")
    assert (undo["action"], undo["changes"][0]["after"]) == ("undo", None)
    assert undo["changes"][0]["of"] == {"audit_id": first["id"], "action": "translation.edit"}
    assert (redo["action"], redo["changes"][0]["after"]) == ("redo", "We have a baby.")
    s.undo()
    s.undo()  # the note: undo goes on through the other edits in order
    assert s.segment(seg_id).note == "" and not s.can_undo
    assert s.translation(seg_id).human_text is None  # type: ignore[union-attr]
    from annotator.verify import check_chain
    assert all(f.ok for f in check_chain(ws.conn))  # the chain holds through undo, redo


def test_new_edit_clears_redo(session: ReviewSession) -> None:
    session.set_note(1, "a")
    session.set_note(1, "b")
    session.undo()
    assert session.can_redo
    session.set_note(2, "c")
    assert not session.can_redo
    assert session.redo().empty
    session.undo()
    session.undo()
    assert session.segment(1).note == "" and session.undo().empty


def test_undo_everything_back_to_the_start(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    start = state(ws, media.id)
    for name, op in OPS.items():
        if name not in PREPARE:
            op(session)
    assert state(ws, media.id)[:2] != start[:2]
    while session.can_undo:
        session.undo()
    assert state(ws, media.id)[:2] == start[:2]
    assert memory(session) == (start[0], start[1])
    assert session.codebook == default_codebook()
    # The codebook link made with the first edit stays: it is configuration, not a decision.
    assert ws.media_codebook(media.id) is not None


def test_edits_never_touch_machine_text(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    machine = {s.id: (s.machine_text, s.words) for s in ws.segments(media.id)}
    session.set_text(1, "Get out of the car.")
    session.set_text(2, "")
    session.add_tag([1, 2], "verbal_order")
    session.assign_role([1], "officer")
    session.nudge(3, "end", 200)
    session.set_state([1, 2, 3], ReviewState.VERIFIED)
    for seg in ws.segments(media.id):
        assert (seg.machine_text, seg.words) == machine[seg.id]
    run = ws.current_run(media.id)
    assert run is not None
    assert [d.text for d in ws.drafts(run.id)] == [line[2] for line in LINES]


# -- persistence and concurrency ----------------------------------------------------------------


def test_everything_persists_across_reopen(db: Path, media: Media, session: ReviewSession) -> None:
    sp = new_speaker(session, "Agent", role="federal_agent", agency="ice")
    session.set_speaker([5, 6], sp.id)
    session.set_text(6, "I'm recording this. What's your badge number?")
    session.add_tag(6, "identity_requested")
    session.split(1, 3)
    session.set_state(2, ReviewState.DISPUTED)
    session.set_note(2, "Overlaps with radio.")
    expected = memory(session), session.codebook
    session.ws.close()
    with Workspace(db) as ws2:
        again = ReviewSession(ws2, media.id, "ben")
        assert (memory(again), again.codebook) == expected
        assert again.progress() == (1, 7)


def test_an_edit_survives_sigkill(db: Path, media: Media, ws: Workspace) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from annotator.core.store import Workspace
        from annotator.core.session import ReviewSession
        ws = Workspace({str(db)!r})
        s = ReviewSession(ws, {media.id}, "ana")
        s.set_text(4, "Break the window, now.")
        s.split(1, 2)
        s.add_tag([2, 3], "warrant_refused")
        print("edited", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "edited"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with Workspace(db) as reopened:
        s = ReviewSession(reopened, media.id, "ana")
        assert s.segment(4).human_text == "Break the window, now."
        assert len(s) == 7 and s.segment(1).machine_text == "Step out"
        assert s.segment(3).tags == ("warrant_refused",)
        assert [e["action"] for e in reopened.audit(media.id)] == ["set_text", "split", "add_tag"]


def test_a_concurrent_change_is_never_overwritten(db: Path, media: Media, ws: Workspace) -> None:
    mine = ReviewSession(ws, media.id, "ana")
    with Workspace(db) as ws2:
        theirs = ReviewSession(ws2, media.id, "ben")
        theirs.set_text(2, "I am NOT opening the door.")
        with pytest.raises(EditError, match="outside this session"):
            mine.set_text(2, "I won't open the door.")
        assert ws2.segment(2).human_text == "I am NOT opening the door."
        assert mine.refresh().updated == (2,)
        mine.set_text(2, "I won't open the door.")
        assert ws.segment(2).human_text == "I won't open the door."


def test_refresh_picks_up_segments_from_the_transcriber(
    db: Path, ws: Workspace, media: Media, session: ReviewSession
) -> None:
    with Workspace(db) as worker:
        run = worker.start_run(media.id, "m", "0" * 64, {}, {})
        text = "Hands where I can see them."
        seg = worker.add_draft(run, 0, 30_000, 32_000, text, words_for(30_000, 32_000, text),
                               -0.2, 0.0, 1.0)
    change = session.refresh([seg.id])
    assert change.inserted == (seg.id,) and session.segment(seg.id).machine_text == text
    assert session.refresh().empty


# -- scale and isolation ------------------------------------------------------------------------


def test_long_stream_opens_fast_and_edits_touch_only_their_rows(ws: Workspace) -> None:
    m = add_media(ws, "long.mp4", duration_ms=5_000 * 2_000)
    lines = [(i * 2_000, i * 2_000 + 1_800, f"Line {i} of the stream.", None) for i in range(5_000)]
    with ws.transaction():
        add_transcript(ws, m, lines)
    t0 = time.perf_counter()
    s = ReviewSession(ws, m.id, "ana")
    assert time.perf_counter() - t0 < 2.0
    assert len(s) == 5_000
    s.set_state(1, ReviewState.REVIEWED)  # first edit also links the codebook
    changes = ws.conn.total_changes
    t0 = time.perf_counter()
    for i in range(2, 102):
        s.set_text(i, f"line {i}")
    assert (time.perf_counter() - t0) / 100 < 0.05
    assert ws.conn.total_changes - changes == 200  # one segment row + one audit row each
    changes = ws.conn.total_changes
    s.add_tag(range(1000, 3000), "key_moment")
    assert ws.conn.total_changes - changes == 2001
    s.undo()
    assert find.next_with_tag(s.segments, -1, "key_moment") is None


def test_core_does_not_import_the_ui_or_the_engine() -> None:
    """Every module of annotator.core, imported in a fresh process, pulls in neither Textual
    nor the speech engine: the core is usable (and testable) without either."""
    code = (
        "import importlib, pkgutil, sys, annotator.core as core;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages("
        "core.__path__, 'annotator.core.')];"
        "bad = [m for m in ('textual', 'faster_whisper') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
