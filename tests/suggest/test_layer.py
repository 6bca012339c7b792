"""The suggestion layer on a real transcribed workspace: accept, reject, name a voice, split,
events; undo and redo keep the annotations, the decisions and the audit log in step."""

from __future__ import annotations

import io
import json

import pysubs2
import pytest
import webvtt

from annotator.core import suggestions as layer
from annotator.core.document import load_transcript
from annotator.core.model import ReviewState, Segment
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.suggestions import Event, Kind, Proposal, Status
from annotator.errors import NotFoundError
from annotator.formats.ass import AssFormat
from annotator.formats.json_format import to_dict
from annotator.formats.srt import SrtFormat
from annotator.formats.vtt import VttFormat
from annotator.suggest.runner import suggest

SOURCE = {"detector": "test-voices", "version": "0"}


def _by_text(session: ReviewSession, words: str) -> Segment:
    return next(s for s in session.segments if words.lower() in s.text.lower())


def _voice_proposals(segments: list[Segment], voices: dict[int, str]) -> list[Proposal]:
    return [
        Proposal(Kind.SPEAKER, s.start_ms, s.end_ms, voices[s.id], SOURCE, 0.9, segment_id=s.id,
                 detail={"word_voices": [voices[s.id]] * len(s.words)})
        for s in segments if s.id in voices
    ]


def test_accept_reject_undo_keep_audit_and_export(workspace_copy: Workspace,
                                                  demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    report = suggest(ws, mid, ["rules"])
    assert report.added["rules"] >= 3
    session = ReviewSession(ws, mid, "ana")
    open_tags = layer.suggestions(ws, mid, status=Status.OPEN, kinds=[Kind.TAG])
    warrant = next(x for x in open_tags if x.value == "warrant_requested")
    seg_id = warrant.segment_id
    assert seg_id is not None and "warrant" in session.segment(seg_id).text.lower()
    audit_before = len(ws.audit(mid))

    change = session.accept_suggestions(warrant.id)
    assert change.audit_id is not None and seg_id in change.updated
    assert "warrant_requested" in session.segment(seg_id).tags
    stored = layer.suggestion(ws, warrant.id)
    assert (stored.status, stored.decided_by, stored.audit_id) == (
        Status.ACCEPTED, "ana", change.audit_id)
    entry = ws.audit(mid)[-1]
    assert entry["action"] == "suggestion.accept"
    tables = {c["table"] for c in entry["changes"]}
    assert {"segment", "suggestion"} <= tables
    exported = to_dict(load_transcript(ws, mid))
    seg = next(s for s in exported["segments"] if s["id"] == seg_id)
    assert seg["origin"] == [{
        "suggestion_id": warrant.id, "kind": "tag", "value": "warrant_requested",
        "source": warrant.source, "confidence": warrant.confidence, "accepted_by": "ana",
        "accepted_at": stored.decided_at,
    }]
    assert {s["id"]: s["status"] for s in exported["suggestions"]}[warrant.id] == "accepted"

    undo = session.undo()
    assert undo.of == "suggestion.accept" and seg_id in undo.updated
    assert "warrant_requested" not in ws.segment(seg_id).tags
    assert layer.suggestion(ws, warrant.id).status is Status.OPEN
    assert layer.suggestion(ws, warrant.id).audit_id is None
    exported = to_dict(load_transcript(ws, mid))
    assert next(s for s in exported["segments"] if s["id"] == seg_id)["origin"] == []
    assert ws.audit(mid)[-1]["action"] == "undo"
    session.redo()
    assert layer.suggestion(ws, warrant.id).status is Status.ACCEPTED
    assert "warrant_requested" in ws.segment(seg_id).tags
    assert len(ws.audit(mid)) == audit_before + 3

    other = next(x for x in open_tags if x.id != warrant.id)
    session.reject_suggestions(other.id)
    rejected = layer.suggestion(ws, other.id)
    assert (rejected.status, rejected.decided_by) == (Status.REJECTED, "ana")
    assert other.value not in ws.segment(other.segment_id or 0).tags
    assert ws.audit(mid)[-1]["action"] == "suggestion.reject"
    again = suggest(ws, mid, ["rules"])  # a re-run does not propose the rejected one again
    assert again.skipped["rules"] == 1
    keys = [x.key for x in layer.suggestions(ws, mid) if x.key == other.key]
    assert keys == [other.key]
    session.undo()
    assert layer.suggestion(ws, other.id).status is Status.OPEN
    with pytest.raises(NotFoundError):
        session.accept_suggestions(999_999)


def test_naming_a_voice_is_one_step_and_a_line_can_be_overridden(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    session = ReviewSession(ws, mid, "ana")
    segs = list(session.segments)
    voices = {s.id: "A" if i % 2 == 0 else "B" for i, s in enumerate(segs)}
    layer.replace_open(ws, mid, [Kind.SPEAKER], _voice_proposals(segs, voices))
    b_ids = [k for k, v in voices.items() if v == "B"]

    change = session.name_voice("B", "Driver", role="driver")
    assert set(b_ids) <= set(change.updated) and len(change.speakers) == 1
    driver = session.speakers[change.speakers[0]]
    assert driver.label == "Driver"
    assert all(session.segment(i).speaker_id == driver.id for i in b_ids)
    assert all(session.segment(k).speaker_id is None for k, v in voices.items() if v == "A")
    accepted = layer.suggestions(ws, mid, status=Status.ACCEPTED)
    assert sorted(x.segment_id or 0 for x in accepted) == sorted(b_ids)

    one = session.accept_suggestions(
        next(x.id for x in layer.suggestions(ws, mid, status=Status.OPEN)))
    voice_a = session.speakers[one.speakers[0]]
    assert voice_a.label == "Voice A"
    session.set_speaker(b_ids[0], voice_a.id)  # the reviewer overrides one line
    assert session.segment(b_ids[0]).speaker_id == voice_a.id
    exported = to_dict(load_transcript(ws, mid))
    assert next(s for s in exported["segments"] if s["id"] == b_ids[0])["origin"] == []

    session.undo()
    session.undo()
    session.undo()  # the naming, in one step
    assert all(session.segment(i).speaker_id is None for i in b_ids)
    assert driver.id not in session.speakers
    assert not layer.suggestions(ws, mid, status=Status.ACCEPTED)
    assert [e["action"] for e in ws.audit(mid)[-3:]] == ["undo"] * 3


def test_split_where_the_voice_changes(workspace_copy: Workspace, demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    session = ReviewSession(ws, mid, "ana")
    seg = next(s for s in session.segments if len(s.words) >= 6)
    cut = seg.words[3]
    per_word = ["A"] * 3 + ["B"] * (len(seg.words) - 3)
    layer.replace_open(ws, mid, [Kind.SPEAKER, Kind.SPLIT], [
        Proposal(Kind.SPEAKER, seg.start_ms, cut.start_ms, "A", SOURCE, 0.5, segment_id=seg.id,
                 detail={"word_voices": per_word}),
        Proposal(Kind.SPLIT, cut.start_ms, seg.end_ms, cut.text.strip(), SOURCE,
                 segment_id=seg.id, detail={"at_ms": cut.start_ms, "voice_before": "A",
                                            "voice_after": "B"}),
    ])
    split = next(x for x in layer.suggestions(ws, mid) if x.kind is Kind.SPLIT)
    change = session.accept_suggestions(split.id)
    assert len(change.inserted) == 1
    new_id = change.inserted[0]
    assert session.segment(new_id).words[0] == cut
    speakers = {x.segment_id: x for x in layer.suggestions(ws, mid, status=Status.OPEN,
                                                            kinds=[Kind.SPEAKER])}
    assert speakers[seg.id].value == "A" and speakers[seg.id].detail["word_voices"] == ["A"] * 3
    assert speakers[new_id].value == "B" and speakers[new_id].start_ms == cut.start_ms
    session.name_voice("B", "Agent")
    assert session.speaker_label(session.segment(new_id)) == "Agent"
    assert session.segment(seg.id).speaker_id is None
    session.undo()
    session.undo()
    assert new_id not in {s.id for s in session.segments}
    assert session.segment(seg.id).words == seg.words
    assert [x.segment_id for x in layer.suggestions(ws, mid, kinds=[Kind.SPEAKER])] == [seg.id]


def test_accepted_event_is_reviewed_tagged_and_exported(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    (ev,) = layer.replace_events(ws, mid, [Event(0, mid, "knock", 29500, 33000, 12, 0.8)])
    layer.replace_open(ws, mid, [Kind.EVENT], [Proposal(
        Kind.EVENT, ev.start_ms, ev.end_ms, "strike_on_vehicle", {"detector": "impacts"}, 0.9,
        event_id=ev.id)])
    session = ReviewSession(ws, mid, "ana")
    sug = layer.suggestions(ws, mid, kinds=[Kind.EVENT])[0]
    session.accept_suggestions(sug.id)
    stored = layer.event(ws, ev.id)
    assert stored.state is ReviewState.REVIEWED and stored.tags == ("strike_on_vehicle",)
    data = to_dict(load_transcript(ws, mid))
    assert data["events"][0]["caption"] == "[12 strikes]"
    assert data["events"][0]["origin"][0]["suggestion_id"] == sug.id
    json.dumps(data)
    transcript = load_transcript(ws, mid)
    srt = pysubs2.SSAFile.from_string(SrtFormat.to_string(transcript))
    cue = next(e for e in srt if "strikes" in e.plaintext)
    assert (cue.start, cue.end, cue.plaintext) == (29500, 33000, "[12 strikes]")
    vtt = webvtt.from_buffer(io.StringIO(VttFormat.to_string(transcript)))
    assert "[12 strikes]" in [c.text for c in vtt.captions]
    ass = pysubs2.SSAFile.from_string(AssFormat.to_string(transcript))
    assert any(e.plaintext == "[12 strikes]" for e in ass)
    assert len(srt) == len(transcript.segments) + 1
    session.undo()
    assert layer.event(ws, ev.id).state is ReviewState.UNREVIEWED
    assert to_dict(load_transcript(ws, mid))["events"][0]["origin"] == []
    assert "strikes" not in SrtFormat.to_string(load_transcript(ws, mid))


def test_figures_json_cannot_hold_are_exported_as_null() -> None:
    from annotator.core.suggestions import Suggestion

    sug = Suggestion(1, 1, Kind.DISTRUST, "k", 0, 10, "low_logprob", confidence=float("nan"),
                     detail={"reasons": [{"code": "low_logprob", "value": float("-inf")}]})
    data = json.loads(json.dumps(sug.to_dict(), allow_nan=False))
    assert data["confidence"] is None and data["detail"]["reasons"][0]["value"] is None
    ev = Event(1, 1, "knock", 0, 10, 3, float("nan"))
    assert json.loads(json.dumps(ev.to_dict(), allow_nan=False))["strength"] is None


def test_an_event_tagged_by_hand_is_audited_undone_and_exported(
        workspace_copy: Workspace, demo_media_id: int) -> None:
    """``t`` on an event row: the reviewer's own action, whatever the detector proposed."""
    from annotator.report.timeline import build

    ws, mid = workspace_copy, demo_media_id
    (ev,) = layer.replace_events(ws, mid, [Event(0, mid, "glass", 41000, 41400, 1, 2.5)])
    session = ReviewSession(ws, mid, "ana")
    audit_before = len(ws.audit(mid))

    change = session.toggle_event_tag(ev.id, "window_broken")
    assert change.audit_id is not None and change.action == "event.tag"
    stored = layer.event(ws, ev.id)
    assert stored.tags == ("window_broken",) and stored.state is ReviewState.REVIEWED
    entries = ws.audit(mid)
    assert len(entries) == audit_before + 1
    (record,) = [c for c in entries[-1]["changes"] if c["table"] == "event"]
    assert record["id"] == ev.id and record["before"]["tags"] == []
    assert record["after"] == {"tags": ["window_broken"], "state": "reviewed"}
    transcript = load_transcript(ws, mid)
    exported = to_dict(transcript)
    assert exported["events"][0]["tags"] == ["window_broken"]
    assert exported["events"][0]["origin"] == []  # a person's, not a suggestion's
    row = next(r for r in build(transcript).rows if r.sound)
    assert row.actions == ("Window broken",) and row.state == "reviewed"
    assert "[glass breaking]" in SrtFormat.to_string(transcript)

    with pytest.raises(NotFoundError):
        session.toggle_event_tag(ev.id, "no_such_tag")
    undo = session.undo()
    assert undo.of == "event.tag" and ws.audit(mid)[-1]["action"] == "undo"
    assert layer.event(ws, ev.id) == ev
    assert to_dict(load_transcript(ws, mid))["events"][0]["tags"] == []
    session.redo()
    assert layer.event(ws, ev.id).tags == ("window_broken",)
    session.toggle_event_tag(ev.id, "window_broken")  # the same key again takes it off
    assert layer.event(ws, ev.id).tags == ()
    assert [e["action"] for e in ws.audit(mid)[audit_before:]] == [
        "event.tag", "undo", "redo", "event.tag"]
