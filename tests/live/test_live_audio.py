"""The live follower's audio: decoded once while the file grows, the same samples as the file
decoded afterwards; the capture's run lock that keeps a second transcriber out; the capture
record in an export made while it runs."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from annotator.core import captures
from annotator.core.media import probe
from annotator.core.runlock import MediaBusyError
from annotator.core.store import Workspace
from annotator.live.audio import LiveAudio
from annotator.transcribe.chunks import decode_stream
from annotator.transcribe.pipeline import transcribe_file

from support import demo_excerpt


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the demo recording as MPEG-TS (what an HLS capture writes)."""
    return demo_excerpt(tmp_path_factory.mktemp("audio") / "clip.ts", 20)


def test_a_growing_file_decodes_to_the_finished_files_samples(
    ts_clip: Path, tmp_path: Path
) -> None:
    data = ts_clip.read_bytes()
    growing = tmp_path / "growing.ts"
    growing.write_bytes(b"")
    grew = threading.Event()
    audio = LiveAudio(growing, on_grow=grew.set)
    audio.start()
    step = 188 * 200  # whole TS packets, about 38 kB at a time, as pieces arrive
    prefixes: list[np.ndarray] = []
    for start in range(0, len(data), step):
        with growing.open("ab") as out:
            out.write(data[start : start + step])
        grew.clear()
        audio.arrived()
        assert grew.wait(10), "the decoder did not come back to wait for more"
        blocks, samples = audio.snapshot()
        if samples:
            prefixes.append(np.concatenate(blocks))
    audio.end()
    assert audio.complete()
    blocks, samples = audio.snapshot()
    live = np.concatenate(blocks)
    whole = np.concatenate(list(decode_stream(ts_clip)))
    assert samples == len(whole) and np.array_equal(live, whole)
    assert len(prefixes) > 3  # the snapshots came while it grew, each a prefix of the end
    assert all(np.array_equal(p, whole[: len(p)]) for p in prefixes)

    before = len(blocks)
    audio.release_before(len(whole) // 2)
    blocks, samples = audio.snapshot()
    assert samples == len(whole) and sum(len(b) for b in blocks) == len(whole)
    assert len(blocks) < before and blocks[0].strides == (0,)  # one view that holds nothing
    tail = np.concatenate(blocks[1:])
    assert np.array_equal(tail, whole[len(whole) - len(tail) :])


def test_transcribe_waits_for_the_captures_follower(ts_clip: Path, tmp_path: Path) -> None:
    """While the follower holds the capture's lock, transcribing its file is refused, naming
    the holder (before any model is needed)."""
    with Workspace(tmp_path / "annotator.db") as ws:
        record = captures.start(ws, "http://127.0.0.1/live.m3u8", "hls", ts_clip)
        with (captures.capture_lock(ws, record.id, ts_clip),
              pytest.raises(MediaBusyError, match="being transcribed by pid")):
            transcribe_file(ws, None, probe(ts_clip))  # type: ignore[arg-type]


def test_an_export_during_the_capture_carries_its_record(ts_clip: Path, tmp_path: Path) -> None:
    """Before the capture ends (no record beside the file yet), the JSON export carries the
    capture's record as the workspace holds it: running, its pieces and chain so far."""
    import jsonschema

    from annotator.core.document import load_transcript
    from annotator.formats.json_format import load_schema, to_dict
    from annotator.live.pieces import Arrival, PieceWriter

    data = ts_clip.read_bytes()
    path = tmp_path / "live.ts"
    with Workspace(tmp_path / "annotator.db") as ws:
        record = captures.start(ws, "http://127.0.0.1/live.m3u8", "hls", path)
        writer = PieceWriter(ws, record, path)
        for seq, start in enumerate(range(0, len(data) // 2, 188 * 500)):
            writer.append(Arrival(data[start : start + 188 * 500], media_sequence=seq))
        media = ws.add_probed(probe(path))
        captures.link_media(ws, record.id, media.id)
        exported = to_dict(load_transcript(ws, media.id))
        pieces = captures.pieces(ws, record.id)
    jsonschema.validate(exported, load_schema())
    assert not Path(str(path) + captures.SIDECAR_SUFFIX).exists()
    capture = exported["acquisition"]["capture"]
    assert capture["status"] == "running" and len(capture["pieces"]) == len(pieces) >= 2
    assert capture["chain"]["head"] == pieces[-1].chain_sha256
    assert [p["media_sequence"] for p in capture["pieces"]] == list(range(len(pieces)))
