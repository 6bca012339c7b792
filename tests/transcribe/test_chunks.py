"""Streamed decoding and cutting long audio into pieces at quiet moments."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper import decode_audio

from annotator.core.media import probe
from annotator.core.model import MachineSegment
from annotator.errors import MediaError
from annotator.transcribe.chunks import (
    SAMPLE_RATE,
    decode_stream,
    pieces,
    pieces_after,
    quiet_cut,
)
from annotator.transcribe.engine import Engine, TranscribeOptions

from support import DEMO, demo_truth, normalise, shared_file, tiled_demo, wer


@pytest.mark.parametrize("name", ["demo.mp4", "goforward.wav", "jfk.flac"])
def test_stream_decodes_exactly_what_faster_whisper_decodes(name: str) -> None:
    path = DEMO if name == "demo.mp4" else shared_file(name)
    streamed = np.concatenate(list(decode_stream(path)))
    assert streamed.dtype == np.float32
    assert np.array_equal(streamed, decode_audio(str(path), sampling_rate=SAMPLE_RATE))


def test_pieces_cover_the_stream_and_cut_between_scripted_lines() -> None:
    whole = np.concatenate(list(decode_stream(DEMO)))
    cut = list(pieces(decode_stream(DEMO), chunk_s=20, search_s=5))
    assert len(cut) >= 3
    assert np.array_equal(np.concatenate([p.audio for p in cut]), whole)
    assert [p.start_sample for p in cut] == list(
        np.cumsum([0] + [len(p.audio) for p in cut[:-1]])
    )
    lines = [(int(r["start_ms"]), int(r["end_ms"])) for r in demo_truth()]
    for piece in cut[1:]:
        at = piece.start_ms
        assert not any(start < at < end for start, end in lines), (at, lines)


def test_pieces_skip_what_comes_before_the_start() -> None:
    whole = np.concatenate(list(decode_stream(DEMO)))
    start = 30 * SAMPLE_RATE + 123
    rest = list(pieces(decode_stream(DEMO), start_sample=start, chunk_s=10, search_s=3))
    assert rest[0].start_sample == start
    assert np.array_equal(np.concatenate([p.audio for p in rest]), whole[start:])
    assert list(pieces(decode_stream(DEMO), start_sample=len(whole) + 10)) == []


def test_pieces_after_a_checkpoint_are_the_whole_stream_pieces() -> None:
    """Resuming at a cut gives the pieces a whole pass gives from there on, the first one
    preceded by its overlap: a resumed run decodes the same audio as an uninterrupted one."""
    whole = np.concatenate(list(decode_stream(DEMO)))
    cut = list(pieces(decode_stream(DEMO), chunk_s=15, search_s=4))
    assert len(cut) >= 3
    restart = cut[2].start_sample - 5 * SAMPLE_RATE - 123
    resumed = list(pieces_after(decode_stream(DEMO), restart_sample=restart,
                                cut_sample=cut[2].start_sample, chunk_s=15, search_s=4))
    assert resumed[0].start_sample == restart
    assert np.array_equal(resumed[0].audio, whole[restart : cut[3].start_sample])
    assert [p.start_sample for p in resumed[1:]] == [p.start_sample for p in cut[3:]]
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(resumed[1:], cut[3:], strict=True))


def test_quiet_cut_lands_in_the_quiet_stretch() -> None:
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, 10 * SAMPLE_RATE).astype(np.float32)
    audio[int(7.2 * SAMPLE_RATE) : int(7.6 * SAMPLE_RATE)] *= 0.01
    at = quiet_cut(audio, 9 * SAMPLE_RATE, 4 * SAMPLE_RATE)
    assert 7.2 * SAMPLE_RATE <= at <= 7.6 * SAMPLE_RATE
    assert quiet_cut(audio, 100, 50) == 100  # shorter than a frame: cut where asked
    # Several silent gaps (a breath, a turn): the cut goes in the middle of the longest.
    audio[int(7.2 * SAMPLE_RATE) : int(7.6 * SAMPLE_RATE)] = 0
    audio[int(5.0 * SAMPLE_RATE) : int(6.2 * SAMPLE_RATE)] = 0
    at = quiet_cut(audio, 9 * SAMPLE_RATE, 5 * SAMPLE_RATE)
    assert abs(at - 5.6 * SAMPLE_RATE) <= SAMPLE_RATE // 10


def test_files_without_usable_audio_name_the_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a media file")
    with pytest.raises(MediaError) as info:
        list(decode_stream(text))
    assert info.value.path == text and "cannot decode audio" in info.value.cause
    silent_video = tmp_path / "video-only.mp4"
    with av.open(str(silent_video), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(MediaError, match="has no audio stream"):
        list(decode_stream(silent_video))


def test_engine_in_short_pieces_keeps_the_words_and_timings() -> None:
    """Ten-second pieces on the demo clip (six cuts, far more than the default's one per ten
    minutes): nearly the same words as the reference (measured WER 0.021 against 0.0 in one
    piece: "I am" became "I'm" once the context was cut), every segment inside one piece,
    times from the start of the file."""
    engine = Engine(TranscribeOptions(chunk_s=10))
    _info, segments = engine.transcribe(DEMO)
    kept = [s for s in segments if type(s) is MachineSegment]
    reference = " ".join(r["text"] for r in demo_truth())
    assert wer(reference, " ".join(s.text for s in kept)) <= 0.04
    assert [s.index for s in kept] == list(range(len(kept)))
    cuts = [p.start_ms for p in pieces(decode_stream(DEMO), chunk_s=10)][1:]
    duration = probe(DEMO).duration_ms
    previous = 0
    for seg in kept:
        assert previous - 1 <= seg.start_ms < seg.end_ms <= duration
        assert not any(seg.start_ms < c < seg.end_ms - 1 for c in cuts), (seg, cuts)
        previous = seg.end_ms
    assert normalise(kept[-1].text)[-5:] == normalise("Do not hurt my baby.")


def test_cuts_do_not_change_the_transcript(tmp_path: Path) -> None:
    """Four back-to-back copies of the demo clip (237 s) in 100-second pieces (two cuts) give
    the same segments as the same audio in one piece: as many, with the same text in the
    same order, and times within a second (measured: 92 segments each, texts identical,
    starts within 0.9 s: faster-whisper's VAD ends a piece's last chunk differently). Each
    piece starts with an overlap and the text before it as context; without them a piece
    after a cut joined or dropped lines (see chunks.py)."""
    stream = tiled_demo(tmp_path, 4)
    assert len(list(pieces(decode_stream(stream), chunk_s=100))) == 3

    def segments(chunk_s: float) -> list[MachineSegment]:
        _info, found = Engine(TranscribeOptions(chunk_s=chunk_s, language="en")).transcribe(
            stream)
        return [s for s in found if type(s) is MachineSegment]

    whole, cut = segments(1000), segments(100)
    assert [s.text for s in cut] == [s.text for s in whole]
    for one, other in zip(whole, cut, strict=True):
        assert abs(one.start_ms - other.start_ms) <= 1000, (one, other)
        assert abs(one.end_ms - other.end_ms) <= 1000, (one, other)
    previous = 0
    for seg in cut:
        assert seg.start_ms >= previous - 1, seg  # nothing written twice
        previous = seg.end_ms
    truth = demo_truth()
    reference = " ".join(r["text"] for r in truth * 4)
    assert wer(reference, " ".join(s.text for s in cut)) <= 0.01


def test_after_cut_keeps_only_words_after_the_cut() -> None:
    from annotator.core.model import MachineSegment, Word
    from annotator.transcribe.engine import after_cut

    def seg(start: int, end: int, *words: tuple[int, str]) -> MachineSegment:
        ws = tuple(Word(s, s + 300, f" {t}", 0.9) for s, t in words)
        return MachineSegment(0, start, end, "".join(w.text for w in ws).strip(), ws,
                              -0.2, 0.1, 1.2)

    before = seg(1000, 2000, (1000, "Stop"), (1500, "hitting."))
    across = seg(2500, 4000, (2500, "Federal"), (3100, "immigration"), (3600, "agents."))
    after = seg(4200, 5000, (4200, "Step"), (4600, "out."))
    kept = list(after_cut(iter([before, across, after]), 3000))
    assert [s.text for s in kept] == ["immigration agents.", "Step out."]
    assert kept[0].start_ms == 3100 and kept[0].end_ms == 4000
    assert list(after_cut(iter([before]), -1)) == [before]  # the first piece: no cut
    bare = MachineSegment(0, 2500, 4000, "no word timings", (), -0.2, 0.1, 1.2)
    assert list(after_cut(iter([bare]), 3000)) == [bare]  # mostly after the cut
    assert list(after_cut(iter([bare]), 3500)) == []


def test_restart_at_a_segment_end_before_the_overlap() -> None:
    from annotator.transcribe.chunks import context_before, restart_at

    written = [(10.0, [1, 2]), (20.5, [3]), (28.0, [4, 5])]
    cut, overlap = 30 * SAMPLE_RATE, 5 * SAMPLE_RATE
    assert restart_at(written, cut, overlap, 0) == int(20.5 * SAMPLE_RATE)
    assert restart_at(written, cut, overlap, 25 * SAMPLE_RATE) == 25 * SAMPLE_RATE
    assert restart_at([], cut, overlap, 0) == 25 * SAMPLE_RATE
    assert context_before(written, 20.5) == [1, 2, 3]
    assert context_before(written, 5.0) is None
