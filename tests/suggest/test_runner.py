"""The runner: per-word voices and splits (fake diarization, in addition to the real detector
tests below), re-runs that keep decisions, a detector that is not installed, and the real
detectors end to end on the demo clip when they are installed."""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from annotator.core import suggestions as layer
from annotator.core.document import load_transcript
from annotator.core.model import Segment, Word
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Status
from annotator.formats.rttm import RttmFormat
from annotator.formats.srt import SrtFormat
from annotator.suggest.runner import propose_voices, sounds_like, suggest, word_runs

from support import demo_truth, in_ci


def _words(*spec: tuple[str, int, int]) -> tuple[Word, ...]:
    return tuple(Word(a, b, f" {t}", 0.9) for t, a, b in spec)


def _voice(table: list[tuple[float, float, str]]) -> Any:
    def at(t: float) -> str | None:
        return next((v for a, b, v in table if a <= t < b), None)
    return at


def test_words_change_voice_inside_a_segment() -> None:
    seg = Segment(5, 1, 0, 4000, "Open it. No I will not.", _words(
        ("Open", 0, 400), ("it.", 400, 800), ("No", 1500, 1800), ("I", 1800, 1900),
        ("will", 1900, 2200), ("not.", 2200, 2600)))
    at = _voice([(0, 1.0, "A"), (1.0, 4.0, "B")])
    assert word_runs(seg, at) == [("A", 2, 0), ("B", 4, 1500)]
    speaker, split = propose_voices([seg], at, {"detector": "fake"})
    assert (speaker.kind, speaker.value, speaker.segment_id) == (Kind.SPEAKER, "A", 5)
    assert speaker.detail["word_voices"] == ["A", "A", "B", "B", "B", "B"]
    assert (speaker.start_ms, speaker.end_ms, speaker.confidence) == (0, 1500, 0.333)
    assert (split.kind, split.value, split.start_ms) == (Kind.SPLIT, "No", 1500)
    assert split.detail == {"at_ms": 1500, "voice_before": "A", "voice_after": "B"}


def test_one_stray_word_is_not_a_second_voice() -> None:
    seg = Segment(5, 1, 0, 3000, "a b c d e", _words(
        ("a", 0, 300), ("b", 300, 600), ("c", 600, 800), ("d", 800, 1200), ("e", 1200, 1500)))
    at = _voice([(0, 0.6, "A"), (0.6, 0.8, "B"), (0.8, 3, "A")])
    assert word_runs(seg, at) == [("A", 5, 0)]
    (speaker,) = propose_voices([seg], at, {})
    assert speaker.confidence == pytest.approx(0.8)
    attributed = Segment(6, 1, 0, 3000, "x", speaker_id=3)
    assert propose_voices([attributed], at, {}) == []  # a person already said who


@dataclass
class _Turn:
    start: float
    end: float
    voice: str
    confidence: float = 0.9


@dataclass
class _Diarization:
    turns: list[_Turn]
    centroids: dict[str, list[float]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)


def test_voices_pass_with_a_fake_detector(workspace_copy: Workspace, demo_media_id: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's wiring (speech regions in, embeddings kept, suggestions stored, naming
    and a re-run), with a diarization made from the demo's truth."""
    truth = demo_truth()
    seen: dict[str, Any] = {}

    def diarize(samples: Any, rate: int, speech: Any = None, speakers: Any = None) -> Any:
        seen.update(rate=rate, speech=speech, speakers=speakers, n=len(samples))
        voice = {"officer": "A", "driver": "B", "agent": "C"}
        return _Diarization(
            [_Turn(int(r["start_ms"]) / 1000, int(r["end_ms"]) / 1000 + 0.3, voice[r["speaker"]])
             for r in truth], {"A": [1.0, 0.0], "B": [0.0, 1.0], "C": [0.6, 0.8]},
            {"package": "fake", "version": "0"})

    def voice_at(d: _Diarization, t: float) -> str | None:
        return next((x.voice for x in d.turns if x.start <= t < x.end), None)

    fake = types.ModuleType("annotator.suggest.voices")
    fake.diarize = diarize  # type: ignore[attr-defined]
    fake.voice_at = voice_at  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "annotator.suggest.voices", fake)
    ws, mid = workspace_copy, demo_media_id
    report = suggest(ws, mid, ["voices"], speakers=3)
    assert seen["rate"] == 16000 and seen["speakers"] == 3 and seen["speech"]
    assert report.added["voices"] >= len(truth) - 2
    assert layer.voices(ws, mid) == {"A": [1.0, 0.0], "B": [0.0, 1.0], "C": [0.6, 0.8]}
    stored = layer.suggestions(ws, mid, kinds=[Kind.SPEAKER])
    assert stored[0].source["detector"] == "voices" and stored[0].source["package"] == "fake"
    session = ReviewSession(ws, mid, "ana")
    session.name_voice("B", "Driver")
    driver_lines = [s.text for s in session.segments if session.speaker_label(s) == "Driver"]
    assert any("warrant" in t for t in driver_lines) and len(driver_lines) >= 5
    again = suggest(ws, mid, ["voices"], speakers=3)  # decided ones stay, not re-proposed
    accepted = layer.suggestions(ws, mid, status=Status.ACCEPTED)
    assert len(accepted) == len(driver_lines) and again.skipped.get("voices", 0) == 0
    assert all(x.value != "B" for x in layer.suggestions(ws, mid, status=Status.OPEN,
                                                         kinds=[Kind.SPEAKER]))
    # The same voice heard in another media: its suggestions say whom it sounds like.
    jfk = ws.find_media("jfk.flac").id
    suggest(ws, jfk, ["voices"], speakers=3)
    named = layer.named_voices(ws, jfk)
    assert [(v.voice, v.speaker, v.media_name) for v in named] == [("B", "Driver", "demo.mp4")]
    like = sounds_like(layer.voices(ws, jfk), {}, named)
    assert like == {
        "B": {"speaker": "Driver", "media": "demo.mp4", "voice": "B", "similarity": 1.0},
        "C": {"speaker": "Driver", "media": "demo.mp4", "voice": "B", "similarity": 0.8},
    }  # A is orthogonal to B: no hint
    for x in layer.suggestions(ws, jfk, kinds=[Kind.SPEAKER]):
        assert x.detail.get("like") == like.get(x.value)
    assert sounds_like({"B": [0.0, 1.0]}, {"weights_sha256": "other"}, named) == {}


def test_a_missing_detector_is_reported_and_the_rest_runs(
        workspace_copy: Workspace, demo_media_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "annotator.suggest.voices", None)
    report = suggest(workspace_copy, demo_media_id, ["rules", "voices"])
    assert report.unavailable["voices"].startswith("voices unavailable: install annotator[voices]")
    assert report.added["rules"] > 0


def test_real_detectors(workspace_copy: Workspace, demo_media_id: int) -> None:
    """The real detectors, when installed ("signals" ships them): impacts on the demo clip
    (its strikes become an event whose accepted action is a caption cue), voices on jfk.flac
    (one speaker: one voice, named in one step, exported as RTTM turns). Voices run on the
    11-s clip, not the demo: CAM++ costs about 16 s on the demo here."""
    try:
        for name in ("impacts", "voices"):
            importlib.import_module(f"annotator.suggest.{name}")
    except ImportError as exc:
        if in_ci():
            raise
        pytest.skip(f"detectors not installed here: {exc}")
    ws, mid = workspace_copy, demo_media_id
    report = suggest(ws, mid, ["impacts"])
    assert not report.unavailable and report.added["impacts"] >= 1, report
    events = layer.events(ws, mid)
    strikes = next(e for e in events if 28_000 <= e.start_ms <= 33_000)
    assert strikes.count >= 3
    sug = next(x for x in layer.suggestions(ws, mid, kinds=[Kind.EVENT])
               if x.event_id == strikes.id)
    assert sug.value == "strike_on_vehicle" and "impacts" in sug.source["detector"]
    ReviewSession(ws, mid, "ana").accept_suggestions(sug.id)
    srt = SrtFormat.to_string(load_transcript(ws, mid))
    assert f"[{strikes.count} strikes]" in srt

    jfk = ws.find_media("jfk.flac").id
    report = suggest(ws, jfk, ["voices"])
    assert not report.unavailable and report.added["voices"] >= 1, report
    assert list(layer.voices(ws, jfk)) == ["A"]
    speaker = layer.suggestions(ws, jfk, kinds=[Kind.SPEAKER])
    assert {x.value for x in speaker} == {"A"} and "voices" in str(speaker[0].source)
    ReviewSession(ws, jfk, "ana").name_voice("A", "President Kennedy")
    turns = RttmFormat.to_string(load_transcript(ws, jfk)).splitlines()
    assert turns and all(t.split(" ")[7] == "President_Kennedy" for t in turns)
