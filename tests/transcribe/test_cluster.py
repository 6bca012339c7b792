"""Batch transcription on a Dask cluster (issue 11), on a loopback LocalCluster.

One cluster for the module: two worker processes of one thread each, the bundled tiny.en,
three short real clips from tests/data and the demo clip in three pieces. What is checked:
the segments equal a local run's, also for a file sent one task per piece with the worker of
its second piece killed; a worker killed during a task leaves the file stored exactly once;
a file that fails (corrupt, or damaged on the way to its worker) fails alone, named; a
client interrupted while storing resumes from the workspace and ends with the local run's
segments. Faults are injected by wrapping the task the workers run (the wrappers are
closures, so Dask ships them by value).
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
    local_cluster,
    run_cluster_batch,
    transcribe_task,
)

pytestmark = pytest.mark.engine

CLIPS = [DATA / "goforward.wav", DATA / "mister_quilter_1272-128104-0000.wav", DATA / "jfk.flac"]
#: jfk.flac (11 s) in 5-second pieces: a resumed store starts from a later checkpoint.
PIECES = replace(TranscribeOptions(), chunk_s=5.0)
#: The demo clip (59 s) in 15-second pieces: three pieces, cut at 7.3 s and 15.5 s.
DEMO_PIECES = replace(TranscribeOptions(), chunk_s=15.0)

Draft = tuple[int, int, int, str, tuple[Any, ...]]
Task = Callable[..., "Transcribed | Failed"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Two workers that keep the tests' private model cache, also when a worker killed by a
    test is started again between tests (a restarted worker takes the environment of that
    moment, and a model found elsewhere has another path in the run's options, so a run it
    decoded could not be resumed by one the other worker decoded)."""
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
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, float], list[Draft]]:
    """What a local run stores for each clip (and for jfk.flac in 5-second pieces)."""
    folder = tmp_path_factory.mktemp("local")
    found: dict[tuple[str, float], list[Draft]] = {}
    for options, clips in ((TranscribeOptions(), CLIPS), (PIECES, CLIPS[2:])):
        with Workspace(folder / f"{options.chunk_s}.db") as ws:
            results = run_batch(ws, clips, options)
            assert [r.status for r in results] == [FileStatus.DONE] * len(clips)
            for clip in clips:
                found[clip.name, options.chunk_s] = _drafts(ws, clip)
    return found


def test_the_cluster_stores_what_a_local_run_stores(
    client: Client, local: dict[tuple[str, float], list[Draft]], tmp_path: Path
) -> None:
    with Workspace(tmp_path / "w.db") as ws:
        results = run_cluster_batch(ws, CLIPS, TranscribeOptions(), scheduler="", client=client)
        assert [r.status for r in results] == [FileStatus.DONE] * 3
        assert [r.path for r in results] == CLIPS  # in the order given
        for clip in CLIPS:
            assert _drafts(ws, clip) == local[clip.name, TranscribeOptions().chunk_s]
            run = ws.current_run(ws.media_by_sha(file_sha256(clip)).id)
            assert run is not None and run.options["worker"]["host"]  # provenance
        again = run_cluster_batch(
            ws, CLIPS, TranscribeOptions(), scheduler="", client=client, task=_refusing()
        )
    assert [r.status for r in again] == [FileStatus.SKIPPED] * 3  # known files: never sent


def test_a_worker_killed_during_a_task_leaves_the_file_stored_once(
    client: Client, local: dict[tuple[str, float], list[Draft]], tmp_path: Path
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
        assert _drafts(ws, clip) == local[clip.name, TranscribeOptions().chunk_s]


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory: pytest.TempPathFactory) -> list[Draft]:
    """What a local run stores for the demo clip in 15-second pieces (three pieces)."""
    with Workspace(tmp_path_factory.mktemp("demo") / "w.db") as ws:
        (result,) = run_batch(ws, [DEMO], DEMO_PIECES)
        assert result.status == FileStatus.DONE
        return _drafts(ws, DEMO)


def test_the_pieces_of_a_file_on_several_workers_give_one_process_words(
    client: Client, local_demo: list[Draft], tmp_path: Path
) -> None:
    """One task per piece, each from the checkpoint the piece before ended with: the worker
    decoding the second piece is killed, the piece is decoded again on another worker (its
    bytes too, if they were held on the dead one), and the stored segments are exactly the
    local run's."""
    marker = tmp_path / "killed"
    with Workspace(tmp_path / "w.db") as ws:
        (result,) = run_cluster_batch(ws, [DEMO], DEMO_PIECES, scheduler="", client=client,
                                      task=_killing_once(marker, piece=1))
        assert result.status == FileStatus.DONE, result.error
        assert marker.exists()  # a worker did die in the second piece
        assert _drafts(ws, DEMO) == local_demo
        run = ws.current_run(ws.media_by_sha(file_sha256(DEMO)).id)
        assert run is not None
        last = runs.last_checkpoint(ws, run.id)
    assert last is not None and last.piece == 2  # three pieces stored, as locally
    pieces = run.options["worker"]["pieces"]
    assert [p["piece"] for p in pieces] == [0, 1, 2]
    assert len({p["pid"] for p in pieces}) >= 2  # decoded by more than one worker process
    assert pieces[1]["pid"] != int(marker.read_text())  # the killed piece ran again elsewhere


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


class _Interrupting(NullProgress):
    """Ctrl-C while the second segment of ``name`` is being stored."""

    def __init__(self, name: str) -> None:
        self.name, self.seen = name, 0

    def advanced(self, path: Path, position_ms: int) -> None:
        if path.name == self.name:
            self.seen += 1
            if self.seen == 2:
                raise KeyboardInterrupt


def test_an_interrupted_client_resumes_from_the_workspace(
    client: Client, local: dict[tuple[str, float], list[Draft]], tmp_path: Path
) -> None:
    clip, sent = CLIPS[2], tmp_path / "sent"
    sent.mkdir()
    with Workspace(tmp_path / "w.db") as ws:
        with pytest.raises(KeyboardInterrupt):
            run_cluster_batch(ws, [clip], PIECES, scheduler="", client=client,
                              progress=_Interrupting(clip.name))
        assert ws.current_run(ws.media_by_sha(file_sha256(clip)).id) is None  # not done
        results: list[FileResult] = run_cluster_batch(
            ws, [CLIPS[0], clip], PIECES, scheduler="", client=client, shared_fs=True,
            task=_recording(sent),
        )
        assert [r.status for r in results] == [FileStatus.DONE, FileStatus.DONE]
        assert "resumed an interrupted run" in (results[1].note or "")
        assert _runs(ws, clip) == 1
        assert _drafts(ws, clip) == local[clip.name, PIECES.chunk_s]
        # a third start sends nothing: everything is in the workspace
        again = run_cluster_batch(ws, [CLIPS[0], clip], PIECES, scheduler="", client=client,
                                  task=_recording(sent))
    assert [r.status for r in again] == [FileStatus.SKIPPED] * 2
    assert len(list(sent.iterdir())) == 2


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
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed:
        if (job.resume.piece if job.resume else 0) == piece and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
        return transcribe_task(job, data)

    return task


def _damaging(name: str) -> Task:
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed:
        if job.name.endswith(name) and data:
            data = bytes([data[0] ^ 1]) + data[1:]
        return transcribe_task(job, data)

    return task


def _recording(folder: Path) -> Task:
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed:
        (folder / f"{Path(job.name).name}-{uuid.uuid4().hex}").touch()
        return transcribe_task(job, data)

    return task


def _refusing() -> Task:
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed:
        raise AssertionError(f"{job.name} was sent although the workspace has it")

    return task
