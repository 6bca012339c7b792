"""A media file's identity is the SHA-256 of **all** its bytes, checked against hashlib.

Livestream recordings run to gigabytes, while the test clips are mostly under 1 MiB, the size
of one read block: a hash over the first block alone would pass every other test. Here the
files are several MiB, the digest annotator stores is compared with one computed independently
over the whole file, and two recordings that differ only after the first MiB must be two media
records, not one "already transcribed" file.
"""

from __future__ import annotations

import hashlib
import wave
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.core.media import probe
from annotator.core.store import Workspace

from support import shared_file

MIB = 1 << 20
SIZE = 6 * MIB  # several read blocks
DIFFERENT_BYTE = 3 * MIB + 101  # well past the first block, inside the audio samples


def _long_recording(folder: Path) -> Path:
    """A real spoken clip followed by digital silence, as a 16 kHz mono WAV of about 6 MiB."""
    with wave.open(str(shared_file("goforward.wav")), "rb") as src:
        params = src.getparams()
        speech = src.readframes(src.getnframes())
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    path = folder / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(speech + bytes(SIZE - len(speech)))
    return path


def _with_one_byte_changed(path: Path, offset: int, name: str) -> Path:
    """A copy of ``path`` whose byte at ``offset`` differs (a one-sample click in silence)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    other = path.with_name(name)
    other.write_bytes(bytes(data))
    return other


def _sha256(path: Path) -> str:
    """The reference digest: hashlib over the whole file read at once (no chunking to share a
    bug with annotator's streaming reader)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def recordings(tmp_path: Path) -> tuple[Path, Path]:
    first = _long_recording(tmp_path)
    second = _with_one_byte_changed(first, DIFFERENT_BYTE, "long-click.wav")
    assert first.stat().st_size > 4 * MIB
    with first.open("rb") as a, second.open("rb") as b:
        assert a.read(MIB) == b.read(MIB)  # the first block is the same in both
    return first, second


def test_probe_hashes_the_whole_file(recordings: tuple[Path, Path]) -> None:
    first, second = recordings
    assert probe(first).sha256 == _sha256(first)
    assert probe(second).sha256 == _sha256(second)
    assert probe(first).sha256 != probe(second).sha256


def test_transcribe_records_whole_file_hashes_and_keeps_near_copies_apart(
    tmp_path: Path, recordings: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real ``annotator transcribe``: the workspace stores each file's full SHA-256,
    and a file differing from a known one only after the first MiB is transcribed, not skipped
    as the same recording."""
    first, second = recordings
    db = tmp_path / "w.db"
    assert main(["transcribe", str(first), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["transcribe", str(second), "--db", str(db)]) == 0
    assert "skipped" not in capsys.readouterr().out
    with Workspace(db) as ws:
        stored = {Path(m.path).name: (m.sha256, m.size) for m in ws.list_media()}
        assert all(ws.segments(m.id) for m in ws.list_media())  # "go forward..." was heard
    assert stored == {
        first.name: (_sha256(first), first.stat().st_size),
        second.name: (_sha256(second), second.stat().st_size),
    }
