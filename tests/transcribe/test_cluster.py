"""Batch transcription on a Dask cluster (issue 11), on a loopback LocalCluster.

One cluster for the session (``client`` in conftest.py): two worker processes of one thread
each, the bundled tiny.en, three short real clips from tests/data and the demo's first 36 s
in two pieces. What is checked: the segments equal a local run's; a file sent one task per
piece gives them too, with the worker of its second piece killed (the piece goes to the
other worker, which asks for the file's bytes) and the client stopped in the last piece: the
next start sends that piece alone, and the worker of each piece is in the run's provenance
(the JSON export); a forced re-run by path (``--shared-fs``: no bytes sent) is stored piece
by piece, so Ctrl-C keeps what arrived and the next forced run resumes it; a worker killed
during a task leaves the file stored exactly once; a file that fails (corrupt, or damaged on
the way to its worker) fails alone, named; a worker with another annotator version stops the
batch, named. Faults are injected by wrapping the task the workers run (the wrappers are
closures, so Dask ships them by value).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from annotator import __version__
from annotator.cli import main
from annotator.core import runs, workers
from annotator.core.media import file_sha256
from annotator.core.store import Workspace
from annotator.errors import MediaError, UsageError
from annotator.transcribe.engine import TranscribeOptions
from annotator.transcribe.pipeline import FileResult, FileStatus, NullProgress, run_batch

from support import DATA, DEMO, require_module, require_tool

require_module("distributed", "pip install -e '.[cluster]'")

from distributed import Client  # noqa: E402

from annotator.formats import load_schema, read_json  # noqa: E402
from annotator.transcribe.cluster import (  # noqa: E402
    Failed,
    Job,
    Transcribed,
    Unheld,
    WorkerMismatch,
    local_workers,
    run_cluster_batch,
    transcribe_task,
)

pytestmark = pytest.mark.engine

#: The shortest real clips (2.8 s, 5.9 s, 3.0 s).
CLIPS = [DATA / "goforward.wav", DATA / "mister_quilter_1272-128104-0000.wav",
         DATA / "librivox_sense_and_sensibility_01_0880.wav"]
#: The demo's first 36 s in 4-second pieces: two pieces, cut at 3.4 s (a cut needs 30 s of
#: audio after the piece's length to search in, chunks.SEARCH_S, so no shorter file has two).
PIECES = replace(TranscribeOptions(), chunk_s=4.0)

Draft = tuple[int, int, int, str, tuple[Any, ...]]
Task = Callable[..., "Transcribed | Failed | Unheld"]


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
def excerpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's first 36 s, as 16 kHz mono WAV."""
    out = tmp_path_factory.mktemp("excerpt") / "demo36.wav"
    subprocess.run([require_tool("ffmpeg"), "-loglevel", "error", "-i", str(DEMO), "-t", "36",
                    "-vn", "-ac", "1", "-ar", "16000", str(out)], check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def local_pieces(
    tmp_path_factory: pytest.TempPathFactory, excerpt: Path
) -> tuple[Path, list[Draft]]:
    """A workspace where a local run transcribed the excerpt in two pieces, and its
    segments."""
    db = tmp_path_factory.mktemp("pieces") / "w.db"
    with Workspace(db) as ws:
        (result,) = run_batch(ws, [excerpt], PIECES)
        assert result.status == FileStatus.DONE
        run = ws.current_run(ws.media_by_sha(file_sha256(excerpt)).id)
        assert run is not None
        last = runs.last_checkpoint(ws, run.id)
        assert last is not None and last.piece == 1  # two pieces, as the tests need
        assert workers.of_run(ws, run.id) == []  # one process: no worker rows
        ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return db, _drafts(ws, excerpt)


class _Interrupting(NullProgress):
    """Ctrl-C while the first segment after ``after_ms`` is being stored."""

    def __init__(self, after_ms: int) -> None:
        self.after_ms = after_ms

    def advanced(self, path: Path, position_ms: int) -> None:
        if position_ms > self.after_ms:
            raise KeyboardInterrupt


def test_pieces_on_several_workers_and_a_restarted_client_give_one_process_words(
    client: Client, local_pieces: tuple[Path, list[Draft]], excerpt: Path, tmp_path: Path
) -> None:
    """The excerpt in two pieces, one task each, the second from the checkpoint the first
    ended with. The worker decoding the second piece is killed: the piece runs again on the
    other worker (which asks for the file's bytes). The client is stopped (Ctrl-C) while the
    second piece is stored: the next start sends that piece alone, from the checkpoint
    stored, and the segments are exactly the local run's; the start after it sends nothing.
    The run records the worker of each piece (the one whose segments are stored), and the
    JSON export lists them."""
    marker, sent = tmp_path / "killed", tmp_path / "sent"
    sent.mkdir()
    pieces: list[tuple[int, int]] = []  # (piece, worker pid) as they arrive
    with Workspace(tmp_path / "w.db") as ws:
        with pytest.raises(KeyboardInterrupt):
            run_cluster_batch(
                ws, [excerpt], PIECES, scheduler="", client=client,
                task=_killing_once(marker, piece=1), progress=_Interrupting(20_000),
                on_piece=lambda _path, part: pieces.append((part.piece, part.worker["pid"])),
            )
        assert marker.exists()  # a worker did die in the second piece
        assert [piece for piece, _ in pieces] == [0, 1]
        assert pieces[0][1] != pieces[1][1]  # decoded by two worker processes
        assert pieces[1][1] != int(marker.read_text())  # the killed piece ran again elsewhere
        media = ws.media_by_sha(file_sha256(excerpt))
        assert ws.current_run(media.id) is None  # not done
        stopped = ws.unfinished_run(media.id)
        assert stopped is not None  # its segments so far name their workers:
        assert [(w["piece"], w["pid"]) for w in workers.of_run(ws, stopped.id)] == pieces
        results: list[FileResult] = run_cluster_batch(
            ws, [CLIPS[0], excerpt], PIECES, scheduler="", client=client,
            task=_recording(sent),
            on_piece=lambda path, part: path == excerpt and pieces.append(
                (part.piece, part.worker["pid"])),
        )
        assert [r.status for r in results] == [FileStatus.DONE, FileStatus.DONE]
        assert results[0].note is None
        assert "resumed an interrupted run from" in (results[1].note or "")
        assert len(ws.runs(media.id)) == 1
        assert _drafts(ws, excerpt) == local_pieces[1]
        run = ws.current_run(media.id)
        assert run is not None and run.options["worker"]["pid"] == pieces[0][1]
        last = runs.last_checkpoint(ws, run.id)
        assert last is not None and last.piece == 1  # two pieces stored, as locally
        decoded_by = workers.of_run(ws, run.id)
        again = run_cluster_batch(ws, [CLIPS[0], excerpt], PIECES, scheduler="",
                                  client=client, task=_refusing())
    assert [r.status for r in again] == [FileStatus.SKIPPED] * 2
    assert sorted(p.name.rsplit("-", 1)[0] for p in sent.iterdir()) == [
        f"{excerpt.name}-1", f"{CLIPS[0].name}-0"]
    # provenance: piece 0 by its first worker, piece 1 by the worker of the resumed decode
    assert len(pieces) == 3 and pieces[2][0] == 1
    assert [(w["piece"], w["pid"]) for w in decoded_by] == [(0, pieces[0][1]), pieces[-1]]
    for w in decoded_by:
        assert w["host"] and w["annotator"] == __version__ and w["engine"]["ctranslate2"]
        assert w["seconds"] > 0 and w["address"].startswith("tcp://127.0.0.1:")
    exported = _exported_json(tmp_path / "w.db", media.id, tmp_path / "out")
    assert exported["provenance"]["run"]["workers"] == decoded_by


def _exported_json(db: Path, media_id: int, out: Path) -> dict[str, Any]:
    """``annotator export --format json``, validated against its schema."""
    import jsonschema

    assert main(["export", str(media_id), "--format", "json", "--out", str(out),
                 "--db", str(db)]) == 0
    (path,) = [p for p in out.glob("*.json") if not p.name.endswith(".manifest.json")]
    data: dict[str, Any] = read_json(path)
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    return data


def test_a_forced_rerun_by_path_is_stored_as_pieces_arrive(
    client: Client, local_pieces: tuple[Path, list[Draft]], excerpt: Path, tmp_path: Path
) -> None:
    """``--force --shared-fs`` on a file transcribed already: every task names the file's
    path and carries no bytes. The first piece is stored as it arrives, so Ctrl-C in the
    second keeps it (the finished run stays current meanwhile); the next forced run sends
    the second piece alone, resumes the run, and stores exactly a local run's segments,
    replacing the review layer once."""
    db, local = local_pieces
    shutil.copy(db, tmp_path / "w.db")
    log = tmp_path / "log"
    log.mkdir()
    with Workspace(tmp_path / "w.db") as ws:
        media = ws.media_by_sha(file_sha256(excerpt))
        old = ws.current_run(media.id)
        assert old is not None
        with pytest.raises(KeyboardInterrupt):
            run_cluster_batch(ws, [excerpt], PIECES, scheduler="", client=client, force=True,
                              shared_fs=True, task=_logging(log), progress=_Interrupting(20_000))
        current = ws.current_run(media.id)
        assert current is not None and current.id == old.id  # still the finished run
        forced = ws.unfinished_run(media.id)
        assert forced is not None and forced.id != old.id
        last = runs.last_checkpoint(ws, forced.id)
        assert last is not None and last.piece == 1  # the first piece was stored, and kept
        kept = [(d.index, d.start_ms, d.end_ms, d.text, d.words) for d in ws.drafts(forced.id)]
        assert 2 <= len(kept) < len(local) and kept == local[:len(kept)]
        assert [w["piece"] for w in workers.of_run(ws, forced.id)] == [0, 1]
        (result,) = run_cluster_batch(ws, [excerpt], PIECES, scheduler="", client=client,
                                      force=True, shared_fs=True, task=_logging(log))
        assert result.status == FileStatus.DONE
        assert "resumed an interrupted run from" in (result.note or "")
        assert [r.id for r in ws.runs(media.id)] == [old.id, forced.id]
        assert _drafts(ws, excerpt) == local
        assert len(ws.segments(media.id)) == len(local)  # the layer replaced, not doubled
        assert [w["piece"] for w in workers.of_run(ws, forced.id)] == [0, 1]
    sent = sorted(p.read_text() for p in log.iterdir())
    where = excerpt.resolve()
    assert sent == [f"0 path {where}", f"1 path {where}", f"1 path {where}"]  # no bytes, ever


@pytest.mark.parametrize("checked_by", ["worker", "client"])
def test_a_worker_with_another_version_stops_the_batch(
    client: Client, tmp_path: Path, checked_by: str
) -> None:
    """A worker running another annotator version than the client refuses its task before
    decoding, and the batch stops with an error naming the worker and both versions. A
    worker that does not check (an older annotator) is refused by the client when its
    piece arrives: nothing it decoded is stored."""
    with Workspace(tmp_path / "w.db") as ws:
        with pytest.raises(WorkerMismatch) as caught:
            run_cluster_batch(ws, [CLIPS[0]], TranscribeOptions(), scheduler="", client=client,
                              task=_other_version("0.0.1", checks=checked_by == "worker"))
        assert ws.conn.execute("SELECT COUNT(*) FROM run").fetchone()[0] == 0
    error = caught.value
    assert error.theirs["annotator"] == "0.0.1" and error.ours["annotator"] == __version__
    assert {k: v for k, v in error.theirs.items() if k != "annotator"} == {
        k: v for k, v in error.ours.items() if k != "annotator"}  # only annotator differs
    assert str(error).startswith(f"worker {error.worker} runs annotator 0.0.1 (this client: "
                                 f"{__version__}): install the same")
    assert "tcp://127.0.0.1:" in error.worker


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
    client: Client, excerpt: Path, tmp_path: Path
) -> None:
    """The excerpt's second piece fails on its worker: the file fails, named, and the run
    holding its first piece is marked failed (not left running) with the checkpoint the
    next start resumes from."""
    with Workspace(tmp_path / "w.db") as ws:
        (result,) = run_cluster_batch(ws, [excerpt], PIECES, scheduler="", client=client,
                                      task=_failing(piece=1))
        assert result.status == FileStatus.FAILED
        assert f"{excerpt}: piece 1 refused" in (result.error or "")
        run = ws.unfinished_run(ws.media_by_sha(file_sha256(excerpt)).id)
        assert run is not None and run.status == "failed"
        last = runs.last_checkpoint(ws, run.id)
    assert last is not None and last.piece == 1


def test_the_command_line_with_a_scheduler_address(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scheduler's address from $ANNOTATOR_SCHEDULER (the same option as --scheduler),
    files read in place (--shared-fs): a file that fails fails alone (exit 1) and --json
    lists every file; --shared-fs without a scheduler is a usage error (exit 2)."""
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + b"\x01" * 100)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATOR_SCHEDULER", client.scheduler.address)
        code = main(["transcribe", str(corrupt), str(CLIPS[0]), "--db", str(tmp_path / "w.db"),
                     "--json", "--shared-fs"])
    assert code == 1  # a file failed; the other was still done
    listed = json.loads(capsys.readouterr().out)
    assert [item["status"] for item in listed] == ["failed", "done"]
    assert main(["transcribe", str(CLIPS[0]), "--shared-fs", "--db", str(tmp_path / "w.db")]) == 2


def test_scheduler_addresses() -> None:
    """``local`` starts a worker per core, ``local:N`` N of them; anything else is a
    scheduler's address; no worker is refused."""
    assert local_workers("local") == (os.cpu_count() or 1)
    assert local_workers("local:2") == local_workers(" local:2 ") == 2
    assert local_workers("tcp://10.0.0.5:8786") is None
    with pytest.raises(UsageError, match="at least one worker"):
        local_workers("local:0")


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


def _logging(folder: Path) -> Task:
    """Record every piece sent and how its file travels: a file per task holding
    ``<piece> <bytes|path> <the job's path>``."""
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        piece = job.resume.piece if job.resume else 0
        how = "bytes" if data is not None or job.data is not None else "path"
        (folder / uuid.uuid4().hex).write_text(f"{piece} {how} {job.path}")
        return transcribe_task(job, data)

    return task


def _other_version(version: str, *, checks: bool) -> Task:
    """The worker says it runs annotator ``version`` (for this task only); unless it
    ``checks``, it decodes whatever versions the client runs, as an older worker would."""
    def task(job: Job, data: bytes | None = None) -> Transcribed | Failed | Unheld:
        from annotator.transcribe import cluster_task

        cluster_task._worker_record()  # read the real record first
        real = cluster_task._process["annotator"]
        cluster_task._process["annotator"] = version
        try:
            return transcribe_task(job if checks else replace(job, versions=None), data)
        finally:
            cluster_task._process["annotator"] = real

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
