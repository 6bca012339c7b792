"""The engine patch is guarded: it overrides faster-whisper internals of one release only, with
the signatures that release has, and the silence policy itself never imports the engine."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
from importlib import metadata

import pytest
from faster_whisper import WhisperModel

from annotator.transcribe.whisper_model import (
    FASTER_WHISPER_VERSION,
    EngineVersionError,
    SilenceAwareWhisper,
    check_version,
)


def test_installed_faster_whisper_is_the_one_the_patch_was_made_for() -> None:
    assert metadata.version("faster-whisper") == FASTER_WHISPER_VERSION
    check_version()


def test_any_other_version_is_refused_with_a_clear_error() -> None:
    with pytest.raises(EngineVersionError) as info:
        check_version("1.2.2")
    assert str(info.value) == (
        "faster-whisper 1.2.2 is installed, but annotator overrides internals of faster-whisper "
        "1.2.1 only (install faster-whisper==1.2.1, as pyproject.toml pins it)"
    )
    again = pickle.loads(pickle.dumps(info.value))
    assert again.installed == "1.2.2" and str(again) == str(info.value)


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("encode", ["self", "features"]),
        ("generate_with_fallback", ["self", "encoder_output", "prompt", "tokenizer", "options"]),
    ],
)
def test_overridden_methods_match_the_installed_signatures(
    name: str, parameters: list[str]
) -> None:
    """The upstream methods still exist with the parameters the overrides take and pass on;
    a faster-whisper that renamed or added one fails here, not on a user's recording."""
    upstream = inspect.signature(getattr(WhisperModel, name))
    ours = inspect.signature(getattr(SilenceAwareWhisper, name))
    assert list(upstream.parameters) == parameters
    assert list(ours.parameters) == parameters
    assert all(p.default is inspect.Parameter.empty for p in upstream.parameters.values())
    if name == "generate_with_fallback":  # it returns the 4-tuple best_of builds
        assert "Tuple[" in str(upstream.return_annotation)
        assert str(upstream.return_annotation).count(",") == 3


def test_silence_policy_does_not_import_the_engine() -> None:
    code = (
        "import sys, annotator.transcribe.silence; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('faster_whisper', 'ctranslate2', 'onnxruntime')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
