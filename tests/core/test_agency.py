"""An agency set once on the speaker: inherited by every line, overridden by a line's tag,
audited and undoable like every edit, and the same after reopening the workspace."""

from __future__ import annotations

import pytest

from annotator.core.agency import LINE, SPEAKER, EffectiveAgency, effective_agency
from annotator.core.model import Media, Speaker
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.errors import NotFoundError


def officer(session: ReviewSession, ids: tuple[int, ...] = (1, 3, 5)) -> Speaker:
    change = session.add_speaker("Officer", assign=ids)
    return session.speaker(change.speakers[0])


def agency_of(session: ReviewSession, seg_id: int) -> EffectiveAgency | None:
    return effective_agency(session.segment(seg_id), session.speakers, session.codebook)


def test_every_line_of_the_speaker_inherits_the_agency(
    ws: Workspace, session: ReviewSession
) -> None:
    sp = officer(session)
    assert agency_of(session, 1) is None
    change = session.set_speaker_agency(sp.id, "local_police")
    assert change.speakers == (sp.id,) and change.audit_id is not None
    assert ws.speaker(sp.id).agency == "local_police"
    for seg_id in (1, 3, 5):
        assert agency_of(session, seg_id) == EffectiveAgency(("local_police",), SPEAKER)
    assert agency_of(session, 2) is None  # another person's line
    assert agency_of(session, 1).labels(session.codebook) == ("Local police",)  # type: ignore[union-attr]


def test_a_line_agency_tag_overrides_the_speaker(session: ReviewSession) -> None:
    sp = officer(session)
    session.set_speaker_agency(sp.id, "local_police")
    session.add_tag(3, "ice")
    session.add_tag(3, "verbal_order")  # an action is not an agency
    assert agency_of(session, 3) == EffectiveAgency(("ice",), LINE)
    assert not agency_of(session, 3).inherited  # type: ignore[union-attr]
    assert agency_of(session, 1) == EffectiveAgency(("local_police",), SPEAKER)
    session.add_tag(2, "sheriff")  # a line without a speaker can still name an agency
    assert agency_of(session, 2) == EffectiveAgency(("sheriff",), LINE)


def test_setting_the_agency_is_audited_and_undoable(
    ws: Workspace, media: Media, session: ReviewSession
) -> None:
    sp = officer(session)
    session.set_speaker_agency(sp.id, "local_police")
    entry = ws.audit(media.id)[-1]
    assert entry["reviewer"] == "ana" and entry["action"] == "set_speaker_agency"
    (row,) = entry["changes"]
    assert row["table"] == "speaker" and row["id"] == sp.id
    assert row["before"] == {"agency": ""} and row["after"] == {"agency": "local_police"}
    session.set_speaker_agency(sp.id, "ice")
    session.undo()
    assert ws.speaker(sp.id).agency == "local_police"
    assert agency_of(session, 5) == EffectiveAgency(("local_police",), SPEAKER)
    session.undo()
    assert ws.speaker(sp.id).agency == "" and agency_of(session, 5) is None
    session.redo()
    assert ws.speaker(sp.id).agency == "local_police"
    assert [e["action"] for e in ws.audit(media.id)][-3:] == ["undo", "undo", "redo"]
    change = session.set_speaker_agency(sp.id, "")  # clearing is an edit too
    assert change.audit_id is not None and ws.speaker(sp.id).agency == ""
    assert session.set_speaker_agency(sp.id, "").empty  # nothing to do: nothing written


def test_only_an_agency_of_the_codebook_is_accepted(session: ReviewSession) -> None:
    sp = officer(session)
    with pytest.raises(NotFoundError):
        session.set_speaker_agency(sp.id, "window_broken")  # an action
    with pytest.raises(NotFoundError):
        session.set_speaker_agency(sp.id, "no_such_agency")
    with pytest.raises(NotFoundError):
        session.set_speaker_agency(sp.id + 100, "ice")
    assert session.speaker(sp.id).agency == ""


def test_the_agency_survives_reopening(ws: Workspace, media: Media) -> None:
    first = ReviewSession(ws, media.id, "ana")
    sp = officer(first)
    first.set_speaker_agency(sp.id, "state_patrol")
    again = ReviewSession(ws, media.id, "ben")
    assert agency_of(again, 3) == EffectiveAgency(("state_patrol",), SPEAKER)
