"""Which stored run a transcription may resume (issue 11): the same model bytes, engine
versions and options, wherever the machine keeps its models and however many threads it
gives them. A cluster worker with another cache folder (or more cores) than the client, or
the machine that resumes a run a worker began, must not restart the file from its start."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from types import SimpleNamespace
from typing import Any, cast

from annotator.core.model import Checkpoint, Run, RunStatus
from annotator.transcribe.engine import Engine, TranscribeOptions
from annotator.transcribe.pipeline import Action, MediaState, _same_settings, plan

SHA = "a" * 64
VERSIONS = {"annotator": "1", "faster_whisper": "1.1", "ctranslate2": "4.5"}


def _engine(options: TranscribeOptions, path: str, threads: int, base: str) -> Engine:
    """What _same_settings reads of an Engine, as one machine would record it."""
    provenance = {
        **asdict(options), "model_path": path, "cpu_threads_used": threads,
        "languages_routing": {"multilingual_model": {
            "model_id": "base", "sha256": "b" * 64, "path": base}, "english_only": True},
    }
    return cast(Engine, SimpleNamespace(
        model=SimpleNamespace(sha256=SHA), versions=VERSIONS,
        provenance_options=lambda: provenance,
    ))


def _run_by(engine: Engine, **changes: Any) -> Run:
    options = json.loads(json.dumps(engine.provenance_options(), default=str))
    run = Run(1, 1, "tiny.en", SHA, dict(VERSIONS), options, "en", 1.0, "2026-01-01")
    return replace(run, **changes)


def test_a_run_from_another_machine_with_the_same_model_bytes_is_resumed() -> None:
    worker = _engine(TranscribeOptions(), "/home/w/.cache/tiny.en", 8, "/home/w/.cache/base")
    client = _engine(TranscribeOptions(), "/srv/models/tiny.en", 1, "/srv/models/base")
    assert _same_settings(_run_by(worker), client)


def test_other_model_bytes_versions_or_options_are_not_resumed() -> None:
    worker = _engine(TranscribeOptions(), "/m/tiny.en", 1, "/m/base")
    assert not _same_settings(_run_by(worker, model_sha256="c" * 64), worker)
    assert not _same_settings(_run_by(worker, engine_versions={**VERSIONS, "ctranslate2": "5"}),
                              worker)
    other = _engine(replace(TranscribeOptions(), beam_size=1), "/m/tiny.en", 1, "/m/base")
    assert not _same_settings(_run_by(worker), other)
    run = _run_by(worker)
    routing = run.options["languages_routing"]
    changed = {**routing, "multilingual_model": {**routing["multilingual_model"],
                                                 "sha256": "d" * 64}}
    assert not _same_settings(replace(run, options={**run.options,
                                                    "languages_routing": changed}), worker)


def test_a_forced_rerun_left_unfinished_is_resumed_by_the_next_forced_run() -> None:
    """A cluster client stores a forced re-run piece by piece: between two pieces (or after
    Ctrl-C) the new run is unfinished while the old one is still the finished one. The next
    forced call of the same settings resumes it; the review layer is replaced (once: only
    while the run has stored no segment, see transcribe_file); without --force the finished
    run is kept; reviewed work is never replaced."""
    done = Run(1, 1, "tiny.en", SHA, dict(VERSIONS), {}, "en", 1.0, "t0", status=RunStatus.DONE)
    forced = Run(2, 1, "tiny.en", SHA, dict(VERSIONS), {}, "en", 1.0, "t1",
                 status=RunStatus.RUNNING)
    cp = Checkpoint(piece=1, restart_sample=0, cut_sample=53_600, first_index=1)
    state = MediaState(done, forced, cp, 0)
    resumed = plan(state, resumable=True, force=True)
    assert (resumed.action, resumed.run, resumed.start) == (Action.RESUME, forced, cp)
    assert resumed.replace_layer
    other = plan(state, resumable=False, force=True)  # other settings: a new forced run
    assert other.action is Action.NEW and other.replace_layer
    assert plan(state, resumable=True, force=False).action is Action.SKIP
    assert plan(replace(state, human_work=2), resumable=True, force=True).action is Action.REFUSE
