"""The real engine with the real bundled model on real audio (the main path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.core.store import Workspace
from annotator.transcribe.models import TINY_EN_SHA256

from support import demo_truth, shared_file, wer

# Measured with tiny.en, beam 5, VAD, int8 on 2 cores: demo 0.0, jfk 0.0. Bounds leave about
# two words of slack on the demo (140 words) and one on jfk (22 words).
DEMO_MAX_WER = 0.02
JFK_MAX_WER = 0.05


def _text(ws: Workspace, name: str) -> str:
    media = ws.find_media(name)
    return " ".join(s.text for s in ws.segments(media.id))


def test_demo_clip_word_error_rate(workspace_copy: Workspace) -> None:
    reference = " ".join(row["text"] for row in demo_truth())
    assert wer(reference, _text(workspace_copy, "demo.mp4")) <= DEMO_MAX_WER


def test_jfk_word_error_rate(workspace_copy: Workspace) -> None:
    reference = shared_file("jfk.ref.txt").read_text()
    assert wer(reference, _text(workspace_copy, "jfk.flac")) <= JFK_MAX_WER


def test_demo_segments_line_up_with_ground_truth(workspace_copy: Workspace) -> None:
    """Every segment's midpoint falls inside one scripted line (within 0.6 s)."""
    media = workspace_copy.find_media("demo.mp4")
    lines = [(int(r["start_ms"]), int(r["end_ms"])) for r in demo_truth()]
    for seg in workspace_copy.segments(media.id):
        mid = (seg.start_ms + seg.end_ms) // 2
        assert any(s - 600 <= mid <= e + 600 for s, e in lines), seg


def test_demo_segments_never_mix_two_scripted_lines(workspace_copy: Workspace) -> None:
    """Reviewers tag speakers per segment: a segment holding two speakers' lines is a defect.
    (Measured with the default VAD settings: 23 segments, none spanning two lines.)"""
    media = workspace_copy.find_media("demo.mp4")
    lines = [(int(r["start_ms"]), int(r["end_ms"])) for r in demo_truth()]
    for seg in workspace_copy.segments(media.id):
        overlapping = [
            (s, e) for s, e in lines if min(e, seg.end_ms) - max(s, seg.start_ms) > 200
        ]
        assert len(overlapping) == 1, (seg.text, overlapping)


@pytest.mark.parametrize("name", ["demo.mp4", "jfk.flac"])
def test_times_monotonic_inside_duration_and_words_inside_segments(
    workspace_copy: Workspace, name: str
) -> None:
    if name == "jfk.flac":
        shared_file(name)
    media = workspace_copy.find_media(name)
    segments = workspace_copy.segments(media.id)
    assert segments
    previous_end = 0
    for seg in segments:
        assert 0 <= seg.start_ms < seg.end_ms <= media.duration_ms
        assert seg.start_ms >= previous_end - 1  # no overlap (1 ms rounding)
        previous_end = seg.end_ms
        assert seg.words, "word timestamps are on by default"
        for word in seg.words:
            assert seg.start_ms <= word.start_ms <= word.end_ms <= seg.end_ms
            assert 0.0 <= word.probability <= 1.0
        starts = [w.start_ms for w in seg.words]
        assert starts == sorted(starts)


def test_run_records_provenance(workspace_copy: Workspace) -> None:
    media = workspace_copy.find_media("demo.mp4")
    run = workspace_copy.current_run(media.id)
    assert run is not None and run.status == "done"
    assert run.model_id == "tiny.en"
    assert run.model_sha256 == TINY_EN_SHA256
    assert run.language == "en"
    assert {"faster-whisper", "ctranslate2"} <= set(run.engine_versions)
    opts = run.options
    assert opts["beam_size"] == 5 and opts["word_timestamps"] and opts["vad_filter"]
    assert opts["transcription_options"]["initial_prompt"] is None
    assert Path(opts["model_path"]).is_dir()
    assert opts["cpu_threads_used"] >= 0 and opts["seed"] == 0
    check = opts["silence_check"]
    assert check["vad"]["threshold"] == 0.3 and check["token_budget"]["per_second"] == 12
    assert opts["suppress_silent_hallucinations"] is True


def test_draft_is_kept_apart_from_review_layer(workspace_copy: Workspace) -> None:
    media = workspace_copy.find_media("demo.mp4")
    run = workspace_copy.current_run(media.id)
    assert run is not None
    drafts = workspace_copy.drafts(run.id)
    segments = workspace_copy.segments(media.id)
    assert len(drafts) == len(segments)
    for draft, seg in zip(drafts, segments, strict=True):
        assert seg.draft_id == draft.id
        assert seg.machine_text == draft.text and seg.human_text is None
        assert seg.words == draft.words
