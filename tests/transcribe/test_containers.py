"""Input is anything PyAV decodes, with no system ffmpeg: the same real speech, re-encoded by
PyAV into the containers phones and livestream downloads produce, transcribes the same."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from annotator.core.media import probe
from annotator.core.store import Workspace
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import run_batch

from support import shared_file, wer

# (container suffix, audio codec, sample rate)
CONTAINERS = [
    ("webm", "libopus", 48000),
    ("mkv", "libopus", 48000),
    ("ogg", "libopus", 48000),
    ("m4a", "aac", 44100),
    ("mp4", "aac", 44100),
    ("mp3", "libmp3lame", 44100),
    ("flac", "flac", 16000),
    ("wav", "pcm_s16le", 16000),
]


def encode(source: Path, target: Path, codec: str, rate: int) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    source = shared_file("goforward.wav")
    folder = tmp_path_factory.mktemp("containers")
    paths = []
    for suffix, codec, rate in CONTAINERS:
        target = folder / f"goforward.{suffix}"
        encode(source, target, codec, rate)
        paths.append(target)
    return paths


def test_every_container_probes_and_transcribes(encoded: list[Path], tmp_path: Path) -> None:
    reference = shared_file("goforward.ref.txt").read_text()
    engine = Engine(TranscribeOptions())
    with Workspace(tmp_path / "w.db") as ws:
        results = run_batch(ws, encoded, TranscribeOptions(), engine_factory=lambda _o: engine)
        assert [r.status for r in results] == ["done"] * len(encoded), [r.error for r in results]
        for path, result in zip(encoded, results, strict=True):
            info = probe(path)
            assert 2500 <= info.duration_ms <= 3200, path  # the clip is 2.79 s
            assert result.media is not None
            text = " ".join(s.text for s in ws.segments(result.media.id))
            assert wer(reference, text) == 0.0, (path.suffix, text)
