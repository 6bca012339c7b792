"""Batch transcription on a Dask cluster (issue 11), on a loopback LocalCluster.

One cluster for the module: two worker processes of one thread each, the bundled tiny.en,
three short real clips from tests/data and the demo clip in three pieces. What is checked:
the segments equal a local run's; a file sent one task per piece gives them too, with the
worker of its second piece killed (the piece goes to the other worker, which asks for the
file's bytes) and the client stopped in the last piece: the next start sends that piece
alone; a worker killed during a task leaves the file stored exactly once; a file that fails
(corrupt, or damaged on the way to its worker) fails alone, named. Faults are injected by
wrapping the task the workers run (the wrappers are closures, so Dask ships them by value).
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from annotator.cli import main
from annotator.core import runs
from annotator.core.media import file_sha256
from annotator.core.store import Workspace
from annotator.errors import MediaError
from annotator.transcribe.engine import TranscribeOptions
from annotator.transcribe.pipeline import FileResult, FileStatus, NullProgress, run_batch

from support import DATA, DEMO, require_module

require_module("distributed", "pip install -e '.[cluster]'")

import dask  # noqa: E402
from distributed import Client  # noqa: E402

from annotator.transcribe.cluster import (  # noqa: E402
    Failed,
    Job,
    Transcribed,
    Unheld,
    local_cluster,
    run_cluster_batch,
    transcribe_task,
)

pytestmark = pytest.mark.engine

CLIPS = [DATA / "goforward.wav", DATA / "mister_quilter_1272-128104-0000.wav", DATA / "jfk.flac"]
#: The demo clip (59 s) in 15-second pieces: three pieces, cut at 7.3 s and 15.5 s.
DEMO_PIECES = replace(TranscribeOptions(), chunk_s=15.0)

Draft = tuple[int, int, int, str, tuple[Any, ...]]
Task = Callable[..., "Transcribed | Failed | Unheld"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Two workers that keep the tests' private model cache, also when a worker killed by a
    test is started again between tests (a restarted worker takes the environment of that
    moment): the user's cache stays out of tests."""
    cache = str(tmp_path_factory.getbasetemp() / "cache")  # as tests/conftest.py sets it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATOR_CACHE", cache)
        with dask.config.set({"distributed.nanny.environ": {"ANNOTATOR_CACHE": cache}}):
            cluster = local_cluster(2)
    with cluster, Client(cluster) as connected:
        yield connected


def _drafts(ws: Workspace, path: Path) -> list[Draft]:
    media = ws.media_by_sha(file_sha256(path))
    run = ws.current_run(media.id)
    assert run is not None, path
    return [(d.index, d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(run.id)]


def _runs(ws: Workspace, path: Path) -> int:
    media = ws.media_by_sha(file_sha256(path))
    return len(ws.runs(media.id))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Draft]]:
    """What a local run stores for each clip."""
    with Workspace(tmp_path_factory.mktemp("local") / "w.db") as ws:
        results = run_batch(ws, CLIPS, TranscribeOptions())
        assert [r.status for r in results] == [FileStatus.DONE] * len(CLIPS)
        return {clip.name: _drafts(ws, clip) for clip in CLIPS}


def test_the_cluster_stores_what_a_local_run_stores(
    client: Client, local: dict[str, list[Draft]], tmp_path: Path
) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        results = run_cluster_batch(ws, CLIPS, TranscribeOptions(), scheduler="", client=client)
        assert [r.status for r in results] == [FileStatus.DONE] * 3
        assert [r.path for r in results] == CLIPS  # in the order given
        for clip in CLIPS:
            assert _drafts(ws, clip) == local[clip.name]
            run = ws.current_run(ws.media_by_sha(file_sha256(clip)).id)
            assert run is not None and run.options["worker"]["host"]  # provenance
        again = run_cluster_batch(
            ws, CLIPS, TranscribeOptions(), scheduler="", client=client, task=_refusing()
        )
    assert [r.status for r in again] == [FileStatus.SKIPPED] * 3  # known files: never sent


def test_a_worker_killed_during_a_task_leaves_the_file_stored_once(
    client: Client, local: dict[str, list[Draft]], tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    clip = CLIPS[1]
    with Workspace(tmp_path / "w.db") as ws:
        results = run_cluster_batch(
            ws, [clip], TranscribeOptions(), scheduler="", client=client,
            task=_killing_once(marker),
        )
        assert marker.exists()  # a worker did die in the task
        assert [r.status for r in results] == [FileStatus.DONE]
        assert _runs(ws, clip) == 1
        assert _drafts(ws, clip) == local[clip.name]


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory: pytest.TempPathFactory) -> list[Draft]:
    """What a local run stores for the demo clip in 15-second pieces (three pieces)."""
    with Workspace(tmp_path_factory.mktemp("demo") / "w.db") as ws:
        (result,) = run_batch(ws, [DEMO], DEMO_PIECES)
        assert result.status == FileStatus.DONE
        return _drafts(ws, DEMO)


class _Interrupting(NullProgress):
    """Ctrl-C while the first segment after ``after_ms`` is being stored."""

    def __init__(self, after_ms: int) -> None:
        self.after_ms = after_ms

    def advanced(self, path: Path, position_ms: int) -> None:
        if position_ms > self.after_ms:
            raise KeyboardInterrupt


def test_pieces_on_several_workers_and_a_restarted_client_give_one_process_words(
    client: Client, local_demo: list[Draft], tmp_path: Path
) -> None:
    """The demo in three pieces, one task each from the checkpoint the piece before ended
    with. The worker decoding the second piece is killed: the piece runs again on the other
    worker (which asks for the file's bytes). The client is stopped (Ctrl-C) while the last
    piece (cut at 15.5 s) is stored: the next start sends that piece alone, from the
    checkpoint stored, and the segments are exactly the local run's; the start after it
    sends nothing."""
    marker, sent = tmp_path / "killed", tmp_path / "sent"
    sent.mkdir()
    pieces: list[tuple[int, int]] = []  # (piece, worker pid) as they arrive
    with Workspace(tmp_path / "w.db") as ws:
        with pytest.raises(KeyboardInterrupt):
            run_cluster_batch(
                ws, [DEMO], DEMO_PIECES, scheduler="", client=client,
                task=_killing_once(marker, piece=1), progress=_Interrupting(20_000),
                on_piece=lambda _path, part: pieces.append((part.piece, part.worker["pid"])),
            )
        assert marker.exists()  # a worker did die in the second piece
        assert [piece for piece, _ in pieces] == [0, 1, 2]
        assert len({pid for _, pid in pieces}) >= 2  # decoded by more than one worker process
        assert pieces[1][1] != int(marker.read_text())  # the killed piece ran again elsewhere
        media = ws.media_by_sha(file_sha256(DEMO))
        assert ws.current_run(media.id) is None  # not done
        results: list[FileResult] = run_cluster_batch(
            ws, [CLIPS[0], DEMO], DEMO_PIECES, scheduler="", client=client, task=_recording(sent),
        )
        assert [r.status for r in results] == [FileStatus.DONE, FileStatus.DONE]
        assert results[0].note is None
        assert "resumed an interrupted run from" in (results[1].note or "")
        assert len(ws.runs(media.id)) == 1
        assert _drafts(ws, DEMO) == local_demo
        run = ws.current_run(media.id)
        assert run is not None and run.options["worker"]["pid"] == pieces[0][1]
        last = runs.last_checkpoint(ws, run.id)
        assert last is not None and last.piece == 2  # three pieces stored, as locally
        again = run_cluster_batch(ws, [CLIPS[0], DEMO], DEMO_PIECES, scheduler="",
                                  client=client, task=_refusing())
    assert [r.status for r in again] == [FileStatus.SKIPPED] * 2
    assert sorted(p.name.rsplit("-", 1)[0] for p in sent.iterdir()) == [
        f"{DEMO.name}-2", f"{CLIPS[0].name}-0"]


def test_a_corrupt_or_damaged_file_fails_alone(client: Client, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    damaged = tmp_path / "damaged.wav"
    damaged.write_bytes(CLIPS[0].read_bytes())
    with Workspace(tmp_path / "w.db") as ws:
        results = run_cluster_batch(
            ws, [corrupt, damaged, CLIPS[1]], TranscribeOptions(), scheduler="",
            client=client, task=_damaging("damaged.wav"),
        )
    assert [r.status for r in results] == [FileStatus.FAILED, FileStatus.FAILED, FileStatus.DONE]
    assert str(corrupt) in (results[0].error or "")
    assert f"{damaged}: arrived damaged on worker" in (results[1].error or "")


def test_a_file_failing_in_a_later_piece_keeps_its_stored_pieces(
    client: Client, tmp_path: Path
) -> None:
    """The demo's second piece fails on its worker: the file fails, named, and the run
    holding its first piece is marked failed (not left running) with the checkpoint the
    next start resumes from."""
    with Workspace(tmp_path / "w.db") as ws:
        (result,) = run_cluster_batch(ws, [DEMO], DEMO_PIECES, scheduler="", client=client,
                                      task=_failing(piece=1))
        assert result.status == FileStatus.FAILED
        assert f"{DEMO}: piece 1 refused" in (result.error or "")
        run = ws.unfinished_run(ws.media_by_sha(file_sha256(DEMO)).id)
        assert run is not None and run.status == "failed"
        last = runs.last_checkpoint(ws, run.id)
    assert last is not None and last.piece == 1


def test_the_command_line_with_a_scheduler_address(client: Client, tmp_path: Path) -> None:
    address = client.scheduler.address
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATOR_SCHEDULER", address)
        code = main(["transcribe", str(CLIPS[0]), "--db", str(tmp_path / "w.db"), "--json"])
    assert code == 0
    assert main(["transcribe", str(CLIPS[0]), "--shared-fs", "--db", str(tmp_path / "w.db")]) == 2


def test_the_command_line_json_lists_every_file(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + b"\x01" * 100)
    code = main(["transcribe", str(corrupt), str(CLIPS[0]), "--db", str(tmp_path / "w.db"),
                 "--json", "--scheduler", client.scheduler.address, "--shared-fs"])
    assert code == 1  # a file failed; the other was still done
    listed = json.loads(capsys.readouterr().out)
    assert [item["status"] for item in listed] == ["failed", "done"]


# -- tasks with faults (closures: shipped to the workers by value) -----------------------------


def _killing_once(marker: Path, piece: int = 0) -> Task:
    """Kill the worker running the task of ``piece`` (of any file), once."""
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        if (job.resume.piece if job.resume else 0) == piece and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
        return transcribe_task(job, data)

    return task


def _damaging(name: str) -> Task:
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        if job.name.endswith(name) and data:
            data = bytes([data[0] ^ 1]) + data[1:]
        return transcribe_task(job, data)

    return task


def _recording(folder: Path) -> Task:
    """Record every piece sent, as ``<file>-<piece>-<unique>``."""
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        piece = job.resume.piece if job.resume else 0
        (folder / f"{Path(job.name).name}-{piece}-{uuid.uuid4().hex}").touch()
        return transcribe_task(job, data)

    return task


def _failing(piece: int) -> Task:
    """A file's own error in ``piece``."""
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        if (job.resume.piece if job.resume else 0) == piece:
            return Failed(MediaError(job.name, f"piece {piece} refused"), {})
        return transcribe_task(job, data)

    return task


def _refusing() -> Task:
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        raise AssertionError(f"{job.name} was sent although the workspace has it")

    return task
