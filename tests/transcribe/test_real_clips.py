"""Word error rate of the full pipeline on short real recordings nobody on this project made.

Bounds are the WER measured with the bundled tiny.en (beam 5, VAD, int8) plus a little slack
(about one word); they catch regressions in decoding, normalisation or segment storage.
Measured: quilter 0.0, sense 0870 0.0, sense 0880 0.25 ("ill disposed" -> "old-sposed"),
goforward 0.0, digits 0.0, AMI headset 0.25 (names).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.core.store import Workspace
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import run_batch

from support import shared_file, wer

CLIPS = {
    "mister_quilter_1272-128104-0000": 0.06,
    "librivox_sense_and_sensibility_01_0870": 0.06,
    "librivox_sense_and_sensibility_01_0880": 0.40,
    "goforward": 0.0,
    "digits_10001-90210-01803": 0.07,
    "ami_ES2011a_headset0_40-46s": 0.40,
}


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    paths = [shared_file(f"{name}.wav") for name in CLIPS]
    engine = Engine(TranscribeOptions())
    db: Path = tmp_path_factory.mktemp("clips") / "w.db"
    with Workspace(db) as ws:
        results = run_batch(ws, paths, TranscribeOptions(), engine_factory=lambda _o: engine)
        assert all(r.status == "done" for r in results), [r.error for r in results]
        return {
            Path(m.path).stem: " ".join(s.text for s in ws.segments(m.id))
            for m in ws.list_media()
        }


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_word_error_rate(transcripts: dict[str, str], name: str) -> None:
    reference = shared_file(f"{name}.ref.txt").read_text()
    assert wer(reference, transcripts[name]) <= CLIPS[name]
