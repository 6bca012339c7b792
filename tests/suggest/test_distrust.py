"""Distrust reasons on crafted segments (each threshold from both sides), and one real run:
the runner's VAD pass on the demo clip flags text put over its strikes (no speech there)."""

from __future__ import annotations

from annotator.core import suggestions as layer
from annotator.core.model import Segment, Word
from annotator.core.session import ReviewSession
from annotator.core.store import Workspace
from annotator.core.suggestions import Kind, Status
from annotator.suggest import distrust
from annotator.suggest.distrust import flag, loop_length, reasons
from annotator.suggest.runner import suggest


def _seg(text: str, start: int = 0, end: int = 2000, **figures: float) -> Segment:
    return Segment(1, 1, start, end, text, avg_logprob=figures.get("lp", -0.3),
                   no_speech_prob=figures.get("ns", 0.1),
                   compression_ratio=figures.get("cr", 1.2))


def _codes(seg: Segment, prev: Segment | None = None,
           speech: list[tuple[int, int]] | None = None) -> list[str]:
    return [r.code for r in reasons(seg, prev, speech)]


def test_a_clean_line_has_no_reason() -> None:
    assert _codes(_seg("Roll the window down, please.")) == []


def test_engine_figures_on_both_sides_of_their_thresholds() -> None:
    assert _codes(_seg("Step out of the car.", lp=-1.2)) == ["low_logprob"]
    assert _codes(_seg("Step out of the car.", lp=-0.99)) == []
    assert _codes(_seg("Step out of the car.", ns=0.7, lp=-0.6)) == ["no_speech"]
    assert _codes(_seg("Step out of the car.", ns=0.6, lp=-0.6)) == []
    # whisper's no-speech figure is per 30-s window: with a sure decode it is no reason
    assert _codes(_seg("Step out of the car.", ns=0.64, lp=-0.14)) == []
    assert _codes(_seg("Step out of the car.", cr=2.6)) == ["repetition_loop"]
    why = reasons(_seg("Step out.", lp=-1.5))[0].why
    assert "-1.50" in why and "-1.0" in why


def test_loops_repeats_and_speed() -> None:
    assert loop_length(["no", "no", "no", "no"]) == 1
    assert loop_length(["get", "out", "get", "out", "get", "out", "get", "out"]) == 2
    assert loop_length(["no", "no", "no"]) == 0
    assert _codes(_seg("I said no, no, no, no!")) == ["repetition_loop"]
    prev = Segment(7, 1, 0, 1500, "Stay in the car.")
    assert _codes(_seg("stay in the CAR", 1500, 3500), prev) == ["repeated_line"]
    assert _codes(_seg("Okay.", 1500, 3500), Segment(7, 1, 0, 1500, "Okay.")) == []  # one word
    fast = "one two three four five six seven eight nine ten eleven twelve thirteen"
    assert _codes(_seg(fast, 0, 2000)) == ["too_fast"]
    assert _codes(_seg("Step out of the car.", 0, 800)) == ["too_fast"]  # 5 words in 0.8 s
    assert _codes(_seg("Okay.", 0, 5000)) == ["too_slow"]
    assert _codes(_seg("Okay.", 0, 3000)) == []  # short: a single word may take 3 s


def test_text_over_silence_needs_the_vad() -> None:
    seg = _seg("Stop hitting my window!", 10_000, 12_000)
    assert _codes(seg) == []  # no VAD figures: nothing said
    assert _codes(seg, speech=[(0, 10_100), (11_900, 20_000)]) == ["silent_audio"]
    assert _codes(seg, speech=[(9_000, 10_500)]) == []  # a quarter heard


def test_flag_makes_one_proposal_per_line_with_all_reasons() -> None:
    words = (Word(0, 500, " no", 0.9),)
    segs = [Segment(1, 1, 0, 2000, "No no no no no", words, avg_logprob=-1.3),
            Segment(2, 1, 2000, 4000, "Fine, thank you.")]
    (found,) = flag(segs)
    assert (found.kind, found.segment_id, found.value) == (
        Kind.DISTRUST, 1, "low_logprob,repetition_loop")
    assert [r["code"] for r in found.detail["reasons"]] == ["low_logprob", "repetition_loop"]
    assert found.source == distrust.SOURCE and found.confidence == 0.75


def test_real_run_flags_text_over_the_strikes(workspace_copy: Workspace,
                                              demo_media_id: int) -> None:
    ws, mid = workspace_copy, demo_media_id
    session = ReviewSession(ws, mid, "ana")
    fake = session.insert_segment(28_600, 31_300, "Thank you for watching.").inserted[0]
    report = suggest(ws, mid, ["distrust"])
    assert not report.notes and report.added["distrust"] >= 1
    flagged = {x.segment_id: x for x in layer.suggestions(ws, mid, kinds=[Kind.DISTRUST])}
    assert "silent_audio" in flagged[fake].value.split(",")
    others = [x for k, x in flagged.items() if k != fake]
    assert len(others) <= len(session.segments) // 4, [x.value for x in others]  # clean TTS
    speechy = next(s for s in session.segments if "warrant" in s.text.lower())
    assert speechy.id not in flagged or "silent_audio" not in flagged[speechy.id].value
    session.accept_suggestions(flagged[fake].id)
    assert session.segment(fake).state == "disputed"
    assert layer.suggestion(ws, flagged[fake].id).status is Status.ACCEPTED
