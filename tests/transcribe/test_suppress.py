"""Text the engine samples out of silence is held back from the draft, kept, and exported.

The rule itself is tested on faster-whisper-shaped segments (the hallucination it targets
appears on a random minority of runs, so no real clip triggers it on demand); storage, the
export and the CLI are tested around the real engine decoding a real file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from annotator.cli import main
from annotator.core.document import load_transcript
from annotator.core.media import probe
from annotator.core.model import Checkpoint, MachineSegment, SuppressedSegment, Word
from annotator.core.store import Workspace
from annotator.formats import export, load_schema, read_json
from annotator.transcribe.engine import (
    Engine,
    EngineEvent,
    EngineInfo,
    TranscribeOptions,
    convert_segments,
)
from annotator.transcribe.pipeline import transcribe_probed

from support import shared_file


def _fw_segment(
    start: float, end: float, text: str, *, temperature: float, no_speech: float
) -> SimpleNamespace:
    """A segment as faster-whisper yields it (the attributes convert_segments reads)."""
    word = SimpleNamespace(start=start, end=end, word=f" {text}", probability=0.4)
    return SimpleNamespace(
        start=start, end=end, text=f" {text}", words=[word], avg_logprob=-0.78,
        no_speech_prob=no_speech, compression_ratio=2.3, temperature=temperature,
    )


def test_sampled_text_in_a_window_judged_silent_is_held_back() -> None:
    source = [
        _fw_segment(0.1, 3.4, "Driver, roll your window down.", temperature=0.0, no_speech=0.64),
        _fw_segment(3.9, 5.2, "I am not rolling it down.", temperature=0.4, no_speech=0.1),
        _fw_segment(58.49, 59.21, "Take it off.", temperature=0.6, no_speech=0.81),
        _fw_segment(60.0, 61.0, "Okay.", temperature=0.0, no_speech=0.2),
    ]
    out = list(convert_segments(iter(source), 0.6))
    kept = [s for s in out if not isinstance(s, SuppressedSegment)]
    held = [s for s in out if isinstance(s, SuppressedSegment)]
    # decoded at temperature 0 despite a high no-speech figure: kept (espeak speech does this)
    # sampled but the model is sure there is speech: kept
    assert [s.text for s in kept] == [
        "Driver, roll your window down.", "I am not rolling it down.", "Okay.",
    ]
    assert [s.index for s in kept] == [0, 1, 2]  # draft indices stay contiguous
    (tail,) = held
    assert (tail.start_ms, tail.end_ms, tail.text) == (58490, 59210, "Take it off.")
    assert tail.temperature == 0.6 and tail.no_speech_prob == 0.81
    assert tail.words == (Word(58490, 59210, " Take it off.", 0.4),)
    assert "0.81 > 0.60" in tail.reason and "temperature 0.6" in tail.reason


def test_without_a_threshold_nothing_is_held_back() -> None:
    source = [_fw_segment(58.49, 59.21, "Take it off.", temperature=0.6, no_speech=0.81)]
    (seg,) = convert_segments(iter(source), None)
    assert type(seg) is MachineSegment and seg.text == "Take it off."


def test_option_is_on_by_default_and_recorded() -> None:
    options = TranscribeOptions()
    assert options.suppress_silent_hallucinations is True
    assert "suppress_silent_hallucinations" not in options.engine_kwargs()


class _TailEngine(Engine):
    """The real engine; after the real segments it yields one held-back segment, as the real
    engine does on the runs where the model samples words out of a silent tail."""

    def transcribe(
        self, path: Path, resume: Checkpoint | None = None, language: str | None = None
    ) -> tuple[EngineInfo, Iterator[EngineEvent]]:
        info, segments = super().transcribe(path, resume, language)

        def with_tail() -> Iterator[EngineEvent]:
            yield from segments
            end = probe(path).duration_ms
            yield SuppressedSegment(
                index=-1, start_ms=end - 700, end_ms=end, text="[bold]Stay in the car.[/]",
                words=(Word(end - 700, end, " Stay", 0.3),), avg_logprob=-0.7,
                no_speech_prob=0.8, compression_ratio=2.1, temperature=0.6,
                reason="no-speech probability 0.80 > 0.60 and a sampled retry",
            )

        return info, with_tail()


@pytest.fixture(scope="module")
def tail_engine() -> _TailEngine:
    return _TailEngine(TranscribeOptions())


def test_held_back_segment_is_stored_with_its_run_and_exported(
    tmp_path: Path, tail_engine: _TailEngine
) -> None:
    info = probe(shared_file("jfk.flac"))
    with Workspace(tmp_path / "w.db") as ws:
        media, added = transcribe_probed(ws, tail_engine, info)
        segments = ws.segments(media.id)
        assert added == len(segments) >= 1
        assert all("Stay in the car" not in s.text for s in segments)
        run = ws.current_run(media.id)
        assert run is not None
        (held,) = ws.suppressed(run.id)
        assert held.text == "[bold]Stay in the car.[/]" and held.temperature == 0.6
        # A resumed or repeated decode of the same run stores it once.
        ws.add_suppressed(run.id, held)
        assert len(ws.suppressed(run.id)) == 1

        transcript = load_transcript(ws, media.id)
        data = read_json(export(transcript, "json", tmp_path))
        jsonschema.Draft202012Validator(load_schema()).validate(data)
        (item,) = data["suppressed"]
        assert item["text"] == held.text and item["reason"] == held.reason
        assert item["start_ms"] == held.start_ms and item["temperature"] == 0.6
        assert all("Stay in the car" not in s["machine_text"] for s in data["segments"])
        for fmt in ("srt", "vtt", "ass"):  # published captions never carry it
            assert "Stay in the car" not in export(transcript, fmt, tmp_path).read_text()


def _cells(row: str) -> list[str]:
    """The cells of a summary row, boxed (a terminal) or plain (columns two spaces apart)."""
    if "│" in row or "┃" in row:
        return [c.strip() for c in row.replace("┃", "│").split("│") if c.strip()]
    return re.split(r"\s{2,}", row.strip())


def test_cli_summary_counts_held_back_segments(
    tmp_path: Path, tail_engine: _TailEngine, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import annotator.transcribe.pipeline as pipeline

    def factory(_options: TranscribeOptions) -> Engine:
        return tail_engine

    original = pipeline.run_batch

    def run_batch(*args: Any, **kwargs: Any) -> Any:
        kwargs["engine_factory"] = factory
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_batch", run_batch)
    monkeypatch.setenv("COLUMNS", "200")
    db = tmp_path / "w.db"
    code = main(["transcribe", str(shared_file("jfk.flac")), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0
    assert "held back" in out
    row = next(line for line in out.splitlines() if "jfk.flac" in line and "done" in line)
    cells = _cells(row)
    assert cells[:2] == ["jfk.flac", "done"] and cells[4] == "1", cells
    with Workspace(db) as ws:
        media = ws.find_media("jfk.flac")
        run = ws.current_run(media.id)
        assert run is not None and json.loads(json.dumps(run.options))[
            "suppress_silent_hallucinations"
        ] is True
    assert main(["list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "held back" in out
    row = next(line for line in out.splitlines() if "jfk.flac" in line)
    cells = _cells(row)
    assert cells[6] == "1", cells


def test_keep_hallucinations_flag_turns_the_guard_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import annotator.transcribe.pipeline as pipeline

    seen: list[TranscribeOptions] = []

    def run_batch(_ws: Workspace, _paths: Any, options: TranscribeOptions, **_kw: Any) -> list[Any]:
        seen.append(options)
        return []

    monkeypatch.setattr(pipeline, "run_batch", run_batch)
    wav = shared_file("goforward.wav")
    assert main(["transcribe", str(wav), "--db", str(tmp_path / "a.db")]) == 0
    keep = ["--keep-hallucinations", "--db", str(tmp_path / "b.db")]
    assert main(["transcribe", str(wav), *keep]) == 0
    assert [o.suppress_silent_hallucinations for o in seen] == [True, False]
