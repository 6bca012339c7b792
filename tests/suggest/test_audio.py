"""load_mono: the whole file as float32 mono samples, errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotator.errors import MediaError
from annotator.suggest.audio import load_mono

from support import DEMO, shared_file


def test_demo_decodes_to_its_length_in_float32_mono() -> None:
    audio = load_mono(DEMO)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / 16000 == pytest.approx(59.24, abs=0.05)
    assert 0.3 < float(np.abs(audio).max()) <= 1.0


def test_other_rate_keeps_the_duration() -> None:
    path = shared_file("goforward.wav")
    full, half = load_mono(path), load_mono(path, sample_rate=8000)
    assert half.size == pytest.approx(full.size / 2, abs=2)


@pytest.mark.parametrize("make", ["missing", "not audio"])
def test_bad_file_raises_media_error_naming_it(tmp_path: Path, make: str) -> None:
    path = tmp_path / "clip.mp4"
    if make == "not audio":
        path.write_text("this is not a media file\n")
    with pytest.raises(MediaError) as caught:
        load_mono(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
